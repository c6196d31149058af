"""Splits of an image folder: cut from the file lists (no decoding), then the files of the
requested splits decoded once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.data import SPLITS, Split
from mcuforge.data.folder import Listing, Part, decode_all, list_folder
from mcuforge.data.images import Probe, probe
from mcuforge.data.splits import split_flat, split_val
from mcuforge.errors import DataError


def take(part: Part, idx: np.ndarray) -> Part:
    return Part(tuple(part.files[i] for i in idx), part.labels[idx])


def split_files(listing: Listing, path: Path, split_seed: int, val_size: int | None) -> dict[str, Part]:
    parts = listing.parts
    if "all" in parts:
        train, val, test = split_flat(parts["all"].labels, listing.classes, val_size, split_seed, str(path))
        out = {"train": take(parts["all"], train), "val": take(parts["all"], val), "test": take(parts["all"], test)}
    elif "val" in parts:
        if val_size is not None:
            raise DataError(f"{path} has its own val/ folder, so val_size does not apply; leave it unset")
        out = dict(parts)
    else:
        source = str(path / "train")
        train, val = split_val(parts["train"].labels, listing.classes, val_size, split_seed, source)
        out = {"train": take(parts["train"], train), "val": take(parts["train"], val), "test": parts["test"]}
    for name in SPLITS:
        if not out[name].files:
            raise DataError(f"the {name} split of {path} would have no images; add images to the smallest classes")
    return out


def native_format(
    parts: dict[str, Part], splits: tuple[str, ...], resolution: int | None, channels: int | None, path: Path
) -> tuple[int, int]:
    """(size, channels) of the result. Native values come from every image's header, so they
    do not depend on which splits are requested; an unreadable file of a split that is not
    requested is skipped here (it is an error when that split is loaded)."""
    if resolution is not None and channels is not None:
        return resolution, channels
    probes: list[tuple[Path, Probe]] = []
    for name, part in parts.items():
        for f in part.files:
            try:
                probes.append((f, probe(f)))
            except DataError:
                if name in splits:
                    raise
    if not probes:  # nothing readable at all: the requested splits would have failed above
        raise DataError(f"no image in {path} can be read; replace the broken files")
    c = channels if channels is not None else (1 if all(p.grey for _, p in probes) else 3)
    if resolution is not None:
        return resolution, c
    first, fp = probes[0]
    other = next(((f, p) for f, p in probes if p.size != fp.size), None)
    if other is not None:
        (w, h), (w2, h2) = fp.size, other[1].size
        raise DataError(
            f"images in {path} have different sizes (e.g. {first.relative_to(path)} is {w}x{h}, "
            f"{other[0].relative_to(path)} is {w2}x{h2}); give a resolution"
        )
    w, h = fp.size
    if w != h:
        raise DataError(f"images in {path} are {w}x{h}, not square; give a resolution")
    return w, c


def load_folder(
    path: Path,
    splits: tuple[str, ...],
    resolution: int | None,
    channels: int | None,
    split_seed: int,
    val_size: int | None,
) -> tuple[tuple[str, ...], dict[str, Split]]:
    listing = list_folder(path)
    parts = split_files(listing, path, split_seed, val_size)
    size, c = native_format(parts, splits, resolution, channels, path)
    wanted = [s for s in SPLITS if s in splits]
    images = decode_all([f for s in wanted for f in parts[s].files], resolution, c, size)
    out: dict[str, Split] = {}
    start = 0
    for name in SPLITS:
        part = parts[name]
        if name in splits:
            x, start = images[start : start + len(part.files)], start + len(part.files)
            out[name] = Split(x, part.labels.copy())
        else:
            out[name] = Split(np.zeros((0, size, size, c), np.uint8), np.zeros(0, np.int64))
    return listing.classes, out
