"""CONV_2D and DEPTHWISE_CONV_2D, int8, bit-exact with TF-Lite Micro's reference kernels.

Follows reference_integer_ops::ConvPerChannel and DepthwiseConvPerChannel (Eval) and
ConvPrepare / DepthwiseConvPrepare with PopulateConvolutionQuantizationParams and
ComputePaddingHeightWidth (Prepare). The arithmetic, per output element:

    acc = sum over taps inside the image of  w * (x - input_zp)     (int32)
    acc += bias[c]                                                   (int32, optional)
    y = MultiplyByQuantizedMultiplier(acc, m[c], shift[c]) + output_zp
    y = clamp(y, act_min, act_max)

Taps that fall outside the image are skipped, which is the same as padding the
zero-point-shifted input with zeros; that is how the vectorised code does it. The
filter zero point is ignored, as ConvPerChannel ignores it (int8 weights are symmetric).

16x8 (int16 input and output, zero point 0; int8 weights): the int16 ConvPerChannel /
DepthwiseConvPerChannel add no input or output offset. CONV_2D's accumulator follows
its bias: int32 for an int32 bias (the int32 requantisation above), int64 for an int64
bias or none (MultiplyByQuantizedMultiplier's int64 overload: a Q15 multiplier, one
rounding shift). DEPTHWISE_CONV_2D always accumulates in int64 and reads its bias as
int64, so an int32 bias is refused (TF-Lite Micro would misread it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.checks import node_label, weighted_16x8, weighted_int8
from mcuforge.ir.ops import Op, axis_padding
from mcuforge.ir.shapes import window
from mcuforge.quant.fixedpoint import (
    activation_range,
    int_range,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_int64,
    quantize_multiplier,
    wrap_int32,
)


# ----------------------------------------------------------------- geometry
def conv_output_size(in_size: int, k: int, stride: int, dilation: int, padding) -> tuple[int, int]:
    """(output size, padding before) along one spatial axis, as TF-Lite computes them
    (ir.shapes.window: ComputeOutSize and ComputePaddingWithOffset). `padding` is SAME,
    VALID or an explicit (before, after) pair."""
    if stride <= 0 or dilation <= 0 or k <= 0:
        raise UnsupportedError(f"window size {k}, stride {stride} and dilation {dilation} must be positive.")
    return window(in_size, k, stride, dilation, padding)


def _axis_taps(n_out: int, stride: int, start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Input positions start + stride * i (i < n_out) clipped into [0, size), and which
    of them lie inside."""
    r = start + stride * np.arange(n_out, dtype=np.int64)
    return np.clip(r, 0, size - 1), (r >= 0) & (r < size)


def tap(
    x: np.ndarray,
    fy: int,
    fx: int,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pad: tuple[int, int],
    fill: float | int,
) -> np.ndarray:
    """The (N, OH, OW, C) input values that filter tap (fy, fx) meets across the output
    grid; `fill` where the tap falls outside the image (`pad`: top, left).

    TF-Lite kernels loop over the output tensor's shape and skip taps outside the image;
    reading a neutral value there is the same. Positions are gathered, not padded, so any
    stride or dilation costs memory of the output's size only.
    """
    _, h, w, _ = x.shape
    ry, vy = _axis_taps(out_hw[0], stride[0], fy * dilation[0] - pad[0], h)
    rx, vx = _axis_taps(out_hw[1], stride[1], fx * dilation[1] - pad[1], w)
    v = x[:, ry][:, :, rx]
    if vy.all() and vx.all():
        return v
    inside = (vy[:, None] & vx[None, :])[None, :, :, None]
    return np.where(inside, v, np.asarray(fill, dtype=x.dtype))


def window_taps(
    x: np.ndarray,
    out_hw: tuple[int, int],
    k_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pad: tuple[int, int],
    fill: float | int,
) -> np.ndarray:
    """All window taps of an NHWC array: shape (N, OH, OW, KH, KW, C) (see tap)."""
    taps = np.empty((x.shape[0], *out_hw, *k_hw, x.shape[3]), dtype=x.dtype)
    for fy in range(k_hw[0]):
        for fx in range(k_hw[1]):
            taps[:, :, :, fy, fx, :] = tap(x, fy, fx, out_hw, stride, dilation, pad, fill)
    return taps


