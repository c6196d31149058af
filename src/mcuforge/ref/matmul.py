"""TRANSPOSE_CONV and BATCH_MATMUL, int8, bit-exact with TF-Lite Micro's reference kernels.

TRANSPOSE_CONV follows TransposeConvPrepare / CalculateOpData (micro/kernels/
transpose_conv.cc) and reference_integer_ops::TransposeConv. Inputs are (output_shape,
weights O x KH x KW x I, input N x H x W x I, optional int32 bias). Every input pixel
scatters into an int32 buffer of the output's size,

    acc[n, iy*sh - pad_top + fy, ix*sw - pad_left + fx, o] += (x[n, iy, ix, i] - x_zp) * w[o, fy, fx, i]

(positions outside the output are dropped), then per output element

    y = clamp(MultiplyByQuantizedMultiplier(acc + bias[o], m[o], shift[o]) + y_zp, act_min, act_max)

The padding is ComputePaddingHeightWidth applied to the OUTPUT's height and width
(as if the output were the input of the forward convolution, dilation 1): SAME puts
floor(total / 2) before. The multipliers are PopulateConvolutionQuantizationParams'
(ref.conv.per_channel_multipliers); the filter zero point is ignored, as the kernel
ignores it; the clamp is the fused activation's (TransposeConvOptions carries one).

BATCH_MATMUL follows BatchMatMulPrepare / EvalInt8 (micro/kernels/batch_matmul.cc) and
reference_ops::BatchMatMul with FullyConnectedParams: per output element

    acc = sum_k (lhs[.., m, k] - lhs_zp) * (rhs[.., k, n] - rhs_zp)          (int32)
    y = clamp(MultiplyByQuantizedMultiplier(acc, m, shift) + y_zp, -128, 127)

with lhs the first input (its last two axes swapped when adj_x), rhs the second (swapped
when adj_y), batch dimensions broadcast. One multiplier for the node, from
the scales' product in double (see `batch_matmul_multiplier`); no fused activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes import window
from mcuforge.ir.shapes_matmul import matmul_dims
from mcuforge.quant.fixedpoint import activation_range
from mcuforge.ref.checks import node_label
from mcuforge.ref.conv import per_channel_multipliers, requantize, requantize16
from mcuforge.ref.fc import fc_multiplier


def _int8_tensor(node: Node, t: Tensor, what: str, per_channel_ok: bool = False) -> None:
    if t.dtype != "int8":
        raise UnsupportedError(f"{node_label(node)} has a {t.dtype} {what} {t.name!r}; only int8 is supported.")
    if t.quant is None or not np.all(t.quant.scale > 0):
        raise UnsupportedError(f"{node_label(node)}: {what} {t.name!r} needs quantisation with a positive scale.")
    if t.quant.per_channel and not per_channel_ok:
        raise UnsupportedError(
            f"{node_label(node)}: {what} {t.name!r} is quantised per channel; only per tensor is supported."
        )


# ------------------------------------------------------------ TRANSPOSE_CONV
@dataclass(frozen=True)
class TransposeConvParams:
    """What TransposeConvPrepare derives (OpData), plus the shapes the kernel loops over."""

    in_shape: tuple[int, int, int, int]  # N, H, W, I
    out_shape: tuple[int, int, int, int]  # N, OH, OW, O
    kernel_hw: tuple[int, int]
    stride: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (top, left): TFLM padding_values.height / .width
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multipliers: tuple[int, ...]  # Q31, one per output channel
    shifts: tuple[int, ...]  # > 0 left, < 0 right
    act_min: int
    act_max: int


def transpose_conv_tensors(g: Graph, node: Node) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    """(input, weights, bias or None, output) of a TRANSPOSE_CONV node, checked."""
    w, x = g.tensor(node.inputs[1]), g.tensor(node.inputs[2])  # type: ignore[arg-type]
    b = g.tensor(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] is not None else None
    y = g.tensor(node.outputs[0])
    _int8_tensor(node, x, "input")
    _int8_tensor(node, y, "output")
    _int8_tensor(node, w, "filter", per_channel_ok=True)
    assert w.quant is not None
    if w.quant.per_channel and w.quant.axis != 0:
        raise UnsupportedError(f"{node_label(node)}: the filter is quantised along axis {w.quant.axis}, expected 0.")
    if b is not None and b.dtype != "int32":
        raise UnsupportedError(f"{node_label(node)} has a {b.dtype} bias; only int32 is supported.")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise UnsupportedError(f"{node_label(node)} needs 4-D input, filter and output tensors.")
    return x, w, b, y


def prepare_transpose_conv(g: Graph, node: Node) -> TransposeConvParams:
    """TransposeConvPrepare for int8: padding from the output size, per-channel multipliers, clamp."""
    x, w, _, y = transpose_conv_tensors(g, node)
    a = node.attrs
    o, kh, kw, _ = w.shape
    pads = tuple(window(y.shape[1 + i], w.shape[1 + i], a.stride[i], 1, a.padding)[1] for i in range(2))
    ms, shifts = per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, o)  # type: ignore[union-attr]
    act_min, act_max = activation_range(str(a.activation), y.quant.s, y.quant.zp)  # type: ignore[union-attr]
    return TransposeConvParams(
        in_shape=tuple(x.shape),  # type: ignore[arg-type]
        out_shape=tuple(y.shape),  # type: ignore[arg-type]
        kernel_hw=(kh, kw),
        stride=tuple(a.stride),  # type: ignore[arg-type]
        padding=pads,  # type: ignore[arg-type]
        input_offset=-x.quant.zp,  # type: ignore[union-attr]
        output_offset=y.quant.zp,  # type: ignore[union-attr]
        multipliers=ms,
        shifts=shifts,
        act_min=act_min,
        act_max=act_max,
    )


def scatter_range(n_in: int, n_out: int, stride: int, offset: int) -> tuple[int, int]:
    """[lo, hi): the input positions i whose target i * stride + offset lies in [0, n_out)."""
    lo = max(0, -(offset // stride))  # ceil(-offset / stride)
    hi = min(n_in, (n_out - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


def transpose_conv_acc(p: TransposeConvParams, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The int32 scratch buffer after the scatter, as int64 (not yet wrapped)."""
    n, h, wd, ci = p.in_shape
    _, oh, ow, o = p.out_shape
    (kh, kw), (sh, sw), (pt, pl) = p.kernel_hw, p.stride, p.padding
    xs = (x.astype(np.float64) + p.input_offset).reshape(n * h * wd, ci)
    acc = np.zeros((n, oh, ow, o), dtype=np.int64)
    for fy in range(kh):
        y0, y1 = scatter_range(h, oh, sh, fy - pt)
        for fx in range(kw):
            x0, x1 = scatter_range(wd, ow, sw, fx - pl)
            if y0 >= y1 or x0 >= x1:
                continue
            # Exact in float64: |term| <= 255 * 128 < 2^15, fewer than 2^38 terms.
            part = np.rint(xs @ w[:, fy, fx, :].astype(np.float64).T).astype(np.int64).reshape(n, h, wd, o)
            oy0, ox0 = y0 * sh + fy - pt, x0 * sw + fx - pl
            acc[:, oy0 : oy0 + (y1 - y0 - 1) * sh + 1 : sh, ox0 : ox0 + (x1 - x0 - 1) * sw + 1 : sw] += part[
                :, y0:y1, x0:x1
            ]
    return acc


