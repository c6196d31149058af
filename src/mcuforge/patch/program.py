"""The patched program: the graph rewritten so that the stage runs patch by patch.

`build_program` returns a Graph G' whose node list is the execution order: the
per-layer prefix, then for every patch (row-major) its own copies of the stage nodes
on patch-sized tensors (named `tensor@k` for patch k) with explicit per-patch padding,
then the per-layer rest. Moving data between full tensors and patches is a
PATCH_COPY node (a box of one tensor into a box of another):
  load: the box of the source X a reader needs -> a patch buffer (an NCHW source's
  TRANSPOSE to NHWC becomes the load itself: a gather of the box);
  crop: the box a reader needs of a patch tensor computed over a larger box;
  store: the patch's result -> its cell of the sink Y (the stage-2 input).
A box that is one run of bytes (full rows of its tensor, or a single row) needs no
copy: the patch tensor is then a *view*, `views[name] = View(parent, byte offset)`,
and shares the parent's buffer. G' is a program, not an IR graph: several store
nodes write the one tensor Y.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op
from mcuforge.patch.plan import Box, PatchPlan, grid_cells
from mcuforge.patch.regions import Geometry, patch_geometry
from mcuforge.patch.stage import PAD_OPS, WINDOW_OPS, Stage, activation_inputs, find_stage


class PatchOp(StrEnum):
    COPY = "PATCH_COPY"


@dataclass(frozen=True)
class CopyAttrs:
    src_box: Box  # rows/columns of the source tensor read
    dst_box: Box  # rows/columns of the destination tensor written (same size)
    transpose: bool = False  # the source is NCHW (rows and columns are its axes 2 and 3)


@dataclass(frozen=True)
class View:
    parent: str
    offset: int  # bytes from the parent's start


@dataclass
class Program:
    graph: Graph  # G': node list = execution order
    views: dict[str, View]
    stage: Stage
    plan: PatchPlan
    loop: range  # G' node indices of the patch loop
    geometries: list[Geometry]  # per patch, row-major


def contiguous(box: Box, hw: tuple[int, int]) -> bool:
    """Whether a box of an h x w NHWC tensor is one run of bytes."""
    return (box[2] == 0 and box[3] == hw[1]) or box[1] - box[0] == 1


def box_offset(box: Box, t: Tensor) -> int:
    """Byte offset of the box's first element in tensor t (NHWC)."""
    _, _, w, c = t.shape
    return (box[0] * w + box[2]) * c * np.dtype(t.dtype).itemsize


def _patch_tensor(g: Graph, base: Tensor, name: str, box: Box) -> str:
    name = g.unique_name(name)
    g.add_tensor(Tensor(name, (1, box[1] - box[0], box[3] - box[2], base.shape[3]), base.dtype, base.quant))
    return name


def _copy(src: str, dst: str, src_box: Box, dst_box: Box, name: str, transpose: bool = False) -> Node:
    return Node(PatchOp.COPY, [src], [dst], CopyAttrs(src_box, dst_box, transpose), name)


def _whole(box: Box) -> Box:
    """The same box's size, as a whole patch tensor."""
    return (0, box[1] - box[0], 0, box[3] - box[2])


def _relative(need: Box, box: Box) -> Box:
    return (need[0] - box[0], need[1] - box[0], need[2] - box[2], need[3] - box[2])


Key = tuple[int, int, int]  # (stage node, 0 before / 1 the node / 2 after, sequence)


