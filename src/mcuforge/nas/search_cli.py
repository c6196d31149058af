"""`mcuforge search`: the command line of nas/search.py, and `--nproc N`, which starts
the same command under torchrun with N processes on this machine."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "search", help="find the most accurate int8 network that fits a board (TinyNAS), with baselines, and deploy it"
    )
    p.add_argument("--data", help="data spec: fashion-mnist, folder:PATH or npz:PATH")
    p.add_argument("--board", help="board whose SRAM and Flash are the budget (see `mcuforge boards`)")
    p.add_argument("--sram", type=int, help="SRAM budget in bytes (the engine's peak: arena with scratch)")
    p.add_argument("--flash", type=int, help="Flash budget in bytes (the model's constants)")
    p.add_argument(
        "-o", "--output", required=True, metavar="RUN", help="run folder (config, checkpoints, models, report)"
    )
    p.add_argument(
        "--preset", choices=["quick", "default", "full"], default=None, help="size of every phase (default: default)"
    )
    p.add_argument("--seed", type=int, help="seed of sampling, training and evolution (default 0)")
    p.add_argument("--split-seed", type=int, help="seed of the train/val/test split (default 0)")
    p.add_argument("--val-size", type=int, help="validation images cut from the training part")
    p.add_argument("--resolutions", help="comma-separated resolutions for stage 1 (default: 0.5x-2x the data's size)")
    p.add_argument("--channels", type=int, choices=[1, 3], help="input channels (default: the data's)")
    p.add_argument(
        "--max-ms",
        type=float,
        help="latency bound in milliseconds at the board's clock (needs --board with a Cortex-M4/M7): a per-kernel "
        "instruction model fitted to QEMU counts of networks of the space, checked on the final models",
    )
    p.add_argument(
        "--patch",
        action="store_true",
        default=None,
        help="allow patch-based inference (MCUNetV2): every SRAM figure (stage 1, evolution, random search, the scaled "
        "MobileNetV2, the final models) is that of `compile --patch auto`, the smaller of per-layer and the best patch "
        "plan with at most 20%% more MACs; networks that do not fit per layer cost a patch search each (stage 1 slower)",
    )
    p.add_argument(
        "--qemu",
        choices=["qemu-m4", "qemu-m7", "none"],
        help="QEMU backend that validates the models (default: the board's core, else qemu-m4)",
    )
    p.add_argument(
        "--nproc", type=int, default=1, help="processes on this machine (torch.distributed under torchrun; default 1)"
    )
    p.add_argument(
        "--threads", type=int, help="PyTorch threads per process (default: the cores divided among the processes)"
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="auto",
        help="training device (default auto: CUDA when present)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the search in RUN (after an interruption, even kill -9)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_search)


def _resolutions(text: str | None) -> list[int] | None:
    from mcuforge.errors import InputError

    if text is None:
        return None
    try:
        res = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--resolutions must be comma-separated whole numbers, not {text!r}") from None
    if not res or min(res) < 8:
        raise InputError(f"--resolutions {text!r}: give one or more resolutions of 8 pixels or more")
    return res


def _launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run this command again under torchrun with args.nproc processes."""
    cores = os.cpu_count() or 1
    threads = args.threads or max(1, cores // args.nproc)
    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        rest.append(a)
    if args.threads is None:
        rest += ["--threads", str(threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={args.nproc}",
        "-m",
        "mcuforge.cli",
        *rest,
    ]
    return subprocess.call(cmd, env=env)


def cmd_search(args: argparse.Namespace) -> int:
    from mcuforge.errors import InputError

    if args.nproc < 1:
        raise InputError(f"--nproc must be at least 1, not {args.nproc}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be at least 1, not {args.threads}")
    if args.nproc > 1 and "LOCAL_RANK" not in os.environ:
        return _launch(args, args.argv)  # rank 0 prints the result
    from mcuforge.nas.search_main import search

    result = search(args.data, args.output, sram=args.sram, flash=args.flash, board=args.board, preset=args.preset, seed=args.seed,
                    resume=args.resume, threads=args.threads, device=args.device, progress=not args.json,
                    split_seed=args.split_seed, val_size=args.val_size, resolutions=_resolutions(args.resolutions),
                    channels=args.channels, qemu=args.qemu, max_ms=args.max_ms, patch=args.patch)  # fmt: skip
    if result is None:  # a rank other than 0
        return 0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(summary(result))
    return 0


def summary(r: dict[str, Any]) -> str:
    from mcuforge.nas.search_report import table

    lines = [f"search on {r['data']} within {r['sram_budget_bytes']:,} B SRAM / {r['flash_budget_bytes']:,} B Flash "
             f"(preset {r['preset']}, {r['minutes']:.1f} min): test split", *table(r)]  # fmt: skip
    lines.append(f"winner: peak SRAM {r['peak_sram_bytes']:,} B, Flash {r['flash_bytes']:,} B (constants {r['constants_bytes']:,} B: "
                 f"compile {'the same' if r['memory_matches_compile'] else 'DIFFERENT'}; code {r['flash_bytes'] - r['compile_constants_bytes']:,} B); "
                 f"backends identical: {'yes' if r['identical'] else 'NO'}")  # fmt: skip
    if r.get("patch"):
        from mcuforge.nas.search_report import patch_line

        lines.append(f"winner patch plan (--patch auto): {patch_line(r['patch_plan'])}")
    if r.get("max_ms") is not None:
        e = r["latency"]["models"]["winner"]["error"]
        lines.append(f"winner latency: {r['predicted_ms']:.2f} ms predicted, {r['qemu_ms']:.2f} ms from QEMU's count ({100 * e:+.2f}%), "
                     f"bound {r['max_ms']:g} ms at {r['latency']['mhz']} MHz")  # fmt: skip
    lines.append(f"wrote {r['model']} and {Path(r['model']).parent.parent}/report.md")
    return "\n".join(lines)
