"""folder:PATH data sets: layouts, splits, image formats and modes, and bad folders."""

from __future__ import annotations

import numpy as np
import pytest
from data_util import make_folder, tag_of, tagged
from PIL import Image

import mcuforge.data.folder as folder_mod
from mcuforge.data import load_dataset
from mcuforge.errors import DataError


def test_flat_folder_is_split_80_10_10(tmp_path):
    tags = make_folder(tmp_path, {"zebra": 20, "ant": 10, "moth": 30})
    (tmp_path / ".hidden").mkdir()  # ignored, as are hidden files and other extensions
    (tmp_path / "ant" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    d = load_dataset(f"folder:{tmp_path}")
    assert d.classes == ("ant", "moth", "zebra")
    assert np.bincount(d.test.labels).tolist() == [1, 3, 2]
    assert np.bincount(d.val.labels).tolist() == [1, 3, 2]
    assert np.bincount(d.train.labels).tolist() == [8, 24, 16]
    ids = [set(tag_of(s.images).tolist()) for s in (d.train, d.val, d.test)]
    assert not (ids[0] & ids[2]) and not (ids[1] & ids[2]) and not (ids[0] & ids[1])
    assert set().union(*ids) == {i for t in tags.values() for i in t}
    for s in (d.train, d.val, d.test):  # each image keeps its own class
        by_tag = {i: k for k, name in enumerate(d.classes) for i in tags[name]}
        assert [by_tag[i] for i in tag_of(s.images)] == s.labels.tolist()
    assert (d.resolution, d.channels) == (8, 1)


def test_split_is_deterministic_in_the_seed_only(tmp_path):
    make_folder(tmp_path, {"a": 15, "b": 15})
    spec = f"folder:{tmp_path}"
    np.random.seed(3)
    a = load_dataset(spec, split_seed=5)
    np.random.seed(4)
    b = load_dataset(spec, split_seed=5)
    c = load_dataset(spec, split_seed=6)
    assert all(np.array_equal(getattr(a, s).images, getattr(b, s).images) for s in ("train", "val", "test"))
    assert set(tag_of(c.test.images)) != set(tag_of(a.test.images))


def test_train_test_layout_cuts_val_from_train(tmp_path):
    make_folder(tmp_path / "train", {"cat": 12, "dog": 8})
    test_tags = make_folder(tmp_path / "test", {"cat": 3, "dog": 2}, start=500)
    d = load_dataset(f"folder:{tmp_path}")
    assert d.classes == ("cat", "dog")
    assert tag_of(d.test.images).tolist() == test_tags["cat"] + test_tags["dog"]  # sorted paths
    assert d.test.labels.tolist() == [0, 0, 0, 1, 1]
    assert np.bincount(d.val.labels).tolist() == [1, 1]  # 10% of 20 = 2: 1.2, .8
    assert len(d.train) == 18 and max(tag_of(d.train.images)) < 500
    assert np.bincount(load_dataset(f"folder:{tmp_path}", val_size=5).val.labels).tolist() == [3, 2]


def test_train_val_test_layout(tmp_path):
    make_folder(tmp_path / "train", {"a": 4, "b": 4})
    val_tags = make_folder(tmp_path / "val", {"a": 1, "b": 2}, start=300)
    make_folder(tmp_path / "test", {"a": 2, "b": 2}, start=600)
    d = load_dataset(f"folder:{tmp_path}")
    assert len(d.train) == 8 and tag_of(d.val.images).tolist() == val_tags["a"] + val_tags["b"]
    with pytest.raises(DataError, match="has its own val/ folder, so val_size does not apply"):
        load_dataset(f"folder:{tmp_path}", val_size=2)


def test_split_folders_must_share_classes(tmp_path):
    make_folder(tmp_path / "train", {"a": 4, "b": 4, "c": 4})
    make_folder(tmp_path / "test", {"a": 2, "b": 2, "d": 2})
    with pytest.raises(DataError, match=r"different class folders \(only in train: c; only in test: d\)"):
        load_dataset(f"folder:{tmp_path}")


def test_train_without_test(tmp_path):
    make_folder(tmp_path / "train", {"a": 4, "b": 4})
    with pytest.raises(DataError, match="has train/ but needs both train/ and test/"):
        load_dataset(f"folder:{tmp_path}")


def test_formats_sizes_and_native_channels(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for k in range(3):
        tagged(k, (12, 8)).save(tmp_path / "a" / f"{k}.PNG")
        tagged(10 + k, (9, 9)).save(tmp_path / "a" / f"{k}.BmP")
        tagged(20 + k, (16, 20)).save(tmp_path / "b" / f"{k}.JpEg", quality=95)
        pal = Image.new("P", (10, 10), k)
        pal.putpalette([v for g in range(256) for v in (g, g, g)])  # a grey palette counts as grey
        pal.save(tmp_path / "b" / f"p{k}.png")
    Image.fromarray(np.full((7, 7), 40000, np.uint16)).save(tmp_path / "b" / "wide.png")
    with pytest.raises(
        DataError, match=r"different sizes \(e\.g\. a/0\.BmP is 9x9, a/0\.PNG is 12x8\); give a resolution"
    ):
        load_dataset(f"folder:{tmp_path}")
    d = load_dataset(f"folder:{tmp_path}", resolution=6)
    assert d.channels == 1 and d.train.images.shape[1:] == (6, 6, 1)
    assert len(d.train) + len(d.val) + len(d.test) == 13
    tagged(99, (6, 6), mode="RGB").save(tmp_path / "b" / "colour.png")
    d = load_dataset(f"folder:{tmp_path}", resolution=6)
    assert d.channels == 3 and d.train.images.shape[1:] == (6, 6, 3)
    assert load_dataset(f"folder:{tmp_path}", resolution=6, channels=1).channels == 1


def test_decoded_pixels(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[:, 2:, 3] = 255  # left half transparent
    for k in range(3):
        Image.fromarray(rgba).save(tmp_path / "a" / f"{k}.png")
        Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "b" / f"{k}.bmp")
    d = load_dataset(f"folder:{tmp_path}", splits=("train",))
    a = d.train.images[d.train.labels == 0][0]
    assert a[:, :2].max() == 0 and (a[:, 2:] == (200, 100, 50)).all()
    grey = load_dataset(f"folder:{tmp_path}", channels=1, splits=("train",)).train
    assert (grey.images[grey.labels == 1] == 76).all()  # red's luma: 255 * 0.299


def test_only_requested_splits_are_decoded(tmp_path):
    make_folder(tmp_path / "train", {"a": 4, "b": 4})
    make_folder(tmp_path / "test", {"a": 2, "b": 2}, start=100)
    (tmp_path / "train" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    for kwargs in ({}, {"resolution": 5, "channels": 3}):
        d = load_dataset(f"folder:{tmp_path}", splits=("test",), **kwargs)
        assert len(d.test) == 4 and len(d.train) == 0 and d.train.images.shape[1:] == d.test.images.shape[1:]
    with pytest.raises(DataError, match=r"cannot (read|decode) image .*train/a/broken\.png; replace or remove it"):
        load_dataset(f"folder:{tmp_path}", splits=("train",))


def test_corrupt_images_are_named(tmp_path):
    make_folder(tmp_path, {"a": 5, "b": 5})
    good = (tmp_path / "a" / "0000.png").read_bytes()
    (tmp_path / "b" / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"image .*b/cut\.png; replace or remove it"):
        load_dataset(f"folder:{tmp_path}", resolution=8, channels=1)
    (tmp_path / "b" / "cut.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"image .*b/cut\.png; replace or remove it"):
        load_dataset(f"folder:{tmp_path}")


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"a": 5, "b": 0}, r"class folder .*/b has no PNG, JPEG or BMP images"),
        ({"a": 5}, r"has 1 class folder; classification needs at least 2"),
        ({"a": 5, "b": 2}, r"class 'b' has only 2 images in .*, too few to split into train, val and test"),
    ],
)
def test_bad_folders(tmp_path, layout, message):
    make_folder(tmp_path, layout)
    with pytest.raises(DataError, match=message):
        load_dataset(f"folder:{tmp_path}")


def test_a_split_without_images(tmp_path):
    make_folder(tmp_path / "train", {"a": 1, "b": 1})  # no class can spare an image for val
    make_folder(tmp_path / "test", {"a": 1, "b": 1})
    with pytest.raises(DataError, match=r"the val split of .* would have no images"):
        load_dataset(f"folder:{tmp_path}")


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}")


def test_progress_bar_only_for_big_folders(tmp_path, monkeypatch, capsys):
    make_folder(tmp_path, {"a": 6, "b": 6})
    load_dataset(f"folder:{tmp_path}")
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(folder_mod, "PROGRESS_OVER", 5)
    load_dataset(f"folder:{tmp_path}")
    assert "decoding images" in capsys.readouterr().err
