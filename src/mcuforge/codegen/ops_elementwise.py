"""Emitters for ADD, SUB and MUL (kernels in kernels/*/mf_elementwise.c).

Quantisation parameters come from ref/elementwise.py's prepare_add_sub and
prepare_mul. Broadcasting becomes an output shape of MF_EW_DIMS (6) dimensions
with per-dimension element strides for each input (0 along broadcast
dimensions); neighbouring dimensions that both inputs walk contiguously (or
both broadcast) are merged, so a plain element-wise node is one long row.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.codegen.ops_s16 import emit_elementwise_s16, is_int16
from mcuforge.ref.elementwise import prepare_add_sub, prepare_mul

EW_DIMS = 6  # MF_EW_DIMS in mf_elementwise.h


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of a row-major input of `shape` (left-padded to len(out)), 0 where broadcast."""
    shape = (1,) * (len(out) - len(shape)) + tuple(shape)
    strides, step = [0] * len(out), 1
    for d in range(len(out) - 1, -1, -1):
        strides[d] = step if shape[d] == out[d] and out[d] != 1 else 0
        step *= shape[d]
    return strides


def broadcast_dims(shape1, shape2) -> tuple[list[int], list[int], list[int]]:
    """(output shape, input 1 strides, input 2 strides), merged and left-padded to EW_DIMS."""
    out = tuple(np.broadcast_shapes(tuple(shape1), tuple(shape2))) or (1,)
    s1, s2 = _strides(tuple(shape1), out), _strides(tuple(shape2), out)
    dims = [(n, a, b) for n, a, b in zip(out, s1, s2) if n != 1] or [(1, 0, 0)]
    merged = [dims[0]]
    for n, a, b in dims[1:]:
        pn, pa, pb = merged[-1]
        if pa == a * n and pb == b * n:  # the outer dimension continues the inner one in both inputs
            merged[-1] = (pn * n, a, b)
        else:
            merged.append((n, a, b))
    if len(merged) > EW_DIMS:
        raise UnsupportedError(
            f"broadcasting {tuple(shape1)} with {tuple(shape2)} needs more than {EW_DIMS} dimensions"
        )
    merged = [(1, 0, 0)] * (EW_DIMS - len(merged)) + merged
    return [m[0] for m in merged], [m[1] for m in merged], [m[2] for m in merged]


def _c_list(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _broadcast_field(g: Graph, node: Node) -> tuple[str, str]:
    x1, x2 = (g.tensors[n] for n in node.inputs[:2])  # type: ignore[index]
    y = g.tensors[node.outputs[0]]
    try:
        shape, s1, s2 = broadcast_dims(x1.shape, x2.shape)
    except ValueError as e:
        what = f"{node.op} node {node.name!r}"
        raise UnsupportedError(f"{what}: input shapes {x1.shape} and {x2.shape} do not broadcast.") from e
    if int(np.prod(shape)) != y.size:
        raise UnsupportedError(f"{node.op} node {node.name!r}: inputs do not broadcast to the output shape {y.shape}.")
    return ("b", f"{{.shape = {_c_list(shape)}, .stride1 = {_c_list(s1)}, .stride2 = {_c_list(s2)}}}")


def _args(node: Node, ctx: EmitContext) -> tuple[str, ...]:
    return (ctx.ptr(node.inputs[0]), ctx.ptr(node.inputs[1]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]


def emit_add_sub(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_add_sub(g, node)
    params = (
        _broadcast_field(g, node),
        ("left_shift", str(p.left_shift)),
        ("input1_offset", str(p.input1_offset)),
        ("input1_multiplier", str(p.input1_multiplier)),
        ("input1_shift", str(p.input1_shift)),
        ("input2_offset", str(p.input2_offset)),
        ("input2_multiplier", str(p.input2_multiplier)),
        ("input2_shift", str(p.input2_shift)),
        ("output_offset", str(p.output_offset)),
        ("output_multiplier", str(p.output_multiplier)),
        ("output_shift", str(p.output_shift)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    )
    if is_int16(g, node):
        return emit_elementwise_s16(g, node, ctx, params)
    kernel = "mf_add_s8" if node.op == Op.ADD else "mf_sub_s8"
    return Call(kernel, "mf_add_params", params, _args(node, ctx), ("mf_elementwise",))


def emit_mul(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_mul(g, node)
    params = (
        _broadcast_field(g, node),
        ("input1_zero_point", str(p.input1_zero_point)),
        ("input2_zero_point", str(p.input2_zero_point)),
        ("output_zero_point", str(p.output_zero_point)),
        ("output_multiplier", str(p.output_multiplier)),
        ("output_shift", str(p.output_shift)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    )
    if is_int16(g, node):
        return emit_elementwise_s16(g, node, ctx, params)
    return Call("mf_mul_s8", "mf_mul_params", params, _args(node, ctx), ("mf_elementwise",))


EMITTERS: dict[Op, EmitFn] = {
    Op.ADD: emit_add_sub,
    Op.SUB: emit_add_sub,
    Op.MUL: emit_mul,
}
