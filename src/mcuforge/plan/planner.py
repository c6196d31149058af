"""Run every placement algorithm, verify each plan, keep the smallest.

Ties go to the earlier algorithm in ALGORITHMS, so the choice is deterministic. A plan
that fails the verifier is a bug in its algorithm: it is reported, never used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from mcuforge.plan.algorithms import (
    greedy_by_breadth,
    greedy_by_conflict,
    greedy_by_size,
    greedy_by_start,
    promote_top,
)
from mcuforge.plan.exact import EXACT_MAX_REQUESTS, exact
from mcuforge.plan.requests import BufferRequest, Overlap, Plan, lower_bound
from mcuforge.plan.verify import verify

ALGORITHMS: tuple[Callable[..., Plan], ...] = (greedy_by_size, greedy_by_start, greedy_by_breadth, greedy_by_conflict)


def plan_all(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = (), quick: bool = False) -> list[Plan]:
    """Every greedy algorithm's plan (ALGORITHMS order); then, unless quick or one reaches
    the lower bound, the promote-top local search's, and the exact search's when there
    are at most EXACT_MAX_REQUESTS requests. Each plan is verified (PlanError if invalid)."""
    overlaps = tuple(overlaps)
    floor = lower_bound(requests, overlaps)
    plans = [algorithm(requests, overlaps) for algorithm in ALGORITHMS]
    if not quick and min(q.arena_bytes for q in plans) > floor:
        plans.append(promote_top(requests, overlaps))
    if not quick and len(requests) <= EXACT_MAX_REQUESTS and min(q.arena_bytes for q in plans) > floor:
        plans.append(exact(requests, overlaps))
    for q in plans:
        verify(requests, overlaps, q)
    return plans


def plan(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = (), quick: bool = False) -> Plan:
    """The smallest verified plan (ties: the earlier algorithm)."""
    return min(plan_all(requests, overlaps, quick), key=lambda q: q.arena_bytes)
