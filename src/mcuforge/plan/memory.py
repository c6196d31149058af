"""The engine's memory plan for a graph: execution order, tensor and scratch offsets.

This is the one entry point the code generator (and TinyNAS's profiler) use, so every
memory figure comes from the same planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mcuforge.ir.graph import Graph
from mcuforge.plan.lifetimes import Buffers, buffer_requests
from mcuforge.plan.order import best_order
from mcuforge.plan.planner import plan
from mcuforge.plan.requests import BufferRequest, Plan, align_up, lower_bound
from mcuforge.plan.verify import verify


@dataclass(frozen=True)
class MemoryPlan:
    order: list[int]  # node indices in execution order
    tensor_offsets: dict[str, int]  # every non-constant tensor -> byte offset in the arena
    scratch_offsets: dict[int, int]  # node index -> offset of its scratch
    scratch_sizes: dict[int, int]
    arena_bytes: int  # the whole arena, scratch included: the peak SRAM of activations
    algorithm: str  # the placement algorithm whose plan was smallest
    lower_bound: int  # max over steps of live bytes, less what overlap allowances can share
    live_bytes: list[int]  # per step: arena bytes in use then (scratch included, overlaps once)
    wide: frozenset[int] = frozenset()  # nodes granted their wide (more scratch) variant

    @property
    def scratch_bytes(self) -> int:
        """The largest single scratch buffer (each is planned inside the arena)."""
        return max(self.scratch_sizes.values(), default=0)


def plan_graph(g: Graph, scratch: dict[int, int], wide_scratch: Mapping[int, int] | None = None) -> MemoryPlan:
    """Choose the execution order, then the smallest verified placement for it.

    `wide_scratch` (node index -> scratch of the node's wide variant, larger than its
    entry in `scratch`): after placement, a node gets its wide variant where the larger
    scratch fits in arena bytes free at that node's step; the arena never grows for it,
    so the peak is the same with or without `wide_scratch`."""

    def scratch_of(i: int) -> int:
        return scratch.get(i, 0)

    order = best_order(g, scratch_of)
    bufs = buffer_requests(g, order, scratch_of)
    chosen = plan(bufs.requests, bufs.overlaps)
    requests, offsets, names = bufs.requests, dict(chosen.offsets), dict(bufs.scratch_of)
    sizes, wide = {i: s for i, s in scratch.items() if s}, frozenset[int]()
    if wide_scratch:
        requests, offsets, names, wide = _widen(bufs, offsets, chosen.arena_bytes, scratch, wide_scratch)
        verify(requests, bufs.overlaps, Plan(offsets, chosen.arena_bytes, chosen.algorithm))
        sizes.update((i, wide_scratch[i]) for i in wide)
    return MemoryPlan(
        order=list(order),
        tensor_offsets={t: offsets[b] for t, b in bufs.buffer_of.items()},
        scratch_offsets={i: offsets[name] for i, name in names.items()},
        scratch_sizes=sizes,
        arena_bytes=chosen.arena_bytes,
        algorithm=chosen.algorithm,
        lower_bound=lower_bound(bufs.requests, bufs.overlaps),
        live_bytes=footprint(requests, offsets, len(order)),
        wide=wide,
    )


def _widen(
    bufs: Buffers,
    offsets: dict[str, int],
    arena: int,
    scratch: Mapping[int, int],
    wide_scratch: Mapping[int, int],
) -> tuple[tuple[BufferRequest, ...], dict[str, int], dict[int, str], frozenset[int]]:
    """Give each node with a wide variant its larger scratch where that fits, at the node's
    step, in the smallest free gap of the placed arena (a node's scratch is live at its
    step only, so nodes never compete for a gap)."""
    requests = list(bufs.requests)
    index = {r.name: k for k, r in enumerate(requests)}
    names = dict(bufs.scratch_of)  # node index -> its scratch request
    wide = set()
    for step, i in enumerate(bufs.order):
        need = wide_scratch.get(i, 0)
        if need <= scratch.get(i, 0):
            continue
        own = bufs.scratch_of.get(i)
        busy = sorted(
            (offsets[r.name], offsets[r.name] + r.size)
            for r in requests
            if r.first <= step <= r.last and r.size and r.name != own
        )
        best, pos = None, 0
        for lo, hi in [*busy, (arena, arena)]:
            start = align_up(pos, 8)
            if lo - start >= need and (best is None or lo - start < best[1]):
                best = (start, lo - start)
            pos = max(pos, hi)
        if best is None:
            continue
        name = own
        if name is None:
            name = f"wide:{i}"
            while name in index:
                name += "'"
            index[name] = len(requests)
            requests.append(BufferRequest(name, need, step, step, 8))
        requests[index[name]] = BufferRequest(name, need, step, step, 8)
        offsets[name] = best[0]
        names[i] = name
        wide.add(i)
    return tuple(requests), offsets, names, frozenset(wide)


def footprint(requests, offsets, steps: int) -> list[int]:
    """Bytes of the arena in use at each step: the union of the live buffers' byte
    ranges, so an in-place or overlapping pair counts once."""
    out = []
    for step in range(steps):
        spans = sorted((offsets[r.name], offsets[r.name] + r.size) for r in requests if r.first <= step <= r.last)
        used, end = 0, 0
        for lo, hi in spans:
            used += max(0, hi - max(lo, end))
            end = max(end, hi)
        out.append(used)
    return out