class _Patch:
    """Builds the nodes of patch k; `items` are sorted by Key into execution order."""

    def __init__(self, h: Graph, gp: Graph, views: dict[str, View], stage: Stage, geo: Geometry, k: int) -> None:
        self.h, self.gp, self.views, self.stage, self.geo, self.k = h, gp, views, stage, geo, k
        self.items: list[tuple[Key, Node]] = []
        self.names: dict[str, str] = {}  # stage tensor -> its patch tensor
        self.direct: dict[str, list[int]] = {}  # stage tensor -> stage nodes reading its patch buffer
        self.crops: list[tuple[str, int, Node]] = []  # (stage tensor, reader, copy): placed last
        self.seq = 0

    def add(self, key: Key, node: Node) -> None:
        self.items.append((key, node))

    def source_input(self, i: int, need: Box) -> str:
        """The box of the source node i reads: a view of full rows, else a load before i."""
        x = self.stage.source
        t = self.h.tensors[x]
        name = _patch_tensor(self.gp, t, f"{x}@{self.k}.{i}", need)
        if contiguous(need, t.shape[1:3]):
            self.views[name] = View(x, box_offset(need, t))
        else:
            self.seq += 1
            self.add((i, 0, self.seq), _copy(x, name, need, _whole(need), f"load {x}@{self.k}"))
        return name

    def stage_input(self, i: int, x: str, need: Box) -> str:
        """The part of patch tensor x node i reads: all of it, a view, or a crop."""
        box = self.geo.boxes[x]
        if need == box:
            self.direct.setdefault(x, []).append(i)
            return self.names[x]
        rel = _relative(need, box)
        name = _patch_tensor(self.gp, self.h.tensors[x], f"{x}@{self.k}.{i}", need)
        if contiguous(rel, (box[1] - box[0], box[3] - box[2])):
            self.views[name] = View(self.names[x], box_offset(rel, self.gp.tensors[self.names[x]]))
            self.direct.setdefault(x, []).append(i)
        else:
            self.crops.append((x, i, _copy(self.names[x], name, rel, _whole(rel), f"crop {x}@{self.k}")))
        return name

    def attrs_and_pads(self, i: int, node: Node, inputs: list[str | None]):
        """The node's attributes with this patch's explicit padding (PAD: a new amounts tensor)."""
        if node.op in WINDOW_OPS:
            return replace(node.attrs, padding=self.geo.pads[i])
        if node.op in PAD_OPS:
            full = self.h.tensors[node.inputs[1]]
            t, b, left, right = self.geo.pads[i]
            channel = np.asarray(full.data).reshape(-1, 2)[3]
            amounts = np.array([[0, 0], [t, b], [left, right], channel], dtype=full.dtype).reshape(full.shape)
            name = self.gp.unique_name(f"{node.inputs[1]}@{self.k}")
            self.gp.add_tensor(Tensor(name, amounts.shape, amounts.dtype.name, None, amounts))
            inputs[1] = name
        return node.attrs

    def output(self, out: str) -> str:
        box = self.geo.boxes[out]
        self.names[out] = name = _patch_tensor(self.gp, self.h.tensors[out], f"{out}@{self.k}", box)
        return name

    def node(self, i: int) -> None:
        node, k = self.h.nodes[i], self.k
        out = node.outputs[0]
        if node.op == Op.TRANSPOSE:  # NCHW source -> NHWC patch: the load gathers it
            name = self.output(out)
            self.add(
                (i, 1, 0),
                _copy(
                    node.inputs[0], name, self.geo.needs[(i, 0)], _whole(self.geo.boxes[out]), f"load {out}@{k}", True
                ),
            )
        else:
            inputs = list(node.inputs)
            for j, x in activation_inputs(self.h, node):
                need = self.geo.needs[(i, j)]
                inputs[j] = self.source_input(i, need) if x == self.stage.source else self.stage_input(i, x, need)
            attrs = self.attrs_and_pads(i, node, inputs)
            name = self.output(out)
            self.add((i, 1, 0), Node(node.op, inputs, [name], attrs, f"{node.name}@{k}", node.inplace))
        if out == self.stage.sink:
            self.store(i, name, out)

    def store(self, i: int, patch: str, sink: str) -> None:
        """The sink's patch tensor into its cell: a view of full rows, else a store after i."""
        box, t = self.geo.boxes[sink], self.h.tensors[sink]
        if contiguous(box, t.shape[1:3]):
            self.views[patch] = View(sink, box_offset(box, t))
        else:
            self.add((i, 2, 0), _copy(patch, sink, _whole(box), box, f"store {sink}@{self.k}"))

    def nodes(self) -> list[Node]:
        """Crops go right after the last other reader of their tensor before theirs (or
        its producer), so the larger patch tensor dies as early as possible."""
        producer = {self.h.nodes[i].outputs[0]: i for i in self.stage.nodes}
        for x, reader, node in self.crops:
            before = [c for c in self.direct.get(x, []) if c < reader]
            self.seq += 1
            self.add((max(before) if before else producer[x], 2, self.seq), node)
        nodes = [n for _, n in sorted(self.items, key=lambda it: it[0])]
        _inplace_flags(nodes, self.views)
        return nodes


def _emit_patch(h: Graph, gp: Graph, views: dict[str, View], stage: Stage, geo: Geometry, k: int) -> list[Node]:
    """The nodes of patch k, in execution order."""
    patch = _Patch(h, gp, views, stage, geo, k)
    for i in stage.nodes:
        patch.node(i)
    return patch.nodes()


def _inplace_flags(nodes: list[Node], views: dict[str, View]) -> None:
    """Keep a node's in-place allowance only where its input is its own private buffer:
    not a view, not read by any other node of the patch."""
    readers: dict[str, int] = {}
    for n in nodes:
        for x in n.inputs:
            if x is not None:
                root = x
                while root in views:
                    root = views[root].parent
                readers[root] = readers.get(root, 0) + 1
    for n in nodes:
        if n.inplace:
            x, y = n.inputs[0], n.outputs[0]
            n.inplace = x not in views and y not in views and readers.get(x, 0) == 1


def build_program(h: Graph, plan: PatchPlan, order: Sequence[int] | None = None) -> Program:
    """G' for running h (an optimised graph) with `plan`; `order` is the per-layer
    execution order of h's nodes (default: index order), into which the patch loop is
    spliced where the stage's first node would run."""
    stage = find_stage(h, plan.split, plan.start)
    order = list(range(len(h.nodes))) if order is None else list(order)
    internal = {h.nodes[i].outputs[0] for i in stage.nodes} - {stage.sink}
    gp = Graph(name=h.name, inputs=list(h.inputs), outputs=list(h.outputs))
    for name, t in h.tensors.items():
        if name not in internal:
            gp.tensors[name] = t
    views: dict[str, View] = {}
    cells = grid_cells(h.tensors[stage.sink].shape[1:3], plan.grid)
    geometries = [patch_geometry(h, stage, cell) for cell in cells]
    loop = range(0)
    for i in order:
        if i in stage.nodes:
            if not loop:
                first = len(gp.nodes)
                for k, geo in enumerate(geometries):
                    gp.nodes.extend(_emit_patch(h, gp, views, stage, geo, k))
                loop = range(first, len(gp.nodes))
            continue
        n = h.nodes[i]
        gp.nodes.append(Node(n.op, list(n.inputs), list(n.outputs), n.attrs, n.name, n.inplace))
    return Program(gp, views, stage, plan, loop, geometries)


def resolve(views: dict[str, View], name: str) -> tuple[str, int]:
    """(the tensor that owns the bytes, byte offset) of a possibly viewed tensor."""
    offset = 0
    while name in views:
        v = views[name]
        name, offset = v.parent, offset + v.offset
    return name, offset


def is_copy(node: Node) -> bool:
    return node.op == PatchOp.COPY
