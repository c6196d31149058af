"""Per-patch regions: from a cell of the stage's output back to every stage tensor.

Walking the stage backwards, each node's output region gives the input region it
needs, per spatial axis:
  window op (k, stride s, dilation d, padding before pb): output [o0, o1) reads
  [o0*s - pb, (o1-1)*s - pb + (k-1)*d + 1); the part outside [0, size) is padding,
  which therefore appears only where the patch touches the image edge;
  PAD (before p): output [o0, o1) reads [o0 - p, o1 - p), the rest is the pad's fill;
  element-wise, activations, concatenation: the same region.
A tensor read by several stage nodes is computed over the bounding box of what they
need; a reader needing less gets a crop (patch/program.py). The source is sliced per
reader, so it needs no union. Both rules act on each axis alone, so a patch's
regions are a row interval times a column interval, and the rows depend only on the
patch's grid row (`axis_walk` computes one axis; `patch_geometry` joins two).

The per-patch padding is explicit (top, bottom, left, right): with it, TFLite's own
output-size rule (ir.shapes.window) gives exactly the region's size, and a tap falls
in the padding exactly when it falls outside the full image, so each patch computes
the same values as the full layer (pools' divisors count the same in-image taps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op, axis_padding
from mcuforge.ir.shapes import window
from mcuforge.patch.plan import Box
from mcuforge.patch.stage import PAD_OPS, WINDOW_OPS, NotPatchable, Stage, activation_inputs

Span = tuple[int, int]  # [start, end) along one axis


@dataclass(frozen=True)
class AxisWalk:
    spans: dict[str, Span]  # stage tensor (not the source) -> span it is computed over
    needs: dict[tuple[int, int], Span]  # (node index, input position) -> span read
    pads: dict[int, tuple[int, int]]  # window and PAD nodes -> (before, after) padding


@dataclass(frozen=True)
class Geometry:
    """One patch: the region of every stage tensor, what each reader needs, and the
    explicit padding of each window or PAD node: (top, bottom, left, right)."""

    cell: Box
    boxes: dict[str, Box]
    needs: dict[tuple[int, int], Box]
    pads: dict[int, tuple[int, int, int, int]]


def window_axis(g: Graph, node: Node, axis: int) -> tuple[int, int, int, int]:
    """(kernel, stride, dilation, padding before) of a window op along a spatial axis."""
    x = g.tensors[node.inputs[0]]
    a = node.attrs
    if node.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D):
        k, d = g.tensors[node.inputs[1]].shape[1 + axis], a.dilation[axis]
    else:
        k, d = a.filter[axis], 1
    s = a.stride[axis]
    return k, s, d, window(x.shape[1 + axis], k, s, d, axis_padding(a.padding, axis))[1]


def need_axis(g: Graph, node: Node, axis: int, o0: int, o1: int) -> tuple[int, int, int, int]:
    """(i0, i1, padding before, padding after): the input span that output [o0, o1) reads."""
    size = g.tensors[node.inputs[0]].shape[1 + axis]
    if node.op in WINDOW_OPS:
        k, s, d, pb = window_axis(g, node, axis)
        lo, hi = o0 * s - pb, (o1 - 1) * s - pb + (k - 1) * d + 1
    elif node.op in PAD_OPS:
        before = int(np.asarray(g.tensors[node.inputs[1]].data).reshape(-1, 2)[1 + axis, 0])
        lo, hi = o0 - before, o1 - before
    else:
        return o0, o1, 0, 0
    i0, i1 = max(0, lo), min(size, hi)
    return i0, i1, i0 - lo, hi - i1


def axis_walk(g: Graph, stage: Stage, axis: int, span: Span) -> AxisWalk:
    """Spans along one axis for the patches whose share of the sink is `span`."""
    spans: dict[str, Span] = {stage.sink: span}
    needs: dict[tuple[int, int], Span] = {}
    pads: dict[int, tuple[int, int]] = {}
    for i in reversed(stage.nodes):
        node = g.nodes[i]
        out = spans.get(node.outputs[0])
        if out is None:
            raise NotPatchable(f"the output of node {i} ({node.op}) is never read in the stage")
        i0, i1, before, after = need_axis(g, node, axis, *out)
        if i0 >= i1:
            raise NotPatchable(f"a patch of node {i} ({node.op}) would read no input pixel; use fewer patches")
        if node.op in WINDOW_OPS or node.op in PAD_OPS:
            pads[i] = (before, after)
        for j, x in activation_inputs(g, node):
            needs[(i, j)] = (i0, i1)
            if x != stage.source:
                old = spans.get(x)
                spans[x] = (i0, i1) if old is None else (min(old[0], i0), max(old[1], i1))
    return AxisWalk(spans, needs, pads)


def join(cell: Box, rows: AxisWalk, cols: AxisWalk) -> Geometry:
    def box(r: Span, c: Span) -> Box:
        return (r[0], r[1], c[0], c[1])

    return Geometry(
        cell,
        {t: box(rows.spans[t], cols.spans[t]) for t in rows.spans},
        {k: box(rows.needs[k], cols.needs[k]) for k in rows.needs},
        {i: (*rows.pads[i], *cols.pads[i]) for i in rows.pads},
    )


def patch_geometry(g: Graph, stage: Stage, cell: Box) -> Geometry:
    """Regions of one patch whose share of the stage output is `cell`."""
    return join(cell, axis_walk(g, stage, 0, cell[:2]), axis_walk(g, stage, 1, cell[2:]))


def area(b: Box) -> int:
    return (b[1] - b[0]) * (b[3] - b[2])
