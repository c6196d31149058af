"""The memory plan of a patched program, by the engine's planner.

Buffer requests follow plan/lifetimes.py step for step (graph inputs live from step 0,
outputs to the end, a tensor from its write to its last read, RESHAPE-like nodes
share their input's buffer, one scratch request per node that needs one), with two
additions for patches:
  a view (patch/program.py) is no buffer of its own: reading or writing it is a use of
  its parent's buffer, so the source X stays live until the last patch has read it and
  the sink Y from the first patch's store;
  the sink may overlap the source, Y below X by at least D bytes
  (Overlap(Y, X, D)): patches store their cells in row-major order while later patches
  still read X further on, so a cell may land on input rows no later patch reads. D is
  the smallest distance that keeps every byte of X a later step reads intact:
  max over writes of Y (end byte written - first X byte read at that step or later).
The kernels' own allowances (in place, element-wise, pointwise, sliding window) apply
as in per-layer plans, but never to a view: X's and Y's rows are shared by patches.
"""

from __future__ import annotations

from collections.abc import Mapping

from mcuforge.ir.graph import Graph
from mcuforge.patch.program import Program, is_copy, resolve
from mcuforge.plan.lifetimes import _aliases, _node_allowances
from mcuforge.plan.memory import MemoryPlan, footprint
from mcuforge.plan.planner import plan
from mcuforge.plan.requests import BufferRequest, Overlap, lower_bound

ALIGN = 8


def _acts(g: Graph, names) -> list[str]:
    return [x for x in names if x is not None and not g.tensors[x].is_const]


class _Lifetimes:
    def __init__(self, prog: Program) -> None:
        self.g, self.views = prog.graph, prog.views
        self.buffer_of: dict[str, str] = {}
        self.first: dict[str, int] = {}
        self.last: dict[str, int] = {}
        self.size: dict[str, int] = {}
        self.entries: list[str] = []
        self.reads: dict[str, list[tuple[int, int]]] = {}  # buffer -> (step, first byte read)
        self.writes: dict[str, list[tuple[int, int]]] = {}  # buffer -> (step, end byte written)

    def buffer(self, name: str) -> tuple[str, int]:
        root, offset = resolve(self.views, name)
        if root not in self.buffer_of:
            self.buffer_of[root] = root
            self.entries.append(root)
        return self.buffer_of[root], offset

    def touch(self, name: str, step: int) -> str:
        b, _ = self.buffer(name)
        root = resolve(self.views, name)[0]
        self.first[b] = min(self.first.get(b, step), step)
        self.last[b] = max(self.last.get(b, step), step)
        self.size[b] = max(self.size.get(b, 0), self.g.tensors[root].nbytes)
        return b


def _box_bytes(g: Graph, name: str, box, nchw: bool = False) -> tuple[int, int]:
    """First byte and end byte of a box of an NHWC tensor (NCHW: of all channel planes)."""
    t = g.tensors[name]
    item = t.nbytes // t.size if t.size else 1
    if nchw:
        _, c, h, w = t.shape
        return (box[0] * w + box[2]) * item, ((c - 1) * h * w + (box[1] - 1) * w + box[3]) * item
    _, _, w, c = t.shape
    return (box[0] * w + box[2]) * c * item, ((box[1] - 1) * w + box[3]) * c * item


