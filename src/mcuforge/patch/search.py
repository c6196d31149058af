"""`--patch auto`: choose the split and the grid with the smallest planned peak SRAM
under a bound on the extra MACs, or per-layer execution when that is smaller.

Every candidate is planned by the engine's planner (patch/memory.py, scratch
included), so the figure compared is the one the C code gets. To keep that cheap:
  MAC overhead first: regions are a product of row and column spans, so a grid's
  extra MACs are sums over the stage's nodes of (MACs per output pixel) x (rows
  computed over all grid rows) x (columns over all grid columns), from one backward
  walk per axis and grid size: grids over the bound are never built;
  splits in increasing order of a lower bound on any of their plans: the per-layer
  plan's live bytes (less what allowances may share) at the steps outside the stage,
  which a patch plan runs unchanged; a split whose bound is not below the best peak
  found is skipped;
  a candidate whose own lower bound (plan.requests.lower_bound) cannot beat the best
  is not placed.
Ties go to the smaller MAC overhead, then the earlier split and the coarser grid, so
the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mcuforge.ir.graph import Graph
from mcuforge.ir.stats import node_macs, total_macs
from mcuforge.patch.codegen import program_scratch
from mcuforge.patch.memory import program_requests
from mcuforge.patch.plan import PatchPlan
from mcuforge.patch.program import build_program
from mcuforge.patch.regions import axis_walk
from mcuforge.patch.stage import NotPatchable, Stage, candidate_splits, find_stage
from mcuforge.plan.algorithms import promote_top
from mcuforge.plan.lifetimes import buffer_requests
from mcuforge.plan.planner import ALGORITHMS
from mcuforge.plan.requests import lower_bound, max_shared

MAX_ROWS = 16  # grid rows tried (row strips need no copies: they are views)
MAX_COLS = 8


@dataclass(frozen=True)
class Candidate:
    plan: PatchPlan
    start: int
    mac_overhead: float  # extra MACs / the model's MACs
    peak: int  # planned arena bytes, scratch included


@dataclass(frozen=True)
class PatchChoice:
    """What `compile --patch` decided, for the report."""

    mode: str  # "auto", "manual" or "none"
    plan: PatchPlan | None  # the plan the project uses (None: per layer)
    per_layer_peak: int
    patch: Candidate | None  # the best (auto) or the given (manual) patch plan
    max_mac_overhead: float
    evaluated: int = 0  # patch plans placed by the planner

    @property
    def peak(self) -> int:
        return self.patch.peak if self.plan is not None and self.patch is not None else self.per_layer_peak

    def as_dict(self) -> dict:
        p = self.patch
        return {
            "mode": self.mode,
            "used": self.plan is not None,
            "split": None if p is None else p.plan.split,
            "start": None if p is None else p.start,
            "grid": None if p is None else list(p.plan.grid),
            "mac_overhead": None if p is None else round(p.mac_overhead, 6),
            "max_mac_overhead": self.max_mac_overhead,
            "patch_peak_bytes": None if p is None else p.peak,
            "per_layer_peak_bytes": self.per_layer_peak,
            "plans_evaluated": self.evaluated,
        }


def _bands(n: int, length: int) -> list[tuple[int, int]]:
    return [(i * length // n, (i + 1) * length // n) for i in range(n)]


def axis_work(g: Graph, stage: Stage, axis: int, n: int) -> tuple[dict[str, int], dict[str, int]]:
    """Stage tensor -> (its span lengths summed over n bands of the sink along `axis`,
    its span length in the first band)."""
    total: dict[str, int] = {}
    first: dict[str, int] = {}
    for k, span in enumerate(_bands(n, g.tensors[stage.sink].shape[1 + axis])):
        for t, (a, b) in axis_walk(g, stage, axis, span).spans.items():
            total[t] = total.get(t, 0) + b - a
            if k == 0:
                first[t] = b - a
    return total, first


def _works(g: Graph, stage: Stage, axis: int, most: int) -> dict[int, tuple[dict[str, int], dict[str, int]]]:
    out = {}
    for n in range(1, most + 1):
        try:
            out[n] = axis_work(g, stage, axis, n)
        except NotPatchable:  # a band reads nothing of some input (a PAD's border): skip n
            continue
    return out


@dataclass(frozen=True)
class GridFigures:
    extra_macs: int  # MACs over the stage's own
    first_patch_bytes: int  # the largest tensor of the first patch (a lower-bound term)


def grid_figures(g: Graph, stage: Stage, max_rows: int, max_cols: int) -> dict[tuple[int, int], GridFigures]:
    """Extra MACs and the first patch's largest stage tensor of every grid up to
    max_rows x max_cols (none with an empty cell or an empty read)."""
    h, w = g.tensors[stage.sink].shape[1:3]
    rows, cols = _works(g, stage, 0, min(max_rows, h)), _works(g, stage, 1, min(max_cols, w))
    per_pixel, depth = {}, {}
    for i in stage.nodes:
        node = g.nodes[i]
        y = g.tensors[node.outputs[0]]
        per_pixel[node.outputs[0]] = node_macs(g, node) / (y.shape[1] * y.shape[2])
        depth[node.outputs[0]] = y.nbytes // (y.shape[1] * y.shape[2])
    base = sum(node_macs(g, g.nodes[i]) for i in stage.nodes)
    inner = [t for t in per_pixel if t != stage.sink]
    out = {}
    for r, (rt, rf) in rows.items():
        for c, (ct, cf) in cols.items():
            extra = round(sum(m * rt[t] * ct[t] for t, m in per_pixel.items())) - base
            out[(r, c)] = GridFigures(extra, max((rf[t] * cf[t] * depth[t] for t in inner), default=0))
    return out


def grid_overheads(g: Graph, stage: Stage, max_rows: int, max_cols: int) -> dict[tuple[int, int], int]:
    """Extra MACs of every grid up to max_rows x max_cols."""
    return {k: v.extra_macs for k, v in grid_figures(g, stage, max_rows, max_cols).items()}


def _step_bounds(g: Graph, order: Sequence[int], scratch: dict[int, int]) -> list[int]:
    """Per step of the per-layer plan: live bytes less what allowances may share (at
    least the largest live buffer), as plan.requests.lower_bound takes its maximum."""
    b = buffer_requests(g, order, lambda i: scratch.get(i, 0))
    steps = len(order)
    live, biggest = [0] * steps, [0] * steps
    for r in b.requests:
        for s in range(r.first, r.last + 1):
            live[s] += r.size
            biggest[s] = max(biggest[s], r.size)
    index = {r.name: r for r in b.requests}
    for ov in b.overlaps:
        x, y = index[ov.out], index[ov.inp]
        share = max_shared(x.size, y.size, ov.min_distance, ov.max_distance)
        for s in range(max(x.first, y.first), min(x.last, y.last) + 1):
            live[s] -= share
    return [max(v, m) for v, m in zip(live, biggest)]


def evaluate(
    h: Graph, p: PatchPlan, order: Sequence[int], cache: dict, beat: Callable[[int], bool] | None = None
) -> int | None:
    """Planned peak of one patch plan; None when its lower bound cannot `beat` the best."""
    prog = build_program(h, p, order)
    requests, overlaps, *_ = program_requests(prog, program_scratch(prog, cache))
    floor = lower_bound(requests, overlaps)
    if beat is not None and not beat(floor):
        return None
    # The planner's algorithms, unverified (an estimate: generate() plans the chosen one
    # again and verifies it); the local search only for a plan that would become the best.
    best = min(algorithm(requests, overlaps).arena_bytes for algorithm in ALGORITHMS)
    if best > floor and (beat is None or beat(best)):
        best = min(best, promote_top(requests, overlaps).arena_bytes)
    return best


def _beats(best: Candidate | None, overhead: float) -> Callable[[int], bool]:
    """Whether a peak (or a lower bound on it) could beat `best` at this MAC overhead."""

    def beat(peak: int) -> bool:
        return best is None or peak < best.peak or (peak == best.peak and overhead < best.mac_overhead)

    return beat


def search(
    h: Graph,
    order: Sequence[int],
    scratch: dict[int, int],
    per_layer_peak: int,
    max_mac_overhead: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
) -> PatchChoice:
    """The best patch plan for h under the MAC bound, and whether it beats per layer."""
    macs = total_macs(h)
    bounds = _step_bounds(h, order, scratch)
    pos = {i: s for s, i in enumerate(order)}
    splits = []
    for split in candidate_splits(h):
        stage = find_stage(h, split)
        steps = [pos[i] for i in stage.nodes]
        outside = [b for s, b in enumerate(bounds) if not min(steps) <= s <= max(steps)]
        splits.append((max(outside, default=0), split, stage))
    # Every (split, grid) under the MAC bound with a bound before building anything:
    # the per-layer steps outside the stage, and the source kept whole while the first
    # patch's largest tensor is live. Visited by that bound: the first plans placed are
    # the promising ones, and once the bound reaches the best peak found, nothing after
    # can beat it (ties: only a smaller MAC overhead).
    queue = []
    for bound, split, stage in splits:
        figures = grid_figures(h, stage, MAX_ROWS, MAX_COLS)
        source = h.tensors[stage.source].nbytes
        for grid, f in figures.items():
            overhead = f.extra_macs / macs if macs else 0.0
            if grid != (1, 1) and overhead <= max_mac_overhead:
                queue.append((max(bound, source + f.first_patch_bytes), overhead, split, grid, stage.start))
    queue.sort()
    best: Candidate | None = None
    evaluated, cache = 0, {}
    for n, (cheap, overhead, split, grid, start) in enumerate(queue):
        if progress is not None:
            progress(n, len(queue))
        if best is not None and (cheap > best.peak or (cheap == best.peak and overhead >= best.mac_overhead)):
            if cheap > best.peak:
                break
            continue
        try:
            peak = evaluate(h, PatchPlan(split, grid), order, cache, _beats(best, overhead))
        except NotPatchable:
            continue
        if peak is None:
            continue
        evaluated += 1
        c = Candidate(PatchPlan(split, grid), start, overhead, peak)
        if best is None or (c.peak, c.mac_overhead, split, grid) < (
            best.peak,
            best.mac_overhead,
            best.plan.split,
            best.plan.grid,
        ):
            best = c
    use = best is not None and best.peak < per_layer_peak
    return PatchChoice("auto", best.plan if use else None, per_layer_peak, best, max_mac_overhead, evaluated)
