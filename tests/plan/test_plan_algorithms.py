"""Placement algorithms on hand-computed cases (exact offsets), allowances, and random request sets."""

from __future__ import annotations

from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.plan import (
    ALGORITHMS,
    BufferRequest,
    Overlap,
    Plan,
    exact,
    exact_search,
    greedy_by_breadth,
    greedy_by_conflict,
    greedy_by_size,
    greedy_by_start,
    lower_bound,
    plan,
    plan_all,
    promote_top,
    verify,
)
from mcuforge.plan.algorithms import Problem

R = BufferRequest
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

# A live at steps 0-1, B at 1-2, C at 2-3: A-B and B-C are live together, A-C never.
ABC = [R("A", 32, 0, 1), R("B", 16, 1, 2), R("C", 48, 2, 3)]


def offsets(p: Plan) -> dict[str, int]:
    return dict(p.offsets)


def test_greedy_by_size_exact_offsets():
    # C (48) at 0; A (32) conflicts with nothing placed: 0; B must avoid A [0,32) and C [0,48).
    p = greedy_by_size(ABC)
    assert offsets(p) == {"A": 0, "B": 48, "C": 0} and p.arena_bytes == 64 and p.algorithm == "greedy-by-size"


def test_greedy_by_start_exact_offsets():
    # A at 0, B above A at 32, C must avoid B [32,48): the first aligned gap is 48.
    p = greedy_by_start(ABC)
    assert offsets(p) == {"A": 0, "B": 32, "C": 48} and p.arena_bytes == 96


def test_greedy_by_breadth_exact_offsets():
    # Live bytes per step 32, 48, 64, 48: step 2 first (C at 0, B at 48), then step 1 (A at 0).
    p = greedy_by_breadth(ABC)
    assert offsets(p) == {"A": 0, "B": 48, "C": 0} and p.arena_bytes == 64


def test_greedy_by_conflict_exact_offsets():
    # Degrees: B 16+32+48 = 96, C 48+16 = 64, A 32+16 = 48: B at 0, C at 16, A above B at 16.
    p = greedy_by_conflict(ABC)
    assert offsets(p) == {"A": 16, "B": 0, "C": 16} and p.arena_bytes == 64


def test_plan_keeps_smallest_with_ties_to_first_algorithm():
    assert lower_bound(ABC) == 64
    p = plan(ABC)
    assert p.arena_bytes == 64 and p.algorithm == "greedy-by-size"
    assert [q.algorithm for q in plan_all(ABC)] == [a(ABC).algorithm for a in ALGORITHMS]


def test_alignment():
    reqs = [R("a", 5, 0, 1), R("b", 3, 0, 1, align=8), R("c", 3, 0, 1, align=1)]
    p = greedy_by_size(reqs)  # a at 0; b and c (size 3, index order): b at 8, c at 5
    assert offsets(p) == {"a": 0, "b": 8, "c": 5} and p.arena_bytes == 11


def test_zero_size_and_disjoint_lifetimes():
    reqs = [R("a", 64, 0, 0), R("b", 64, 1, 1), R("z", 0, 0, 1)]
    for algorithm in ALGORITHMS:
        assert algorithm(reqs).arena_bytes == 64
    assert plan([]).arena_bytes == 0


def test_pointwise_expansion_8_to_48_at_40x40():
    # 1600 pixels: input 12,800 B, output 76,800 B; the output may sit 1600 * (48 - 8) = 64,000 B
    # below the input, so the input ends exactly where the output ends.
    reqs = [R("in", 12_800, 0, 1), R("out", 76_800, 1, 2)]
    allow = [Overlap("out", "in", 1600 * 40, None)]
    assert lower_bound(reqs) == 89_600 and lower_bound(reqs, allow) == 76_800
    assert plan(reqs).arena_bytes == 89_600
    p = plan(reqs, allow)
    assert offsets(p) == {"out": 0, "in": 64_000} and p.arena_bytes == 76_800
    verify(reqs, allow, p)


def test_inplace_same_address():
    reqs = [R("x", 256, 0, 1), R("y", 256, 1, 2), R("scratch", 100, 1, 1)]
    allow = [Overlap("y", "x", 0, 0)]
    p = greedy_by_size(reqs, allow)  # x at 0; y may only share x's bytes at x's own address
    assert offsets(p) == {"x": 0, "y": 0, "scratch": 256} and p.arena_bytes == 356
    assert lower_bound(reqs, allow) == 356 and plan(reqs, allow).arena_bytes == 356
    assert plan(reqs).arena_bytes == 612


def test_elementwise_allowance_lets_output_sit_below_both_inputs():
    reqs = [R("a", 64, 0, 2), R("b", 64, 1, 2), R("y", 64, 2, 3)]
    allow = [Overlap("y", "a", 0, None), Overlap("y", "b", 0, None)]
    p = plan(reqs, allow)
    assert p.arena_bytes == 128 and p.offsets["y"] <= min(p.offsets["a"], p.offsets["b"])


