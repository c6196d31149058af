"""Run every placement algorithm, verify each plan, keep the smallest (`plan` stops at
the first plan that reaches the lower bound: nothing can beat it).

Ties go to the earlier algorithm in ALGORITHMS, so the choice is deterministic. A plan
that fails the verifier is a bug in its algorithm: it is reported, never used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

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


def _plans(requests: Sequence[BufferRequest], overlaps: tuple[Overlap, ...], quick: bool, floor: int) -> Iterator[Plan]:
    """Verified plans in plan_all's order, each computed only when asked for."""
    best = None
    for algorithm in ALGORITHMS:
        q = algorithm(requests, overlaps)
        verify(requests, overlaps, q)
        best = q.arena_bytes if best is None else min(best, q.arena_bytes)
        yield q
    for search, allowed in ((promote_top, True), (exact, len(requests) <= EXACT_MAX_REQUESTS)):
        if quick or not allowed or best is None or best <= floor:
            return
        q = search(requests, overlaps)
        verify(requests, overlaps, q)
        best = min(best, q.arena_bytes)
        yield q


def plan_all(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = (), quick: bool = False) -> list[Plan]:
    """Every greedy algorithm's plan (ALGORITHMS order); then, unless quick or one reaches
    the lower bound, the promote-top local search's, and the exact search's when there
    are at most EXACT_MAX_REQUESTS requests. Each plan is verified (PlanError if invalid)."""
    overlaps = tuple(overlaps)
    return list(_plans(requests, overlaps, quick, lower_bound(requests, overlaps)))


def plan(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = (), quick: bool = False) -> Plan:
    """The smallest verified plan (ties: the earlier algorithm).

    Plans are made in plan_all's order and the first that reaches the lower bound is
    returned at once: no plan is smaller and a later one could only tie, which the
    earlier wins. The result is plan_all's minimum; chains and most real models reach
    the bound with the first algorithm, so the others never run.
    """
    overlaps = tuple(overlaps)
    floor = lower_bound(requests, overlaps)
    best = None
    for q in _plans(requests, overlaps, quick, floor):
        if best is None or q.arena_bytes < best.arena_bytes:
            best = q
        if best.arena_bytes <= floor:
            break
    assert best is not None  # ALGORITHMS is not empty
    return best
