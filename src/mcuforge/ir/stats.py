"""Per-node figures: multiply-accumulates and constant bytes."""

from __future__ import annotations

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op


def node_macs(g: Graph, node: Node) -> int:
    """Multiply-accumulates of one node (convolutions, fully connected, matrix products
    and MUL; others 0).

    CONV_2D: each output element sums kh*kw*(filter input channels) products;
    DEPTHWISE_CONV_2D: kh*kw; FULLY_CONNECTED: the input feature count; MUL: one per
    output element (the squeeze-excite scaling of MCUNetV2). TRANSPOSE_CONV: each input
    element scatters kh*kw*(output channels) products (those falling outside the output
    included, as the kernel loops over them); BATCH_MATMUL: each output element sums the
    accumulation depth's products. SVDF: per batch, the feature pass (filters x input
    size) and the time pass (filters x memory). UNIDIRECTIONAL_SEQUENCE_LSTM: per time step
    and batch row, four gates of state x (input + state) products and three elementwise
    products per state unit (forget x cell, input x cell gate, tanh(cell) x output).
    """
    out = g.tensors[node.outputs[0]]
    if node.op == Op.CONV_2D:
        _, kh, kw, cin = g.tensors[node.inputs[1]].shape
        return out.size * kh * kw * cin
    if node.op == Op.DEPTHWISE_CONV_2D:
        _, kh, kw, _ = g.tensors[node.inputs[1]].shape
        return out.size * kh * kw
    if node.op == Op.FULLY_CONNECTED:
        return out.size * g.tensors[node.inputs[1]].shape[-1]
    if node.op == Op.MUL:
        return out.size
    if node.op == Op.TRANSPOSE_CONV:
        cout, kh, kw, _ = g.tensors[node.inputs[1]].shape
        return g.tensors[node.inputs[2]].size * kh * kw * cout
    if node.op == Op.BATCH_MATMUL:
        x = g.tensors[node.inputs[0]].shape
        return out.size * (x[-2] if node.attrs.adj_x else x[-1])
    # family svdf (begin)
    if node.op == Op.SVDF:
        batch, size = g.tensors[node.inputs[0]].shape
        filters, memory = g.tensors[node.inputs[2]].shape
        return batch * filters * (size + memory)
    # family svdf (end)
    # family lstm (begin)
    if node.op == Op.UNIDIRECTIONAL_SEQUENCE_LSTM:
        n_in, state = g.tensors[node.inputs[0]].shape[-1], out.shape[-1]
        return out.size // state * (4 * state * (n_in + state) + 3 * state)
    # family lstm (end)
    return 0


# Ops whose constant inputs are weights (TRANSPOSE_CONV's input 0 is its output-shape operand).
_WEIGHT_OPS = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.ADD, Op.SUB, Op.MUL, Op.BATCH_MATMUL, Op.SVDF)
# family lstm (begin)
_WEIGHT_OPS += (Op.UNIDIRECTIONAL_SEQUENCE_LSTM,)  # its gate weights and biases
# family lstm (end)


def _weight_inputs(g: Graph, node: Node) -> list[str]:
    """The constant inputs of a node that hold weights or bias (not shape operands)."""
    if node.op == Op.TRANSPOSE_CONV:
        names = node.inputs[1:]
    elif node.op in _WEIGHT_OPS:
        names = node.inputs
    else:
        return []
    return [n for n in names if n is not None and g.tensors[n].is_const]


def node_weight_bytes(g: Graph, node: Node) -> int:
    """Bytes of the constant inputs a node reads (weights, bias; not shape operands)."""
    return sum(g.tensors[n].nbytes for n in _weight_inputs(g, node))


def total_weight_bytes(g: Graph) -> int:
    """Bytes of every constant the graph's compute nodes read, each counted once."""
    seen: set[str] = set()
    for node in g.nodes:
        seen.update(_weight_inputs(g, node))
    return int(sum(g.tensors[n].nbytes for n in seen))


def total_macs(g: Graph) -> int:
    return int(np.sum([node_macs(g, n) for n in g.nodes], dtype=np.int64)) if g.nodes else 0
