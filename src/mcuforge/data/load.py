"""`load_dataset`: one spec string -> a Dataset of seeded, stratified splits."""

from __future__ import annotations

import numpy as np

from mcuforge.data import SPLITS, Dataset, fashion_mnist, npz
from mcuforge.data.arrays import assemble
from mcuforge.data.folder_splits import load_folder
from mcuforge.data.spec import parse_spec
from mcuforge.data.splits import check_seed
from mcuforge.errors import InputError


def is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_args(resolution: int | None, channels: int | None, val_size: int | None, splits: tuple[str, ...]) -> None:
    if resolution is not None and not (is_int(resolution) and resolution >= 1):
        raise InputError(f"resolution must be a positive number of pixels, not {resolution!r}")
    if channels is not None and not (is_int(channels) and channels in (1, 3)):
        raise InputError(f"channels must be 1 (grey) or 3 (colour), not {channels!r}")
    if val_size is not None and not (is_int(val_size) and val_size >= 1):
        raise InputError(f"val_size must be a positive number of images, not {val_size!r}")
    if isinstance(splits, str) or not splits or any(s not in SPLITS for s in splits):
        raise InputError(f"splits must name one or more of train, val and test, not {splits!r}")


def load_dataset(
    spec: str,
    resolution: int | None = None,
    channels: int | None = None,
    *,
    split_seed: int = 0,
    val_size: int | None = None,
    splits: tuple[str, ...] = SPLITS,
) -> Dataset:
    """Load the data set `spec` (see mcuforge.data) as uint8 (N, R, R, C) splits.

    resolution: None keeps the native size (the images must all have one square size);
    otherwise each image's shorter side is resized to it and the rest centre-cropped.
    channels: None keeps the native count (a folder: 1 when every image is grey, else 3).
    split_seed and val_size (None: the source's default, 5,000 for fashion-mnist, else 10%
    of the training part) fix the splits. Only the splits named in `splits` carry images;
    the others come back empty, (0, R, R, C)."""
    check_args(resolution, channels, val_size, splits)
    check_seed(split_seed)
    resolution = None if resolution is None else int(resolution)
    channels = None if channels is None else int(channels)
    val_size = None if val_size is None else int(val_size)
    split_seed, splits = int(split_seed), tuple(splits)
    s = parse_spec(spec)
    if s.kind == "audio":
        raise InputError(
            f"audio data sets ({spec}) are not supported yet by image training and search; "
            "load them with mcuforge.data.audio.load_audio"
        )
    if s.kind == "folder":
        classes, parts = load_folder(s.path, splits, resolution, channels, split_seed, val_size)
    else:
        if s.kind == "npz":
            src, default = npz.read(s.path, splits), None
        else:
            src, default = fashion_mnist.source(), fashion_mnist.VAL_SIZE
        classes, parts = src.classes, assemble(src, splits, resolution, channels, split_seed, val_size, default)
    return Dataset(spec, tuple(classes), parts["train"], parts["val"], parts["test"], split_seed)
