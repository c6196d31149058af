"""`mcuforge arch`, `space` and `zoo`: the MCUNet search space, search-space
optimisation and the model zoo from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mcuforge.errors import InputError
from mcuforge.hw.cli import add_board_args, board_from_args


def cmd_arch(args: argparse.Namespace) -> int:
    from mcuforge.nas.profile import profile
    from mcuforge.nas.space import load

    cfg = load(args.config)
    if args.resolution is not None:
        if args.resolution < 8:
            raise InputError(f"resolution {args.resolution} is too small; give at least 8 pixels")
        cfg = cfg.with_resolution(args.resolution)
    p = profile(cfg, board_from_args(args))
    if args.json:
        print(json.dumps(p.as_dict(), indent=2))
    else:
        print(f"{p.name} at {p.resolution}x{p.resolution}: {p.macs:,} MACs, {p.params:,} params")
        print(f"peak activation (MCUNet rule): {p.peak_activation_elements:,} elements")
        print(
            f"engine: peak SRAM {p.peak_sram_bytes:,} B, Flash constants {p.flash_bytes:,} B (code comes on top: `compile` "
            f"measures it); constants fit {p.board}: {'yes' if p.fits else 'no'}"
        )
    return 0


def cmd_space(args: argparse.Namespace) -> int:
    from mcuforge.nas.space_opt import SpaceSettings, optimise_spaces, plot

    board = board_from_args(args)
    for path in (args.json, args.plot):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise InputError(f"the folder of {path} does not exist")
    if args.samples < 1:
        raise InputError("--samples must be at least 1")
    if args.max_mflops is not None and not args.max_mflops > 0:
        raise InputError(f"--max-mflops must be a positive number (got {args.max_mflops})")
    grid = {}
    for what, text, kind in (("widths", args.widths, float), ("resolutions", args.resolutions, int)):
        if text is not None:
            try:
                grid[what] = tuple(kind(v) for v in text.split(","))
            except ValueError:
                raise InputError(f"--{what} must be a comma-separated list of numbers, not {text!r}") from None
    st = SpaceSettings(
        sram=board.sram, flash=board.flash, samples=args.samples, seed=args.seed, workers=args.workers,
        max_mflops=args.max_mflops, **grid,
    )  # fmt: skip
    search = optimise_spaces(st)
    ranked = sorted(search.spaces, key=lambda s: -s.mean_mflops_fit)[:5]
    print(f"{board.name}: {board.sram:,} B SRAM, {board.flash:,} B Flash; {args.samples} networks per space")
    for s in ranked:
        print(f"  {s.label:10} {s.fit_fraction:6.1%} fit, mean {s.mean_mflops_fit:8.2f} MFLOPs")
    best = search.best
    bound = "" if args.max_mflops is None else f" (at most {args.max_mflops:g} mean MFLOPs)"
    print(f"best space{bound}: {best.label}" if best else "no network of any space fits the board")
    if args.json:
        Path(args.json).write_text(json.dumps({"board": board.name, **search.as_json()}, indent=1) + "\n")
        print(f"wrote {args.json}")
    if args.plot:
        plot(search, args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    from mcuforge.nas import zoo

    board = board_from_args(args)
    if args.name is None:
        if args.tflite:
            raise InputError("--tflite needs a model name; see `mcuforge zoo`")
        rows = zoo.table(board)
        print(json.dumps([r.as_dict() for r in rows], indent=2) if args.json else zoo.format_table(rows, board))
        return 0
    cfg = zoo.get(args.name)
    if args.tflite:
        out = Path(args.tflite)
        if out.exists() and not args.force:
            raise InputError(f"{args.tflite} already exists; pass --force to overwrite it")
        if not out.resolve().parent.is_dir():
            raise InputError(f"the folder of {args.tflite} does not exist")
        size = zoo.write_tflite(args.name, out, seed=args.seed)
        print(
            f"wrote {out} ({size:,} B): {cfg.name} int8 at {cfg.resolution}x{cfg.resolution}, random weights (seed {args.seed})"
        )
        return 0
    row = [r for r in zoo.table(board) if r.profile.name == cfg.name]
    print(json.dumps(row[0].as_dict(), indent=2) if args.json else zoo.format_table(row, board))
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "arch", help="MACs, params, MCUNet peak activation and the engine's SRAM/Flash of an architecture config"
    )
    p.add_argument("config", help="architecture JSON (mcuforge-arch or MCUNet's ProxylessNAS format)")
    add_board_args(p)
    p.add_argument("--resolution", type=int, help="input resolution (default: the config's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_arch)

    p = sub.add_parser(
        "space", help="TinyNAS search-space optimisation: the width x resolution space that fits the board best"
    )
    add_board_args(p)
    p.add_argument("--samples", type=int, default=1000, help="networks sampled per space (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--widths", metavar="W,W,...", help="width multipliers (default 0.2,0.3,...,1.0)")
    p.add_argument("--resolutions", metavar="R,R,...", help="input resolutions (default 48,64,...,224)")
    p.add_argument("--max-mflops", type=float, help="choose among spaces whose fitting networks average at most this many MFLOPs")
    p.add_argument("--json", metavar="OUT", help="write spaces and best as JSON")
    p.add_argument("--plot", metavar="PNG", help="draw the FLOPs CDF of fitting networks per space")
    p.set_defaults(func=cmd_space)

    p = sub.add_parser("zoo", help="the MCUNet ImageNet models: figures, or one written as an int8 .tflite")
    p.add_argument("name", nargs="?", help="a zoo model (mcunet-in0..in4, mbv2-w0.35, proxyless-w0.3)")
    add_board_args(p)
    p.add_argument("--tflite", metavar="OUT", help="write the model as an int8 .tflite with seeded random weights")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    p.add_argument("--force", action="store_true", help="overwrite --tflite if it exists")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_zoo)
