"""Emitters for MEAN and REDUCE_MAX (kernels in kernels/*/mf_reduce.c).

Parameters from ref/reduce.py's prepare_mean / prepare_reduce_max (the resolved
axes, and for MEAN the multiplier with 1/count already folded in). The input's
dimensions are split into kept ("outer", in output order) and reduced ("inner")
ones with their element strides; size-1 dimensions are dropped and neighbours
that are contiguous in memory merged (a global pool over H and W becomes one
reduced dimension of H * W with stride C).
"""

from __future__ import annotations

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.reduce import prepare_mean, prepare_reduce_max

REDUCE_DIMS = 5  # MF_REDUCE_DIMS in mf_reduce.h


def _merge(dims: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(size, stride) pairs without size-1 entries, merging contiguous neighbours."""
    out: list[tuple[int, int]] = []
    for n, s in dims:
        if n == 1:
            continue
        if out and out[-1][1] == s * n:
            out[-1] = (out[-1][0] * n, s)
        else:
            out.append((n, s))
    return out


def _pad(dims: list[tuple[int, int]], what: str) -> tuple[list[int], list[int]]:
    if len(dims) > REDUCE_DIMS:
        raise UnsupportedError(f"{what} needs more than {REDUCE_DIMS} dimensions")
    dims = [(1, 0)] * (REDUCE_DIMS - len(dims)) + dims
    return [d[0] for d in dims], [d[1] for d in dims]


def split_dims(shape: tuple[int, ...], axes: tuple[int, ...], what: str = "a reduction") -> dict[str, list[int]]:
    """outer/inner shapes and element strides of a row-major input of `shape`."""
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= shape[d]
    kept = _merge([(shape[d], strides[d]) for d in range(len(shape)) if d not in axes])
    reduced = _merge([(shape[d], strides[d]) for d in sorted(axes)])
    outer_shape, outer_stride = _pad(kept, what)
    inner_shape, inner_stride = _pad(reduced, what)
    return {
        "outer_shape": outer_shape,
        "outer_stride": outer_stride,
        "inner_shape": inner_shape,
        "inner_stride": inner_stride,
    }


def _c_list(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _call(
    g: Graph, node: Node, ctx: EmitContext, kernel: str, axes: tuple[int, ...], quant: list[tuple[str, int]]
) -> Call:
    x = g.tensors[node.inputs[0]]  # type: ignore[index]
    dims = split_dims(x.shape, axes, f"{node.op} node {node.name!r}")
    count = 1  # MEAN's count is also prepare_mean's num_elements
    for a in axes:
        count *= x.shape[a]
    params = (
        *((name, _c_list(v)) for name, v in dims.items()),
        ("num_elements", str(count)),
        *((name, str(int(v))) for name, v in quant),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, "mf_reduce_params", params, args, ("mf_reduce",))


def emit_mean(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_mean(g, node)
    quant = [
        ("input_zero_point", p.input_zero_point),
        ("output_zero_point", p.output_zero_point),
        ("multiplier", p.multiplier),
        ("shift", p.shift),
    ]
    return _call(g, node, ctx, "mf_mean_s8", p.axes, quant)


def emit_reduce_max(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_reduce_max(g, node)
    quant = [("input_zero_point", 0), ("output_zero_point", 0), ("multiplier", 0), ("shift", 0)]
    return _call(g, node, ctx, "mf_reduce_max_s8", p.axes, quant)


EMITTERS: dict[Op, EmitFn] = {
    Op.MEAN: emit_mean,
    Op.REDUCE_MAX: emit_reduce_max,
}
