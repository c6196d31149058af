"""Seeded, stratified splits of a labelled set of images.

A split depends only on the labels (in the source's fixed order: files sorted by path,
arrays in stored order) and `split_seed`: every cut draws from its own fresh
`np.random.default_rng(split_seed)`, never from the global generator or a training seed.
Each class keeps its proportion: a cut of `size` images gives class c
size * n_c / N images, rounded by largest remainder (ties go to the lower class index),
so the per-class counts add up to `size` exactly.
"""

from __future__ import annotations

import numpy as np

from mcuforge.errors import DataError, InputError

DEFAULT_FRACTION = 0.1  # val (and, for a flat folder, test) share when no size is given


def default_size(n: int) -> int:
    """10% of n, rounded half up (not to even: 25 images give 3, not 2)."""
    return int(np.floor(DEFAULT_FRACTION * n + 0.5))


def images(n: int) -> str:
    return f"{n} image" if n == 1 else f"{n} images"


def largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Share `total` among classes in proportion to `counts` (int64; exact integer arithmetic,
    total * n_c stays far below 2**63 for any real data set)."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    num = counts * int(total)
    quota, rem = num // n, num % n
    short = int(total - quota.sum())
    order = np.lexsort((np.arange(counts.size), -rem))  # largest remainder first, then class index
    quota[order[:short]] += 1
    return quota


def cut_quotas(
    counts: np.ndarray, classes: tuple[str, ...], size: int, keep: int, strict: bool, what: str, source: str
) -> np.ndarray:
    """Per-class counts of a cut of `size` images from images with these class counts,
    each class keeping at least `keep` images.

    strict (a size the user gave): exactly `size`; a class that cannot give its share is
    an error naming it. Not strict (a default size): at least one image per class where
    the class can spare it, and no class gives more than it can spare."""
    n = int(counts.sum())
    if strict and size >= n:
        raise DataError(
            f"a {what} split of {size} images leaves no training images of the {n} in {source}; "
            "choose a smaller val_size"
        )
    quota = largest_remainder(counts, min(size, n))
    if not strict:
        quota = np.where((quota == 0) & (counts > keep), 1, quota)
        return np.minimum(quota, np.maximum(counts - keep, 0))
    short = np.flatnonzero(counts - quota < keep)
    if short.size:
        c = int(short[0])
        raise DataError(
            f"class {classes[c]!r} has only {images(int(counts[c]))} in {source}, too few to give {int(quota[c])} "
            f"to the {what} split and keep {keep} for training; choose a smaller val_size or add images"
        )
    return quota


def cut(labels: np.ndarray, quota: np.ndarray, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, cut) index arrays, each in ascending order: per class, in class order, a
    random `quota[c]` of its images go to the cut."""
    rng = np.random.default_rng(split_seed)
    order = np.argsort(labels, kind="stable")
    ends = np.cumsum(np.bincount(labels, minlength=quota.size))
    mask = np.zeros(labels.size, dtype=bool)
    start = 0
    for c, end in enumerate(ends):
        members = order[start:end]
        mask[members[rng.permutation(members.size)[: int(quota[c])]]] = True
        start = int(end)
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def check_seed(split_seed: int) -> None:
    if isinstance(split_seed, bool) or not isinstance(split_seed, (int, np.integer)) or split_seed < 0:
        raise InputError(f"split_seed must be a non-negative integer, not {split_seed!r}")


def split_val(
    labels: np.ndarray,
    classes: tuple[str, ...],
    val_size: int | None,
    split_seed: int,
    source: str,
    default: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices into a training part. `default` overrides the 10% default
    (fashion-mnist's 5,000)."""
    counts = np.bincount(labels, minlength=len(classes))
    if val_size is not None:
        quota = cut_quotas(counts, classes, val_size, 1, True, "validation", source)
    elif default is not None:
        quota = cut_quotas(counts, classes, default, 1, True, "validation", source)
    else:
        quota = cut_quotas(counts, classes, default_size(labels.size), 1, False, "validation", source)
    return cut(labels, quota, split_seed)


def split_flat(
    labels: np.ndarray, classes: tuple[str, ...], val_size: int | None, split_seed: int, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) indices of one labelled pool: 80/10/10 by default (test first, so
    the test split does not depend on val_size), every class in every split."""
    counts = np.bincount(labels, minlength=len(classes))
    few = np.flatnonzero(counts < 3)
    if few.size:
        c = int(few[0])
        raise DataError(
            f"class {classes[c]!r} has only {images(int(counts[c]))} in {source}, too few to split into train, val and "
            "test (at least 3 are needed); add images or give train/ and test/ folders"
        )
    rest, test = cut(
        labels, cut_quotas(counts, classes, default_size(labels.size), 2, False, "test", source), split_seed
    )
    rest_counts = np.bincount(labels[rest], minlength=len(classes))
    if val_size is None:
        quota = cut_quotas(rest_counts, classes, default_size(labels.size), 1, False, "validation", source)
    else:
        quota = cut_quotas(rest_counts, classes, val_size, 1, True, "validation", source)
    train, val = cut(labels[rest], quota, split_seed)
    return rest[train], rest[val], test
