"""`mcuforge search --patch`: phases `patch_NAME`, the final models compiled as
`mcuforge compile MODEL --patch auto` compiles them (train's memory figures are per
layer). The search's own SRAM figures come from EngineProfiler.patched (nas/profile.py),
choose_patch on the profiler's graph, which tests/nas hold equal to these."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


class PatchPhase:
    """Needs SearchRun's out, state and _done."""

    out: Path
    state: dict[str, Any]

    def patch_model(self, name: str) -> dict[str, Any]:
        """Phase `patch_NAME`: the trained model's peak SRAM, constants and patch plan
        (split, grid, peak, MAC overhead) under `--patch auto`."""
        done = self.state["phases"].get(f"patch_{name}")
        if done:
            return done
        t0 = time.monotonic()
        from mcuforge.engine import compile_graph
        from mcuforge.frontend.tflite_read import load

        c = compile_graph(load(self.out / name / "model.tflite"), patch="auto")
        r = {"peak_sram_bytes": c.project.memory.arena_bytes, "constants_bytes": c.project.flash_bytes,
             "patch": c.patch.as_dict()}  # fmt: skip
        return self._done(f"patch_{name}", r, t0)  # type: ignore[attr-defined]
