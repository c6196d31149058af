"""Patch-based inference (MCUNetV2): the first layers run patch by patch over a spatial
grid, the rest layer by layer, with the split and grid chosen automatically.

plan.py (what a plan is) -> stage.py (which nodes may run in patches) -> regions.py
(each patch's regions and padding) -> program.py (the patched program) -> memory.py
(its plan, by the engine's planner) -> codegen.py (C) ; search.py and choose.py pick
the plan (`--patch auto`). ref/patch.py runs a patched program with the NumPy kernels.
"""

from mcuforge.patch.plan import NotPatchable, PatchPlan, parse_patch

__all__ = ["NotPatchable", "PatchPlan", "parse_patch"]
