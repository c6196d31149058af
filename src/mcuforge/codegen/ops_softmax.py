"""Emitter for SOFTMAX (kernel in kernels/*/mf_softmax.c, which uses the gemmlowp
helpers of mf_activation.h, so both families ship). Parameters from
ref/softmax.py's prepare_softmax; rows of the last axis."""

from __future__ import annotations

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.codegen.ops_s16 import emit_softmax_s16
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.softmax import prepare_softmax


def emit_softmax(g: Graph, node: Node, ctx: EmitContext) -> Call:
    if g.tensors[node.inputs[0]].dtype == "int16":  # type: ignore[index]
        return emit_softmax_s16(g, node, ctx)
    p = prepare_softmax(g, node)
    x = g.tensors[node.inputs[0]]  # type: ignore[index]
    depth = x.shape[-1] if x.shape else 1
    rows = x.size // depth if depth else 0
    params = (
        ("rows", str(rows)),
        ("depth", str(depth)),
        ("input_multiplier", str(p.input_multiplier)),
        ("input_left_shift", str(p.input_left_shift)),
        ("diff_min", str(p.diff_min)),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    kernel = "mf_softmax_s8_s16" if g.tensors[node.outputs[0]].dtype == "int16" else "mf_softmax_s8"
    return Call(kernel, "mf_softmax_params", params, args, ("mf_softmax", "mf_activation"))


EMITTERS: dict[Op, EmitFn] = {Op.SOFTMAX: emit_softmax}
