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
from mcuforge.plan.requests import Plan, lower_bound


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


def plan_graph(g: Graph, scratch: Mapping[int, int], wide_scratch: Mapping[int, int] | None = None) -> MemoryPlan:
    """Choose the execution order, then the smallest verified placement for it.

    `wide_scratch` (node index -> scratch of the node's wide variant, larger than its
    entry in `scratch`): nodes get their wide variant where the plan with the larger
    scratch keeps the arena of the plan without (all at once if that holds, else node by
    node in execution order). The arena is therefore the same with or without
    `wide_scratch`, so figures planned without it (TinyNAS's) stay exact."""
    sizes = {i: s for i, s in scratch.items() if s}
    order, bufs, chosen = _place(g, sizes, frozenset())
    wide: set[int] = set()
    candidates = [i for i in order if wide_scratch and wide_scratch.get(i, 0) > sizes.get(i, 0)]
    if candidates:
        assert wide_scratch is not None
        tries = [candidates] + ([[i] for i in candidates] if len(candidates) > 1 else [])
        for nodes in tries:
            trial = {**sizes, **{i: wide_scratch[i] for i in (*wide, *nodes)}}
            placed = _place(g, trial, frozenset((*wide, *nodes)))
            if placed[2].arena_bytes == chosen.arena_bytes:
                order, bufs, chosen = placed
                wide.update(nodes)
                if len(wide) == len(candidates):
                    break
        sizes.update((i, wide_scratch[i]) for i in wide)
    return MemoryPlan(
        order=list(order),
        tensor_offsets={t: chosen.offsets[b] for t, b in bufs.buffer_of.items()},
        scratch_offsets={i: chosen.offsets[name] for i, name in bufs.scratch_of.items()},
        scratch_sizes=sizes,
        arena_bytes=chosen.arena_bytes,
        algorithm=chosen.algorithm,
        lower_bound=lower_bound(bufs.requests, bufs.overlaps),
        live_bytes=footprint(bufs.requests, chosen.offsets, len(order)),
        wide=frozenset(wide),
    )


def _place(g: Graph, sizes: Mapping[int, int], wide: frozenset[int]) -> tuple[list[int], Buffers, Plan]:
    """The execution order, the buffer requests and the smallest verified plan for
    these scratch sizes, with the nodes in `wide` running their wide variants (which
    promise no output order: lifetimes.buffer_requests `unordered`)."""

    def scratch_of(i: int) -> int:
        return sizes.get(i, 0)

    order = list(best_order(g, scratch_of))
    bufs = buffer_requests(g, order, scratch_of, unordered=wide)
    return order, bufs, plan(bufs.requests, bufs.overlaps)


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
