"""The engine's memory plan for a graph: execution order, tensor and scratch offsets.

This is the one entry point the code generator (and TinyNAS's profiler) use, so every
memory figure comes from the same planner.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcuforge.ir.graph import Graph
from mcuforge.plan.lifetimes import buffer_requests
from mcuforge.plan.order import best_order
from mcuforge.plan.planner import plan
from mcuforge.plan.requests import lower_bound


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

    @property
    def scratch_bytes(self) -> int:
        """The largest single scratch buffer (each is planned inside the arena)."""
        return max(self.scratch_sizes.values(), default=0)


def plan_graph(g: Graph, scratch: dict[int, int]) -> MemoryPlan:
    """Choose the execution order, then the smallest verified placement for it."""

    def scratch_of(i: int) -> int:
        return scratch.get(i, 0)

    order = best_order(g, scratch_of)
    bufs = buffer_requests(g, order, scratch_of)
    chosen = plan(bufs.requests, bufs.overlaps)
    return MemoryPlan(
        order=list(order),
        tensor_offsets={t: chosen.offsets[b] for t, b in bufs.buffer_of.items()},
        scratch_offsets={i: chosen.offsets[name] for i, name in bufs.scratch_of.items()},
        scratch_sizes={i: s for i, s in scratch.items() if s},
        arena_bytes=chosen.arena_bytes,
        algorithm=chosen.algorithm,
        lower_bound=lower_bound(bufs.requests, bufs.overlaps),
        live_bytes=footprint(bufs.requests, chosen.offsets, len(order)),
    )


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
