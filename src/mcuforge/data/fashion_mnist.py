"""Fashion-MNIST from its four idx.gz files (Debian's dataset-fashion-mnist).

idx format: a big-endian header (magic 0x0000_0803 for uint8 images with 3 dimensions,
0x0000_0801 for uint8 labels with 1), the dimension sizes as big-endian uint32, then the
raw bytes. The parsed arrays are cached per process, keyed by each file's path, size and
modification time, so a second load (another resolution, another split) does not
decompress 30 MB again.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from mcuforge.data.arrays import ArraySource
from mcuforge.errors import DataError

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV = "MCUFORGE_FASHION_MNIST"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
VAL_SIZE = 5000  # the validation images cut from the 60,000 training images by default
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGES_MAGIC, LABELS_MAGIC = 0x803, 0x801
HOW_TO_GET = (
    f"install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set {ENV} "
    "to a folder with the four idx.gz files, or use npz:PATH"
)

REINSTALL = f"reinstall dataset-fashion-mnist or point {ENV} at good copies"

_cache: dict[str, tuple[tuple, tuple[np.ndarray, np.ndarray]]] = {}  # part -> (file key, arrays)


def location() -> Path:
    given = os.environ.get(ENV)
    return Path(given).expanduser() if given else DEFAULT_DIR


def read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """One idx.gz file -> a read-only uint8 array of its stored shape."""
    try:
        raw = zlib.decompress(path.read_bytes(), wbits=31)  # 31: gzip container (faster than the gzip module)
    except (OSError, zlib.error) as e:
        raise DataError(f"{path} is truncated or corrupt (not readable gzip); {REINSTALL}") from e
    head = 4 + 4 * ndim
    if len(raw) < head or int.from_bytes(raw[:4], "big") != magic:
        what = "images" if ndim == 3 else "labels"
        raise DataError(f"{path} is not an idx file of uint8 {what} (wrong magic number); {REINSTALL}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims))
    if len(raw) != head + size:
        held = len(raw) - head
        raise DataError(f"{path} holds {held} bytes of data where its header promises {size} (truncated); {REINSTALL}")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(dims)


def read_part(folder: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28, 1), labels (N,) int64) of the train or t10k files, cached."""
    paths = [folder / name for name in FILES[part]]
    for p in paths:
        if not p.is_file():
            raise DataError(f"fashion-mnist has no {p}; {HOW_TO_GET}")
    key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    cached = _cache.get(part)
    if cached is None or cached[0] != key:
        images = read_idx(paths[0], IMAGES_MAGIC, 3)
        labels = read_idx(paths[1], LABELS_MAGIC, 1).astype(np.int64)
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{paths[0]} has {images.shape[0]} images but {paths[1]} has {labels.shape[0]} labels; {REINSTALL}"
            )
        if labels.size and labels.max() >= len(CLASSES):
            raise DataError(f"{paths[1]} has label {int(labels.max())}, outside fashion-mnist's 0..9; {REINSTALL}")
        labels.flags.writeable = False
        _cache[part] = cached = (key, (images[..., None], labels))  # a changed file replaces the old arrays
    return cached[1]


def source() -> ArraySource:
    """The train and t10k parts (all 70,000 images, cached) as an array source."""
    parts = read()
    labels = {p: y for p, (_, y) in parts.items()}
    images = {p: x for p, (x, _) in parts.items()}
    return ArraySource(f"fashion-mnist ({location()})", CLASSES, labels, images, parts["train"][0].shape[1:])


def read() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder = location()
    if not folder.is_dir():
        raise DataError(f"fashion-mnist is not in {folder}; {HOW_TO_GET}")
    parts = {part: read_part(folder, part) for part in FILES}
    (train, _), (test, _) = parts["train"], parts["test"]
    if train.shape[1:] != test.shape[1:]:
        raise DataError(f"the fashion-mnist images in {folder} differ in size between train and t10k; {REINSTALL}")
    return parts
