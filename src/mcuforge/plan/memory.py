"""The engine's memory plan for a graph: execution order, tensor and scratch offsets.

This is the one entry point the code generator (and TinyNAS's profiler) use, so every
memory figure comes from the same planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mcuforge.ir.graph import Graph
from mcuforge.plan import lifetimes
from mcuforge.plan.lifetimes import Buffers, buffer_requests
from mcuforge.plan.order import best_order
from mcuforge.plan.planner import plan
from mcuforge.plan.requests import Plan, align_up, lower_bound
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


def plan_graph(g: Graph, scratch: Mapping[int, int], wide_scratch: Mapping[int, int] | None = None) -> MemoryPlan:
    """Choose the execution order, then the smallest verified placement for it.

    `wide_scratch` (node index -> scratch of the node's wide variant, larger than its
    entry in `scratch`): a node gets its wide variant where that keeps the arena of the
    plan without any. First on that plan, where the larger scratch fits in bytes free at
    the node's step; then, for the rest whose lower bound allows it, by placing again in
    the same order (all of them at once, else the first MAX_WIDE_TRIALS one by one).
    The arena is therefore the same with or without `wide_scratch`, so figures planned
    without it (TinyNAS's) stay exact.

    Gathers (CONCATENATION / PACK inputs written inside the output, lifetimes.gathered)
    keep the output live from its first input's producer, which can cost more than the
    copy saves: where g has any, _choose_gathers decides which to make."""
    sizes = {i: s for i, s in scratch.items() if s}
    order, bufs, chosen = _place(g, sizes, frozenset())
    gather: bool | frozenset[int] = True
    legal = lifetimes.gathered(g)[1]
    if legal:
        order, bufs, chosen, gather = _choose_gathers(g, sizes, legal, (order, bufs, chosen))
    wide: frozenset[int] = frozenset()
    if wide_scratch:
        arena = chosen.arena_bytes
        candidates = [i for i in order if wide_scratch.get(i, 0) > sizes.get(i, 0)]
        offsets = _fit_in_gaps(g, bufs, chosen, candidates, wide_scratch)
        if offsets:
            wide = frozenset(offsets)
            sizes_w = {**sizes, **{i: wide_scratch[i] for i in wide}}
            bufs = buffer_requests(g, order, lambda i: sizes_w.get(i, 0), unordered=wide, gather=gather)
            placed = {**dict(chosen.offsets), **{bufs.scratch_of[i]: o for i, o in offsets.items()}}
            chosen = Plan(placed, arena, chosen.algorithm)
            verify(bufs.requests, bufs.overlaps, chosen)
        rest = [
            i
            for i in candidates
            if i not in wide and _may_fit(g, order, sizes, wide_scratch, wide | {i}, arena, gather)
        ]
        tries = [rest] + [[i] for i in rest[:MAX_WIDE_TRIALS]] if len(rest) > 1 else [rest]
        for nodes in (t for t in tries if t):
            trial = wide | frozenset(nodes)
            trial_sizes = {**sizes, **{i: wide_scratch[i] for i in trial}}
            trial_bufs = buffer_requests(
                g, order, lambda i, t=trial_sizes: t.get(i, 0), unordered=trial, gather=gather
            )
            placed_trial = plan(trial_bufs.requests, trial_bufs.overlaps)  # in the same order
            if placed_trial.arena_bytes == arena:
                bufs, chosen = trial_bufs, placed_trial
                wide = trial
                if len(nodes) == len(rest):
                    break
        sizes.update((i, wide_scratch[i]) for i in wide)
    return MemoryPlan(
        order=list(order),
        tensor_offsets={t: chosen.offsets[b] + bufs.within.get(t, 0) for t, b in bufs.buffer_of.items()},
        scratch_offsets={i: chosen.offsets[name] for i, name in bufs.scratch_of.items()},
        scratch_sizes=sizes,
        arena_bytes=chosen.arena_bytes,
        algorithm=chosen.algorithm,
        lower_bound=lower_bound(bufs.requests, bufs.overlaps),
        live_bytes=footprint(bufs.requests, chosen.offsets, len(order)),
        wide=wide,
    )


# Placing again costs a full placement each (seconds for graphs with hundreds of live
# buffers): after the all-at-once try, at most this many nodes are tried one by one.
MAX_WIDE_TRIALS = 4


def _fit_in_gaps(
    g: Graph, bufs: Buffers, chosen: Plan, candidates: list[int], wide_scratch: Mapping[int, int]
) -> dict[int, int]:
    """Node -> offset for the candidates whose wide scratch fits, at their step, in the
    smallest free gap of the placed arena (a scratch is live at its node's step only, so
    nodes never compete). A node not flagged in place whose output shares bytes with its
    input (the narrow kernel's sliding-window allowance) is left out unless its input is
    one channel of one image, which the wide kernel copies whole first
    (lifetimes.buffer_requests)."""
    step_of = {i: s for s, i in enumerate(bufs.order)}
    sizes = {r.name: r.size for r in bufs.requests}
    found: dict[int, int] = {}
    for i in candidates:
        step, node, need = step_of[i], g.nodes[i], wide_scratch[i]
        own = bufs.scratch_of.get(i)
        x, y = bufs.buffer_of.get(node.inputs[0]), bufs.buffer_of.get(node.outputs[0])
        if x is not None and y is not None and x != y and not getattr(node, "inplace", False):
            ox, oy = chosen.offsets[x], chosen.offsets[y]
            shares = ox < oy + sizes[y] and oy < ox + sizes[x]
            one_channel = g.tensors[node.inputs[0]].shape[-1] == 1 and g.tensors[node.inputs[0]].shape[0] == 1
            if shares and not one_channel:
                continue
        busy = sorted(
            (chosen.offsets[r.name], chosen.offsets[r.name] + r.size)
            for r in bufs.requests
            if r.first <= step <= r.last and r.size and r.name != own
        )
        best, pos = None, 0
        for lo, hi in [*busy, (chosen.arena_bytes, chosen.arena_bytes)]:
            start = align_up(pos, 8)
            if lo - start >= need and (best is None or lo - start < best[1]):
                best = (start, lo - start)
            pos = max(pos, hi)
        if best is not None:
            found[i] = best[0]
    return found


def _may_fit(
    g: Graph,
    order: list[int],
    sizes: Mapping[int, int],
    wide_scratch: Mapping[int, int],
    wide: frozenset[int],
    arena: int,
    gather: bool | frozenset[int] = True,
) -> bool:
    """Whether the lower bound of the requests with these wide variants allows `arena`."""
    trial = {**sizes, **{i: wide_scratch[i] for i in wide}}
    bufs = buffer_requests(g, order, lambda i: trial.get(i, 0), unordered=wide, gather=gather)
    return lower_bound(bufs.requests, bufs.overlaps) <= arena


# Gathers toggled one at a time after the all-or-none choice (each costs an order search
# and a placement, as _place).
MAX_GATHER_TRIALS = 8


def _choose_gathers(
    g: Graph, sizes: Mapping[int, int], legal: frozenset[int], placed: tuple[list[int], Buffers, Plan]
) -> tuple[list[int], Buffers, Plan, frozenset[int]]:
    """Which gathers to make: all of them (`placed`) or none, whichever plans smaller
    (ties: all); then each of the first MAX_GATHER_TRIALS gathers (node order) toggled
    alone, order chosen again: dropped where that plans strictly smaller, added where it
    plans no larger. A fixed sequence of placements, so the choice is deterministic, and
    never larger than the copies' plan."""
    best, gather = placed, legal
    copies = _place(g, sizes, frozenset(), gather=frozenset())
    if copies[2].arena_bytes < best[2].arena_bytes:
        best, gather = copies, frozenset()
    if len(legal) > 1:
        for i in sorted(legal)[:MAX_GATHER_TRIALS]:
            trial = gather - {i} if i in gather else gather | {i}
            got = _place(g, sizes, frozenset(), gather=trial)
            a, b = got[2].arena_bytes, best[2].arena_bytes
            if a < b or (a == b and len(trial) > len(gather)):
                best, gather = got, trial
    return (*best, gather)


def _place(
    g: Graph, sizes: Mapping[int, int], wide: frozenset[int], gather: bool | frozenset[int] = True
) -> tuple[list[int], Buffers, Plan]:
    """The execution order, the buffer requests and the smallest verified plan for
    these scratch sizes, with the nodes in `wide` running their wide variants (which
    promise no output order: lifetimes.buffer_requests `unordered`); `gather`: which
    CONCATENATION / PACK gathers to make (lifetimes.buffer_requests)."""

    def scratch_of(i: int) -> int:
        return sizes.get(i, 0)

    order = list(best_order(g, scratch_of, gather))
    bufs = buffer_requests(g, order, scratch_of, unordered=wide, gather=gather)
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
