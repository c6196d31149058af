"""Emitters for the convolution family and pooling: CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D (kernels in kernels/*/mf_conv.c,
mf_depthwise.c, mf_fc.c, mf_pool.c).

Every quantisation parameter comes from the reference executor's prepare_* functions
(ref/conv.py, ref/fc.py, ref/pool.py), so the C kernels compute what the reference
computes. Input-independent parts of the accumulator are folded into one int32 per
output channel here, at compile time (see `conv_acc_init` and `fc_acc_init`); the
fold is exact because both the reference and the kernels sum modulo 2^32.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.codegen.ops_s16 import SOURCES as S16_SOURCES
from mcuforge.codegen.ops_s16 import emit_conv_s16, emit_fc_s16, is_int16
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import wrap_int32
from mcuforge.ref.conv import ConvParams, prepare_conv2d, prepare_depthwise_conv2d
from mcuforge.ref.fc import prepare_fully_connected
from mcuforge.ref.pool import PoolParams, prepare_pool

NULL = "NULL"


# ---------------------------------------------------------------- helpers
def _bias(g: Graph, node: Node, channels: int) -> np.ndarray:
    """The node's int32 bias as int64 (zeros when absent)."""
    name = node.inputs[2] if len(node.inputs) > 2 else None
    if name is None:
        return np.zeros(channels, np.int64)
    t = g.tensors[name]
    if t.data is None:
        raise UnsupportedError(
            f"{node.op} node {node.name!r} has a bias computed at run time; only constant biases are supported."
        )
    return np.asarray(t.data, np.int64).reshape(-1)


def _weights(g: Graph, node: Node) -> np.ndarray:
    t = g.tensors[node.inputs[1]]  # type: ignore[index]
    if t.data is None:
        raise UnsupportedError(
            f"{node.op} node {node.name!r} has weights computed at run time; only constant weights are supported."
        )
    return np.asarray(t.data)


def _int32_array(ctx: EmitContext, base: str, values) -> str:
    return ctx.const_array(base, np.asarray(values, np.int64).astype(np.int32))


def _acc_init_array(ctx: EmitContext, node: Node, acc: np.ndarray) -> str:
    """A const array of folded accumulator starts, or NULL when all are zero."""
    acc32 = wrap_int32(acc).astype(np.int32)
    return NULL if not acc32.any() else ctx.const_array(f"{node.name}_acc_init", acc32)


def _quant_fields(ctx: EmitContext, node: Node, multipliers, shifts) -> list[tuple[str, str]]:
    return [
        ("multipliers", _int32_array(ctx, f"{node.name}_mult", multipliers)),
        ("shifts", _int32_array(ctx, f"{node.name}_shift", shifts)),
    ]


def _window_fields(p: ConvParams) -> list[tuple[str, str]]:
    (kh, kw), (sh, sw), (dh, dw) = p.kernel_hw, p.stride, p.dilation
    return [
        ("k_h", str(kh)), ("k_w", str(kw)),
        ("stride_h", str(sh)), ("stride_w", str(sw)),
        ("dil_h", str(dh)), ("dil_w", str(dw)),
        # ConvParams.padding is (top, left) whatever the attrs say (SAME, VALID or
        # explicit pads after fold_pad); the padding after is implied by out_h/out_w.
        ("pad_top", str(p.padding[0])), ("pad_left", str(p.padding[1])),
    ]


def _shape_fields(g: Graph, node: Node) -> list[tuple[str, str]]:
    n, h, w, c = g.tensors[node.inputs[0]].shape  # type: ignore[index]
    _, oh, ow, oc = g.tensors[node.outputs[0]].shape
    return [
        ("batches", str(n)), ("in_h", str(h)), ("in_w", str(w)), ("in_c", str(c)),
        ("out_h", str(oh)), ("out_w", str(ow)), ("out_c", str(oc)),
    ]


def _out_fields(zp: int, act_min: int, act_max: int) -> list[tuple[str, str]]:
    return [("output_zp", str(zp)), ("act_min", str(act_min)), ("act_max", str(act_max))]


# |accumulator| below 2^30 for every input: the optimised kernels may then double it
# (2 * acc fits int32), which makes their requantisation one SMMLAR (kernels/armv7em).
SMALL_ACC_LIMIT = 1 << 30


