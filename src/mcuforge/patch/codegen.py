"""Code generation for a patched program: sizing, planning and emission of G'.

Stage nodes copied per patch go through the ordinary emitters (codegen/table.py): a
patch node is a node with patch-sized tensors and explicit padding. PATCH_COPY nodes
become mf_patch_copy calls (kernels/*/mf_patch.c), or for a transposing load from an
NCHW source TRANSPOSE's strided gather (mf_strided_copy). Per-node constant arrays
(multipliers, shifts, folded biases) come out identical for every patch of a node,
so duplicates are merged and Flash holds each once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.codegen.ops_shape import _strided as strided_gather  # one gather kernel for TRANSPOSE and loads
from mcuforge.codegen.sizing import scratch_sizes
from mcuforge.codegen.table import emitter
from mcuforge.ir.graph import Graph, Node
from mcuforge.patch.plan import PatchPlan
from mcuforge.patch.program import Program, build_program, is_copy
from mcuforge.plan.memory import MemoryPlan

SOURCES = ("mf_patch",)


def emit_patch_copy(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """One box copy: rows of (columns x channels) bytes, each side with its row stride."""
    src, dst = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]  # type: ignore[index]
    sb, db = node.attrs.src_box, node.attrs.dst_box
    item = np.dtype(src.dtype).itemsize
    if node.attrs.transpose:  # NCHW box -> NHWC patch: TRANSPOSE's strided gather (mf_shape)
        _, _, h, w = src.shape
        dims = [(1, 0), (sb[1] - sb[0], w * item), (sb[3] - sb[2], item), (src.shape[1], h * w * item)]
        return strided_gather(node, ctx, item, dims, (sb[0] * w + sb[2]) * item)
    rows, row_bytes = sb[1] - sb[0], (sb[3] - sb[2]) * src.shape[3] * item
    src_stride, dst_stride = src.shape[2] * src.shape[3] * item, dst.shape[2] * dst.shape[3] * item
    src_at = ctx.offsets.get(src.name, 0) + (sb[0] * src.shape[2] + sb[2]) * src.shape[3] * item
    dst_at = ctx.offsets.get(dst.name, 0) + (db[0] * dst.shape[2] + db[2]) * dst.shape[3] * item
    if rows > 1 and src_stride == row_bytes == dst_stride:
        rows, row_bytes = 1, rows * row_bytes  # one run of bytes
    params = (
        ("rows", str(rows)),
        ("row_bytes", str(row_bytes)),
        ("src_stride", str(src_stride)),
        ("dst_stride", str(dst_stride)),
    )
    args = (f"(const void *)(mf_arena + {src_at})", f"(void *)(mf_arena + {dst_at})")
    return Call("mf_patch_copy", "mf_patch_copy_params", params, args, SOURCES)


def emit(g: Graph, node: Node, ctx: EmitContext) -> Call:
    return emit_patch_copy(g, node, ctx) if is_copy(node) else emitter(node.op)(g, node, ctx)


def _scratch_key(g: Graph, node: Node) -> tuple:
    shapes = tuple(None if x is None else (x if g.tensors[x].is_const else g.tensors[x].shape) for x in node.inputs)
    return (node.op, shapes, g.tensors[node.outputs[0]].shape, node.attrs, node.inplace)


def program_scratch(prog: Program, cache: dict | None = None) -> dict[int, int]:
    """Scratch bytes per G' node (the sizing pass), memoised on what decides them."""
    g = prog.graph
    cache = {} if cache is None else cache
    ctx = EmitContext(g)
    out: dict[int, int] = {}
    for i, node in enumerate(g.nodes):
        if is_copy(node):
            continue
        key = _scratch_key(g, node)
        if key not in cache:
            ctx.node_index = i
            cache[key] = emitter(node.op)(g, node, ctx).scratch_bytes
        if cache[key]:
            out[i] = cache[key]
    return out


def merge_arrays(ctx: EmitContext, calls: dict[int, Call]) -> dict[int, Call]:
    """Drop constant arrays equal to an earlier one; point the calls at the survivor."""
    keep, rename, seen = [], {}, {}
    for a in ctx.arrays:
        key = (a.ctype, a.data.dtype.str, a.data.tobytes())
        if key in seen:
            rename[a.name] = seen[key]
        else:
            seen[key] = a.name
            keep.append(a)
    ctx.arrays[:] = keep
    if not rename:
        return calls
    out = {}
    for i, c in calls.items():
        params = tuple((f, rename.get(v, v)) for f, v in c.params)
        args = tuple(rename.get(v, v) for v in c.args)
        out[i] = Call(c.kernel, c.params_type, params, args, c.sources, c.scratch_bytes)
    return out


def patched_parts(
    h: Graph, plan: PatchPlan, order: Sequence[int] | None = None
) -> tuple[Graph, MemoryPlan, EmitContext, dict[int, Call]]:
    """G', its memory plan, the emission context and one call per node (generate.py
    writes the files). `order`: h's per-layer execution order (default: the planner's)."""
    from mcuforge.patch.memory import plan_program

    if order is None:
        from mcuforge.plan.order import best_order

        sizes = scratch_sizes(h)
        order = best_order(h, lambda i: sizes.get(i, 0))
    prog = build_program(h, plan, order)
    memory = plan_program(prog, program_scratch(prog))
    ctx = EmitContext(prog.graph, offsets=dict(memory.tensor_offsets), scratch_offsets=dict(memory.scratch_offsets))
    calls: dict[int, Call] = {}
    for i in memory.order:
        ctx.node_index = i
        calls[i] = emit(prog.graph, prog.graph.nodes[i], ctx)
    return prog.graph, memory, ctx, merge_arrays(ctx, calls)
