"""The latency model of `mcuforge search --max-ms` against QEMU's exact instruction
counts: for each (board, space), the per-kernel model is fitted to --fit networks of the
space and predicts --test other networks it never saw; the table gives the prediction
errors of the fit (leave one out) and of the unseen networks, and the predicted and
counted milliseconds at the board's clock (one instruction per cycle).

    .venv/bin/python benchmarks/latency.py [--fit 8] [--test 8] [--json OUT]

Target (issue 12): within 5% of QEMU on the final model; nas/search.py checks that on
every search's final models (latency_check in search.json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

CASES = [  # board, width, resolution, classes, channels
    ("STM32L432KC", 0.3, 56, 10, 1),
    ("STM32F746", 0.5, 64, 10, 3),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", type=int, default=8, help="networks the model is fitted to")
    ap.add_argument("--test", type=int, default=8, help="unseen networks it predicts")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args(argv)

    from mcuforge.hw.boards import get_board
    from mcuforge.nas import latency as L
    from mcuforge.nas.export import export_graph
    from mcuforge.nas.profile import EngineProfiler
    from mcuforge.nas.space import BlockSpace
    from mcuforge.nas.supernet import random_arch, smallest

    rows = []
    for board_name, width, res, classes, channels in CASES:
        board = get_board(board_name, sram=2 << 20, flash=4 << 20)  # room for any network: counts do not depend on it
        space = BlockSpace(width=width, resolution=res, num_classes=classes, in_channels=channels)
        rng = np.random.default_rng(args.seed)
        archs = [smallest(space)] + [random_arch(space, rng) for _ in range(args.fit - 1)]
        t0 = time.monotonic()
        graphs = [(f"fit{k}", export_graph(a.config(space, channels, classes), k)) for k, a in enumerate(archs)]
        model, loo = L.fit_model(graphs, board)
        fit_s = time.monotonic() - t0
        prof = EngineProfiler()
        unseen = []
        for k in range(args.test):
            cfg = random_arch(space, rng).config(space, channels, classes)
            m, _ = L.measure(export_graph(cfg, 1000 + k), board, f"test{k}")
            c = L.check(model, m)
            c["search_predicted_ms"] = L.config_ms(prof, model, cfg)
            unseen.append(c)
        rows.append({"board": board.name, "core": board.core, "mhz": board.mhz, "space": f"w{width:g}-r{res}",
                     "fit_networks": len(loo), "fit_seconds": round(fit_s, 1), "leave_one_out": loo, "unseen": unseen})  # fmt: skip

    print(
        f"\nlatency model vs QEMU instruction counts (fit {args.fit} networks, predict {args.test} unseen; seed {args.seed})\n"
    )
    print("| board (core, MHz) | space | fit s | leave-one-out max abs error | unseen max abs error | unseen mean abs error "
          "| unseen ms, QEMU (min-max) | same as search's prediction |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---|---|")
    for r in rows:
        loo = max(abs(c["error"]) for c in r["leave_one_out"])
        errs = [abs(c["error"]) for c in r["unseen"]]
        ms = [c["measured_ms"] for c in r["unseen"]]
        same = all(abs(c["search_predicted_ms"] - c["predicted_ms"]) < 1e-9 for c in r["unseen"])
        print(f"| {r['board']} ({r['core']}, {r['mhz']}) | {r['space']} | {r['fit_seconds']:.0f} | {100 * loo:.2f}% "
              f"| {100 * max(errs):.2f}% | {100 * np.mean(errs):.2f}% | {min(ms):.1f}-{max(ms):.1f} | {'yes' if same else 'NO'} |")  # fmt: skip
    worst = max(abs(c["error"]) for r in rows for c in r["unseen"])
    print(f"\ntarget: within 5% of QEMU: {'yes' if worst <= 0.05 else 'NO'} (worst unseen {100 * worst:.2f}%)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
