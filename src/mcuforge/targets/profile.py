"""`mcuforge profile`: exact executed instructions per node and in total, and the Flash,
SRAM and stack of the firmware, from one run under QEMU.

Counting: model.c calls the profiling marker before each node that has code and once
after the last (MF_PROFILE_NODE); the QEMU plugin records the executed-instruction count
at each call, the marker's own body excluded. A node's count is the difference between
consecutive marks minus 1, the `bl` that calls the next marker. The total is the sum of
the nodes': startup, input/output through semihosting and mf_invoke()'s own entry and
return are outside every interval, so only model work is counted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.engine import Compiled
from mcuforge.hw.boards import Board
from mcuforge.ir.stats import node_macs, total_macs
from mcuforge.ref.interpreter import check_inputs, random_inputs
from mcuforge.ref.interpreter import run as run_ref
from mcuforge.targets.qemu import build_firmware, output_specs, run_firmware

MARK_CALL_INSTRUCTIONS = 1  # the `bl mf_profile_mark` in model.c
MS_ASSUMES = (
    "one instruction per cycle at the board's clock: QEMU counts instructions, not cycles; a Cortex-M7 "
    "issues up to two per cycle, Flash wait states, cache misses and multi-cycle loads add cycles"
)


def node_instructions(order: list[int], has_code: dict[int, bool], marks: list[int]) -> dict[int, int]:
    """Instructions of each node in `order` from the marks (one per node with code, plus
    the end mark); nodes without code (aliases) get 0."""
    coded = [i for i in order if has_code[i]]
    if len(marks) != len(coded) + 1:
        raise ValueError(f"expected {len(coded) + 1} profiling marks, got {len(marks)}")
    counts = {i: 0 for i in order}
    for k, i in enumerate(coded):
        counts[i] = marks[k + 1] - marks[k] - MARK_CALL_INSTRUCTIONS
    return counts


def profile_model(
    compiled: Compiled,
    board: Board,
    inputs: list[np.ndarray] | None = None,
    kernels: str = "auto",
    folder: Path | None = None,
) -> dict[str, Any]:
    """Build, run once with counting, and check the outputs against the reference executor.
    `inputs` are the compiled model's (boundary QUANTIZE already applied); default: seeded
    random data. `folder` keeps the firmware build (default: a temporary folder)."""
    g, project = compiled.graph, compiled.project
    xs = check_inputs(g, inputs) if inputs is not None else random_inputs(g, 0)
    with tempfile.TemporaryDirectory(prefix="mcuforge-fw-") as tmp:
        fw = build_firmware(project, board, folder or Path(tmp), profile=True, kernels=kernels)
        result = run_firmware(fw, output_specs(project), xs, count=True)
    assert result.marks is not None
    expected = run_ref(g, xs)
    matches = all(a.tobytes() == b.tobytes() for a, b in zip(result.outputs, expected))
    order = project.memory.order
    counts = node_instructions(order, {i: project.calls.get(i) is not None for i in order}, result.marks)
    pg = project.graph  # with patches: the patched program (its nodes, halo MACs included)
    nodes = [
        {
            "index": i,
            "op": str(pg.nodes[i].op),
            "name": pg.nodes[i].name or pg.nodes[i].outputs[0],
            "instructions": counts[i],
            "macs": node_macs(pg, pg.nodes[i]),
        }
        for i in order
    ]
    total = sum(counts.values())
    macs = total_macs(pg)
    s = fw.sizes
    return {
        "model": compiled.original.name,
        "board": board.name,
        "core": fw.core.name,
        "qemu_machine": fw.core.machine,
        "kernels": fw.kernels,
        "optimised_kernel_files": list(fw.optimised),
        "instructions_total": total,
        "macs": macs,
        "instructions_per_mac": round(total / macs, 3) if macs else None,
        "mhz": board.mhz,
        "estimated_ms": round(total / (board.mhz * 1000.0), 3),
        "estimate_assumes": MS_ASSUMES,
        "matches_reference": matches,
        "nodes": nodes,
        "text_bytes": s.text,
        "code_bytes": s.code,
        "data_bytes": s.data,
        "bss_bytes": s.bss,
        "flash_bytes": s.flash,
        "sram_bytes": s.sram,
        "stack_bytes": result.stack_bytes,
        "stack_reserved_bytes": s.stack,
        "weights_bytes": project.flash_bytes,
        "peak_sram_bytes": project.memory.arena_bytes,
        "board_flash_bytes": board.flash,
        "board_sram_bytes": board.sram,
    }


def format_profile(p: dict[str, Any]) -> str:
    lines = [
        f"{p['model']} on {p['board']} ({p['core']}, QEMU {p['qemu_machine']}, {p['kernels']} kernels)",
        "",
        f"{'#':>4}  {'op':<22} {'instructions':>13} {'MACs':>11} {'instr/MAC':>9}  name",
    ]
    for n in p["nodes"]:
        per_mac = f"{n['instructions'] / n['macs']:.2f}" if n["macs"] else ""
        lines.append(
            f"{n['index']:>4}  {n['op']:<22} {n['instructions']:>13,} {n['macs']:>11,} {per_mac:>9}  {n['name']}"
        )
    per_mac = f" ({p['instructions_per_mac']} per MAC)" if p["instructions_per_mac"] else ""
    lines += [
        "",
        f"instructions: {p['instructions_total']:,} executed by the model{per_mac}; outputs "
        + ("identical to the reference executor" if p["matches_reference"] else "DIFFER from the reference executor"),
        f"time: about {p['estimated_ms']:,.2f} ms at {p['mhz']} MHz (assumes {p['estimate_assumes']})",
        f"Flash: {p['flash_bytes']:,} B (text {p['text_bytes']:,} B of which code {p['code_bytes']:,} B, data {p['data_bytes']:,} B; "
        f"weights {p['weights_bytes']:,} B); board has {p['board_flash_bytes']:,} B",
        f"SRAM: {p['sram_bytes']:,} B (data {p['data_bytes']:,} B, bss {p['bss_bytes']:,} B; arena {p['peak_sram_bytes']:,} B) "
        f"+ stack {p['stack_bytes']:,} B measured of {p['stack_reserved_bytes']:,} B reserved; board has {p['board_sram_bytes']:,} B",
    ]
    return "\n".join(lines)
