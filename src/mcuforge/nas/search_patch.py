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

        g = load(self.out / name / "model.tflite")
        c = compile_graph(g, patch="auto")
        r = {"peak_sram_bytes": c.project.memory.arena_bytes, "constants_bytes": c.project.flash_bytes,
             "patch": c.patch.as_dict(), "c_checked_inputs": CHECK_INPUTS, "c_identical": c_identical(g, c)}  # fmt: skip
        return self._done(f"patch_{name}", r, t0)  # type: ignore[attr-defined]


CHECK_INPUTS = 16  # random inputs on which the patched C program must equal the reference


def c_identical(g: Any, c: Any, seed: int = 0) -> bool:
    """Whether the shipped C project (patched, when choose_patch chose so; built with gcc)
    gives the reference executor's outputs byte for byte on CHECK_INPUTS random inputs
    (validation's C backend compiles per layer, so it never runs the patched program)."""
    import numpy as np

    from mcuforge.validate.backends import run_ref
    from mcuforge.validate.batch import run_c_batch

    t = g.tensors[g.inputs[0]]
    rng = np.random.default_rng(seed)
    shape = (CHECK_INPUTS, *t.shape[1:])
    if np.dtype(t.dtype).kind == "f":
        x = rng.uniform(-1.0, 1.0, shape).astype(t.dtype)
    else:
        info = np.iinfo(t.dtype)
        x = rng.integers(info.min, info.max + 1, shape).astype(t.dtype)
    return bool(np.array_equal(run_c_batch(c, x), run_ref(g, x)))