def small_acc(start: np.ndarray, w_abs_sum: np.ndarray, extra: int = 0) -> str:
    """The small_acc flag: "1" when |start[c]| + 128 * w_abs_sum[c] + extra < 2^30 for every
    channel c, else "0".

    `start` is the wrapped int32 the kernel starts from, `w_abs_sum` the sum of |w| a raw
    int8 input (|x| <= 128) is multiplied with, `extra` any other input-dependent term."""
    bound = np.abs(np.asarray(start, np.int64)) + 128 * np.asarray(w_abs_sum, np.int64) + extra
    return "1" if bound.size == 0 or int(bound.max()) < SMALL_ACC_LIMIT else "0"


def _ceil4(n: int) -> int:
    return (n + 3) // 4 * 4


# ---------------------------------------------------------------- CONV_2D
def conv_acc_init(w: np.ndarray, bias: np.ndarray, input_zp: int) -> np.ndarray:
    """bias[c] - input_zp * sum(w[c]) (int64; the caller wraps to int32).

    sum over taps of w * (x - zp) = sum w * x - zp * sum w: the kernel adds the first
    term on raw inputs (padding reads zp, which the fold cancels to 0)."""
    return bias - np.int64(input_zp) * w.reshape(w.shape[0], -1).astype(np.int64).sum(axis=1)


def is_pointwise(g: Graph, node: Node, p: ConvParams) -> bool:
    """1x1 kernel, stride 1, no padding, output grid = input grid: mf_conv2d_1x1_s8."""
    x = g.tensors[node.inputs[0]]  # type: ignore[index]
    return p.kernel_hw == (1, 1) and p.stride == (1, 1) and p.padding == (0, 0) and p.out_hw == tuple(x.shape[1:3])


def conv_scratch_bytes(patch: int, groups: int, pointwise: bool) -> int:
    """Scratch of mf_conv2d_1x1_s8 (patch = in_c) or mf_conv2d_s8 (patch = one im2col
    patch, k_h * k_w * in_c / groups). The portable kernels use `patch` bytes (one pixel,
    one patch); the armv7em kernels (one group only) convert 4 pixels' patches to int16,
    8 bytes per 4 patch elements, plus for mf_conv2d_s8 an int8 gather row: the larger."""
    if groups != 1:
        return patch
    return 8 * _ceil4(patch) + (0 if pointwise else _ceil4(patch))


def emit_conv2d(g: Graph, node: Node, ctx: EmitContext) -> Call:
    if is_int16(g, node):
        return emit_conv_s16(g, node, ctx)
    p = prepare_conv2d(g, node)
    w = _weights(g, node)
    c_in = g.tensors[node.inputs[0]].shape[3]  # type: ignore[index]
    acc = wrap_int32(conv_acc_init(w, _bias(g, node, w.shape[0]), -p.input_offset))
    params = [
        *_shape_fields(g, node),
        *_window_fields(p),
        ("groups", str(p.groups)),
        ("input_zp", str(-p.input_offset)),
        *_out_fields(p.output_offset, p.act_min, p.act_max),
        ("weights", ctx.ptr(node.inputs[1])),  # type: ignore[arg-type]
        ("acc_init", _acc_init_array(ctx, node, acc)),
        *_quant_fields(ctx, node, p.multipliers, p.shifts),
        ("small_acc", small_acc(acc, np.abs(w.reshape(w.shape[0], -1).astype(np.int64)).sum(axis=1))),
    ]
    if is_pointwise(g, node, p):
        kernel, scratch = "mf_conv2d_1x1_s8", conv_scratch_bytes(c_in, p.groups, True)
    else:
        patch = p.kernel_hw[0] * p.kernel_hw[1] * (c_in // p.groups)
        kernel, scratch = "mf_conv2d_s8", conv_scratch_bytes(patch, p.groups, False)
    return Call(
        kernel=kernel,
        params_type="mf_conv_params",
        params=tuple(params),
        args=(ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]), ctx.scratch),  # type: ignore[arg-type]
        sources=("mf_conv",),
        scratch_bytes=scratch,
    )


# ------------------------------------------------------ DEPTHWISE_CONV_2D
def depthwise_plane_bytes(p: ConvParams) -> int:
    """One padded channel plane of mf_depthwise_plane_s8 (MF_DW_PLANE_H * MF_DW_PLANE_W):
    exactly the rows and columns the output grid's windows reach."""
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = p.out_hw, p.kernel_hw, p.stride, p.dilation
    return ((oh - 1) * sh + (kh - 1) * dh + 1) * ((ow - 1) * sw + (kw - 1) * dw + 1)


