"""`mcuforge bench`: our peak SRAM next to TF-Lite Micro's minimum arena, same run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mcuforge.engine import compile_graph
from mcuforge.ir.graph import Graph
from mcuforge.oracle.tflm import min_arena_bytes
from mcuforge.ref.interpreter import random_inputs


def bench_model(
    path: str | Path, g: Graph, patch: str = "none", max_mac_overhead: float = 0.2, log: str | Path | None = None
) -> dict[str, Any]:
    """`patch` as compile's --patch. TF-Lite Micro's messages during the arena search go
    to `log` (default: a file in the temporary folder, named in the result)."""
    compiled = compile_graph(g, patch=patch, max_mac_overhead=max_mac_overhead)
    peak = compiled.project.memory.arena_bytes
    if log is None:
        log = Path(tempfile.gettempdir()) / f"mcuforge-bench-{Path(path).stem}.log"
    Path(log).write_text("")
    tflm = min_arena_bytes(Path(path).read_bytes(), random_inputs(g), log=str(log))
    return {
        "model": Path(path).stem,
        "peak_sram_bytes": peak,
        "tflm_arena_bytes": tflm,
        "ratio": peak / tflm,
        "lower_bound_bytes": compiled.project.memory.lower_bound,
        "flash_bytes": compiled.project.flash_bytes,
        "patch": None if compiled.patch is None else compiled.patch.as_dict(),
        "tflm_log": str(log),
    }