# ------------------------------------------------------------ quantisation
def per_channel_multipliers(
    input_scale: float, filter_scales: np.ndarray, output_scale: float, channels: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """PopulateConvolutionQuantizationParams: one (multiplier, shift) per output channel.

    TF-Lite Micro widens each float32 scale to double and computes
    double(input_scale) * double(filter_scale[c]) / double(output_scale) in double,
    left to right, then QuantizeMultiplier. A per-tensor filter scale (one value) is
    broadcast to every channel. FULLY_CONNECTED uses the same arithmetic (see ref.fc).
    """
    scales = np.asarray(filter_scales, dtype=np.float32).reshape(-1)
    if scales.size not in (1, channels):
        raise UnsupportedError(f"filter has {scales.size} scales for {channels} output channels.")
    s_in = float(np.float32(input_scale))
    s_out = float(np.float32(output_scale))
    ms: list[int] = []
    shifts: list[int] = []
    for ch in range(channels):
        s_f = float(scales[ch if scales.size > 1 else 0])
        m, sh = quantize_multiplier(s_in * s_f / s_out)
        ms.append(m)
        shifts.append(sh)
    return tuple(ms), tuple(shifts)


def requantize(acc: np.ndarray, multipliers, shifts, output_zp: int, act_min: int, act_max: int) -> np.ndarray:
    """int32 accumulators (last axis = channel) -> int8, as the reference kernels' epilogue."""
    m = np.asarray(multipliers, dtype=np.int64)
    s = np.asarray(shifts, dtype=np.int64)
    y = multiply_by_quantized_multiplier(wrap_int32(acc), m, s) + output_zp
    return np.clip(y, act_min, act_max).astype(np.int8)


def requantize16(acc: np.ndarray, multipliers, shifts, acc64: bool, output_zp: int, act_min: int, act_max: int):
    """16x8 accumulators (last axis = channel) -> int16: the int64 overload of
    MultiplyByQuantizedMultiplier for int64 accumulators, the int32 one (on the wrapped
    sum) for int32 accumulators."""
    m = np.asarray(multipliers, dtype=np.int64)
    s = np.asarray(shifts, dtype=np.int64)
    if acc64:
        y = multiply_by_quantized_multiplier_int64(acc, m, s)
    else:
        y = multiply_by_quantized_multiplier(wrap_int32(acc), m, s)
    return np.clip(y + output_zp, act_min, act_max).astype(np.int16)


# ----------------------------------------------------------------- prepare
@dataclass(frozen=True)
class ConvParams:
    """What TF-Lite Micro's ConvPrepare / DepthwiseConvPrepare derive (OpDataConv)."""

    stride: tuple[int, int]  # (h, w)
    dilation: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (top, left): TFLM padding_values.height / .width
    out_hw: tuple[int, int]  # the output tensor's (h, w): the kernel's loop bounds
    kernel_hw: tuple[int, int]
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multipliers: tuple[int, ...]  # Q31, one per output channel
    shifts: tuple[int, ...]  # > 0 left, < 0 right (QuantizeMultiplier's exponent)
    act_min: int
    act_max: int
    groups: int = 1  # CONV_2D: input channels / filter input channels
    depth_multiplier: int = 1  # DEPTHWISE_CONV_2D: output channels / input channels
    acc64: bool = False  # 16x8 with an int64 accumulator (see the module docstring)
    dtype: str = "int8"  # input and output type


def _prepare(g: Graph, node: Node, channels_axis: int) -> tuple[ConvParams, Tensor, Tensor]:
    sixteen = g.tensor(node.inputs[0]).dtype == "int16"  # type: ignore[arg-type]
    x, w, b, y = weighted_16x8(g, node) if sixteen else weighted_int8(g, node)
    if sixteen and node.op == Op.DEPTHWISE_CONV_2D and b is not None and b.dtype != "int64":
        raise UnsupportedError(
            f"{node_label(node)} is a 16x8 depthwise convolution with a {b.dtype} bias; "
            "TF-Lite Micro reads it as int64, so only an int64 bias is supported."
        )
    a = node.attrs
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise UnsupportedError(f"{node_label(node)} needs 4-D input, filter and output tensors.")
    _, h_in, w_in, _ = x.shape
    kh, kw = w.shape[1], w.shape[2]
    oh, pad_h = conv_output_size(h_in, kh, a.stride[0], a.dilation[0], axis_padding(a.padding, 0))
    ow, pad_w = conv_output_size(w_in, kw, a.stride[1], a.dilation[1], axis_padding(a.padding, 1))
    if oh <= 0 or ow <= 0:
        raise UnsupportedError(f"{node_label(node)}: the {kh}x{kw} window does not fit the {h_in}x{w_in} input.")
    channels = w.shape[channels_axis]
    assert x.quant is not None and w.quant is not None and y.quant is not None
    ms, shifts = per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, channels)
    act_min, act_max = activation_range(str(a.activation), y.quant.s, y.quant.zp, *int_range(y.dtype))
    params = ConvParams(
        stride=tuple(a.stride),
        dilation=tuple(a.dilation),
        padding=(pad_h, pad_w),
        out_hw=(y.shape[1], y.shape[2]),
        kernel_hw=(kh, kw),
        input_offset=-x.quant.zp,
        output_offset=y.quant.zp,
        multipliers=ms,
        shifts=shifts,
        act_min=act_min,
        act_max=act_max,
        acc64=sixteen and (node.op == Op.DEPTHWISE_CONV_2D or b is None or b.dtype == "int64"),
        dtype=y.dtype,
    )
    return params, x, y


