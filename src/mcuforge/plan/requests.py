"""What the planner sees: buffer requests, overlap allowances, and the plan it returns.

Steps are positions in the execution order. A request is live from `first` to `last`
inclusive. Two requests whose lifetimes intersect must not share a byte unless an
`Overlap` allows it; an allowance bounds where the two may sit relative to each other.
Nothing here knows about graphs: lifetimes.py turns a graph into these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType


class PlanError(Exception):
    """A plan breaks an invariant (an internal bug, not a user error): names the buffers."""


@dataclass(frozen=True)
class BufferRequest:
    name: str
    size: int  # bytes
    first: int  # first step the buffer is live (written)
    last: int  # last step the buffer is live (read), inclusive
    align: int = 8  # the offset must be a multiple of this

    def __post_init__(self) -> None:
        if self.size < 0 or self.align < 1 or self.first > self.last or self.first < 0:
            raise ValueError(f"bad buffer request {self}")


@dataclass(frozen=True)
class Overlap:
    """`out` and `inp` may share bytes although both are live, provided
    min_distance <= offset(inp) - offset(out) <= max_distance (None: no upper bound).

    In-place depthwise: (0, 0). Element-wise: (0, None). Pointwise convolution with P
    pixels: (max(0, P * (Cout - Cin)), None), so each output pixel lands only on input
    pixels already read (see the memory contracts in the kernel headers).
    """

    out: str
    inp: str
    min_distance: int
    max_distance: int | None = None

    def __post_init__(self) -> None:
        if self.out == self.inp or (self.max_distance is not None and self.max_distance < self.min_distance):
            raise ValueError(f"bad overlap allowance {self}")

    def allows(self, distance: int) -> bool:
        """Whether offset(inp) - offset(out) == distance satisfies this allowance."""
        return self.min_distance <= distance and (self.max_distance is None or distance <= self.max_distance)


@dataclass(frozen=True)
class Plan:
    offsets: Mapping[str, int]  # request name -> byte offset in the arena (read-only view)
    arena_bytes: int
    algorithm: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "offsets", MappingProxyType(dict(self.offsets)))

    __hash__ = None  # type: ignore[assignment]  # the offsets mapping is not hashable


def align_up(x: int, a: int) -> int:
    return -(-x // a) * a


def check_names(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap]) -> dict[str, int]:
    """Name -> index; raises ValueError on a duplicate name or an allowance naming no request."""
    index: dict[str, int] = {}
    for i, r in enumerate(requests):
        if r.name in index:
            raise ValueError(f"two buffer requests are named {r.name!r}")
        index[r.name] = i
    for ov in overlaps:
        for name in (ov.out, ov.inp):
            if name not in index:
                raise ValueError(f"overlap allowance {ov} names no buffer request {name!r}")
    return index


def live_bytes(requests: Sequence[BufferRequest]) -> list[int]:
    """Sum of the sizes live at each step 0..max(last) (no overlap allowances)."""
    steps = max((r.last for r in requests), default=-1) + 1
    delta = [0] * (steps + 1)
    for r in requests:
        delta[r.first] += r.size
        delta[r.last + 1] -= r.size
    out, run = [], 0
    for d in delta[:steps]:
        run += d
        out.append(run)
    return out


def max_shared(out_size: int, inp_size: int, lo: int, hi: int | None) -> int:
    """The most bytes [0, out_size) and [d, d + inp_size) can share for lo <= d <= hi.

    The shared length is a trapezoid in d, flat at min(out, inp) for d between
    min(0, out - inp) and max(0, out - inp); take the point of [lo, hi] nearest the flat.
    """
    top_lo, top_hi = min(0, out_size - inp_size), max(0, out_size - inp_size)
    if hi is not None and hi < top_lo:
        d = hi
    elif lo > top_hi:
        d = lo
    else:
        d = max(lo, top_lo)
    return max(0, min(out_size, d + inp_size) - max(0, d))


def lower_bound(requests: Sequence[BufferRequest], overlaps: Iterable[Overlap] = ()) -> int:
    """A lower bound on any valid plan's arena: the worst step's live bytes.

    With allowances the union at a step is at least sum(sizes) - sum(most each allowed
    pair can share) (Bonferroni's inequality), and at least the largest live request.
    """
    overlaps = tuple(overlaps)
    index = check_names(requests, overlaps)
    live = live_bytes(requests)
    saved = [0] * len(live)
    for ov in overlaps:
        a, b = requests[index[ov.out]], requests[index[ov.inp]]
        share = max_shared(a.size, b.size, ov.min_distance, ov.max_distance)
        for s in range(max(a.first, b.first), min(a.last, b.last) + 1):
            saved[s] += share
    biggest = [0] * len(live)
    for r in requests:
        for s in range(r.first, r.last + 1):
            biggest[s] = max(biggest[s], r.size)
    return max((max(v - c, m) for v, c, m in zip(live, saved, biggest)), default=0)
