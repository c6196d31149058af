"""Tiny data sets for the data tests: image folders written with Pillow, npz files,
fake idx.gz files. Images carry their identity in pixel (0, 0) and (0, 1) so that a test
can tell which source image ended up in which split."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image


def tagged(i: int, size: tuple[int, int] = (8, 8), mode: str = "L", seed: int = 0) -> Image.Image:
    """An image whose first two pixels (first channel) encode i (< 65536); the rest is noise."""
    w, h = size
    rng = np.random.default_rng([seed, i])
    c = {"L": 1, "RGB": 3}[mode]
    a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    a[0, 0, :], a[0, 1, :] = i % 256, i // 256
    return Image.fromarray(a[:, :, 0] if c == 1 else a)


def tag_of(images: np.ndarray) -> np.ndarray:
    """The identities written by `tagged` back from (N, H, W, C) native-size images."""
    return images[:, 0, 0, 0].astype(np.int64) + 256 * images[:, 0, 1, 0].astype(np.int64)


def make_folder(root: Path, counts: dict[str, int], start: int = 0, ext: str = ".png", **kw) -> dict[str, list[int]]:
    """root/<class>/<k>.<ext> tagged images, lossless formats only; returns class -> tags."""
    tags: dict[str, list[int]] = {}
    i = start
    for name, n in counts.items():
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        tags[name] = []
        for k in range(n):
            tagged(i, **kw).save(d / f"{k:04d}{ext}")
            tags[name].append(i)
            i += 1
    return tags


def write_idx(path: Path, magic: int, array: np.ndarray, count: int | None = None) -> Path:
    """An idx.gz file; `count` overrides the stored first dimension (to fake a bad header)."""
    dims = list(array.shape)
    if count is not None:
        dims[0] = count
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    path.write_bytes(gzip.compress(head + array.astype(np.uint8).tobytes()))
    return path


def fake_fashion(folder: Path, n_train: int = 60, n_test: int = 20, size: int = 6) -> Path:
    """The four fashion-mnist files with tiny random contents (every class present)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz", 0x803, rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        )
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 0x801, np.arange(n) % 10)
    return folder