def transpose_conv(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """TRANSPOSE_CONV (int8): reference_integer_ops::TransposeConv."""
    p = prepare_transpose_conv(g, node)
    w, x = inputs[1], inputs[2]
    bias = inputs[3] if len(inputs) > 3 else None
    assert x is not None and w is not None
    acc = transpose_conv_acc(p, x, w)
    if bias is not None:
        acc = acc + bias.astype(np.int64).reshape(-1)
    return [requantize(acc, p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max)]


# ------------------------------------------------------------ BATCH_MATMUL
@dataclass(frozen=True)
class BatchMatMulParams:
    """What BatchMatMulPrepare derives (OpDataBatchMatmul), plus the matrix sizes."""

    batch: tuple[int, ...]  # broadcast batch dimensions of the output
    rows: int  # M
    depth: int  # K
    cols: int  # N
    lhs_offset: int  # -lhs zero point
    rhs_offset: int  # -rhs zero point
    output_offset: int  # output zero point
    multiplier: int
    shift: int
    dtype: str = "int8"  # int16: BatchMatMul<int16_t, int64_t> (zero points 0, int64 sum)


def batch_matmul_multiplier(lhs_scale: float, rhs_scale: float, output_scale: float) -> tuple[int, int]:
    """(multiplier, shift): double(lhs scale) * double(rhs scale) / double(output scale),
    then QuantizeMultiplier. TF-Lite Micro's source calls GetQuantizedConvolutionMultipler,
    which multiplies the float32 scales in float32 first, but the oracle wheel computes
    the product in double, as for FULLY_CONNECTED (ref.fc): on scales where the two give
    different Q31 multipliers it agrees with the double one (tests/ref/test_matmul.py)."""
    return fc_multiplier(lhs_scale, rhs_scale, output_scale)


def prepare_batch_matmul(g: Graph, node: Node) -> BatchMatMulParams:
    lhs, rhs, y = (g.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))  # type: ignore[arg-type]
    sixteen = lhs.dtype == rhs.dtype == y.dtype == "int16"
    for t, what in ((lhs, "input 0"), (rhs, "input 1"), (y, "output")):
        if not sixteen:
            _int8_tensor(node, t, what)
        elif t.quant is None or t.quant.per_channel or t.quant.zp != 0:
            raise UnsupportedError(f"{node_label(node)}: int16 {what} {t.name!r} needs per-tensor zero point 0.")
    try:
        batch, m, k, n = matmul_dims(lhs.shape, rhs.shape, node.attrs)
    except ValueError as e:
        raise UnsupportedError(f"{node_label(node)}: {e}.") from None
    if (*batch, m, n) != y.shape:
        raise UnsupportedError(f"{node_label(node)}: inputs give shape {(*batch, m, n)}, the output has {y.shape}.")
    mult, shift = batch_matmul_multiplier(lhs.quant.s, rhs.quant.s, y.quant.s)  # type: ignore[union-attr]
    return BatchMatMulParams(
        batch=batch,
        rows=m,
        depth=k,
        cols=n,
        lhs_offset=-lhs.quant.zp,  # type: ignore[union-attr]
        rhs_offset=-rhs.quant.zp,  # type: ignore[union-attr]
        output_offset=y.quant.zp,  # type: ignore[union-attr]
        multiplier=mult,
        shift=shift,
        dtype="int16" if sixteen else "int8",
    )


