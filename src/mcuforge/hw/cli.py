"""The board options every command shares (--board NAME|FILE.toml, --sram, --flash,
--core, --mhz) and `mcuforge boards`."""

from __future__ import annotations

import argparse
import json

from mcuforge.errors import InputError


def board_from_args(args: argparse.Namespace):
    from dataclasses import replace

    from mcuforge.hw.boards import board_from_toml, custom_board, get_board

    abi = getattr(args, "float_abi", None)
    core, mhz = getattr(args, "core", None), getattr(args, "mhz", None)
    if core is not None:
        if args.sram is None or args.flash is None or mhz is None:
            raise InputError("a custom board (--core) needs --sram, --flash and --mhz too")
        board = custom_board(core, args.sram, args.flash, mhz)
        return board if abi is None else replace(board, float_abi=abi)
    if args.board.lower().endswith(".toml"):
        board = board_from_toml(args.board)
        for key, value in (("sram", args.sram), ("flash", args.flash), ("float_abi", abi), ("mhz", mhz)):
            if value is not None:
                board = replace(board, **{key: value})
        return board
    board = get_board(args.board, args.sram, args.flash, abi)
    return board if mhz is None else replace(board, mhz=mhz)


def add_board_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--board",
        default="STM32F746",
        help="target board or dev-board name (default STM32F746; see `mcuforge boards`), or a board .toml file",
    )
    p.add_argument("--sram", type=int, help="override the board's SRAM in bytes")
    p.add_argument("--flash", type=int, help="override the board's Flash in bytes")
    p.add_argument(
        "--core", help="a custom board: its core (cortex-m0plus, -m3, -m4, -m7, -m33, -m55), with --sram --flash --mhz"
    )
    p.add_argument("--mhz", type=int, help="the board's clock in MHz (custom boards; overrides a named board's)")


def cmd_boards(args: argparse.Namespace) -> int:
    from mcuforge.hw.boards import BOARDS

    rows = [
        {"name": b.name, "core": b.core, "sram_bytes": b.sram, "flash_bytes": b.flash, "mhz": b.mhz, "fpu": b.fpu,
         "float_abi": b.float_abi, "dsp": b.dsp, "qemu_machine": b.qemu_machine, "aliases": list(b.aliases)}
        for b in BOARDS.values()
    ]  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        fp = r["fpu"] or "no FPU"
        also = f"  also: {', '.join(r['aliases'])}" if r["aliases"] else ""
        print(
            f"{r['name']:14} {r['core']:13} {r['sram_bytes'] // 1024:4} KB SRAM {r['flash_bytes'] // 1024:5} KB Flash {r['mhz']:4} MHz  {fp:12}{also}"
        )
    print(
        "custom boards: --core CORE --sram B --flash B --mhz MHZ, or --board FILE.toml (name, core, sram, flash, mhz[, fpu, float_abi, flash_origin, ram_origin])"
    )
    return 0
