"""AVERAGE_POOL_2D and MAX_POOL_2D, int8, bit-exact with TF-Lite Micro's reference kernels.

Follows PoolingPrepare / CalculateOpDataPooling (Prepare: ComputePaddingHeightWidth
with dilation 1, CalculateActivationRangeQuantized on the output) and
reference_integer_ops::AveragePool / MaxPool (Eval). Pooling does not requantise:
TF-Lite Micro requires the input and output to share scale (within 1e-6) and zero
point, and works on the raw int8 values.

Average: the window is clipped to the image, so padded positions count neither in the
sum nor in the divisor; the int32 sum is divided by that count, rounding halves away
from zero: (acc + n/2) / n for acc > 0, else (acc - n/2) / n, in C integer division
(truncation toward zero). Max: the largest value in the clipped window (int8 lowest
for an empty window). Both then clamp to the fused activation's range.

int16 (both tensors): the same, with int16's range for the clamp and the max's start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op, axis_padding
from mcuforge.quant.fixedpoint import activation_range, int_range
from mcuforge.ref.conv import conv_output_size, window_taps


@dataclass(frozen=True)
class PoolParams:
    """What PoolingPrepare derives (OpDataPooling) plus the window geometry."""

    filter_hw: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    out_hw: tuple[int, int]  # the output tensor's (h, w): the kernel's loop bounds
    act_min: int
    act_max: int
    dtype: str = "int8"


def _name(node: Node) -> str:
    return f"{node.op} node {node.name!r}" if node.name else str(node.op)


def prepare_pool(g: Graph, node: Node) -> PoolParams:
    """PoolingPrepare for int8 (or int16) tensors."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    what = _name(node)
    if x.dtype != y.dtype or x.dtype not in ("int8", "int16"):
        raise UnsupportedError(f"{what} has {x.dtype} input and {y.dtype} output; only int8 or int16 is supported.")
    if x.quant is None or y.quant is None:
        raise UnsupportedError(f"{what} lacks quantisation parameters on its input or output.")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise UnsupportedError(f"{what} needs 4-D input and output tensors.")
    # PoolingPrepare: |double(s_in) - double(s_out)| <= 1e-6 and equal zero points.
    if abs(x.quant.s - y.quant.s) > 1.0e-6 or x.quant.zp != y.quant.zp:
        raise UnsupportedError(f"{what} changes the quantisation between input and output, which TF-Lite Micro rejects.")
    a = node.attrs
    fh, fw = a.filter
    oh, pad_h = conv_output_size(x.shape[1], fh, a.stride[0], 1, axis_padding(a.padding, 0))
    ow, pad_w = conv_output_size(x.shape[2], fw, a.stride[1], 1, axis_padding(a.padding, 1))
    if oh <= 0 or ow <= 0:
        raise UnsupportedError(f"{what}: the {fh}x{fw} window does not fit the {x.shape[1]}x{x.shape[2]} input.")
    act_min, act_max = activation_range(str(a.activation), y.quant.s, y.quant.zp, *int_range(y.dtype))
    return PoolParams(
        filter_hw=(fh, fw),
        stride=tuple(a.stride),
        padding=(pad_h, pad_w),
        out_hw=(y.shape[1], y.shape[2]),
        act_min=act_min,
        act_max=act_max,
        dtype=y.dtype,
    )


def _window_counts(h: int, w: int, p: PoolParams) -> np.ndarray:
    """Number of in-image positions in each output window: shape (OH, OW)."""
    ones = np.ones((1, h, w, 1), dtype=np.int64)
    taps = window_taps(ones, p.out_hw, p.filter_hw, p.stride, (1, 1), p.padding, 0)
    return taps.sum(axis=(3, 4))[0, :, :, 0]


def average_pool2d(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """AVERAGE_POOL_2D: reference_integer_ops::AveragePool (int8)."""
    p = prepare_pool(g, node)
    x = inputs[0]
    assert x is not None
    taps = window_taps(x.astype(np.int64), p.out_hw, p.filter_hw, p.stride, (1, 1), p.padding, 0)
    acc = taps.sum(axis=(3, 4))  # (N, OH, OW, C); padding added zeros
    count = _window_counts(x.shape[1], x.shape[2], p)[None, :, :, None]
    if np.any(count == 0):
        raise UnsupportedError(f"{_name(node)} has a window entirely outside the input, which TF-Lite Micro rejects.")
    half = count // 2
    # C division truncates toward zero; both numerators below have the sign of acc
    # (|acc| >= 0 and half < count), so floor division of magnitudes is the same.
    pos = (acc + half) // count
    neg = -((-acc + half) // count)
    avg = np.where(acc > 0, pos, neg)
    return [np.clip(avg, p.act_min, p.act_max).astype(p.dtype)]


def max_pool2d(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """MAX_POOL_2D: reference_integer_ops::MaxPool (int8)."""
    p = prepare_pool(g, node)
    x = inputs[0]
    assert x is not None
    # Padding with the type's lowest is the same as skipping: the kernel starts from it.
    lowest = int_range(p.dtype)[0]
    taps = window_taps(x.astype(p.dtype), p.out_hw, p.filter_hw, p.stride, (1, 1), p.padding, lowest)
    mx = taps.max(axis=(3, 4)).astype(np.int64)
    return [np.clip(mx, p.act_min, p.act_max).astype(p.dtype)]


KERNELS = {
    Op.AVERAGE_POOL_2D: average_pool2d,
    Op.MAX_POOL_2D: max_pool2d,
}
