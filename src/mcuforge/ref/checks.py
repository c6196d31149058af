"""Operand checks shared by the reference kernels: what a node must have for its int8
kernel to apply, stated in one sentence when it is missing."""

from __future__ import annotations

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor


def node_label(node: Node) -> str:
    """How messages name a node: its op and output name."""
    return f"{node.op} node {node.name!r}" if node.name else str(node.op)


def int8_io(g: Graph, node: Node) -> tuple[Tensor, Tensor]:
    """Input 0 and output 0, checked to be int8 with per-tensor quantisation."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    for t in (x, y):
        if t.dtype != "int8":
            raise UnsupportedError(f"{node_label(node)} has a {t.dtype} tensor {t.name!r}; only int8 is supported.")
        if t.quant is None or t.quant.per_channel or not t.quant.scale[0] > 0:
            raise UnsupportedError(
                f"{node_label(node)}: tensor {t.name!r} needs per-tensor quantisation with a positive scale."
            )
    return x, y


def weighted_int8(g: Graph, node: Node) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    """(input, weights, bias or None, output) of a convolution or fully connected node:
    int8 data and weights, int32 bias, all quantised."""
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])  # type: ignore[arg-type]
    b = g.tensor(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] is not None else None
    y = g.tensor(node.outputs[0])
    what = node_label(node)
    if x.dtype != "int8" or y.dtype != "int8":
        raise UnsupportedError(f"{what} has {x.dtype} input and {y.dtype} output; only int8 is supported.")
    if w.dtype != "int8":
        raise UnsupportedError(f"{what} has {w.dtype} weights; only int8 weights are supported.")
    if b is not None and b.dtype != "int32":
        raise UnsupportedError(f"{what} has a {b.dtype} bias; only int32 is supported.")
    if x.quant is None or w.quant is None or y.quant is None:
        raise UnsupportedError(f"{what} lacks quantisation parameters on its input, weights or output.")
    return x, w, b, y


def weighted_16x8(g: Graph, node: Node) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    """(input, weights, bias or None, output) of a node of TFLite's 16x8 scheme: int16
    data with zero point 0, int8 weights, int32 or int64 bias, all quantised."""
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])  # type: ignore[arg-type]
    b = g.tensor(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] is not None else None
    y = g.tensor(node.outputs[0])
    what = node_label(node)
    if x.dtype != "int16" or y.dtype != "int16":
        raise UnsupportedError(f"{what} has {x.dtype} input and {y.dtype} output; 16x8 needs int16 for both.")
    if w.dtype != "int8":
        raise UnsupportedError(f"{what} has {w.dtype} weights; 16x8 needs int8 weights.")
    if b is not None and b.dtype not in ("int32", "int64"):
        raise UnsupportedError(f"{what} has a {b.dtype} bias; 16x8 takes int32 or int64 bias.")
    if x.quant is None or w.quant is None or y.quant is None:
        raise UnsupportedError(f"{what} lacks quantisation parameters on its input, weights or output.")
    for t in (x, y):
        if t.quant.per_channel or t.quant.zp != 0:
            raise UnsupportedError(f"{what}: int16 tensor {t.name!r} needs per-tensor quantisation with zero point 0.")
    return x, w, b, y