# Channel planes of the in-place depthwise kernel's wide variant: the armv7em kernel
# gathers four channels per pass (word loads and a byte transpose) instead of one, or
# computes four channels at once from a copy of them (small maps).
DEPTHWISE_WIDE_PLANES = 4


def depthwise_scratch_bytes(p: ConvParams, in_hw: tuple[int, int], planes: int) -> int:
    """MF_DW_SCRATCH (mf_depthwise.h): one plane, or for the wide variant the larger of
    four planes and four channels of the image (4 bytes a pixel) plus 8 bytes a tap."""
    if planes < DEPTHWISE_WIDE_PLANES:
        return depthwise_plane_bytes(p)
    (kh, kw) = p.kernel_hw
    return max(4 * depthwise_plane_bytes(p), 4 * in_hw[0] * in_hw[1] + 8 * kh * kw)


def taps_inside(size: int, out: int, stride: int, pad: int, k: int) -> int:
    """Filter taps inside the image, summed over the outputs along one axis (dilation 1)."""
    return sum(min(o * stride - pad + k, size) - max(o * stride - pad, 0) for o in range(out))


def _mostly_outside(p: ConvParams, in_hw: tuple[int, int]) -> bool:
    """Whether most taps of the layer fall outside the image (large filters on small
    maps), where the armv7em kernel's four-channels-at-once path, which skips them,
    costs fewer instructions than the plane kernels (measured under QEMU: about 10
    instructions per inside tap of 4 channels plus 60 per output pixel and filter row,
    against about 19 per output and channel of a 3x3 plane)."""
    if p.dilation != (1, 1) or p.depth_multiplier != 1:
        return False
    (oh, ow), (kh, kw), (sh, sw) = p.out_hw, p.kernel_hw, p.stride
    pad_top, pad_left = p.padding
    inside = taps_inside(in_hw[0], oh, sh, pad_top, kh) * taps_inside(in_hw[1], ow, sw, pad_left, kw)
    return 2 * inside < oh * ow * kh * kw


def emit_depthwise_conv2d(g: Graph, node: Node, ctx: EmitContext) -> Call:
    if is_int16(g, node):
        return emit_conv_s16(g, node, ctx)
    p = prepare_depthwise_conv2d(g, node)
    c_out = g.tensors[node.outputs[0]].shape[3]
    bias_name = node.inputs[2] if len(node.inputs) > 2 else None
    w_abs = np.abs(_weights(g, node).reshape(-1, c_out).astype(np.int64)).sum(axis=0)
    bias = _bias(g, node, c_out)
    # The kernels start from bias (taps x - zp, |x - zp| <= 128 + |zp|) or from
    # bias - zp * sum(w) (raw taps): bound both.
    zp = -p.input_offset
    w_sum = _weights(g, node).reshape(-1, c_out).astype(np.int64).sum(axis=0)
    start = np.maximum(np.abs(bias) + abs(zp) * w_abs, np.abs(wrap_int32(bias - zp * w_sum)))
    params = [
        *_shape_fields(g, node),
        ("depth_multiplier", str(p.depth_multiplier)),
        *_window_fields(p),
        ("input_zp", str(-p.input_offset)),
        *_out_fields(p.output_offset, p.act_min, p.act_max),
        # channel-major, [out_c][k_h][k_w]: each channel's filter contiguous (mf_depthwise.h)
        ("weights", ctx.const_array(f"{node.name}_weights", _weights(g, node).reshape(-1, c_out).T.copy())),
        ("bias", NULL if bias_name is None else _int32_array(ctx, f"{node.name}_bias", bias)),
        *_quant_fields(ctx, node, p.multipliers, p.shifts),
        ("small_acc", small_acc(start, w_abs)),
    ]
    # The in-place allowance (passes/inplace_depthwise) picks the plane kernels, which
    # are correct whether or not the planner puts the output on the input; their wide
    # variant has four planes. Without the allowance the direct kernel needs no scratch,
    # and the plane kernels (one plane per input channel, or four) are the wide variant.
    inplace = ctx.inplace(node)
    if inplace and p.depth_multiplier != 1:
        raise UnsupportedError(
            f"{node.op} node {node.name!r} has depth multiplier {p.depth_multiplier}; only 1 runs in place."
        )
    x, y = ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0])  # type: ignore[arg-type]
    if inplace or ctx.wide_variant():
        _, in_h, in_w, c_in = g.tensors[node.inputs[0]].shape  # type: ignore[misc]
        in_hw = (in_h, in_w)
        planes = DEPTHWISE_WIDE_PLANES if ctx.wide_variant() and c_in >= DEPTHWISE_WIDE_PLANES else 1
        large = p.kernel_hw in ((5, 5), (7, 7))  # its own entry point (mf_depthwise.h)
        kernel = "mf_depthwise_plane_large_s8" if large else "mf_depthwise_plane_s8"
        if planes == DEPTHWISE_WIDE_PLANES and _mostly_outside(p, in_hw):
            kernel = "mf_depthwise_quad_s8"
        args, scratch = (x, y, ctx.scratch), depthwise_scratch_bytes(p, in_hw, planes)
    else:
        kernel, args, scratch, planes = "mf_depthwise_s8", (x, y), 0, 1
    params.append(("planes", str(planes)))
    return Call(kernel, "mf_depthwise_params", tuple(params), args, ("mf_depthwise",), scratch)