def test_allowance_never_lets_output_above_input():
    # Overlap(y, x, 16, None): y must start >= 16 bytes below x or not touch it.
    reqs = [R("x", 32, 0, 1), R("y", 32, 1, 1)]
    p = greedy_by_start(reqs, [Overlap("y", "x", 16, None)])  # x at 0: y cannot go below, so above
    assert offsets(p) == {"x": 0, "y": 32}
    p = greedy_by_start([R("y", 32, 0, 1), R("x", 32, 0, 1)], [Overlap("y", "x", 16, None)])
    assert offsets(p) == {"y": 0, "x": 16} and p.arena_bytes == 48


def test_exact_beats_greedy_on_a_known_case():
    # Every greedy order and the local search leave a hole (136 B at best); the optimum packs
    # steps 1 and 4 exactly: b [0,48) f [48,80) a [80,120), then e [0,24) d [24,72) under a.
    reqs = [R("a", 40, 1, 4), R("b", 48, 0, 1), R("c", 24, 2, 2), R("d", 48, 4, 7), R("e", 24, 3, 4), R("f", 32, 1, 3)]
    assert [a(reqs).arena_bytes for a in ALGORITHMS] == [144, 136, 144, 144] and promote_top(reqs).arena_bytes == 136
    best, done = exact_search(reqs)
    assert done and best.arena_bytes == lower_bound(reqs) == 120
    assert offsets(best) == {"a": 80, "b": 0, "c": 0, "d": 24, "e": 0, "f": 48}
    assert plan(reqs) == best
    verify(reqs, (), best)


def test_exact_search_is_bounded():
    reqs = [R(f"r{i}", 8 * (1 + (i * 7) % 5), i % 6, i % 6 + 3) for i in range(40)]
    best, done = exact_search(reqs, budget=50)
    verify(reqs, (), best)
    assert best.arena_bytes >= lower_bound(reqs)


def test_determinism():
    reqs = [R(f"r{i}", 8 * (1 + (i * 5) % 7), i % 4, i % 4 + 2) for i in range(12)]
    for algorithm in (*ALGORITHMS, promote_top, exact):
        assert algorithm(reqs) == algorithm(list(reqs))
    assert plan(reqs) == plan(reqs)


def test_plan_is_frozen():
    p = plan(ABC)
    with pytest.raises(TypeError):
        p.offsets["A"] = 8  # type: ignore[index]
    with pytest.raises(AttributeError):
        p.arena_bytes = 0  # type: ignore[misc]


def test_bad_input():
    with pytest.raises(ValueError):
        R("a", 8, 2, 1)
    with pytest.raises(ValueError):
        Overlap("a", "b", 8, 0)
    with pytest.raises(ValueError):
        plan([R("a", 8, 0, 0), R("a", 8, 0, 0)])
    with pytest.raises(ValueError):
        plan([R("a", 8, 0, 0)], [Overlap("a", "nope", 0, None)])


@st.composite
def problems(draw, max_n: int = 9, bounded: bool = True):
    n = draw(st.integers(0, max_n))
    reqs = []
    for i in range(n):
        first = draw(st.integers(0, 6))
        size, span, align = draw(st.integers(0, 96)), draw(st.integers(0, 4)), draw(st.sampled_from([1, 4, 8]))
        reqs.append(R(f"r{i}", size, first, first + span, align))
    overlaps = []
    for _ in range(draw(st.integers(0, n // 2))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            lo = draw(st.integers(-16, 64))
            hi = draw(st.one_of(st.none(), st.integers(lo, lo + 32))) if bounded else None
            overlaps.append(Overlap(f"r{a}", f"r{b}", lo, hi))
    return reqs, overlaps


@SETTINGS
@given(problems())
def test_every_plan_is_valid_and_above_the_lower_bound(problem):
    reqs, overlaps = problem
    floor = lower_bound(reqs, overlaps)
    for p in (*plan_all(reqs, overlaps), promote_top(reqs, overlaps), exact(reqs, overlaps)):
        verify(reqs, overlaps, p)
        assert p.arena_bytes >= floor
    if not overlaps:
        assert lower_bound(reqs) == floor


@SETTINGS
@given(problems(max_n=6, bounded=False))
def test_exact_matches_first_fit_over_all_orders(problem):
    """Without bounded allowances the best first fit over all orders is optimal (exact.py),
    and the search, which tries only canonical orders, must find the same arena."""
    reqs, overlaps = problem
    p = Problem.of(reqs, overlaps)
    orders = permutations(range(len(reqs)))
    brute = min((max((o + r.size for o, r in zip(p.place(order), reqs)), default=0) for order in orders), default=0)
    best, done = exact_search(reqs, overlaps, budget=10**6)
    assert done and best.arena_bytes == brute
    assert plan(reqs, overlaps).arena_bytes >= brute
