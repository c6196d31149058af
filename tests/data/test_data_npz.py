"""npz:PATH data sets: layouts, splits, conversion, and every malformed-file error."""

from __future__ import annotations

import numpy as np
import pytest
from data_util import tag_of
from PIL import Image

from mcuforge.data import load_dataset
from mcuforge.errors import DataError, InputError


def tagged_array(n: int, h: int = 6, w: int = 6, c: int | None = None, start: int = 0, seed: int = 0) -> np.ndarray:
    """uint8 images whose pixels (0, 0), (0, 1) of the first channel encode start + index."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, h, w) + ((c,) if c else ()), dtype=np.uint8)
    ids = np.arange(start, start + n)
    x[:, 0, 0, ...] = (ids % 256).reshape((n,) + (1,) * (x.ndim - 3)) if c else ids % 256
    x[:, 0, 1, ...] = (ids // 256).reshape((n,) + (1,) * (x.ndim - 3)) if c else ids // 256
    return x


def labels(n: int, k: int) -> np.ndarray:
    return np.arange(n) % k


def save(path, **arrays):
    np.savez(path, **arrays)
    return f"npz:{path}"


@pytest.fixture
def nhw(tmp_path):
    return save(tmp_path / "a.npz", x_train=tagged_array(90), y_train=labels(90, 3),
                x_test=tagged_array(30, start=1000), y_test=labels(30, 3))  # fmt: skip


def test_nhw_with_val_cut_from_train(nhw):
    d = load_dataset(nhw)
    assert d.classes == ("0", "1", "2")
    assert (d.resolution, d.channels) == (6, 1)
    assert (len(d.train), len(d.val), len(d.test)) == (81, 9, 30)
    assert np.bincount(d.val.labels).tolist() == [3, 3, 3]
    for s in (d.train, d.val, d.test):
        assert s.images.dtype == np.uint8 and s.images.flags.c_contiguous and s.labels.dtype == np.int64
    train_ids, val_ids, test_ids = tag_of(d.train.images), tag_of(d.val.images), tag_of(d.test.images)
    assert sorted(np.concatenate([train_ids, val_ids]).tolist()) == list(range(90))
    assert test_ids.tolist() == list(range(1000, 1030))  # the stored test split, in order
    assert np.array_equal(d.train.labels, train_ids % 3) and np.array_equal(d.val.labels, val_ids % 3)


def test_val_size_and_seed(nhw):
    a, b = load_dataset(nhw, val_size=30), load_dataset(nhw, val_size=30)
    assert np.bincount(a.val.labels).tolist() == [10, 10, 10]
    assert np.array_equal(a.val.images, b.val.images)
    c = load_dataset(nhw, val_size=30, split_seed=1)
    assert set(tag_of(c.val.images)) != set(tag_of(a.val.images))
    assert c.split_seed == 1 and np.array_equal(c.test.images, a.test.images)


def test_nhwc_with_val_and_classes(tmp_path):
    spec = save(tmp_path / "b.npz", x_train=tagged_array(20, 5, 5, 3), y_train=labels(20, 2),
                x_val=tagged_array(6, 5, 5, 3, start=500), y_val=labels(6, 2),
                x_test=tagged_array(8, 5, 5, 3, start=900), y_test=labels(8, 2),
                classes=np.array(["cat", "dog"]))  # fmt: skip
    d = load_dataset(spec)
    assert d.classes == ("cat", "dog") and d.channels == 3 and d.resolution == 5
    assert tag_of(d.train.images).tolist() == list(range(20))  # nothing cut: the stored val is used
    assert tag_of(d.val.images).tolist() == list(range(500, 506))
    with pytest.raises(InputError, match="has its own validation split, so val_size does not apply"):
        load_dataset(spec, val_size=3)


def test_channels_and_resolution_match_pillow(tmp_path):
    x = tagged_array(12, 10, 10, 3, seed=3)
    spec = save(tmp_path / "c.npz", x_train=x, y_train=labels(12, 2), x_test=x[:4], y_test=labels(4, 2))
    grey = load_dataset(spec, channels=1, splits=("test",)).test.images
    want = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in x[:4]])[..., None]
    assert np.array_equal(grey, want)  # bit-exact with Pillow's luma
    small = load_dataset(spec, resolution=4, splits=("test",)).test.images
    want = np.stack([np.asarray(Image.fromarray(im).resize((4, 4), Image.Resampling.BILINEAR)) for im in x[:4]])
    assert np.array_equal(small, want)
    g = tagged_array(12, 6, 6)
    spec = save(tmp_path / "d.npz", x_train=g, y_train=labels(12, 2), x_test=g[:4], y_test=labels(4, 2))
    rgb = load_dataset(spec, channels=3, splits=("test",)).test.images
    assert rgb.shape == (4, 6, 6, 3) and all(np.array_equal(rgb[..., k], g[:4]) for k in range(3))


def test_only_requested_splits_carry_images(nhw):
    d = load_dataset(nhw, resolution=4, channels=3, splits=("test",))
    assert d.train.images.shape == (0, 4, 4, 3) and d.val.images.shape == (0, 4, 4, 3)
    assert len(d.train) == 0 and d.test.images.shape == (30, 4, 4, 3)
    assert d.resolution == 4 and d.channels == 3


def test_non_square_native_needs_a_resolution(tmp_path):
    spec = save(tmp_path / "e.npz", x_train=tagged_array(10, 4, 6), y_train=labels(10, 2),
                x_test=tagged_array(4, 4, 6), y_test=labels(4, 2))  # fmt: skip
    with pytest.raises(DataError, match="are 6x4, not square; give a resolution"):
        load_dataset(spec)
    assert load_dataset(spec, resolution=4).train.images.shape[1:] == (4, 4, 1)


GOOD = {"x_train": tagged_array(10), "y_train": labels(10, 2), "x_test": tagged_array(4), "y_test": labels(4, 2)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x_test": None, "y_test": None}, r"lacks the arrays x_test, y_test"),
        (
            {"x_train": tagged_array(10).astype(np.float32)},
            r"x_train .* are float32; they must be uint8 pixels 0\.\.255",
        ),
        ({"x_train": tagged_array(10)[:, :, :, None].repeat(2, 3)}, r"x_train .* have shape \(10, 6, 6, 2\)"),
        ({"x_train": tagged_array(10)[:, 0]}, r"x_train .* have shape \(10, 6\)"),
        ({"y_train": labels(9, 2)}, r"has 10 images in x_train but 9 labels in y_train"),
        ({"y_train": -labels(10, 2)}, r"labels y_train .* include -1"),
        ({"y_train": labels(10, 2).astype(np.float64)}, r"labels y_train .* are float64; they must be integers"),
        ({"y_train": labels(20, 2).reshape(10, 2)}, r"labels y_train .* have shape \(10, 2\)"),
        (
            {"y_train": np.zeros(10, np.int64), "y_test": np.zeros(4, np.int64)},
            r"has 1 class; classification needs at least 2",
        ),
        (
            {"classes": np.array(["one"])},
            r"labels in .* run up to 1, but its classes array has 1 name; give one name per label 0\.\.1",
        ),
        ({"classes": np.array(["a", "b"], dtype=object)}, r"classes in .* must be an array of strings"),
        ({"x_val": tagged_array(2)}, r"has only one of x_val and y_val"),
        ({"x_test": tagged_array(0), "y_test": labels(0, 2)}, r"x_test .* hold no images"),
        ({"x_test": tagged_array(4, 5, 5)}, r"differ in size or channels \(x_train 6x6x1, x_test 5x5x1\)"),
    ],
)
def test_malformed_npz(tmp_path, change, message):
    arrays = {**GOOD, **change}
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(DataError, match=message) as e:
        load_dataset(f"npz:{path}")
    assert "\n" not in str(e.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataError, match=r"data file .*missing\.npz does not exist"):
        load_dataset(f"npz:{tmp_path / 'missing.npz'}")
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(DataError, match=r"text\.npz is not an npz archive"):
        load_dataset(f"npz:{tmp_path / 'text.npz'}")
    np.savez(tmp_path / "whole.npz", **GOOD)
    raw = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2] + raw[-200:])  # damaged middle, intact directory
    with pytest.raises(DataError, match=r"cut\.npz"):
        load_dataset(f"npz:{tmp_path / 'cut.npz'}")


def test_smallest_training_parts(tmp_path):
    spec = save(tmp_path / "f.npz", x_train=tagged_array(3), y_train=np.array([0, 1, 1]),
                x_test=tagged_array(2), y_test=np.array([0, 1]))  # fmt: skip
    d = load_dataset(spec)  # 10% of 3 rounds to 0; class 0 cannot spare its one image, class 1 gives one
    assert d.val.labels.tolist() == [1] and sorted(d.train.labels.tolist()) == [0, 1]
    with pytest.raises(DataError, match="class '0' has only 1 image in the training part of .*f.npz"):
        load_dataset(spec, val_size=2)
    spec = save(tmp_path / "g.npz", x_train=tagged_array(2), y_train=np.array([0, 1]),
                x_test=tagged_array(2), y_test=np.array([0, 1]))  # fmt: skip
    with pytest.raises(DataError, match="too small to give any validation images"):
        load_dataset(spec)