# -------------------------------------------------------- FULLY_CONNECTED
def fc_acc_init(w: np.ndarray, bias: np.ndarray, input_offset: int, filter_offset: int) -> np.ndarray:
    """bias + input_offset * sum_d w + depth * filter_offset * input_offset (int64).

    sum_d (w + fo)(x + io) = sum w x + io sum w + fo sum x + D fo io; the kernel adds
    sum w x and fo * sum x (the only input-dependent terms)."""
    wi = w.astype(np.int64)
    depth = wi.shape[1]
    return bias + np.int64(input_offset) * wi.sum(axis=1) + np.int64(depth * filter_offset * input_offset)


# Pairs (w[2i], w[2i+1]) of a weight row read as one int16 equal w[2i] + 256 * w[2i+1]
# when the odd byte is stored as w[2i+1] - [w[2i] < 0] (the even byte reads as unsigned
# in the halfword). The armv7em FC kernel multiplies such halfwords with converted
# inputs (kernels/armv7em/mf_fc.c); the portable kernel undoes the adjustment.
PAIR_OFFSET = 127  # the odd inputs enter as x - 127, which keeps 256 x_even - (x_odd - 127) in int16
PAIR_ABS_SUM_LIMIT = 32896  # 255 * sum|w| < 2^23: 256 * (w . x - 127 * sum w_odd) fits int32


def fc_pairs(w: np.ndarray) -> np.ndarray | None:
    """The pair-adjusted weights, or None when a row cannot use them (an odd weight of
    -128 after a negative even one, or sum|w| too large for the 256-scaled sum)."""
    wi = w.astype(np.int64)
    even, odd = wi[:, 0::2][:, : wi[:, 1::2].shape[1]], wi[:, 1::2]
    adjusted = odd - (even < 0)
    if adjusted.size and adjusted.min() < -128 or np.abs(wi).sum(axis=1).max(initial=0) >= PAIR_ABS_SUM_LIMIT:
        return None
    out = wi.copy()
    out[:, 1::2] = adjusted
    return out.astype(np.int8)


def emit_fully_connected(g: Graph, node: Node, ctx: EmitContext) -> Call:
    if is_int16(g, node):
        return emit_fc_s16(g, node, ctx)
    p = prepare_fully_connected(g, node)
    w = _weights(g, node)
    acc = wrap_int32(fc_acc_init(w, _bias(g, node, p.output_depth), p.input_offset, p.filter_offset))
    extra = 128 * abs(p.filter_offset) * p.accum_depth  # filter_offset * sum(x)
    paired = fc_pairs(w.reshape(p.output_depth, p.accum_depth))
    if paired is None:
        weights, pair_init = ctx.ptr(node.inputs[1]), NULL  # type: ignore[arg-type]
    else:
        w_odd = w.reshape(p.output_depth, p.accum_depth)[:, 1::2].astype(np.int64).sum(axis=1)
        weights = ctx.const_array(f"{node.name}_paired", paired)
        pair_init = ctx.const_array(f"{node.name}_pair_init", wrap_int32(acc + PAIR_OFFSET * w_odd).astype(np.int32))
    params = [
        ("batches", str(p.batches)),
        ("accum_depth", str(p.accum_depth)),
        ("output_depth", str(p.output_depth)),
        ("filter_offset", str(p.filter_offset)),
        *_out_fields(p.output_offset, p.act_min, p.act_max),
        ("per_channel", "1" if p.per_channel else "0"),
        ("weights", weights),
        ("acc_init", _acc_init_array(ctx, node, acc)),
        *_quant_fields(ctx, node, p.multipliers, p.shifts),
        ("small_acc", small_acc(acc, np.abs(w.astype(np.int64)).sum(axis=1), extra)),
        ("weights_paired", "0" if paired is None else "1"),
        ("pair_init", pair_init),
    ]
    # The armv7em kernel converts a batch row to int16 in scratch (without scratch, NULL,
    # it takes its C path): always for rows up to FC_WIDEN_MAX_DEPTH, and as the wide
    # variant (where the scratch fits in free arena bytes) for longer ones.
    need = fc_scratch_bytes(p.accum_depth)
    scratch = need if p.accum_depth <= FC_WIDEN_MAX_DEPTH or ctx.wide_variant() else 0
    scratch_arg = ctx.scratch if scratch else "NULL"
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]), scratch_arg)  # type: ignore[arg-type]
    return Call("mf_fc_s8", "mf_fc_params", tuple(params), args, ("mf_fc",), scratch)


