"""Exact placement by branch and bound over placement orders, with a node budget.

Why orders suffice: take any valid plan R and place its requests by first fit in
increasing (offset, rank) order. Every request lands at or below its offset in R (what
was placed before it lies below it in R and has only moved down, and an allowance with
no upper bound stays satisfied when the partner below moves further down). Repeating
this reaches a plan no larger than R that first fit reproduces in increasing
(offset, rank) order. So the search only extends a partial order with a request whose
first-fit offset keeps that key increasing, and it still finds an optimal plan.
Allowances with an upper bound (in place: distance 0) break the argument when the
partner moves; for those the search also tries the lowest free offset inside the
window next to the placed partner (best effort: exact only without bounded windows).

The search keeps the best greedy plan as the bound to beat, prunes a branch when a lower
bound (every unplaced request's lowest free offset plus its size, and the live-bytes
bound) cannot beat it, and stops after `budget` nodes: time is bounded, never
exponential, and the result is the best plan found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from mcuforge.plan.algorithms import Problem, greedy_by_size, greedy_by_start
from mcuforge.plan.requests import BufferRequest, Overlap, Plan, lower_bound

NODE_BUDGET = 4000  # search nodes; each costs O(requests x conflicts) first-fit sweeps
EXACT_MAX_REQUESTS = 12  # plan() runs the exact search only on problems this small


def exact(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = (), budget: int = NODE_BUDGET) -> Plan:
    return exact_search(requests, overlaps, budget)[0]


def exact_search(
    requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = (), budget: int = NODE_BUDGET
) -> tuple[Plan, bool]:
    """The best plan found and whether the search finished (then it is optimal, barring
    allowances with an upper bound)."""
    overlaps = tuple(overlaps)
    p = Problem.of(requests, overlaps)
    floor = lower_bound(p.requests, overlaps)
    greedy = (greedy_by_size(p.requests, overlaps), greedy_by_start(p.requests, overlaps))
    start = min(greedy, key=lambda q: q.arena_bytes)
    best = [start.offsets[r.name] for r in p.requests]
    rank = _ranks(p, overlaps)
    todo = [i for i, r in enumerate(p.requests) if r.size > 0]  # empty buffers stay at 0
    state = {"best": start.arena_bytes, "nodes": 0}
    offsets: list[int | None] = [None if r.size > 0 else 0 for r in p.requests]

    def candidates(i: int) -> list[int]:
        """First fit, plus the lowest free offset inside each bounded window of a placed partner."""
        out = [p.first_fit(i, offsets)]
        for j in p.conflicts[i]:
            oj = offsets[j]
            if oj is None:
                continue
            for lo, hi in p.windows.get((j, i), ()):
                if not math.isinf(lo) and not math.isinf(hi) and oj + hi >= 0:
                    o = p.first_fit(i, offsets, max(0, int(oj + lo)))
                    if o <= oj + hi and o not in out:
                        out.append(o)
        return out

    def search(placed: int, last: tuple[int, int], end: int) -> None:
        if placed == len(todo):
            state["best"], best[:] = end, [int(o) for o in offsets if o is not None]
            return
        state["nodes"] += 1
        if state["nodes"] > budget:
            return
        bound, children = max(end, floor), []
        for i in todo:
            if offsets[i] is not None:
                continue
            cands = candidates(i)
            bound = max(bound, max(cands[0], last[0]) + p.requests[i].size)
            children.extend((max(end, o + p.requests[i].size), (o, rank[i]), i) for o in cands if (o, rank[i]) > last)
        if bound >= state["best"]:
            return
        for new_end, key, i in sorted(children):
            if new_end >= state["best"] or state["nodes"] > budget:
                break
            offsets[i] = key[0]
            search(placed + 1, key, new_end)
            offsets[i] = None

    if start.arena_bytes > floor:
        search(0, (-1, -1), 0)
    done = state["nodes"] <= budget
    return p.plan(best, "exact"), done


def _ranks(p: Problem, overlaps: tuple[Overlap, ...]) -> list[int]:
    """A tie-break that puts an allowance's `out` before its `inp` at equal offsets.

    Depth-first topological order of the out -> inp edges (index order otherwise), so the
    canonical order of a plan where an output sits exactly on its input is reachable.
    """
    index = {r.name: i for i, r in enumerate(p.requests)}
    succ: dict[int, list[int]] = {}
    for ov in overlaps:
        succ.setdefault(index[ov.out], []).append(index[ov.inp])
    post: list[int] = []
    seen: set[int] = set()
    for root in range(len(p.requests)):
        stack = [(root, iter(sorted(succ.get(root, ()))))] if root not in seen else []
        seen.add(root)
        while stack:
            node, it = stack[-1]
            nxt = next((j for j in it if j not in seen), None)
            if nxt is None:
                post.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(succ.get(nxt, ())))))
    rank = [0] * len(p.requests)
    for r, i in enumerate(reversed(post)):
        rank[i] = r
    return rank
