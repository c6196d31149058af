"""What `run` and `quantize-input` accept as a model input: an .npy array of the input's
dtype, a float .npy quantised exactly as TFLite's QUANTIZE does, an image file (PNG,
JPEG, BMP; resized to the input and quantised), or a batch of any of those arrays (one
more leading dimension, or the batch in place of a leading 1).

Float arrays for an int8 input become clamp(round(x / scale) + zero_point) with the
division in float32 and halves rounded away from zero, TFLite's AffineQuantize
(ref/quantize.py); NumPy's round would send halves to even and flip outputs. Images are mapped to the input the
way `validate` feeds them (data/convention.py): pixel - 128 unless --input-range LO,HI
says which float range the network was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.errors import InputError
from mcuforge.ir.graph import Graph
from mcuforge.ref.quantize import affine_quantize

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})


def _image(g: Graph, index: int, path: Path, input_range: tuple[float, float] | None) -> np.ndarray:
    from PIL import Image

    from mcuforge.data.images import decode
    from mcuforge.validate.prepare import model_inputs

    t = g.tensors[g.inputs[index]]
    if index != 0 or len(t.shape) != 4 or t.shape[3] not in (1, 3):
        raise InputError(
            f"input {index} of the model has shape {t.shape}; an image feeds an NHWC input 0 with 1 or 3 channels"
        )
    _, h, w, c = t.shape
    if h == w:
        pixels = decode(path, h, c)
    else:  # a non-square input: the whole image resized, without the centre crop
        native = decode(path, None, c)
        im = Image.fromarray(native[..., 0] if c == 1 else native)
        pixels = np.asarray(im.resize((w, h), Image.Resampling.BILINEAR)).reshape(h, w, c)
    return model_inputs(g, pixels[None], input_range)


def _array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"input file {path} is not a readable .npy array ({e})") from None
    if isinstance(arr, np.lib.npyio.NpzFile):
        raise InputError(f"input file {path} is an .npz archive; pass one .npy file per model input")
    return arr


def _records(g: Graph, index: int, x: np.ndarray, path: Path) -> np.ndarray:
    """x as (N, *shape) of input `index`: one record, or a batch."""
    t = g.tensors[g.inputs[index]]
    shape = t.shape
    if x.size == t.size:
        return x.reshape((1, *shape))
    if shape and shape[0] == 1 and x.ndim == len(shape) and tuple(x.shape[1:]) == shape[1:]:
        return x.reshape((x.shape[0], *shape))  # the batch in place of the leading 1
    if x.ndim == len(shape) + 1 and tuple(x.shape[1:]) == shape:
        return x
    raise InputError(
        f"{path}: input {index} ({g.inputs[index]}) has shape {shape} but the array has shape {x.shape} (a batch adds one leading dimension)"
    )


def load_input(
    g: Graph, index: int, path: str | Path, input_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, str]:
    """Records (N, *shape) of the model's input `index` from `path`, and what was done."""
    p = Path(path)
    t = g.tensors[g.inputs[index]]
    if p.suffix.lower() in IMAGE_SUFFIXES:
        if not p.is_file():
            raise InputError(f"input file {path} does not exist")
        how = "pixel - 128" if input_range is None else f"pixels mapped to {input_range[0]:g}..{input_range[1]:g}"
        return _image(g, index, p, input_range).reshape(
            (1, *t.shape)
        ), f"image resized to {t.shape[2]}x{t.shape[1]}, {how}"
    x = _array(p)
    if x.dtype == np.dtype(t.dtype):
        return _records(g, index, x, p), "as given"
    if np.issubdtype(x.dtype, np.floating) and t.dtype in ("int8", "uint8", "int16"):
        if t.quant is None or t.quant.per_channel:
            raise InputError(
                f"input {index} ({g.inputs[index]}) has no per-tensor quantisation to quantise float values with"
            )
        q = affine_quantize(x, float(t.quant.s), int(t.quant.zp), t.dtype)  # TFLite's QUANTIZE, bit for bit
        return _records(
            g, index, q, p
        ), f"float values quantised with scale {float(t.quant.s):g}, zero point {t.quant.zp}"
    if np.issubdtype(x.dtype, np.floating) and t.dtype == "float32":
        return _records(g, index, x.astype(np.float32), p), "as float32"
    raise InputError(
        f"input {index} ({g.inputs[index]}) must be {t.dtype} (or float values to quantise) but {path} holds {x.dtype}"
    )


def load_inputs(
    g: Graph, paths: list[str], input_range: tuple[float, float] | None = None
) -> tuple[list[list[np.ndarray]], list[str]]:
    """Per record, the list of model inputs; and per input what was done. All inputs
    must hold the same number of records (or one, repeated)."""
    if len(paths) != len(g.inputs):
        raise InputError(f"the model takes {len(g.inputs)} input(s) but {len(paths)} were given")
    loaded = [load_input(g, i, p, input_range) for i, p in enumerate(paths)]
    counts = {len(x) for x, _ in loaded}
    n = max(counts)
    if counts - {1, n}:
        raise InputError(f"the inputs hold different numbers of records ({', '.join(str(len(x)) for x, _ in loaded)})")
    records = [[x[k if len(x) > 1 else 0] for x, _ in loaded] for k in range(n)]
    return records, [how for _, how in loaded]
