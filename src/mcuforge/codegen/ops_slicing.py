"""Emitters: SLICE, SPLIT, SPLIT_V, UNPACK, PACK, TILE, BROADCAST_TO.

SLICE and BROADCAST_TO are one strided gather (mf_shape's mf_strided_copy; a broadcast
dimension has input stride 0), PACK is mf_concat (each input is one block per outer
index), SPLIT / SPLIT_V / UNPACK are mf_split (kernels/*/mf_slicing.c), the inverse of
mf_concat: one input, an array of output pointers. TILE is mf_tile. All operand
arithmetic comes from the ref's prepare functions (ref/slicing.py, ir/shapes_slicing.py).
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.codegen.ops_shape import SOURCES as SHAPE_SOURCES
from mcuforge.codegen.ops_shape import _byte_strides, _c_list, _const, _copy, _strided
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes_slicing import broadcast_shape, tile_multiples
from mcuforge.ref.slicing import prepare_slice, prepare_split

SOURCES = ("mf_slicing",)
SLICING_DIMS = 6  # MF_SLICING_DIMS in mf_slicing.h


def _what(node: Node) -> str:
    return f"{node.op} node {node.name!r}"


def _itemsize(g: Graph, name: str) -> int:
    return np.dtype(g.tensors[name].dtype).itemsize


def emit_slice(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x = g.tensors[node.inputs[0]]
    begins, sizes = prepare_slice(g, node, _const(g, node, 1, "begin"), _const(g, node, 2, "size"))
    strides = _byte_strides(x)
    offset = sum(b * s for b, s in zip(begins, strides)) if all(sizes) else 0
    return _strided(node, ctx, _itemsize(g, x.name), list(zip(sizes, strides)), offset)


def emit_broadcast_to(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x = g.tensors[node.inputs[0]]
    out = broadcast_shape(x.shape, _const(g, node, 1, "shape"), _what(node))
    lead = len(out) - len(x.shape)
    strides = [0] * lead + [0 if n == 1 else s for n, s in zip(x.shape, _byte_strides(x))]
    return _strided(node, ctx, _itemsize(g, x.name), list(zip(out, strides)), 0)


def _split_call(g: Graph, node: Node, ctx: EmitContext, x: str, axis: int, sizes: list[int]) -> Call:
    shape = g.tensors[x].shape
    inner = math.prod(shape[axis + 1 :]) * _itemsize(g, x)
    out_bytes = np.asarray([s * inner for s in sizes], np.int32)
    params = (
        ("num_outputs", str(len(sizes))),
        ("outer", str(math.prod(shape[:axis]))),
        ("out_bytes", ctx.const_array(f"{node.name}_out_bytes", out_bytes)),
    )
    outputs = "(void *const[]){" + ", ".join(ctx.ptr(y) for y in node.outputs) + "}"
    return Call("mf_split", "mf_split_params", params, (ctx.ptr(x), outputs), SOURCES)


_SPLIT_OPERANDS = {Op.SPLIT: ((0, "axis"),), Op.SPLIT_V: ((1, "size_splits"), (2, "axis"))}


def emit_split(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """SPLIT and SPLIT_V."""
    found = {i: _const(g, node, i, what) for i, what in _SPLIT_OPERANDS[node.op]}
    x, axis, sizes = prepare_split(g, node, [found.get(i) for i in range(len(node.inputs))])
    return _split_call(g, node, ctx, x, axis, sizes)


def emit_unpack(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x = node.inputs[0]
    shape = g.tensors[x].shape
    axis = node.attrs.axis % len(shape)
    return _split_call(g, node, ctx, x, axis, [1] * shape[axis])


def emit_pack(g: Graph, node: Node, ctx: EmitContext) -> Call:
    xs = [g.tensors[n] for n in node.inputs]  # type: ignore[index]
    shape = xs[0].shape
    axis = node.attrs.axis % (len(shape) + 1)
    block = math.prod(shape[axis:]) * _itemsize(g, xs[0].name)
    params = (
        ("num_inputs", str(len(xs))),
        ("outer", str(math.prod(shape[:axis]))),
        ("in_bytes", ctx.const_array(f"{node.name}_in_bytes", np.full(len(xs), block, np.int32))),
    )
    inputs = "(const void *const[]){" + ", ".join(ctx.ptr(t.name) for t in xs) + "}"
    return Call("mf_concat", "mf_concat_params", params, (inputs, ctx.ptr(node.outputs[0])), SHAPE_SOURCES)


def emit_tile(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
    mult = tile_multiples(x.shape, _const(g, node, 1, "multiples"), _what(node))
    if y.size == 0:
        return _copy(node, ctx, 0)  # an empty output
    # Drop untiled unit dimensions; merge neighbours that are both untiled (one longer row).
    dims: list[list[int]] = []
    for n, m in zip(x.shape, mult):
        if n == 1 and m == 1:
            continue
        if dims and m == 1 and dims[-1][1] == 1:
            dims[-1][0] *= n
        else:
            dims.append([n, m])
    if len(dims) > SLICING_DIMS:
        raise UnsupportedError(f"{_what(node)} needs more than {SLICING_DIMS} dimensions.")
    dims = [[1, 1]] * (SLICING_DIMS - len(dims)) + dims
    params = (
        ("elem_size", str(_itemsize(g, x.name))),
        ("in_shape", _c_list(n for n, _ in dims)),
        ("multiples", _c_list(m for _, m in dims)),
    )
    return Call("mf_tile", "mf_tile_params", params, (ctx.ptr(x.name), ctx.ptr(y.name)), SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.SLICE: emit_slice,
    Op.SPLIT: emit_split,
    Op.SPLIT_V: emit_split,
    Op.UNPACK: emit_unpack,
    Op.PACK: emit_pack,
    Op.TILE: emit_tile,
    Op.BROADCAST_TO: emit_broadcast_to,
}
