"""Greedy placement algorithms: each orders the requests one way and puts every request at
the lowest aligned offset that conflicts with nothing placed so far ("first fit").

All are pure functions (requests, overlaps) -> Plan; ties are broken by request index,
so the same requests always give the same plan. `Problem` holds what they share: which
requests are live together and, for pairs with an allowance, which offset differences
let them share bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mcuforge.plan.requests import BufferRequest, Overlap, Plan, align_up, check_names, live_bytes, lower_bound

Window = tuple[float, float]  # allowed offset(j) - offset(i), bounds inclusive (inf: none)


@dataclass(frozen=True)
class Problem:
    requests: tuple[BufferRequest, ...]
    conflicts: tuple[tuple[int, ...], ...]  # i -> requests of nonzero size live at a step i is live
    windows: dict[tuple[int, int], tuple[Window, ...]]  # (i, j) -> allowed offset(j) - offset(i)

    @staticmethod
    def of(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap]) -> Problem:
        requests, overlaps = tuple(requests), tuple(overlaps)
        index = check_names(requests, overlaps)
        by_first = sorted((r.first, i) for i, r in enumerate(requests) if r.size > 0)
        conflicts: list[list[int]] = [[] for _ in requests]
        for k, (_, i) in enumerate(by_first):  # sweep: j starts no later than i ends
            for _, j in by_first[k + 1 :]:
                if requests[j].first > requests[i].last:
                    break
                conflicts[i].append(j)
                conflicts[j].append(i)
        windows: dict[tuple[int, int], list[Window]] = {}
        for ov in overlaps:
            o, n = index[ov.out], index[ov.inp]
            hi = math.inf if ov.max_distance is None else ov.max_distance
            windows.setdefault((o, n), []).append((ov.min_distance, hi))
            windows.setdefault((n, o), []).append((-hi, -ov.min_distance))
        return Problem(
            requests,
            tuple(tuple(sorted(c)) for c in conflicts),
            {k: tuple(v) for k, v in windows.items()},
        )

    def first_fit(self, i: int, offsets: Sequence[int | None], start: int = 0) -> int:
        """The lowest offset >= start (aligned) where request i conflicts with no placed request.

        Each placed j that is live with i forbids offsets in (o_j - size_i, o_j + size_j),
        except those its allowance windows permit; sweep the forbidden ranges by start.
        """
        r = self.requests[i]
        if r.size == 0:
            return align_up(start, r.align)
        forbidden: list[tuple[float, float]] = []
        for j in self.conflicts[i]:
            oj = offsets[j]
            if oj is None:
                continue
            pieces = [(oj - r.size + 1, oj + self.requests[j].size - 1)]
            for lo, hi in self.windows.get((j, i), ()):
                cut = []
                for a, b in pieces:  # remove [oj + lo, oj + hi] from each piece
                    if oj + lo - 1 >= a:
                        cut.append((a, min(b, oj + lo - 1)))
                    if oj + hi + 1 <= b:
                        cut.append((max(a, oj + hi + 1), b))
                pieces = cut
            forbidden.extend(pieces)
        forbidden.sort()
        c = align_up(start, r.align)
        for a, b in forbidden:
            if b < c:
                continue
            if a > c:
                break
            c = align_up(int(b) + 1, r.align)
        return c

    def place(self, order: Iterable[int]) -> list[int]:
        """First fit of the requests in the given order."""
        offsets: list[int | None] = [None] * len(self.requests)
        for i in order:
            offsets[i] = self.first_fit(i, offsets)
        return [0 if o is None else o for o in offsets]

    def plan(self, offsets: Sequence[int], algorithm: str) -> Plan:
        arena = max((o + r.size for o, r in zip(offsets, self.requests)), default=0)
        return Plan({r.name: o for r, o in zip(self.requests, offsets)}, arena, algorithm)


def by_size(p: Problem, i: int) -> tuple[int, ...]:
    """Largest first (TF-Lite Micro's GreedyMemoryPlanner order), then earliest start."""
    return (-p.requests[i].size, p.requests[i].first)


def by_start(p: Problem, i: int) -> tuple[int, ...]:
    """Earliest start first; among those starting together the longest lived, then largest."""
    return (p.requests[i].first, -p.requests[i].last, -p.requests[i].size)


def by_conflict(p: Problem, i: int) -> tuple[int, ...]:
    """Largest "conflict degree" first: own size plus the sizes of everything live with it."""
    return (-p.requests[i].size - sum(p.requests[j].size for j in p.conflicts[i]), -p.requests[i].size)


def _sorted(p: Problem, key: Callable[[Problem, int], tuple[int, ...]]) -> list[int]:
    return sorted(range(len(p.requests)), key=lambda i: (*key(p, i), i))  # ties: request index


def _greedy(name: str, key: Callable[[Problem, int], tuple[int, ...]]) -> Callable[..., Plan]:
    def algorithm(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = ()) -> Plan:
        p = Problem.of(requests, overlaps)
        return p.plan(p.place(_sorted(p, key)), name)

    algorithm.__name__ = name.replace("-", "_")
    algorithm.__doc__ = f"First fit, {key.__doc__[0].lower()}{key.__doc__[1:]}"
    return algorithm


greedy_by_size = _greedy("greedy-by-size", by_size)
greedy_by_start = _greedy("greedy-by-start", by_start)
greedy_by_conflict = _greedy("greedy-by-conflict", by_conflict)


def greedy_by_breadth(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = ()) -> Plan:
    """Steps by live bytes, heaviest first; at each, its unplaced requests largest first.

    Pisarchyk and Lee's "greedy by breadth" (Efficient Memory Management for Deep Neural
    Net Inference, 2020): the most crowded step is packed before anything fragments it.
    """
    p = Problem.of(requests, overlaps)
    live = live_bytes(p.requests)
    at_step: list[list[int]] = [[] for _ in live]
    for i, r in enumerate(p.requests):
        for s in range(r.first, r.last + 1):
            at_step[s].append(i)
    order: list[int] = []
    seen: set[int] = set()
    for s in sorted(range(len(live)), key=lambda s: (-live[s], s)):
        for i in sorted(at_step[s], key=lambda i: (-p.requests[i].size, i)):
            if i not in seen:
                seen.add(i)
                order.append(i)
    return p.plan(p.place(order), "greedy-by-breadth")


PROMOTE_ROUNDS = 64  # most re-placements per starting order


def promote_top(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = ()) -> Plan:
    """Local search over first-fit orders: move the request that sets the arena's top
    (the earliest placed of those ending there) to the front of the order and place
    again; keep the best plan seen. Starts from the size and the start orders; stops at
    PROMOTE_ROUNDS rounds, a repeated order, or a plan at the lower bound.

    First fit in some order reaches an optimal plan (see exact.py); the request at the
    top was pushed there by those placed before it, so it is the one to place earlier.
    """
    p = Problem.of(requests, overlaps)
    floor = lower_bound(p.requests, overlaps)
    best: tuple[int, list[int]] | None = None
    for key in (by_size, by_start):
        order = _sorted(p, key)
        seen: set[tuple[int, ...]] = set()
        for _ in range(PROMOTE_ROUNDS):
            offsets = p.place(order)
            ends = [o + r.size for o, r in zip(offsets, p.requests)]
            arena = max(ends, default=0)
            if best is None or arena < best[0]:
                best = (arena, offsets)
            seen.add(tuple(order))
            top = min((order.index(i) for i, e in enumerate(ends) if e == arena), default=0)
            if arena <= floor or top == 0:
                break
            order = [order[top]] + order[:top] + order[top + 1 :]
            if tuple(order) in seen:
                break
    return p.plan(best[1] if best else [], "promote-top")


GREEDY: tuple[Callable[..., Plan], ...] = (greedy_by_size, greedy_by_start, greedy_by_breadth, greedy_by_conflict)