def batch_matmul(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """BATCH_MATMUL: reference_ops::BatchMatMul<int8_t, int32_t> (or <int16_t, int64_t>)."""
    p = prepare_batch_matmul(g, node)
    lhs, rhs = inputs[0], inputs[1]
    assert lhs is not None and rhs is not None
    a = node.attrs
    xs = lhs.astype(np.float64) + p.lhs_offset
    ys = rhs.astype(np.float64) + p.rhs_offset
    if a.adj_x:
        xs = np.swapaxes(xs, -1, -2)
    if a.adj_y:
        ys = np.swapaxes(ys, -1, -2)
    # Exact in float64: |term| <= 255 * 255 < 2^16 (int8; 2^30 for int16), fewer than 2^23 terms.
    acc = np.rint(np.matmul(xs, ys)).astype(np.int64)
    if p.dtype == "int16":
        y = requantize16(acc, (p.multiplier,), (p.shift,), True, 0, -32768, 32767)
    else:
        y = requantize(acc, (p.multiplier,), (p.shift,), p.output_offset, -128, 127)
    return [y.reshape(*p.batch, p.rows, p.cols)]


KERNELS = {
    Op.TRANSPOSE_CONV: transpose_conv,
    Op.BATCH_MATMUL: batch_matmul,
}
