"""fashion-mnist: the real files (skipped when absent) and the idx.gz reader's errors on
tiny fake files."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pytest
from data_util import fake_fashion, write_idx

from mcuforge.data import fashion_mnist, load_dataset
from mcuforge.errors import DataError

REAL = fashion_mnist.DEFAULT_DIR


@pytest.fixture
def real(monkeypatch):
    monkeypatch.delenv(fashion_mnist.ENV, raising=False)
    if not all((REAL / f).is_file() for pair in fashion_mnist.FILES.values() for f in pair):
        pytest.skip(f"fashion-mnist is not installed in {REAL} (apt-get install dataset-fashion-mnist)")
    return REAL


def raw_idx(path, head):
    return np.frombuffer(gzip.decompress(path.read_bytes()), np.uint8, offset=head)


def image_hashes(x: np.ndarray) -> np.ndarray:
    """One 64-bit number per image (wrapping dot product with fixed odd weights)."""
    w = np.random.default_rng(0).integers(1, 2**62, x[0].size, dtype=np.uint64) | np.uint64(1)
    return np.sort(x.reshape(len(x), -1).astype(np.uint64) @ w)


def test_real_splits(real):
    fashion_mnist._cache.clear()
    t = time.perf_counter()
    d = load_dataset("fashion-mnist")
    elapsed = time.perf_counter() - t
    assert elapsed < 4.0, f"loading fashion-mnist took {elapsed:.1f} s"  # about 0.5 s on one core
    assert d.classes[0] == "T-shirt/top" and d.classes[9] == "Ankle boot" and len(d.classes) == 10
    assert (len(d.train), len(d.val), len(d.test)) == (55000, 5000, 10000)
    assert (d.resolution, d.channels) == (28, 1)
    assert np.bincount(d.val.labels).tolist() == [500] * 10
    t10k = raw_idx(real / "t10k-images-idx3-ubyte.gz", 16).reshape(10000, 28, 28, 1)
    assert np.array_equal(d.test.images, t10k)  # the official test set, exactly, in order
    assert np.array_equal(d.test.labels, raw_idx(real / "t10k-labels-idx1-ubyte.gz", 8))
    train = raw_idx(real / "train-images-idx3-ubyte.gz", 16).reshape(60000, 28, 28, 1)
    both = np.concatenate([d.train.images, d.val.images])
    assert np.array_equal(image_hashes(both), image_hashes(train))  # train + val = the 60k training images
    val_hashes = set(image_hashes(d.val.images).tolist())
    assert not val_hashes & set(image_hashes(d.train.images[:5000]).tolist())

    d.test.images[:] = 0  # the caller's copy: the cached arrays stay intact
    again = load_dataset("fashion-mnist", split_seed=1, splits=("val", "test"))
    assert np.array_equal(again.test.images, t10k)
    assert again.train.images.shape == (0, 28, 28, 1)
    assert set(image_hashes(again.val.images).tolist()) != val_hashes


def test_real_resized_colour(real):
    d = load_dataset("fashion-mnist", 32, 3, splits=("test",))
    assert d.test.images.shape == (10000, 32, 32, 3) and d.test.images.flags.c_contiguous
    assert np.array_equal(d.test.images[..., 0], d.test.images[..., 2])


def test_fake_files_via_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(fashion_mnist.ENV, str(fake_fashion(tmp_path)))
    d = load_dataset("fashion-mnist", val_size=10)
    assert (len(d.train), len(d.val), len(d.test), d.resolution) == (50, 10, 20, 6)
    assert np.bincount(d.val.labels).tolist() == [1] * 10
    with pytest.raises(DataError, match="validation split of 5000 images leaves no training images of the 60"):
        load_dataset("fashion-mnist")


def test_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv(fashion_mnist.ENV, str(tmp_path / "absent"))
    with pytest.raises(DataError, match=r"apt-get install dataset-fashion-mnist\) or set MCUFORGE_FASHION_MNIST") as e:
        load_dataset("fashion-mnist")
    assert "npz:PATH" in str(e.value)
    fake_fashion(tmp_path / "f")
    (tmp_path / "f" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv(fashion_mnist.ENV, str(tmp_path / "f"))
    with pytest.raises(DataError, match=r"fashion-mnist has no .*t10k-labels-idx1-ubyte\.gz; install"):
        load_dataset("fashion-mnist", val_size=10)


def corrupt_truncated(path):
    path.write_bytes(path.read_bytes()[:-30])


def corrupt_magic(path):
    write_idx(path, 0x801, np.zeros((60, 6, 6), np.uint8))


def corrupt_size(path):
    write_idx(path, 0x803, np.zeros((60, 6, 6), np.uint8), count=61)


def corrupt_not_gzip(path):
    path.write_bytes(b"plain bytes")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (corrupt_truncated, r"train-images-idx3-ubyte\.gz is truncated or corrupt \(not readable gzip\)"),
        (corrupt_not_gzip, r"train-images-idx3-ubyte\.gz is truncated or corrupt"),
        (corrupt_magic, r"train-images-idx3-ubyte\.gz is not an idx file of uint8 images \(wrong magic number\)"),
        (
            corrupt_size,
            r"train-images-idx3-ubyte\.gz holds 2160 bytes of data where its header promises 2196 \(truncated\)",
        ),
    ],
)
def test_corrupt_idx_files_are_named(tmp_path, monkeypatch, damage, message):
    damage(fake_fashion(tmp_path) / "train-images-idx3-ubyte.gz")
    monkeypatch.setenv(fashion_mnist.ENV, str(tmp_path))
    with pytest.raises(DataError, match=message):
        load_dataset("fashion-mnist", val_size=10)


def test_bad_labels(tmp_path, monkeypatch):
    fake_fashion(tmp_path)
    monkeypatch.setenv(fashion_mnist.ENV, str(tmp_path))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 0x801, np.full(20, 12))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz has label 12, outside fashion-mnist's 0\.\.9"):
        load_dataset("fashion-mnist", val_size=10)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 0x801, np.arange(19) % 10)
    with pytest.raises(DataError, match=r"has 20 images but .* has 19 labels"):
        load_dataset("fashion-mnist", val_size=10)