def program_requests(prog: Program, scratch: Mapping[int, int]):
    """(requests, overlaps, buffer_of, scratch_of) for running G' in node order."""
    g = prog.graph
    lt = _Lifetimes(prog)
    for name in g.inputs:
        lt.touch(name, 0)
    scratch_of: dict[int, str] = {}
    extra: list[BufferRequest] = []
    for s, node in enumerate(g.nodes):
        for x in _acts(g, node.inputs):
            b = lt.touch(x, s)
            _, off = lt.buffer(x)
            lo = _box_bytes(g, x, node.attrs.src_box, node.attrs.transpose)[0] if is_copy(node) else 0
            lt.reads.setdefault(b, []).append((s, off + lo))
        for k, out in enumerate(node.outputs):
            src = node.inputs[0] if node.inputs else None
            if (
                k == 0
                and not is_copy(node)
                and out not in lt.views
                and src is not None
                and src not in lt.views
                and _aliases(g, node, src)
            ):
                lt.buffer_of[out] = lt.buffer(src)[0]
            b = lt.touch(out, s)
            _, off = lt.buffer(out)
            end = _box_bytes(g, out, node.attrs.dst_box)[1] if is_copy(node) else g.tensors[out].nbytes
            lt.writes.setdefault(b, []).append((s, off + end))
        if scratch.get(s, 0) > 0:
            scratch_of[s] = f"scratch:{s}"
            extra.append(BufferRequest(scratch_of[s], scratch[s], s, s, ALIGN))
    end = max(len(g.nodes) - 1, 0)
    for name in g.outputs:
        if not g.tensors[name].is_const:
            lt.touch(name, end)
    requests = [
        BufferRequest(b, lt.size.get(b, 0), lt.first[b], lt.last[b], ALIGN) for b in lt.entries if lt.buffer_of[b] == b
    ]
    requests += extra
    requests.sort(key=lambda r: (r.first, r.name))
    protected = {lt.buffer(o)[0] for o in g.outputs if not g.tensors[o].is_const}
    overlaps = _kernel_allowances(prog, lt, protected) + _stage_allowance(prog, lt, protected)
    buffer_of = {t: lt.buffer(t)[0] for t in list(lt.buffer_of)}
    return requests, overlaps, buffer_of, scratch_of, lt


def _kernel_allowances(prog: Program, lt: _Lifetimes, protected: set[str]) -> list[Overlap]:
    g, found = prog.graph, {}
    for s, node in enumerate(g.nodes):
        if is_copy(node) or not node.outputs or node.outputs[0] in lt.views:
            continue
        if lt.buffer_of.get(node.outputs[0]) != node.outputs[0]:
            continue  # an alias
        out = node.outputs[0]
        for x, (lo, hi) in _node_allowances(g, node):
            if x in lt.views:
                continue
            b = lt.buffer(x)[0]
            if b != out and lt.last[b] == s and b not in protected:
                found.setdefault((out, b), Overlap(out, b, lo, hi))
    return list(found.values())


def _stage_allowance(prog: Program, lt: _Lifetimes, protected: set[str]) -> list[Overlap]:
    bx, by = lt.buffer(prog.stage.source)[0], lt.buffer(prog.stage.sink)[0]
    if bx == by or bx in protected:
        return []
    reads = lt.reads.get(bx, [])
    need = 0
    for step, end in lt.writes.get(by, []):
        later = [lo for s, lo in reads if s >= step]
        if later:
            need = max(need, end - min(later))
    return [Overlap(by, bx, need)]


def plan_program(prog: Program, scratch: Mapping[int, int]) -> MemoryPlan:
    """The smallest verified plan for G' (node order), scratch included."""
    requests, overlaps, buffer_of, scratch_of, _ = program_requests(prog, scratch)
    chosen = plan(requests, overlaps)
    offsets = {}
    for t in prog.graph.tensors:
        if prog.graph.tensors[t].is_const:
            continue
        root, off = resolve(prog.views, t)
        if root in buffer_of:
            offsets[t] = chosen.offsets[buffer_of[root]] + off
    steps = len(prog.graph.nodes)
    return MemoryPlan(
        order=list(range(steps)),
        tensor_offsets=offsets,
        scratch_offsets={i: chosen.offsets[n] for i, n in scratch_of.items()},
        scratch_sizes={i: v for i, v in scratch.items() if v},
        arena_bytes=chosen.arena_bytes,
        algorithm=chosen.algorithm,
        lower_bound=lower_bound(requests, overlaps),
        live_bytes=footprint(requests, chosen.offsets, steps),
    )
