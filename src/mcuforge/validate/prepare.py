"""What `validate` checks before it runs anything, each problem one sentence: the model
(one image in, one class vector out), the tools and boards of the backends, the classes
of the data set against the model's, and the images turned into the model's input.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from mcuforge.errors import InputError, MCUForgeError, UnsupportedError
from mcuforge.hw.boards import Board, get_board
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Op

OUTPUT_DTYPES = ("int8", "uint8", "int16", "float32")
SHOWN_NAMES = 5  # class names listed in a mismatch message


class ToolError(MCUForgeError):
    """A backend's tools are not installed."""


def check_model(path: Path) -> tuple[Graph, tuple[int, int], int]:
    """The graph of a classifier of square images: (graph, (resolution, channels), classes)."""
    from mcuforge.frontend.tflite_read import load

    g = load(path)
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise UnsupportedError(
            f"{path.name} has {len(g.inputs)} inputs and {len(g.outputs)} outputs; validate supports models with one image input and one class output"
        )
    t = g.tensors[g.inputs[0]]
    if len(t.shape) != 4 or t.shape[0] != 1:
        raise UnsupportedError(
            f"{path.name} takes input of shape {t.shape}; validate needs one image of shape (1, H, W, C)"
        )
    _, h, w, c = t.shape
    if h != w:
        raise UnsupportedError(f"{path.name} takes {h}x{w} images; validate needs square images (H equal to W)")
    y = g.tensors[g.outputs[0]]
    k = y.shape[-1] if y.shape else 0
    if y.dtype not in OUTPUT_DTYPES or y.size != k or k < 2:
        raise UnsupportedError(
            f"the output of {path.name} ({y.dtype} of shape {y.shape}) is not a class vector (1, K) of scores that validate can rank"
        )
    return g, (h, c), k


def check_tools(backends: tuple[str, ...]) -> None:
    """Every tool the chosen backends need is installed (else one sentence naming it)."""
    for b in backends:
        if b == "c" and shutil.which("gcc") is None and shutil.which("cc") is None:
            raise ToolError("backend c needs a C compiler: gcc is not installed (Debian package gcc)")
        if b.startswith("qemu-"):
            from mcuforge.targets.qemu import missing_tools

            reason = missing_tools()
            if reason is not None:
                raise ToolError(f"backend {b} needs the Arm toolchain and QEMU: {reason}")
        if b == "tflm":
            try:
                import tflite_micro  # noqa: F401
            except ImportError:
                raise ToolError(
                    "backend tflm needs the tflite-micro Python package (pip install tflite-micro)"
                ) from None


def resolve_boards(
    backends: tuple[str, ...], board: str | None, sram: int | None, flash: int | None
) -> dict[str, Board]:
    """The board of each QEMU backend (its core must match the backend's)."""
    from mcuforge.targets.qemu import backend_board

    boards = {b: backend_board(b, board, sram, flash) for b in backends if b.startswith("qemu-")}
    if not boards and board is not None:
        get_board(board)  # an unknown name is still an error, even where no backend uses it
    return boards


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:SHOWN_NAMES])
    return shown + (f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else "")


def class_map(
    model_labels: tuple[str, ...] | None, data_classes: tuple[str, ...], k: int, data: str
) -> tuple[tuple[str, ...], np.ndarray]:
    """(the model's class names, data label -> model output index). With names, the data
    set's classes are matched by name (the same set required); without, in order."""
    if model_labels is None:
        if len(data_classes) != k:
            raise InputError(
                f"the model has {k} outputs but {data} has {len(data_classes)} classes, and the model names no classes to match them by"
            )
        return tuple(data_classes), np.arange(k, dtype=np.int64)
    if len(model_labels) != k:
        raise InputError(f"the model names {len(model_labels)} classes but its output has {k} scores")
    if len(set(model_labels)) != len(model_labels):
        raise InputError("the model's class names are not unique, so they cannot be matched to the data set's")
    only_model = [n for n in model_labels if n not in set(data_classes)]
    only_data = [n for n in data_classes if n not in set(model_labels)]
    if only_model or only_data:
        parts = ([f"{_names(only_model)} only in the model"] if only_model else []) + (
            [f"{_names(only_data)} only in {data}"] if only_data else []
        )
        raise InputError(f"the model's classes and those of {data} differ: {'; '.join(parts)}")
    index = {n: i for i, n in enumerate(model_labels)}
    return tuple(model_labels), np.array([index[n] for n in data_classes], dtype=np.int64)


def _quant(g: Graph, name: str, what: str) -> tuple[float, int]:
    q = g.tensors[name].quant
    if q is None or q.per_channel:
        raise UnsupportedError(
            f"the model's {what} has no per-tensor quantisation to feed images by; validate needs an int8 input"
        )
    return q.s, q.zp


def model_inputs(g: Graph, images: np.ndarray, input_range: tuple[float, float] | None) -> np.ndarray:
    """uint8 images (N, H, W, C) -> the model's input, stacked (N, H, W, C).

    int8: quantize_images with the input's scale and zero point (pixel - 128 without
    `input_range`). uint8: the same shifted by 128 (zero point - 128 in int8 terms).
    float32 followed by QUANTIZE: the real values that quantise to those int8 values
    (or, with `input_range`, the pixels mapped to that range in float32)."""
    from mcuforge.data.convention import quantize_images

    name = g.inputs[0]
    t = g.tensors[name]
    if t.dtype == "int8":
        return quantize_images(images, *_quant(g, name, "input"), input_range)
    if t.dtype == "uint8":
        s, zp = _quant(g, name, "input")
        return (quantize_images(images, s, zp - 128, input_range).astype(np.int16) + 128).astype(np.uint8)
    if t.dtype == "float32":
        if input_range is not None:
            lo, hi = input_range
            if not hi > lo:
                raise InputError(f"the input range must run from low to high, not {lo}..{hi}")
            return (lo + images.astype(np.float64) / 255.0 * (hi - lo)).astype(np.float32)
        users = [n for n in g.nodes if name in n.inputs]
        if len(users) != 1 or users[0].op != Op.QUANTIZE:
            raise InputError(
                "the model takes float32 input without a QUANTIZE to follow; give the pixels' float range with --input-range LO,HI"
            )
        s, zp = _quant(g, users[0].outputs[0], "quantised input")
        q = quantize_images(images, s, zp).astype(np.float32)
        return (q - np.float32(zp)) * np.float32(s)
    raise UnsupportedError(f"the model takes {t.dtype} input; validate feeds images to int8, uint8 or float32 inputs")
