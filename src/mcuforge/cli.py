"""The `mcuforge` command: parse, call, print. Errors a user can cause exit with one
sentence and their code (2 for bad input), never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mcuforge import __version__
from mcuforge.errors import InputError, MCUForgeError


def _load_model(path: str):
    from mcuforge.frontend.tflite_read import load

    return load(path)


def _load_input(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input file {path} does not exist")
    try:
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"input file {path} is not a readable .npy array ({e})") from None
    if isinstance(arr, np.lib.npyio.NpzFile):
        raise InputError(f"input file {path} is an .npz archive; pass one .npy file per model input")
    return arr


def _check_output_path(path: str, n_outputs: int, force: bool) -> Path:
    p = Path(path)
    if p.suffix not in (".npy", ".npz"):
        raise InputError(f"output file {path} must end in .npy or .npz")
    if n_outputs > 1 and p.suffix != ".npz":
        raise InputError(f"the model has {n_outputs} outputs; name an .npz file for --output")
    if p.exists() and not force:
        raise InputError(f"output file {path} already exists; pass --force to overwrite it")
    if not p.parent.exists():
        raise InputError(f"the folder of output file {path} does not exist")
    return p


def _save_outputs(p: Path, outputs: list[np.ndarray]) -> None:
    if p.suffix == ".npz":
        np.savez(p, **{f"out{i}": y for i, y in enumerate(outputs)})
    else:
        np.save(p, outputs[0])


def cmd_inspect(args: argparse.Namespace) -> int:
    from mcuforge.inspect import format_summary, summary

    info = summary(_load_model(args.model))
    print(json.dumps(info, indent=2) if args.json else format_summary(info))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from mcuforge.ref.interpreter import check_inputs, run

    g = _load_model(args.model)
    inputs = check_inputs(g, [_load_input(p) for p in args.input])
    out_path = _check_output_path(args.output, len(g.outputs), args.force)
    outputs = run(g, inputs)
    _save_outputs(out_path, outputs)
    for i, y in enumerate(outputs):
        flat = y.reshape(-1)
        preview = " ".join(str(v) for v in flat[:8]) + (" ..." if flat.size > 8 else "")
        print(f"output {i}: {'x'.join(map(str, y.shape))} {y.dtype}: {preview}")
    print(f"wrote {out_path}")
    if args.compare == "tflm":
        from mcuforge.oracle.compare import compare_with_tflm

        result = compare_with_tflm(Path(args.model).read_bytes(), g, inputs, outputs)
        print(f"compare with TF-Lite Micro: {result.message}")
        return 0 if result.identical else 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcuforge", description="Deep learning on microcontrollers: an MCUNet toolkit.")
    parser.add_argument("--version", action="version", version=f"mcuforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="show a model's inputs, outputs, per-node table and totals")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("run", help="run a model on .npy inputs and write its outputs")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument("--input", action="append", required=True, metavar="X.npy", help="one per model input, in order")
    p.add_argument("--output", required=True, metavar="Y.npy|Y.npz", help="outputs (.npz with out0, out1, ... when several)")
    p.add_argument("--backend", choices=["ref"], default="ref", help="executor (default: ref, the NumPy reference)")
    p.add_argument("--compare", choices=["tflm"], help="also run TF-Lite Micro and check every output is identical")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MCUForgeError as e:
        print(f"mcuforge: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("mcuforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
