"""`mcuforge bench`: our peak SRAM next to TF-Lite Micro's minimum arena, same run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcuforge.engine import compile_graph
from mcuforge.ir.graph import Graph
from mcuforge.oracle.tflm import min_arena_bytes
from mcuforge.ref.interpreter import random_inputs


def bench_model(path: str | Path, g: Graph) -> dict[str, Any]:
    compiled = compile_graph(g)
    peak = compiled.project.memory.arena_bytes
    tflm = min_arena_bytes(Path(path).read_bytes(), random_inputs(g))
    return {
        "model": Path(path).stem,
        "peak_sram_bytes": peak,
        "tflm_arena_bytes": tflm,
        "ratio": peak / tflm,
        "lower_bound_bytes": compiled.project.memory.lower_bound,
        "flash_bytes": compiled.project.flash_bytes,
    }
