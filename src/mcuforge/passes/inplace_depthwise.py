"""Mark depthwise convolutions that may run in place.

TinyEngine's in-place depthwise: the output overwrites the input channel by channel,
with one zero-point-padded channel plane of scratch (the kernel copies input channel
c there before writing output channel c, and only channel-c bytes are overwritten).
This needs depth multiplier 1 and an input that nothing reads afterwards. The flag
is an allowance: the planner may still place the output elsewhere when that is
smaller, and the kernel is correct either way.
"""

from __future__ import annotations

from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Op


def inplace_depthwise(g: Graph) -> Graph:
    g = g.copy()
    consumers = g.consumers()
    for node in g.nodes:
        if node.op != Op.DEPTHWISE_CONV_2D:
            continue
        x, y = node.inputs[0], node.outputs[0]
        tx, ty = g.tensors[x], g.tensors[y]
        node.inplace = (
            tx.shape[-1] == ty.shape[-1]  # depth multiplier 1
            and tx.shape[0] == 1
            and len(consumers.get(x, [])) == 1
            and x not in g.outputs
            and not tx.is_const
        )
    return g
