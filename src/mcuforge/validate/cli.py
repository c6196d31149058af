"""`mcuforge validate`: the command line of validate/run.py. Exit code 0 when every
backend agrees with the first on every output byte, 1 when they disagree (as `run
--compare`), 2 for bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mcuforge.errors import InputError
from mcuforge.validate.backends import BACKENDS


def _input_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--input-range must be two numbers LO,HI (e.g. -1,1), not {text!r}") from None
    if not hi > lo:
        raise InputError(f"--input-range must run from low to high, not {lo}..{hi}")
    return lo, hi


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="accuracy of an int8 classifier on a data set with several backends, and whether they agree byte for byte",
    )
    p.add_argument(
        "model", help="an int8 .tflite classifier (class names from its metadata or MODEL.labels.txt, when present)"
    )
    p.add_argument("--data", required=True, help="data spec: fashion-mnist, folder:PATH or npz:PATH")
    p.add_argument("--split", choices=["test", "val"], default="test", help="split to measure on (default test)")
    p.add_argument(
        "--backend",
        default="ref",
        metavar="B,B,...",
        help=f"comma-separated, from {', '.join(BACKENDS)} (default ref); the first is the one the others are compared with",
    )
    p.add_argument("--limit", type=int, help="only the first N images of the split")
    p.add_argument(
        "--board",
        help="board the QEMU firmware is linked for (default STM32H743 for qemu-m7, NUCLEO-L4R5ZI for qemu-m4)",
    )
    p.add_argument("--sram", type=int, help="override the board's SRAM in bytes (QEMU backends)")
    p.add_argument("--flash", type=int, help="override the board's Flash in bytes (QEMU backends)")
    p.add_argument(
        "--split-seed",
        type=int,
        help="seed of the train/val/test split (default: the model's, from its metadata, else 0)",
    )
    p.add_argument(
        "--input-range",
        metavar="LO,HI",
        help="map pixels to LO..HI and quantise with the model's input scale (default: int8 = pixel - 128)",
    )
    p.add_argument("--confusion", metavar="PNG", help="draw the first backend's confusion matrix")
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from mcuforge.validate.report import format_result, plot_confusion
    from mcuforge.validate.run import validate

    if args.confusion is not None:
        png = Path(args.confusion)
        if png.suffix.lower() != ".png":
            raise InputError(f"--confusion must name a .png file, not {args.confusion}")
        if not png.resolve().parent.is_dir():
            raise InputError(f"the folder of {args.confusion} does not exist")
    result = validate(
        args.model,
        args.data,
        split=args.split,
        backends=args.backend,
        limit=args.limit,
        board=args.board,
        sram=args.sram,
        flash=args.flash,
        split_seed=args.split_seed,
        input_range=_input_range(args.input_range),
        progress=True,
    )
    if args.confusion is not None:
        plot_confusion(result, args.confusion)
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
    else:
        print(format_result(result))
        if args.confusion is not None:
            print(f"wrote {args.confusion}")
    return 0 if result.identical else 1
