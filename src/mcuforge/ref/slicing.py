"""Reference kernels: SLICE, SPLIT, SPLIT_V, UNPACK, PACK, TILE, BROADCAST_TO.

None of them changes a value: int8 and int32 tensors take the same path, and (as in
TF-Lite Micro and LiteRT) the bytes are copied without requantisation, so an output
whose quantisation differs from its input's holds the input's integers. The operand
arithmetic lives in ir/shapes_slicing.py; the `prepare_*` functions turn a node's
operands into the boxes the kernels copy, and the code generator reuses them.
"""

from __future__ import annotations

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes_slicing import broadcast_shape, even_split, slice_box, split_sizes, tile_multiples


def _where(node: Node) -> str:
    return f"{node.op} node {node.name!r}"


def _scalar(v) -> int:
    return int(np.asarray(v).reshape(-1)[0])


def prepare_slice(g: Graph, node: Node, begin, size) -> tuple[list[int], list[int]]:
    """(begins, sizes) per input axis."""
    return slice_box(g.tensors[node.inputs[0]].shape, begin, size, _where(node))


def prepare_split(g: Graph, node: Node, operands: list) -> tuple[str, int, list[int]]:
    """(data input name, axis, size of each output along it) of SPLIT or SPLIT_V."""
    if node.op == Op.SPLIT:
        x = node.inputs[1]
        axis, sizes = even_split(g.tensors[x].shape, _scalar(operands[0]), node.attrs.num_splits, _where(node))
    else:
        x = node.inputs[0]
        axis, sizes = split_sizes(g.tensors[x].shape, _scalar(operands[2]), operands[1], _where(node))
    return x, axis, sizes


def eval_slice(g: Graph, node: Node, inputs):
    begins, sizes = prepare_slice(g, node, inputs[1], inputs[2])
    x = np.asarray(inputs[0])
    return [np.ascontiguousarray(x[tuple(slice(b, b + s) for b, s in zip(begins, sizes))])]


def eval_split(g: Graph, node: Node, inputs):
    """SPLIT (inputs: axis, input) and SPLIT_V (inputs: input, size_splits, axis)."""
    _, axis, sizes = prepare_split(g, node, inputs)
    x = np.asarray(inputs[1] if node.op == Op.SPLIT else inputs[0])
    cuts = np.cumsum(sizes)[:-1]
    return [np.ascontiguousarray(p) for p in np.split(x, cuts, axis=axis)]


def eval_unpack(g: Graph, node: Node, inputs):
    x = np.asarray(inputs[0])
    axis = node.attrs.axis % x.ndim
    return [np.ascontiguousarray(np.take(x, k, axis=axis)) for k in range(x.shape[axis])]


def eval_pack(g: Graph, node: Node, inputs):
    axis = node.attrs.axis % (np.asarray(inputs[0]).ndim + 1)
    return [np.ascontiguousarray(np.stack([np.asarray(x) for x in inputs], axis=axis))]


def eval_tile(g: Graph, node: Node, inputs):
    x = np.asarray(inputs[0])
    return [np.ascontiguousarray(np.tile(x, tile_multiples(x.shape, inputs[1], _where(node))))]


def eval_broadcast_to(g: Graph, node: Node, inputs):
    x = np.asarray(inputs[0])
    return [np.ascontiguousarray(np.broadcast_to(x, broadcast_shape(x.shape, inputs[1], _where(node))))]


KERNELS = {
    Op.SLICE: eval_slice,
    Op.SPLIT: eval_split,
    Op.SPLIT_V: eval_split,
    Op.UNPACK: eval_unpack,
    Op.PACK: eval_pack,
    Op.TILE: eval_tile,
    Op.BROADCAST_TO: eval_broadcast_to,
}
