"""Fold a model's boundary QUANTIZE (float input) and DEQUANTIZE (float output) into the
API: the compiled model then takes and gives int8 buffers whose scale and zero point
model.h states, and no float tensor occupies SRAM (TinyEngine counts the same way).

Returns the folded graph and the boundary nodes that were removed, so that a host
runner can apply them outside the model, with the reference kernels, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op


@dataclass
class FoldedIO:
    graph: Graph
    original: Graph
    input_nodes: dict[int, Node] = field(default_factory=dict)  # input index -> removed QUANTIZE
    output_nodes: dict[int, Node] = field(default_factory=dict)  # output index -> removed DEQUANTIZE


def fold_io(g: Graph) -> FoldedIO:
    original, g = g, g.copy()
    consumers = g.consumers()
    producers = g.producers()
    result = FoldedIO(g, original)
    drop: set[int] = set()
    for i, name in enumerate(list(g.inputs)):
        users = consumers.get(name, [])
        if g.tensors[name].dtype != "float32" or len(users) != 1 or g.nodes[users[0]].op != Op.QUANTIZE:
            continue
        q = g.nodes[users[0]]
        if g.tensors[q.outputs[0]].dtype != "int8" or q.outputs[0] in g.outputs:
            continue
        g.inputs[i] = q.outputs[0]
        result.input_nodes[i] = q
        drop.add(users[0])
    for i, name in enumerate(list(g.outputs)):
        pi = producers.get(name)
        if pi is None or g.nodes[pi].op != Op.DEQUANTIZE or pi in drop:
            continue
        d = g.nodes[pi]
        src = d.inputs[0]
        if g.tensors[src].dtype != "int8" or src in g.inputs:
            continue
        g.outputs[i] = src
        result.output_nodes[i] = d
        drop.add(pi)
    g.nodes = [n for j, n in enumerate(g.nodes) if j not in drop]
    g.remove_unused()
    return result
