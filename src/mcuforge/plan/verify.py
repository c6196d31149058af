"""An independent plan checker: shares no code with the algorithms it checks.

Deliberately naive (every pair of requests, O(n^2)): a plan is valid when every request
has an aligned, non-negative offset, the arena holds every buffer, and any two requests
live at a common step either share no byte or share bytes as an allowance permits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mcuforge.plan.requests import BufferRequest, Overlap, Plan, PlanError


def verify(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap], plan: Plan) -> None:
    """Raise PlanError naming the first offending buffer or pair; return None when valid."""
    overlaps = tuple(overlaps)
    names = [r.name for r in requests]
    if len(set(names)) != len(names):
        raise PlanError("two buffer requests share a name")
    missing = [n for n in names if n not in plan.offsets]
    extra = sorted(set(plan.offsets) - set(names))
    if missing or extra:
        raise PlanError(f"plan {plan.algorithm}: buffers without an offset {missing}, unknown buffers {extra}")
    for r in requests:
        o = plan.offsets[r.name]
        if o < 0 or o % r.align:
            raise PlanError(f"plan {plan.algorithm}: buffer {r.name!r} at offset {o} (alignment {r.align})")
        if o + r.size > plan.arena_bytes:
            raise PlanError(
                f"plan {plan.algorithm}: buffer {r.name!r} ends at {o + r.size}, past the arena of {plan.arena_bytes} B"
            )
    by_pair: dict[tuple[str, str], list[Overlap]] = {}  # each allowance under both orders of its pair
    for ov in overlaps:
        by_pair.setdefault((ov.out, ov.inp), []).append(ov)
        by_pair.setdefault((ov.inp, ov.out), []).append(ov)
    for i, a in enumerate(requests):
        for b in requests[i + 1 :]:
            if a.last < b.first or b.last < a.first or a.size == 0 or b.size == 0:
                continue  # never live together, or nothing to share
            oa, ob = plan.offsets[a.name], plan.offsets[b.name]
            if oa + a.size <= ob or ob + b.size <= oa:
                continue  # disjoint bytes
            if not any(_allowed(ov, a.name, oa, b.name, ob) for ov in by_pair.get((a.name, b.name), ())):
                raise PlanError(
                    f"plan {plan.algorithm}: buffers {a.name!r} [{oa}, {oa + a.size}) and {b.name!r} "
                    f"[{ob}, {ob + b.size}) share bytes while both live (steps {max(a.first, b.first)}.."
                    f"{min(a.last, b.last)}) and no allowance permits it"
                )


def _allowed(ov: Overlap, a: str, oa: int, b: str, ob: int) -> bool:
    if (ov.out, ov.inp) == (a, b):
        return ov.allows(ob - oa)
    if (ov.out, ov.inp) == (b, a):
        return ov.allows(oa - ob)
    return False
