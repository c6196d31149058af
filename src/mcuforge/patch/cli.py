"""The command line's patch-based-inference options (--patch, --max-mac-overhead), shared by
run, compile, bench and profile, and the sentences they print about a patch plan."""

from __future__ import annotations

import argparse

from mcuforge.errors import MCUForgeError


def patch_hint(g, args: argparse.Namespace, board) -> str:
    """Whether patch-based inference would make the SRAM fit (tried, not guessed)."""
    from mcuforge.engine import compile_graph

    try:
        trial = compile_graph(g, float_io=args.float_io, patch="auto", max_mac_overhead=args.max_mac_overhead)
    except MCUForgeError:
        return ""
    if trial.patch is None or trial.patch.plan is None:
        return "; --patch auto finds no patch plan with a smaller peak"
    peak = trial.project.memory.arena_bytes
    verdict = "fits: add --patch auto" if peak <= board.sram else f"still {peak - board.sram:,} B too many"
    return f"; with --patch auto the peak is {peak:,} B ({verdict})"


def patch_spec(args: argparse.Namespace):
    from mcuforge.patch.plan import parse_patch

    return parse_patch(args.patch)


def patch_summary(p: dict) -> str:
    if p["split"] is None:
        return f"patch-based inference: no node range can run patch by patch; per layer, peak {p['per_layer_peak_bytes']:,} B"
    what = (
        f"nodes {p['start']}..{p['split']} in a {p['grid'][0]}x{p['grid'][1]} grid, peak {p['patch_peak_bytes']:,} B "
        f"(per layer {p['per_layer_peak_bytes']:,} B), MAC overhead {p['mac_overhead']:.1%}"
    )
    return f"patch-based inference: {what}" + ("" if p["used"] else "; not used: per layer needs no more SRAM")


def add_patch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--patch",
        default="none",
        metavar="auto|none|SPLIT:GRID",
        help="patch-based inference (MCUNetV2): run the first layers patch by patch. auto: choose the split and grid "
        "with the smallest peak SRAM (per layer when smaller); SPLIT:GRID: the index of the last node run in "
        "patches (as numbered in the report.json of a per-layer compile) and the grid, N or RxC (default none)",
    )
    p.add_argument(
        "--max-mac-overhead",
        type=float,
        default=0.2,
        metavar="F",
        help="--patch auto: most extra MACs the recomputed halos may cost, as a fraction of the model's (default 0.2)",
    )
