"""Emitters for the 16x8 kernels (kernels/portable/mf_s16.c): FULLY_CONNECTED with int16
input and output, ADD / SUB / MUL on int16. ops_conv.py and ops_elementwise.py hand
int16 nodes here; the parameters come from the same prepare_* functions as int8's."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.fc import prepare_fully_connected

SOURCES = ("mf_elementwise", "mf_s16")  # mf_s16.h takes mf_elementwise.h's structs


def is_int16(g: Graph, node: Node) -> bool:
    return g.tensors[node.outputs[0]].dtype == "int16"


def emit_fc_s16(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_fully_connected(g, node)
    w = g.tensors[node.inputs[1]]  # type: ignore[index]
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    if w.data is None or (bias is not None and g.tensors[bias].data is None):
        raise UnsupportedError(f"{node.op} node {node.name!r} has weights or a bias computed at run time.")
    bias_arg = "NULL"
    if bias is not None:
        # int32 biases widen exactly; the kernel adds them modulo 2^32 when acc64 is 0.
        bias_arg = ctx.const_array(f"{node.name}_bias64", np.asarray(g.tensors[bias].data, np.int64).reshape(-1))
    params = (
        ("batches", str(p.batches)),
        ("accum_depth", str(p.accum_depth)),
        ("output_depth", str(p.output_depth)),
        ("output_zp", str(p.output_offset)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
        ("per_channel", "1" if p.per_channel else "0"),
        ("acc64", "1" if p.acc64 else "0"),
        ("weights", ctx.ptr(node.inputs[1])),  # type: ignore[arg-type]
        ("bias", bias_arg),
        ("multipliers", ctx.const_array(f"{node.name}_mult", np.asarray(p.multipliers, np.int32))),
        ("shifts", ctx.const_array(f"{node.name}_shift", np.asarray(p.shifts, np.int32))),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_fc_s16", "mf_fc_s16_params", params, args, ("mf_s16",))


def emit_elementwise_s16(g: Graph, node: Node, ctx: EmitContext, params: tuple[tuple[str, str], ...]) -> Call:
    """ADD / SUB / MUL on int16: the int8 emitter's parameter fields, the s16 kernel."""
    kernel = {Op.ADD: "mf_add_s16", Op.SUB: "mf_sub_s16", Op.MUL: "mf_mul_s16"}[node.op]
    params_type = "mf_mul_params" if node.op == Op.MUL else "mf_add_params"
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.inputs[1]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, params_type, params, args, SOURCES)