# Longest input row the armv7em FC always widens into scratch. A row of `depth` int8
# values takes 2 * depth bytes there; a longer row gets it only where it is free
# (micro_speech's 4,000 inputs would otherwise triple the arena with 8,000 B).
FC_WIDEN_MAX_DEPTH = 1024


def fc_scratch_bytes(depth: int) -> int:
    """mf_fc_s8's widening buffer: one batch row as int16 (2 bytes per element, rounded
    up to 16 elements)."""
    return 2 * ((depth + 15) // 16 * 16)


# ------------------------------------------------------------------ pools
def _pool_fields(g: Graph, node: Node, p: PoolParams) -> list[tuple[str, str]]:
    n, h, w, c = g.tensors[node.inputs[0]].shape  # type: ignore[index]
    (fh, fw), (sh, sw) = p.filter_hw, p.stride
    return [
        ("batches", str(n)), ("in_h", str(h)), ("in_w", str(w)), ("channels", str(c)),
        ("out_h", str(p.out_hw[0])), ("out_w", str(p.out_hw[1])),
        ("filter_h", str(fh)), ("filter_w", str(fw)),
        ("stride_h", str(sh)), ("stride_w", str(sw)),
        ("pad_top", str(p.padding[0])), ("pad_left", str(p.padding[1])),
        ("act_min", str(p.act_min)), ("act_max", str(p.act_max)),
    ]


def _windows_reach_image(size: int, out: int, k: int, stride: int, pad: int) -> bool:
    """Every window along one axis holds at least one in-image position."""
    return all(o * stride - pad < size and o * stride - pad + k > 0 for o in range(out))


def _emit_pool(kernel: str):
    def emit(g: Graph, node: Node, ctx: EmitContext) -> Call:
        p = prepare_pool(g, node)
        _, h, w, _ = g.tensors[node.inputs[0]].shape  # type: ignore[index]
        if kernel == "mf_avgpool_s8" and not (
            _windows_reach_image(h, p.out_hw[0], p.filter_hw[0], p.stride[0], p.padding[0])
            and _windows_reach_image(w, p.out_hw[1], p.filter_hw[1], p.stride[1], p.padding[1])
        ):
            raise UnsupportedError(
                f"{node.op} node {node.name!r} has a window entirely outside the input, which TF-Lite Micro rejects."
            )
        args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
        if is_int16(g, node):  # the 16-bit kernels of mf_s16 (same fields)
            return Call(kernel.replace("_s8", "_s16"), "mf_pool_s16_params", tuple(_pool_fields(g, node, p)), args,
                        S16_SOURCES)
        return Call(kernel, "mf_pool_params", tuple(_pool_fields(g, node, p)), args, ("mf_pool",))

    return emit


EMITTERS: dict[Op, EmitFn] = {
    Op.CONV_2D: emit_conv2d,
    Op.DEPTHWISE_CONV_2D: emit_depthwise_conv2d,
    Op.FULLY_CONNECTED: emit_fully_connected,
    Op.AVERAGE_POOL_2D: _emit_pool("mf_avgpool_s8"),
    Op.MAX_POOL_2D: _emit_pool("mf_maxpool_s8"),
}
