"""Emitters of the unary family (kernels in kernels/*/mf_unary.c, which uses the gemmlowp
helpers of mf_activation.h, so both families ship). Every parameter comes from
ref/unary.py's and ref/unary_rows.py's prepare_* functions; ELU's lookup table is
computed here, as TF-Lite Micro's Prepare computes it, and goes to weights.c."""

from __future__ import annotations

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.codegen.ops_activation import c_int
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.checks import node_label
from mcuforge.ref.unary import prepare_abs, prepare_elu, prepare_neg, prepare_rsqrt
from mcuforge.ref.unary_rows import prepare_l2_normalization, prepare_log_softmax

SOURCES = ("mf_unary", "mf_activation")
CAST_KERNELS = {
    ("int8", "int32"): "mf_cast_s8_s32",
    ("int8", "float32"): "mf_cast_s8_f32",
    ("int32", "int8"): "mf_cast_s32_s8",
    ("float32", "int8"): "mf_cast_f32_s8",
}


def _size(g: Graph, node: Node) -> tuple[str, str]:
    return ("size", str(g.tensors[node.outputs[0]].size))


def _call(g: Graph, node: Node, ctx: EmitContext, kernel: str, params_type: str, fields) -> Call:
    params = (_size(g, node), *((name, c_int(v)) for name, v in fields))
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, params_type, params, args, SOURCES)


def emit_abs(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_abs(g, node)
    fields = [("input_offset", p.input_offset), ("output_offset", p.output_offset),
              ("needs_rescale", int(p.needs_rescale)), ("multiplier", p.multiplier), ("shift", p.shift)]  # fmt: skip
    return _call(g, node, ctx, "mf_abs_s8", "mf_abs_params", fields)


def emit_rsqrt(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_rsqrt(g, node)
    fields = [("input_offset", p.input_offset), ("output_offset", p.output_offset),
              ("multiplier", p.multiplier), ("shift", p.shift)]  # fmt: skip
    return _call(g, node, ctx, "mf_rsqrt_s8", "mf_rsqrt_params", fields)


def emit_neg(g: Graph, node: Node, ctx: EmitContext) -> Call:
    return _call(g, node, ctx, "mf_neg_s8", "mf_neg_params", [("zero_point_sum", prepare_neg(g, node))])


def emit_elu(g: Graph, node: Node, ctx: EmitContext) -> Call:
    table = ctx.const_array(f"{node.name}_table", prepare_elu(g, node))
    params = (_size(g, node), ("table", table))
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_lut_s8", "mf_lut_params", params, args, SOURCES)


def _rows(g: Graph, node: Node) -> tuple[tuple[str, str], tuple[str, str]]:
    x = g.tensors[node.inputs[0]]  # type: ignore[index]
    depth = x.shape[-1] if x.shape else 1
    return ("rows", str(x.size // depth if depth else 0)), ("depth", str(depth))


def emit_log_softmax(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_log_softmax(g, node)
    fields = [
        ("input_multiplier", p.input_multiplier),
        ("input_left_shift", p.input_left_shift),
        ("reverse_scaling_divisor", p.reverse_scaling_divisor),
        ("reverse_scaling_right_shift", p.reverse_scaling_right_shift),
        ("diff_min", p.diff_min),
    ]
    params = (*_rows(g, node), *((name, c_int(v)) for name, v in fields))
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_log_softmax_s8", "mf_log_softmax_params", params, args, SOURCES)


def emit_l2_normalization(g: Graph, node: Node, ctx: EmitContext) -> Call:
    zp = prepare_l2_normalization(g, node)
    params = (*_rows(g, node), ("input_zero_point", c_int(zp)))
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_l2_norm_s8", "mf_l2_norm_params", params, args, SOURCES)


def _int8(g: Graph, node: Node, name: str) -> None:
    if g.tensors[name].dtype != "int8":
        raise UnsupportedError(f"{node_label(node)} has the {g.tensors[name].dtype} tensor {name!r}; only int8.")


def emit_zeros_like(g: Graph, node: Node, ctx: EmitContext) -> Call:
    _int8(g, node, node.outputs[0])
    return Call("mf_zeros_s8", "mf_size_params", (_size(g, node),), (ctx.ptr(node.outputs[0]),), SOURCES)


def emit_fill(g: Graph, node: Node, ctx: EmitContext) -> Call:
    _int8(g, node, node.outputs[0])
    _int8(g, node, node.inputs[1])  # type: ignore[arg-type]
    args = (ctx.ptr(node.inputs[1]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_fill_s8", "mf_size_params", (_size(g, node),), args, SOURCES)


def emit_cast(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]  # type: ignore[index]
    kernel = CAST_KERNELS.get((x.dtype, y.dtype))
    if kernel is None:
        raise UnsupportedError(f"{node_label(node)} casts {x.dtype} to {y.dtype}; only int8 <-> int32 / float32.")
    return Call(kernel, "mf_size_params", (_size(g, node),), (ctx.ptr(x.name), ctx.ptr(y.name)), SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.ABS: emit_abs,
    Op.RSQRT: emit_rsqrt,
    Op.NEG: emit_neg,
    Op.ELU: emit_elu,
    Op.LOG_SOFTMAX: emit_log_softmax,
    Op.L2_NORMALIZATION: emit_l2_normalization,
    Op.ZEROS_LIKE: emit_zeros_like,
    Op.FILL: emit_fill,
    Op.CAST: emit_cast,
}
