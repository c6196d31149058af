"""`mcuforge ops`: every TF-Lite Micro builtin operator with mcuforge's status for it, and
how many of those that run int8 tensors are supported (see mcuforge/coverage.py)."""

from __future__ import annotations

import argparse
import json


def cmd_ops(args: argparse.Namespace) -> int:
    from mcuforge.coverage import TFLM_BUILTINS, counts, extra_ops, rows, summary_line

    table = rows()
    if args.json:
        ops = [{"name": n, "status": s, "note": note, "int8": TFLM_BUILTINS[n].int8} for n, s, note in table]
        extra = [{"name": n, "note": note} for n, note in extra_ops()]
        print(json.dumps({"operators": ops, **counts(), "mcuforge_only": extra}, indent=2))
        return 0
    width = max(len(n) for n, _, _ in table)
    for name, s, note in table:
        print(f"{name:{width}}  {s:14}  {note}".rstrip())
    for name, note in extra_ops():
        print(f"{name:{width}}  {'supported':14}  not a TF-Lite Micro builtin: {note}".rstrip())
    print(summary_line())
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("ops", help="TF-Lite Micro's builtin operators: supported, planned or not applicable")
    p.add_argument("--json", action="store_true", help="print JSON (keys operators, supported, int8_total)")
    p.set_defaults(func=cmd_ops)
