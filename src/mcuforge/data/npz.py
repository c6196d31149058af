"""npz:PATH, arrays x_train, y_train, x_test, y_test (x_val, y_val and classes optional).

Shapes and dtypes are checked from the .npy headers inside the archive before any data is
read, and only the image arrays that the requested splits need are loaded.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mcuforge.data.arrays import ArraySource, needed_parts
from mcuforge.errors import DataError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile)


def header(zf: zipfile.ZipFile, key: str, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of one stored array, from its .npy header alone."""
    try:
        with zf.open(f"{key}.npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:  # format 3.0 (rare): read the whole array
                with np.load(path, allow_pickle=False) as z:
                    a = z[key]
                shape, dtype = a.shape, a.dtype
    except NPZ_ERRORS as e:
        raise DataError(f"array {key} in {path} cannot be read (truncated or corrupt); save the file again") from e
    return tuple(int(d) for d in shape), np.dtype(dtype)


def check_images(key: str, shape: tuple[int, ...], dtype: np.dtype, path: Path) -> tuple[int, int, int]:
    if dtype != np.uint8:
        raise DataError(f"images {key} in {path} are {dtype}; they must be uint8 pixels 0..255 (scale, then np.uint8)")
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3)):
        raise DataError(
            f"images {key} in {path} have shape {shape}; they must be (N, H, W) or (N, H, W, C) with C 1 or 3"
        )
    if shape[0] == 0:
        raise DataError(f"images {key} in {path} hold no images; every split needs at least one")
    return (shape[1], shape[2], shape[3] if len(shape) == 4 else 1)


def read_labels(z: np.lib.npyio.NpzFile, key: str, n: int, path: Path) -> np.ndarray:
    y = z[key]
    if y.ndim == 2 and y.shape[1] == 1:  # Keras-style (N, 1)
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"labels {key} in {path} have shape {y.shape}; they must be one integer per image, shape (N,)")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"labels {key} in {path} are {y.dtype}; they must be integers 0..K-1")
    if y.shape[0] != n:
        raise DataError(f"{path} has {n} images in x{key[1:]} but {y.shape[0]} labels in {key}; they must match")
    if y.size and y.min() < 0:
        raise DataError(f"labels {key} in {path} include {int(y.min())}; they must be integers 0..K-1")
    return y.astype(np.int64)


def read_classes(z: np.lib.npyio.NpzFile, path: Path) -> tuple[str, ...]:
    try:
        names = z["classes"]
    except ValueError as e:  # an object array (allow_pickle is off)
        raise DataError(f"classes in {path} must be an array of strings (np.array([...]), not dtype=object)") from e
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise DataError(f"classes in {path} must be a 1-D array of strings, not {names.dtype} of shape {names.shape}")
    out = tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names.tolist())
    if len(set(out)) != len(out):
        raise DataError(f"classes in {path} repeat a name ({', '.join(out)}); each class needs its own")
    return out


def read(path: Path, splits: tuple[str, ...]) -> ArraySource:
    """The arrays of an npz file; images only for the parts the requested splits need."""
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not an npz archive (np.savez writes one)")
    try:
        with zipfile.ZipFile(path) as zf, np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            missing = [k for k in REQUIRED if k not in keys]
            if missing:
                raise DataError(
                    f"{path} lacks the arrays {', '.join(missing)} (it has {', '.join(sorted(keys)) or 'none'})"
                )
            parts = ["train", "test"]
            if "x_val" in keys or "y_val" in keys:
                if not {"x_val", "y_val"} <= keys:
                    raise DataError(f"{path} has only one of x_val and y_val; give both or neither")
                parts.append("val")
            heads = {p: header(zf, f"x_{p}", path) for p in parts}
            shapes = {p: check_images(f"x_{p}", *heads[p], path) for p in parts}
            if len(set(shapes.values())) > 1:
                sizes = ", ".join(f"x_{p} {'x'.join(map(str, s))}" for p, s in shapes.items())
                raise DataError(
                    f"the images in {path} differ in size or channels ({sizes}); every split needs the same"
                )
            labels = {p: read_labels(z, f"y_{p}", heads[p][0][0], path) for p in parts}
            classes = read_classes(z, path) if "classes" in keys else None
            need = needed_parts(splits, "val" in parts)
            images = {p: as_nhwc(z[f"x_{p}"]) for p in parts if p in need}
    except NPZ_ERRORS as e:
        raise DataError(f"{path} cannot be read (truncated or corrupt); save it again with np.savez") from e
    top = max(int(y.max()) for y in labels.values())
    if classes is None:
        classes = tuple(str(k) for k in range(top + 1))
    elif top >= len(classes):
        names = f"{len(classes)} name" + "s" * (len(classes) != 1)
        raise DataError(
            f"labels in {path} run up to {top}, but its classes array has {names}; give one name per label 0..{top}"
        )
    return ArraySource(str(path), classes, labels, images, next(iter(shapes.values())))


def as_nhwc(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x
