"""The independent verifier accepts valid plans and names the buffers of broken ones."""

from __future__ import annotations

import pytest

from mcuforge.plan import BufferRequest, Overlap, Plan, PlanError, lower_bound, plan, verify
from mcuforge.plan.requests import max_shared

R = BufferRequest
REQS = [R("x", 64, 0, 1), R("y", 64, 1, 2), R("z", 32, 2, 3)]


def check(offsets: dict[str, int], arena: int, overlaps=(), requests=REQS) -> None:
    verify(requests, overlaps, Plan(offsets, arena, "hand"))


def test_valid_plans_pass():
    check({"x": 0, "y": 64, "z": 0}, 128)
    check({"x": 0, "y": 0, "z": 64}, 96, [Overlap("y", "x", 0, 0)])
    check({"x": 64, "y": 0, "z": 64}, 128, [Overlap("y", "x", 0, None)])
    verify(REQS, (), plan(REQS))


@pytest.mark.parametrize(
    "offsets, arena, overlaps, words",
    [
        ({"x": 0, "y": 32, "z": 0}, 128, (), ["'x'", "'y'", "share bytes"]),  # x and y live at step 1
        ({"x": 0, "y": 64, "z": 64}, 128, (), ["'y'", "'z'"]),  # y and z live at step 2
        ({"x": 8, "y": 0, "z": 64}, 128, [Overlap("y", "x", 0, 0)], ["'x'", "'y'"]),  # in place means same address
        ({"x": 0, "y": 8, "z": 80}, 128, [Overlap("y", "x", 0, None)], ["'x'", "'y'"]),  # output above input
        ({"x": 0, "y": 64, "z": 0}, 127, (), ["'y'", "past the arena"]),
        ({"x": 0, "y": 68, "z": 0}, 256, (), ["'y'", "alignment"]),
        ({"x": -8, "y": 64, "z": 0}, 256, (), ["'x'", "offset -8"]),
        ({"x": 0, "y": 64}, 256, (), ["without an offset", "'z'"]),
        ({"x": 0, "y": 64, "z": 0, "w": 0}, 256, (), ["unknown", "'w'"]),
    ],
)
def test_broken_plans_are_named(offsets, arena, overlaps, words):
    with pytest.raises(PlanError) as err:
        check(offsets, arena, overlaps)
    for w in words:
        assert w in str(err.value)


def test_allowance_in_either_direction_only_for_its_pair():
    # An allowance for (y, x) says nothing about (z, y).
    with pytest.raises(PlanError, match="'y'.*'z'"):
        check({"x": 64, "y": 0, "z": 0}, 128, [Overlap("y", "x", 0, None)])
    # Names are matched as out/inp: Overlap(x, y) wants y at or above x, Overlap(y, x) the reverse.
    with pytest.raises(PlanError):
        check({"x": 8, "y": 0, "z": 80}, 128, [Overlap("x", "y", 0, None)])
    check({"x": 8, "y": 0, "z": 80}, 128, [Overlap("y", "x", 0, None)])
    with pytest.raises(PlanError):
        check({"x": 0, "y": 8, "z": 80}, 128, [Overlap("y", "x", -7, None)])
    check({"x": 0, "y": 8, "z": 80}, 128, [Overlap("y", "x", -7, None), Overlap("y", "x", -8, None)])


def test_zero_size_buffers_share_nothing():
    check({"a": 0, "b": 0}, 0, (), [R("a", 0, 0, 1), R("b", 0, 0, 1)])


def test_max_shared_by_brute_force():
    for out_size in range(0, 7):
        for inp_size in range(0, 7):
            for lo in range(-8, 9):
                for hi in [None, *range(lo, 9)]:
                    top = hi if hi is not None else 16
                    brute = max(
                        max(0, min(out_size, d + inp_size) - max(0, d)) for d in range(lo, max(top, lo) + 1)
                    )
                    assert max_shared(out_size, inp_size, lo, hi) == brute, (out_size, inp_size, lo, hi)


def test_lower_bound_subtracts_what_allowances_permit():
    reqs = [R("x", 100, 0, 1), R("y", 60, 1, 2)]
    assert lower_bound(reqs) == 160
    assert lower_bound(reqs, [Overlap("y", "x", 0, 0)]) == 100
    assert lower_bound(reqs, [Overlap("y", "x", 50, None)]) == 150  # y sits >= 50 B below x
    assert lower_bound(reqs, [Overlap("y", "x", -30, None)]) == 100
