"""Emitters for MEAN, SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN and CUMSUM (kernels in
kernels/*/mf_reduce.c).

Parameters from ref/reduce.py's prepare_mean / prepare_reduce_max (the resolved
axes, and for MEAN the multiplier with 1/count already folded in; SUM runs the MEAN
kernel with the unfolded multiplier) and ref/reduce_index.py's prepare_arg /
prepare_cumsum (the input as outer x axis x inner). The input's
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
from mcuforge.ref.reduce_index import prepare_arg, prepare_cumsum

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
    kernel = "mf_mean_s16" if g.tensors[node.outputs[0]].dtype == "int16" else "mf_mean_s8"
    return _call(g, node, ctx, kernel, p.axes, quant)


def emit_reduce_max(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """REDUCE_MAX and REDUCE_MIN."""
    p = prepare_reduce_max(g, node)
    quant = [("input_zero_point", 0), ("output_zero_point", 0), ("multiplier", 0), ("shift", 0)]
    kernel = "mf_reduce_max_s8" if node.op == Op.REDUCE_MAX else "mf_reduce_min_s8"
    return _call(g, node, ctx, kernel, p.axes, quant)


def emit_arg(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_arg(g, node)
    kernel = f"mf_arg_{'max' if p.is_max else 'min'}_s8_s{32 if p.output_type == 'int32' else 64}"
    # an empty axis comes with an empty output (prepare_arg): the kernel's loops do not run
    params = (("outer", str(p.outer)), ("axis_size", str(max(p.axis_size, 1))), ("inner", str(p.inner)))
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, "mf_arg_params", params, args, ("mf_reduce",))


def emit_cumsum(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_cumsum(g, node)
    fields = (
        "outer", "axis_size", "inner", "exclusive", "reverse", "input_offset", "input_multiplier", "input_shift",
        "output_multiplier", "output_shift", "output_offset",
    )  # fmt: skip
    params = tuple((f, str(int(getattr(p, f)))) for f in fields)
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_cumsum_s8", "mf_cumsum_params", params, args, ("mf_reduce",))


EMITTERS: dict[Op, EmitFn] = {
    Op.MEAN: emit_mean,
    Op.SUM: emit_mean,
    Op.REDUCE_MAX: emit_reduce_max,
    Op.REDUCE_MIN: emit_reduce_max,
    Op.ARG_MAX: emit_arg,
    Op.ARG_MIN: emit_arg,
    Op.CUMSUM: emit_cumsum,
}