def prepare_conv2d(g: Graph, node: Node) -> ConvParams:
    """ConvPrepare for int8: padding, per-channel multipliers, clamp, groups."""
    p, x, y = _prepare(g, node, channels_axis=0)
    w = g.tensor(node.inputs[1])  # type: ignore[arg-type]
    c_in, c_w, c_out = x.shape[3], w.shape[3], w.shape[0]
    if c_w <= 0 or c_in % c_w != 0:
        raise UnsupportedError(f"{node_label(node)}: {c_in} input channels are not a multiple of the filter's {c_w}.")
    groups = c_in // c_w
    if c_out % groups != 0 or y.shape[3] != c_out:
        raise UnsupportedError(
            f"{node_label(node)}: {c_out} filters cannot be split into {groups} groups for {y.shape[3]} outputs."
        )
    return replace(p, groups=groups)


def prepare_depthwise_conv2d(g: Graph, node: Node) -> ConvParams:
    """DepthwiseConvPrepare for int8 (filter 1 x KH x KW x C*M, quantised along axis 3)."""
    p, x, y = _prepare(g, node, channels_axis=3)
    w = g.tensor(node.inputs[1])  # type: ignore[arg-type]
    c_in, c_out = x.shape[3], w.shape[3]
    if w.shape[0] != 1 or c_in <= 0 or c_out % c_in != 0 or y.shape[3] != c_out:
        raise UnsupportedError(
            f"{node_label(node)}: filter {w.shape} does not match {c_in} input and {y.shape[3]} output channels."
        )
    # DepthwiseConvPerChannel loops with params.depth_multiplier; the converter always
    # writes output channels / input channels there, which is what we derive.
    return replace(p, depth_multiplier=c_out // c_in)


# -------------------------------------------------------------------- eval
def _shifted_input(x: np.ndarray, p: ConvParams) -> np.ndarray:
    # x - input_zp in [-255, 255]; padding with 0 afterwards = skipping outside taps.
    return x.astype(np.int64) + p.input_offset


def conv2d(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """CONV_2D, reference_integer_ops::ConvPerChannel."""
    p = prepare_conv2d(g, node)
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    assert x is not None and w is not None
    xs = _shifted_input(x, p).astype(np.float64)
    n = x.shape[0]
    oh, ow = p.out_hw
    c_out, kh, kw, c_w = w.shape
    # float64 is exact here: |w * (x - zp)| <= 128 * 255 < 2^15 (int8; 2^22 for 16x8), so
    # any sum of fewer than 2^31 terms stays an integer below 2^53, whatever order BLAS adds in.
    if (kh, kw) == (1, 1) and p.stride == (1, 1) and p.padding == (0, 0) and (oh, ow) == x.shape[1:3]:
        taps = xs.reshape(n, oh, ow, 1, 1, -1)
    else:
        taps = window_taps(xs, p.out_hw, (kh, kw), p.stride, p.dilation, p.padding, 0.0)
    wf = w.astype(np.float64)
    per_group = c_out // p.groups
    acc = np.empty((n * oh * ow, c_out), dtype=np.float64)
    for grp in range(p.groups):
        cols = taps[..., grp * c_w : (grp + 1) * c_w].reshape(n * oh * ow, kh * kw * c_w)
        wg = wf[grp * per_group : (grp + 1) * per_group].reshape(per_group, kh * kw * c_w)
        acc[:, grp * per_group : (grp + 1) * per_group] = cols @ wg.T
    acc_i = np.rint(acc).astype(np.int64).reshape(n, oh, ow, c_out)
    if bias is not None:
        acc_i = acc_i + bias.astype(np.int64).reshape(-1)
    return [_epilogue(acc_i, p)]


def _epilogue(acc: np.ndarray, p: ConvParams) -> np.ndarray:
    if p.dtype == "int16":  # the int16 kernels add no output offset (the zero point is 0)
        return requantize16(acc, p.multipliers, p.shifts, p.acc64, 0, p.act_min, p.act_max)
    return requantize(acc, p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max)


def depthwise_conv2d(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """DEPTHWISE_CONV_2D, reference_integer_ops::DepthwiseConvPerChannel.

    Output channel c * M + m reads input channel c (M = depth multiplier).
    """
    p = prepare_depthwise_conv2d(g, node)
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    assert x is not None and w is not None
    xs = _shifted_input(x, p)
    if p.depth_multiplier > 1:
        xs = np.repeat(xs, p.depth_multiplier, axis=3)
    wi = w.astype(np.int64)
    acc = np.zeros((x.shape[0], *p.out_hw, xs.shape[3]), dtype=np.int64)
    for fy in range(p.kernel_hw[0]):
        for fx in range(p.kernel_hw[1]):
            acc += tap(xs, fy, fx, p.out_hw, p.stride, p.dilation, p.padding, 0) * wi[0, fy, fx]
    if bias is not None:
        acc += bias.astype(np.int64).reshape(-1)
    return [_epilogue(acc, p)]


KERNELS = {
    Op.CONV_2D: conv2d,
    Op.DEPTHWISE_CONV_2D: depthwise_conv2d,
}
