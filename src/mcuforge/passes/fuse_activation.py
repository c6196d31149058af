"""Fuse a standalone RELU / RELU6 into the clamp of the node that produces its input.

Only where it changes no bit: the producer has a fused-activation clamp (convolution,
depthwise, fully connected, ADD/SUB/MUL), its output feeds nothing else, and the
activation's input and output quantisation are identical, so TF-Lite Micro's RELU
(a requantisation with multiplier 1, then a clamp at the zero point) and RELU6 (a
clamp to [zp, zp + round(6 / scale)]) are exactly the fused clamp of the producer.
"""

from __future__ import annotations

from dataclasses import replace

from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Act, Op

PRODUCERS = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.ADD, Op.SUB, Op.MUL)
# (producer's current activation, standalone op) -> fused activation
COMBINE = {
    (Act.NONE, Op.RELU): Act.RELU,
    (Act.RELU, Op.RELU): Act.RELU,
    (Act.RELU6, Op.RELU): Act.RELU6,
    (Act.NONE, Op.RELU6): Act.RELU6,
    (Act.RELU, Op.RELU6): Act.RELU6,
    (Act.RELU6, Op.RELU6): Act.RELU6,
}


def fuse_activation(g: Graph) -> Graph:
    g = g.copy()
    consumers = g.consumers()
    producers = g.producers()
    drop: set[int] = set()
    for ai, act in enumerate(g.nodes):
        if act.op not in (Op.RELU, Op.RELU6):
            continue
        x, y = act.inputs[0], act.outputs[0]
        pi = producers.get(x)
        if pi is None or pi in drop or x in g.outputs or len(consumers.get(x, [])) != 1:
            continue
        prod = g.nodes[pi]
        tx, ty = g.tensors[x], g.tensors[y]
        fused = COMBINE.get((prod.attrs.activation if prod.op in PRODUCERS else None, act.op))
        if prod.op not in PRODUCERS or fused is None or tx.quant is None or tx.quant != ty.quant or tx.dtype != "int8":
            continue
        prod.attrs = replace(prod.attrs, activation=fused)
        prod.outputs = [y]  # the producer now writes the activation's output tensor
        drop.add(ai)
    g.nodes = [n for i, n in enumerate(g.nodes) if i not in drop]
    g.remove_unused()
    return g
