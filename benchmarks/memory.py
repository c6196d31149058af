"""Peak SRAM of every supported real model: mcuforge beside TF-Lite Micro's minimum arena
(measured in this run) and TinyEngine's PEAK_MEM (../shared/ANCHORS.md section 1.1).

    .venv/bin/python benchmarks/memory.py [--json OUT] [--models NAME ...]

Not a test: it prints a table (and writes JSON) for the README.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

from mcuforge.bench import bench_model
from mcuforge.engine import compile_graph
from mcuforge.errors import MCUForgeError
from mcuforge.frontend.tflite_read import load

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"

# TinyEngine PEAK_MEM (arena + sbuf + kbuf), per-layer plans, from ANCHORS.md 1.1.
TINYENGINE = {
    "tinyengine_mcunet_vww1": 93_992,
    "tinyengine_person_detection_yolo": 257_448,
    "tinyengine_mcunetv2_large_224": 1_431_784,
}
# Targets of issue 3: fraction of TinyEngine's figure.
TARGET = {"tinyengine_mcunet_vww1": 0.85, "tinyengine_person_detection_yolo": 0.90}
# TinyEngine's patch-based plans (hand-picked split and grid), ANCHORS.md 1.1, and the
# targets of issue 5 (fraction of them); tflm_xtensa_mobilenet_v2_q_224 must fit 512 KB.
TINYENGINE_PATCH = {"tinyengine_mcunet_vww1": 62_352, "tinyengine_mcunetv2_large_224": 444_168}
PATCH_TARGET = 0.85
BOARD_512K = 512 * 1024


def _patch_table(rows: list[dict]) -> None:
    """Patch-based inference (`--patch auto`) beside per layer and TinyEngine's patch plans."""
    print()
    print("| model | per layer B | patch auto B | nodes | grid | MAC overhead | TinyEngine patch B | ours / TinyEngine patch |")
    print("|---|---:|---:|---|---|---:|---:|---:|")
    for r in rows:
        p = r["patch"]
        used = p["used"]
        peak = p["patch_peak_bytes"] if used else p["per_layer_peak_bytes"]
        te = TINYENGINE_PATCH.get(r["model"])
        vs = f"{peak / te:.3f} (target {PATCH_TARGET})" if te else "-"
        if r["model"] == "tflm_xtensa_mobilenet_v2_q_224":
            vs = f"fits 512 KB: {'yes' if peak <= BOARD_512K else 'NO'}"
        nodes = f"{p['start']}..{p['split']}" if used else "per layer"
        grid = f"{p['grid'][0]}x{p['grid'][1]}" if used else "-"
        overhead = f"{p['mac_overhead']:.1%}" if used else "-"
        print(
            f"| {r['model']} | {p['per_layer_peak_bytes']:,} | {peak:,} | {nodes} | {grid} | {overhead} | "
            f"{te and f'{te:,}' or '-'} | {vs} |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="build/bench/memory.json")
    ap.add_argument("--models", nargs="*")
    args = ap.parse_args(argv)
    if not MODELS.is_dir():
        print(f"no models: {MODELS} is absent", file=sys.stderr)
        return 2
    rows = []
    paths = sorted(MODELS.glob("*.tflite"))
    if args.models:
        paths = [p for p in paths if p.stem in args.models]
    for path in tqdm(paths, desc="models", unit="model"):
        try:
            g = load(path)
        except MCUForgeError:
            continue  # unsupported models (LSTM, SVDF, custom ops) are not planned
        r = bench_model(path, g)
        r["tinyengine_bytes"] = TINYENGINE.get(path.stem)
        r["patch"] = compile_graph(g, patch="auto").patch.as_dict()
        rows.append(r)
    print()
    print("| model | mcuforge peak SRAM B | TFLM min arena B | ours / TFLM | TinyEngine PEAK_MEM B | ours / TinyEngine | lower bound B |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        te = r["tinyengine_bytes"]
        vs_te = f"{r['peak_sram_bytes'] / te:.3f}" + (f" (target {TARGET[r['model']]})" if r["model"] in TARGET else "") if te else "-"
        print(
            f"| {r['model']} | {r['peak_sram_bytes']:,} | {r['tflm_arena_bytes']:,} | {r['ratio']:.3f} | "
            f"{te and f'{te:,}' or '-'} | {vs_te} | {r['lower_bound_bytes']:,} |"
        )
    _patch_table(rows)
    geo = math.exp(sum(math.log(r["ratio"]) for r in rows) / len(rows))
    worst = max(rows, key=lambda r: r["ratio"])
    print(f"\ngeometric mean of ours / TF-Lite Micro: {geo:.3f} (target <= 0.5); worst {worst['model']} {worst['ratio']:.3f} (target <= 0.75)")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"models": rows, "geomean_ratio_vs_tflm": geo}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
