"""Emitters for RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC and TANH (kernels in
kernels/*/mf_activation.c). Every parameter comes from ref/activations.py's
prepare_* functions; the kernels are element-wise (see mf_activation.h)."""

from __future__ import annotations

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.codegen.ops_s16 import emit_sigmoid_tanh_s16, is_int16
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import INT32_MAX
from mcuforge.ref.activations import (
    prepare_hard_swish,
    prepare_leaky_relu,
    prepare_relu,
    prepare_relu6,
    prepare_sigmoid_tanh,
)

SOURCES = ("mf_activation",)


def c_int(v: int) -> str:
    """An int32 as C text (INT32_MIN has no literal of type int)."""
    v = int(v)
    return "(-2147483647 - 1)" if v == -(1 << 31) else str(v)


def _call(g: Graph, node: Node, ctx: EmitContext, kernel: str, params_type: str, fields) -> Call:
    size = ("size", str(g.tensors[node.outputs[0]].size))
    params = (size, *((name, c_int(v)) for name, v in fields))
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, params_type, params, args, SOURCES)


def emit_relu(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_relu(g, node)
    fields = [
        ("input_offset", p.input_offset),
        ("output_offset", p.output_offset),
        ("output_multiplier", p.output_multiplier),
        ("output_shift", p.output_shift),
        ("act_min", p.act_min),
        ("act_max", p.act_max),
    ]
    return _call(g, node, ctx, f"mf_relu_{_suffix(g, node)}", "mf_relu_params", fields)


def emit_relu6(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_relu6(g, node)
    fields = [("zero", p.zero), ("six", p.six)]
    return _call(g, node, ctx, f"mf_relu6_{_suffix(g, node)}", "mf_relu6_params", fields)


def _suffix(g: Graph, node: Node) -> str:
    return "s16" if is_int16(g, node) else "s8"


def emit_leaky_relu(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_leaky_relu(g, node)
    if abs(p.output_multiplier_alpha) > INT32_MAX:
        # An alpha whose mantissa rounds to -1.0: |m| = 2^31 is no int32 multiplier.
        raise UnsupportedError(
            f"{node.op} node {node.name!r}: alpha {node.attrs.alpha!r} gives a multiplier outside int32."
        )
    fields = [
        ("input_zero_point", p.input_zero_point),
        ("output_zero_point", p.output_zero_point),
        ("output_multiplier_alpha", p.output_multiplier_alpha),
        ("output_shift_alpha", p.output_shift_alpha),
        ("output_multiplier_identity", p.output_multiplier_identity),
        ("output_shift_identity", p.output_shift_identity),
    ]
    return _call(g, node, ctx, f"mf_leaky_relu_{_suffix(g, node)}", "mf_leaky_relu_params", fields)


def emit_hard_swish(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_hard_swish(g, node)
    fields = [
        ("input_zero_point", p.input_zero_point),
        ("output_zero_point", p.output_zero_point),
        ("reluish_multiplier_fixedpoint_int16", p.reluish_multiplier_fixedpoint_int16),
        ("reluish_multiplier_exponent", p.reluish_multiplier_exponent),
        ("output_multiplier_fixedpoint_int16", p.output_multiplier_fixedpoint_int16),
        ("output_multiplier_exponent", p.output_multiplier_exponent),
    ]
    return _call(g, node, ctx, "mf_hard_swish_s8", "mf_hard_swish_params", fields)


def emit_sigmoid_tanh(g: Graph, node: Node, ctx: EmitContext) -> Call:
    if is_int16(g, node):
        return emit_sigmoid_tanh_s16(g, node, ctx)
    p = prepare_sigmoid_tanh(g, node)
    fields = [
        ("input_zero_point", p.input_zero_point),
        ("input_range_radius", p.input_range_radius),
        ("input_multiplier", p.input_multiplier),
        ("input_left_shift", p.input_left_shift),
    ]
    kernel = "mf_logistic_s8" if node.op == Op.LOGISTIC else "mf_tanh_s8"
    return _call(g, node, ctx, kernel, "mf_sigmoid_tanh_params", fields)


EMITTERS: dict[Op, EmitFn] = {
    Op.RELU: emit_relu,
    Op.RELU6: emit_relu6,
    Op.LEAKY_RELU: emit_leaky_relu,
    Op.HARD_SWISH: emit_hard_swish,
    Op.LOGISTIC: emit_sigmoid_tanh,
    Op.TANH: emit_sigmoid_tanh,
}
