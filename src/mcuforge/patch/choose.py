"""The engine's entry point for patch-based inference: `--patch auto|none|SPLIT:GRID`.

`auto` searches (patch/search.py), then generates the chosen plan; the generated
plan is placed again by the full planner and verified, so its peak can only be at or
below the search's estimate. Per-layer execution is kept whenever it needs no more
SRAM. An explicit SPLIT:GRID is used as given, with both peaks reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mcuforge.codegen.generate import Project, generate, scratch_sizes
from mcuforge.errors import InputError
from mcuforge.ir.graph import Graph
from mcuforge.ir.stats import total_macs
from mcuforge.patch.plan import PatchPlan
from mcuforge.patch.search import Candidate, PatchChoice, search
from mcuforge.patch.stage import find_stage


def patched_project(h: Graph, per_layer: Project, p: PatchPlan) -> tuple[Project, Candidate]:
    """Generate h with plan p; the candidate records its start, overhead and peak."""
    stage = find_stage(h, p.split, p.start)
    project = generate(h, p, list(per_layer.memory.order))
    macs = total_macs(h)
    overhead = (total_macs(project.graph) - macs) / macs if macs else 0.0
    return project, Candidate(p, stage.start, overhead, project.memory.arena_bytes)


def choose_patch(
    h: Graph,
    per_layer: Project,
    spec: str | PatchPlan,
    max_mac_overhead: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Project, PatchChoice]:
    """The project to ship and what was decided. `spec`: "none", "auto" or a plan."""
    if not 0.0 <= max_mac_overhead:
        raise InputError(f"--max-mac-overhead {max_mac_overhead} must be at least 0 (0.2 allows 20% more MACs)")
    peak = per_layer.memory.arena_bytes
    if spec == "none":
        return per_layer, PatchChoice("none", None, peak, None, max_mac_overhead)
    if isinstance(spec, PatchPlan):
        project, cand = patched_project(h, per_layer, spec)
        return project, PatchChoice("manual", spec, peak, cand, max_mac_overhead, 1)
    if spec != "auto":
        raise InputError(f"patch mode {spec!r} is not auto, none or SPLIT:GRID")
    # narrow scratch: wide variants never set the peak (plan.memory.plan_graph)
    choice = search(h, per_layer.memory.order, scratch_sizes(h), peak, max_mac_overhead, progress)
    if choice.patch is None:
        return per_layer, choice
    project, cand = patched_project(h, per_layer, choice.patch.plan)
    if cand.peak >= peak:
        return per_layer, replace(choice, plan=None, patch=cand)
    return project, replace(choice, plan=cand.plan, patch=cand)
