"""DDP against one process: the supernet that `mcuforge search` trains with 2 processes
(torchrun, gloo, one thread each, half of every batch per rank) against the one a single
process trains on whole batches, on Fashion-MNIST: validation accuracy (batch norm
re-estimated, as the evolution scores) of the largest, the smallest and 8 seeded random
subnets of the same space. Target (issue 12): within 0.5 points.

    .venv/bin/python benchmarks/ddp.py [--preset quick] [--budget 64:256] [--out build/bench/ddp] [--json OUT]

Both runs use the search's own phases (stage 1, data, supernet training, the scorer),
from fresh run folders under --out (an existing folder is resumed). Accuracy, not time,
is compared here, so other work on the machine changes the minutes, not the result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SUBNETS = 8


def _phases(out: Path, preset: str, sram: int, flash: int, rank: int, world: int) -> dict:
    import torch

    from mcuforge.nas.search import SearchRun
    from mcuforge.nas.search_main import prepare
    from mcuforge.nas.supernet import largest, random_arch, smallest

    given = {"data": "fashion-mnist", "sram": sram, "flash": flash, "preset": preset, "seed": 0}
    st = prepare(out, given, (out / "config.json").is_file() or rank > 0, rank == 0)
    torch.set_num_threads(max(1, 2 // world))
    run = SearchRun(out, st, None, "cpu", rank == 0, rank, world)
    t0 = time.monotonic()
    if world > 1:
        import torch.distributed as D

        box = [(run.stage1(), run.state["phases"]["code"]) if rank == 0 else None]
        D.broadcast_object_list(box, src=0)
        run.state["phases"]["space"], run.state["phases"]["code"] = box[0]
    else:
        run.stage1()
    space = run.space()
    run.load(space.resolution)
    run.supernet(space)  # trains it (or loads it on resume); run.scorer scores its subnets
    rng = np.random.default_rng(1234)
    archs = {"largest": largest(space), "smallest": smallest(space)}
    archs.update({f"random {i}": random_arch(space, rng) for i in range(SUBNETS)})
    scores = run.scorer(list(archs.values()))  # sharded across the ranks, gathered on all
    acc = {name: float(f) for name, f in zip(archs, scores)}
    return {"space": space.label, "accuracy": acc, "minutes": (time.monotonic() - t0) / 60,
            "history": run.state["phases"]["supernet"]["history"]}  # fmt: skip


def worker(args) -> int:
    import datetime

    import torch.distributed as D

    D.init_process_group("gloo", timeout=datetime.timedelta(hours=6))
    rank, world = D.get_rank(), D.get_world_size()
    try:
        r = _phases(Path(args.out) / "nproc2", args.preset, *args.bytes, rank, world)
        if rank == 0:
            (Path(args.out) / "nproc2.json").write_text(json.dumps(r, indent=1))
    finally:
        D.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="quick", choices=["quick", "default", "full"])
    ap.add_argument("--budget", default="64:256", help="KiB SRAM:KiB Flash")
    ap.add_argument("--out", default="build/bench/ddp")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sram_k, flash_k = (int(v) for v in args.budget.split(":"))
    args.bytes = (sram_k * 1024, flash_k * 1024)
    if args.worker:
        return worker(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    one = _phases(out / "nproc1", args.preset, *args.bytes, 0, 1)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           __file__, "--worker", "--preset", args.preset, "--budget", args.budget, "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, env=env)
    two = json.loads((out / "nproc2.json").read_text())
    print(f"\nsupernet of space {one['space']} (preset {args.preset}, budget {args.budget} KiB), Fashion-MNIST "
          "validation split, batch norm re-estimated per subnet\n")  # fmt: skip
    print("| subnet | 1 process x 2 threads | 2 processes x 1 thread (DDP) | difference |")
    print("|---|---:|---:|---:|")
    diffs = []
    for name, a in one["accuracy"].items():
        b = two["accuracy"][name]
        diffs.append(b - a)
        print(f"| {name} | {100 * a:.2f}% | {100 * b:.2f}% | {100 * (b - a):+.2f} |")
    worst = max(abs(d) for d in diffs)
    print(f"| mean | {100 * np.mean(list(one['accuracy'].values())):.2f}% | "
          f"{100 * np.mean(list(two['accuracy'].values())):.2f}% | {100 * np.mean(diffs):+.2f} |")  # fmt: skip
    print(f"\nlargest |difference| {100 * worst:.2f} points: within 0.5 {'yes' if worst <= 0.005 else 'NO'}; "
          f"minutes {one['minutes']:.1f} (1 process) and {two['minutes']:.1f} (2 processes)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"one": one, "two": two, "max_abs_diff": worst}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
