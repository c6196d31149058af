"""Fold PAD / PADV2 into the following CONV_2D or DEPTHWISE_CONV_2D.

A convolution skips taps outside the image, which is the same as reading the input
zero point there, since (zero_point - input_zp) contributes nothing. A PAD that fills
with the convolution's input zero point (int8 PAD fills with its output zero point;
PADV2 with its constant) can therefore become explicit padding of the convolution,
and the padded tensor never exists. Pools are left alone: AVERAGE_POOL_2D excludes
padding from its divisor, MAX_POOL_2D would see the fill value.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Op, Padding
from mcuforge.ir.shapes import window

CONVS = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D)


def _fill_value(g: Graph, node) -> int | None:
    out = g.tensors[node.outputs[0]]
    if node.op == Op.PADV2 and node.inputs[2] is not None:
        return int(np.asarray(g.tensors[node.inputs[2]].data).reshape(-1)[0])
    return out.quant.zp if out.quant is not None else None


def _explicit(g: Graph, conv) -> tuple[int, int, int, int]:
    """The convolution's own padding as (top, bottom, left, right)."""
    a = conv.attrs
    if isinstance(a.padding, tuple):
        return a.padding
    x = g.tensors[conv.inputs[0]].shape
    w = g.tensors[conv.inputs[1]].shape
    pads = []
    for axis in range(2):
        size, k = x[1 + axis], w[1 + axis]
        out, before = window(size, k, a.stride[axis], a.dilation[axis], a.padding)
        eff = (k - 1) * a.dilation[axis] + 1
        after = max((out - 1) * a.stride[axis] + eff - size - before, 0) if a.padding == Padding.SAME else 0
        pads += [before, after]
    return tuple(pads)


def fold_pad(g: Graph) -> Graph:
    g = g.copy()
    consumers = g.consumers()
    producers = g.producers()
    drop: set[int] = set()
    for ci, conv in enumerate(g.nodes):
        if conv.op not in CONVS:
            continue
        x = conv.inputs[0]
        pi = producers.get(x)
        if pi is None or g.nodes[pi].op not in (Op.PAD, Op.PADV2) or x in g.outputs or len(consumers.get(x, [])) != 1:
            continue
        pad = g.nodes[pi]
        src = g.tensors[pad.inputs[0]]
        amounts = np.asarray(g.tensors[pad.inputs[1]].data).reshape(-1, 2)
        if amounts.shape[0] != 4 or amounts[0].any() or amounts[3].any() or (amounts < 0).any():
            continue  # only spatial padding of NHWC tensors
        xq = g.tensors[x].quant
        if xq is None or src.quant is None or xq != src.quant or _fill_value(g, pad) != xq.zp:
            continue
        own = _explicit(g, conv)
        (t, b), (l, r) = amounts[1], amounts[2]
        pads = (own[0] + int(t), own[1] + int(b), own[2] + int(l), own[3] + int(r))
        conv.attrs = replace(conv.attrs, padding=pads)
        conv.inputs[0] = pad.inputs[0]
        drop.add(pi)
    g.nodes = [n for i, n in enumerate(g.nodes) if i not in drop]
    g.remove_unused()
    return g
