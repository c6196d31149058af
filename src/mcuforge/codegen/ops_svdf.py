"""Emitter for SVDF (kernels/portable/mf_svdf.c): parameters from ref/svdf.prepare_svdf;
the state is the variable tensor's buffer in the arena, updated in place by the kernel
and kept between mf_invoke() calls (plan/lifetimes.py keeps it live and unshared)."""

from __future__ import annotations

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.svdf import prepare_svdf

SOURCES = ("mf_svdf",)


def emit_svdf(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_svdf(g, node)
    x, wf, wt, bias, state = node.inputs
    if not all(g.tensors[n].is_const for n in (wf, wt, bias)):  # type: ignore[index]
        raise UnsupportedError(f"SVDF node {node.name!r} has weights or a bias computed at run time.")
    params = (
        ("batch", str(p.batch)), ("input_size", str(p.input_size)), ("filters", str(p.filters)),
        ("units", str(p.units)), ("memory", str(p.memory)), ("rank", str(p.rank)),
        ("input_zp", str(p.input_zero_point)), ("state_zp", str(p.state_zero_point)),
        ("output_zp", str(p.output_zero_point)),
        ("mult_1", str(p.multiplier_1)), ("shift_1", str(p.shift_1)),
        ("mult_2", str(p.multiplier_2)), ("shift_2", str(p.shift_2)),
        ("weights_feature", ctx.ptr(wf)), ("weights_time", ctx.ptr(wt)),  # type: ignore[arg-type]
        ("bias", ctx.ptr(bias)),  # type: ignore[arg-type]
    )  # fmt: skip
    kernel = "mf_svdf_s16" if p.state_dtype == "int16" else "mf_svdf_s8"
    args = (ctx.ptr(x), ctx.ptr(state), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, "mf_svdf_params", params, args, SOURCES)


# family svdf (begin)
EMITTERS = {Op.SVDF: emit_svdf}
# family svdf (end)
