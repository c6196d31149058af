"""Executed instructions of mcuforge's firmware under QEMU beside CMSIS-NN's and TF-Lite
Micro's reference kernels' (../shared/ANCHORS.md section 6; per-layer tables in
../shared/anchors/instruction_counts/), per layer and in total, and the Flash and SRAM of
the ELF beside the compile report's figures.

    .venv/bin/python benchmarks/cycles.py [--json OUT] [--models NAME ...] [--board NAME]
                                          [--kernels auto|portable|armv7em] [--totals-only]

Same compiler and flags as the anchors (arm-none-eabi-gcc -O2, Cortex-M7, QEMU
mps2-an500). Only the operators the anchor counts are compared: a row of the anchor table
is an operator of the .tflite (its index), matched to our node through its output tensor;
rows the anchor skipped (QUANTIZE, TRANSPOSE, MEAN, DEQUANTIZE of the MCUNet model) are
left out of our total too. PAD rows show no count of ours: the PAD is folded into the following
convolution, whose count includes the padding. Inputs are seeded random data.
Not a test: it prints tables (and writes JSON) for the README.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.hw.boards import get_board
from mcuforge.report.report import build_report
from mcuforge.targets import elf
from mcuforge.targets.host import write_project
from mcuforge.targets.profile import profile_model
from mcuforge.targets.qemu import missing_tools

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODELS = SHARED / "models"
ANCHORS = SHARED / "anchors" / "instruction_counts"
# Targets of issue 4.
TARGET_VS_CMSIS = 0.6  # total instructions at most 0.6 x CMSIS-NN's
TARGET_DEPTHWISE_PER_MAC = 3.0
TARGET_VWW_CODE_BYTES = 12 * 1024  # mlperf_vww_mbv1_96_int8: text minus constants
TARGET_SRAM_SLACK = 2048  # ELF SRAM = report peak + stack, within 2 KB


def read_anchor(model: str) -> list[dict[str, str]]:
    with open(ANCHORS / f"{model}.csv", newline="") as f:
        return list(csv.DictReader(f))


def cmsis_summary() -> dict[str, dict[str, str]]:
    with open(ANCHORS / "summary.csv", newline="") as f:
        return {r["model"]: r for r in csv.DictReader(f)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def firmware_flash(compiled, board, kernels: str) -> int:
    """text + data of the `make firmware` image of the project `compile --board` writes
    (the model library, start-up and a bare main: what a user flashes)."""
    from mcuforge.codegen.generate import for_board

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_project(for_board(compiled.project, board, kernels), folder)
        proc = subprocess.run(["make", "-s", "firmware"], cwd=folder, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"make firmware failed: {proc.stderr[-1000:]}")
        return elf.sizes(folder / "fw.elf").flash


def compare_model(model: str, board_name: str, kernels: str) -> dict[str, Any]:
    g = load(MODELS / f"{model}.tflite")
    compiled = compile_graph(g)
    board = get_board(board_name)
    prof = profile_model(compiled, board, kernels=kernels)
    report = build_report(compiled, board)
    ours_by_output = {compiled.graph.nodes[n["index"]].outputs[0]: n for n in prof["nodes"]}
    anchor = read_anchor(model)
    if len(anchor) != len(g.nodes) or any(str(n.op) != r["op"] for n, r in zip(g.nodes, anchor)):
        raise SystemExit(f"{model}: the anchor table's operators do not match the model's; cannot compare per layer")
    layers, skipped_outputs = [], set()
    for node, r in zip(g.nodes, anchor):
        counted = not r["status"].startswith("SKIPPED")
        mine = ours_by_output.get(node.outputs[0])
        if not counted:
            skipped_outputs.add(node.outputs[0])
        ours = mine["instructions"] if mine else None  # None: folded away (PAD, boundary QUANTIZE)
        cmsis, ref = int(r["cmsis_insns_O2"]), int(r["tflmref_insns_O2"])
        macs = int(r["macs"])
        layers.append(
            {
                "idx": int(r["idx"]),
                "op": r["op"],
                "out_shape": r["out_shape"],
                "counted": counted,
                "macs": macs,
                "ours": ours,
                "cmsis_nn": cmsis,
                "tflm_ref": ref,
                "ours_vs_cmsis": _ratio(ours, cmsis),
                "ours_per_mac": _ratio(ours, macs),
                "cmsis_per_mac": _ratio(cmsis, macs),
                "note": "not counted by the anchor" if not counted else ("folded into the next layer" if mine is None else ""),
            }
        )
    counted_nodes = [n for out, n in ours_by_output.items() if out not in skipped_outputs]
    ours_total = sum(n["instructions"] for n in counted_nodes)
    cmsis_total = sum(x["cmsis_nn"] for x in layers if x["counted"])
    ref_total = sum(x["tflm_ref"] for x in layers if x["counted"])
    dw = [x for x in layers if x["op"] == "DEPTHWISE_CONV_2D"]
    dw_macs = sum(x["macs"] for x in dw)
    summary = cmsis_summary().get(model, {})
    return {
        "model": model,
        "board": board.name,
        "kernels": prof["kernels"],
        "matches_reference": prof["matches_reference"],
        "instructions": {"ours": ours_total, "cmsis_nn": cmsis_total, "tflm_ref": ref_total},
        "ours_vs_cmsis": _ratio(ours_total, cmsis_total),
        "target_vs_cmsis": TARGET_VS_CMSIS,
        "depthwise_per_mac": {"ours": _ratio(sum(x["ours"] or 0 for x in dw), dw_macs), "cmsis_nn": _ratio(sum(x["cmsis_nn"] for x in dw), dw_macs)},
        "sizes": {
            "elf_text_bytes": prof["text_bytes"],
            "elf_code_bytes": prof["code_bytes"],
            "elf_data_bytes": prof["data_bytes"],
            "elf_bss_bytes": prof["bss_bytes"],
            "elf_flash_bytes": prof["flash_bytes"],
            "elf_sram_bytes": prof["sram_bytes"],
            "firmware_flash_bytes": firmware_flash(compiled, board, kernels),
            "stack_bytes": prof["stack_bytes"],
            "report_peak_sram_bytes": report["peak_sram_bytes"],
            "report_flash_bytes": report["flash_bytes"],
            "report_constants_bytes": report["flash"]["constants_bytes"],
            "sram_minus_peak_plus_stack": prof["sram_bytes"] + prof["stack_bytes"] - report["peak_sram_bytes"],
            "cmsis_fw_text_bytes": int(summary["cmsis_fw_text"]) if summary else None,
        },
        "layers": layers,
    }


def print_layers(r: dict[str, Any]) -> None:
    print(f"\n### {r['model']} ({r['kernels']} kernels, {r['board']})\n")
    print("| # | op | out shape | MACs | ours | CMSIS-NN | TFLM ref | ours / CMSIS | ours / MAC | CMSIS / MAC | note |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for x in r["layers"]:
        ours = "-" if x["ours"] is None else f"{x['ours']:,}"
        fmt = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
        print(
            f"| {x['idx']} | {x['op']} | {x['out_shape']} | {x['macs']:,} | {ours} | {x['cmsis_nn']:,} | {x['tflm_ref']:,} "
            f"| {fmt(x['ours_vs_cmsis'])} | {fmt(x['ours_per_mac'])} | {fmt(x['cmsis_per_mac'])} | {x['note']} |"
        )


def print_totals(rows: list[dict[str, Any]]) -> None:
    print("\n| model | ours instr | CMSIS-NN instr | TFLM-ref instr | ours / CMSIS (target <= 0.6) | depthwise instr/MAC ours / CMSIS (target <= 3) | bit-exact |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        i, dw = r["instructions"], r["depthwise_per_mac"]
        ok = "yes" if r["ours_vs_cmsis"] <= TARGET_VS_CMSIS else "NO"
        dws = "-" if dw["ours"] is None else f"{dw['ours']:.2f} / {dw['cmsis_nn']:.2f}"
        print(f"| {r['model']} | {i['ours']:,} | {i['cmsis_nn']:,} | {i['tflm_ref']:,} | {r['ours_vs_cmsis']:.3f} ({ok}) | {dws} | {'yes' if r['matches_reference'] else 'NO'} |")
    print("\n| model | report constants B | report Flash B (code + constants) | `make firmware` ELF B (text + data) | report / ELF - 1 (target within 1%) | profile ELF B (text + data) | its code B | report / profile ELF - 1 | CMSIS-NN fw text B | ELF SRAM B (data + bss) | stack B | report peak SRAM B | SRAM + stack - peak (target <= 2048) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        s = r["sizes"]
        cm = "-" if s["cmsis_fw_text_bytes"] is None else f"{s['cmsis_fw_text_bytes']:,}"
        off = s["report_flash_bytes"] / s["firmware_flash_bytes"] - 1
        poff = s["report_flash_bytes"] / s["elf_flash_bytes"] - 1
        print(
            f"| {r['model']} | {s['report_constants_bytes']:,} | {s['report_flash_bytes']:,} | {s['firmware_flash_bytes']:,} "
            f"| {100 * off:+.2f}% ({'yes' if abs(off) <= 0.01 else 'NO'}) | {s['elf_flash_bytes']:,} | {s['elf_code_bytes']:,} "
            f"| {100 * poff:+.2f}% | {cm} "
            f"| {s['elf_sram_bytes']:,} | {s['stack_bytes']:,} | {s['report_peak_sram_bytes']:,} | {s['sram_minus_peak_plus_stack']:,} |"
        )
    print("(`make firmware`: the image of the project `compile --board` writes, the model library, start-up and a bare main; "
          "profile ELF: the QEMU firmware `profile` builds, which adds semihosting I/O and stack measurement)")
    vww = next((r for r in rows if r["model"] == "mlperf_vww_mbv1_96_int8"), None)
    if vww:
        code = vww["sizes"]["elf_code_bytes"]
        print(f"\nVWW code (text minus constants): {code:,} B (target under {TARGET_VWW_CODE_BYTES:,} B: {'yes' if code < TARGET_VWW_CODE_BYTES else 'NO'})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="build/bench/cycles.json")
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--board", default="STM32H743", help="a Cortex-M7 board, as the anchors were measured on M7")
    ap.add_argument("--kernels", default="auto", choices=["auto", "portable", "armv7em"])
    ap.add_argument("--totals-only", action="store_true", help="skip the per-layer tables")
    args = ap.parse_args(argv)
    if not ANCHORS.is_dir() or not MODELS.is_dir():
        print(f"no anchors or models: {ANCHORS} or {MODELS} is absent", file=sys.stderr)
        return 2
    reason = missing_tools()
    if reason is not None:
        print(f"cannot run the QEMU backend: {reason}", file=sys.stderr)
        return 2
    models = [p.stem for p in sorted(ANCHORS.glob("*.csv")) if p.stem not in ("per_kernel", "summary")]
    if args.models:
        models = [m for m in models if m in args.models]
    rows = [compare_model(m, args.board, args.kernels) for m in tqdm(models, desc="models", unit="model")]
    if not args.totals_only:
        for r in rows:
            print_layers(r)
    print_totals(rows)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"models": rows}, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
