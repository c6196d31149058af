"""Splits of an array source (npz, fashion-mnist): labels per stored part, images per
requested part, the validation split cut from train when the source has none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.data import Split
from mcuforge.data.images import convert_array
from mcuforge.data.splits import split_val
from mcuforge.errors import DataError


@dataclass(frozen=True)
class ArraySource:
    name: str  # the file or folder, for messages
    classes: tuple[str, ...]
    labels: dict[str, np.ndarray]  # "train", "test" and, when stored, "val": int64 (N,)
    images: dict[str, np.ndarray]  # the parts whose images were read: uint8 (N, H, W, C)
    shape: tuple[int, int, int]  # (H, W, C) of every part


def needed_parts(splits: tuple[str, ...], has_val: bool) -> set[str]:
    """Stored parts whose images the requested splits come from."""
    need = {s for s in splits if s != "val" or has_val}
    if "val" in splits and not has_val:
        need.add("train")
    return need


def out_shape(src: ArraySource, resolution: int | None, channels: int | None) -> tuple[int, int]:
    """(R, C) of the result; native images must be square when no resolution is given."""
    h, w, c = src.shape
    if resolution is None and h != w:
        raise DataError(f"the images in {src.name} are {w}x{h}, not square; give a resolution")
    return (h if resolution is None else resolution), (c if channels is None else channels)


def index_lists(
    src: ArraySource, split_seed: int, val_size: int | None, default_val: int | None
) -> dict[str, tuple[str, np.ndarray | None]]:
    """split name -> (stored part, indices into it, or None for all of it)."""
    for part, y in src.labels.items():
        if y.size == 0:
            raise DataError(f"the {part} split of {src.name} has no images; every split needs at least one")
    if len(src.classes) < 2:
        n = len(src.classes)
        raise DataError(f"{src.name} has {n} class{'es' * (n != 1)}; classification needs at least 2")
    if "val" in src.labels:
        if val_size is not None:
            raise DataError(f"{src.name} has its own validation split, so val_size does not apply; leave it unset")
        return {"train": ("train", None), "val": ("val", None), "test": ("test", None)}
    train, val = split_val(
        src.labels["train"], src.classes, val_size, split_seed, f"the training part of {src.name}", default_val
    )
    if val.size == 0:
        raise DataError(f"the training part of {src.name} is too small to give any validation images; add images")
    return {"train": ("train", train), "val": ("train", val), "test": ("test", None)}


def assemble(
    src: ArraySource,
    splits: tuple[str, ...],
    resolution: int | None,
    channels: int | None,
    split_seed: int,
    val_size: int | None,
    default_val: int | None = None,
) -> dict[str, Split]:
    r, c = out_shape(src, resolution, channels)
    out = {}
    for name, (part, idx) in index_lists(src, split_seed, val_size, default_val).items():
        y = src.labels[part] if idx is None else src.labels[part][idx]
        if name not in splits:
            out[name] = Split(np.zeros((0, r, r, c), np.uint8), np.zeros(0, np.int64))
            continue
        x = src.images[part] if idx is None else src.images[part][idx]
        x = convert_array(x, resolution, channels)
        if x is src.images[part]:
            x = x.copy()  # never hand out the source's (possibly cached, read-only) array
        out[name] = Split(x, np.array(y, dtype=np.int64))
    return out
