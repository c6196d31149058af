"""RESIZE_BILINEAR on int8, bit-exact with TF-Lite Micro (resize_bilinear.cc ->
reference_ops::ResizeBilinearInteger, which uses no floating point).

Positions are in 1/1024 of an input pixel. The scale is
((1 << 10) * in + out / 2) / out in C integer division, or with align_corners (and
more than one output row or column) ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1).
Output row y sits at s = y * scale, or with half_pixel_centers
y * scale + scale / 2 - 512 (which may be negative); the two input rows are
y0 = max(s / 1024, 0) and y1 = min((s + 1023) / 1024, in - 1) (C division truncates
toward zero), with weights 1024 - f and f for f = s - 1024 * y0. Columns alike. The
four products sum to an int64 in units of 2^-20, rounded half away from zero
((v + (v > 0 ? 2^19 : -2^19)) / 2^20; the build has no TFLITE_SINGLE_ROUNDING) and
cast to int8 (the weights are convex, so no value leaves the range).

The kernel copies raw values: TF-Lite Micro ignores the output quantisation, so a
node whose output quantisation differs from its input's is refused. A scale so small
that a lower row or column falls past the input (a huge upscale: TF-Lite Micro reads
out of bounds) is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.checks import int8_io, node_label

ONE = 1 << 10  # one input pixel in position units


@dataclass(frozen=True)
class AxisTable:
    """Per output row (or column): the two input indices and the weight f of the second."""

    lo: tuple[int, ...]
    hi: tuple[int, ...]
    frac: tuple[int, ...]  # s - 1024 * lo, in (-512, 1024); the first index weighs 1024 - frac


@dataclass(frozen=True)
class ResizeBilinearParams:
    rows: AxisTable
    cols: AxisTable


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def axis_table(size_in: int, size_out: int, align_corners: bool, half_pixel_centers: bool) -> AxisTable:
    """ComputeInterpolationValuesInteger for every output index along one axis."""
    if align_corners and size_out > 1:
        scale = _c_div(ONE * (size_in - 1) + (size_out - 1) // 2, size_out - 1)
    else:
        scale = _c_div(ONE * size_in + size_out // 2, size_out)
    lo, hi, frac = [], [], []
    for v in range(size_out):
        s = v * scale + _c_div(scale, 2) - (1 << 9) if half_pixel_centers else v * scale
        a = max(_c_div(s, ONE), 0)
        lo.append(a)
        hi.append(min(_c_div(s + ONE - 1, ONE), size_in - 1))
        frac.append(s - ONE * a)
    return AxisTable(tuple(lo), tuple(hi), tuple(frac))


def prepare_resize_bilinear(g: Graph, node: Node) -> ResizeBilinearParams:
    x, y = int8_io(g, node)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise UnsupportedError(f"{node_label(node)} needs 4-D input and output.")
    if x.quant.scale[0] != y.quant.scale[0] or x.quant.zp != y.quant.zp:
        raise UnsupportedError(
            f"{node_label(node)} changes the quantisation between input and output, which TF-Lite Micro ignores."
        )
    size = g.tensor(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] is not None else None
    if size is None or size.data is None or size.dtype != "int32":
        raise UnsupportedError(f"{node_label(node)} needs its size as a constant int32 tensor, as TFLite does.")
    a = node.attrs
    if a.align_corners and a.half_pixel_centers:
        raise UnsupportedError(f"{node_label(node)} sets both align_corners and half_pixel_centers.")
    rows = axis_table(x.shape[1], y.shape[1], a.align_corners, a.half_pixel_centers)
    cols = axis_table(x.shape[2], y.shape[2], a.align_corners, a.half_pixel_centers)
    for what, t, n in (("row", rows, x.shape[1]), ("column", cols, x.shape[2])):
        if t.lo and max(t.lo) > n - 1:
            raise UnsupportedError(
                f"{node_label(node)} scales {n} input {what}s so far that TF-Lite Micro reads past the input."
            )
    return ResizeBilinearParams(rows, cols)


def eval_resize_bilinear(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    p = prepare_resize_bilinear(g, node)
    x = np.asarray(inputs[0]).astype(np.int64)
    r, c = p.rows, p.cols
    fy = np.array(r.frac, dtype=np.int64)[None, :, None, None]
    fx = np.array(c.frac, dtype=np.int64)[None, None, :, None]
    top, bottom = x[:, list(r.lo)], x[:, list(r.hi)]
    v = (
        top[:, :, list(c.lo)] * (ONE - fy) * (ONE - fx)
        + bottom[:, :, list(c.lo)] * fy * (ONE - fx)
        + top[:, :, list(c.hi)] * (ONE - fy) * fx
        + bottom[:, :, list(c.hi)] * fy * fx
    )
    rounded = v + np.where(v > 0, 1 << 19, -(1 << 19))
    out = np.where(rounded >= 0, rounded >> 20, -((-rounded) >> 20))  # C division by 2^20
    return [out.astype(np.int8).reshape(g.tensor(node.outputs[0]).shape)]


KERNELS = {
    Op.RESIZE_BILINEAR: eval_resize_bilinear,
}
