"""folder:PATH, one subfolder of images per class.

Layouts: PATH/train/<class>/..., PATH/test/<class>/... (PATH/val/<class>/... optional),
or PATH/<class>/... split 80/10/10. Images are PNG, JPEG or BMP files (by extension,
any case) directly inside a class folder; hidden files and folders (names starting with
".") and other files are ignored. Files are listed in sorted order, so the lists and the
splits cut from them depend only on the folder's contents. Listing reads no image;
`decode_all` decodes the files of the requested splits only.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcuforge.data.images import decode
from mcuforge.errors import DataError

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp"})
SPLIT_DIRS = ("train", "val", "test")
PROGRESS_OVER = 2000  # images: show a progress bar when decoding more
WORKERS = min(8, os.cpu_count() or 1)  # Pillow decodes and resizes with the GIL released


@dataclass(frozen=True)
class Part:
    files: tuple[Path, ...]
    labels: np.ndarray  # int64, index into Listing.classes


@dataclass(frozen=True)
class Listing:
    classes: tuple[str, ...]
    parts: dict[str, Part]  # "train", "test" (and "val"), or "all" for a flat folder


def visible(path: Path) -> list[Path]:
    """Entries of a folder that are not hidden, sorted by name."""
    try:
        entries = list(path.iterdir())
    except OSError as e:
        raise DataError(f"cannot list folder {path} ({e.strerror or e}); check that it exists and is readable") from e
    return sorted((p for p in entries if not p.name.startswith(".")), key=lambda p: p.name)


def class_dirs(path: Path) -> list[Path]:
    return [p for p in visible(path) if p.is_dir()]


def list_part(path: Path) -> tuple[tuple[str, ...], Part]:
    """Class names and files of one folder of class folders."""
    dirs = class_dirs(path)
    files: list[Path] = []
    labels: list[int] = []
    for k, d in enumerate(dirs):
        found = [p for p in visible(d) if p.suffix.lower() in EXTENSIONS and p.is_file()]
        if not found:
            raise DataError(f"class folder {d} has no PNG, JPEG or BMP images; add some or remove the folder")
        files += found
        labels += [k] * len(found)
    return tuple(d.name for d in dirs), Part(tuple(files), np.asarray(labels, dtype=np.int64))


def list_folder(path: Path) -> Listing:
    if not path.is_dir():
        raise DataError(f"data folder {path} does not exist" if not path.exists() else f"{path} is not a folder")
    names = [d.name for d in class_dirs(path)]
    split_names = [n for n in SPLIT_DIRS if n in names]  # train first: the others are compared with it
    if "train" in names and "test" in names:
        parts: dict[str, Part] = {}
        classes: tuple[str, ...] | None = None
        for s in split_names:
            found, parts[s] = list_part(path / s)
            if classes is not None and found != classes:
                only_a = ", ".join(sorted(set(classes) - set(found))) or "none"
                only_b = ", ".join(sorted(set(found) - set(classes))) or "none"
                raise DataError(
                    f"{path / s} and {path / 'train'} have different class folders (only in train: {only_a}; "
                    f"only in {s}: {only_b}); every split needs the same classes"
                )
            classes = found
        listing = Listing(classes or (), {s: parts[s] for s in SPLIT_DIRS if s in parts})
    elif split_names and len(split_names) == len(names):
        given = ", ".join(f"{n}/" for n in split_names)
        raise DataError(f"{path} has {given} but needs both train/ and test/ (val/ optional), or one folder per class")
    else:
        classes, part = list_part(path)
        listing = Listing(classes, {"all": part})
    if len(listing.classes) < 2:
        raise DataError(
            f"{path} has {len(listing.classes)} class folder{'s' * (len(listing.classes) != 1)}; "
            "classification needs at least 2 (one subfolder of images per class)"
        )
    return listing


def decode_all(files: list[Path], resolution: int | None, channels: int, size: int) -> np.ndarray:
    """uint8 (N, size, size, channels): each file decoded, resized to `resolution` (None:
    already `size` x `size`), in order; a progress bar on stderr for big folders."""
    out = np.empty((len(files), size, size, channels), dtype=np.uint8)
    if not files:
        return out
    bar = tqdm(
        total=len(files), desc="decoding images", unit="img", file=sys.stderr, disable=len(files) <= PROGRESS_OVER
    )
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    chunk = 64 * WORKERS  # files in flight at once: bounds the decoded images waiting to be copied
    try:
        for start in range(0, len(files), chunk):
            for i, a in enumerate(
                pool.map(lambda f: decode(f, resolution, channels), files[start : start + chunk]), start
            ):
                out[i] = a
                bar.update()
    finally:
        pool.shutdown(cancel_futures=True)
        bar.close()
    return out
