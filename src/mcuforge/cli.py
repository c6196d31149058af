"""The `mcuforge` command: parse, call, print. Errors a user can cause exit with one
sentence and their code (2 for bad input), never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from mcuforge import __version__
from mcuforge.errors import InputError, MCUForgeError
from mcuforge.hw.cli import add_board_args, board_from_args, cmd_boards
from mcuforge.patch.cli import add_patch_args, patch_hint, patch_spec, patch_summary


def _load_model(path: str):
    from mcuforge.frontend.tflite_read import load

    return load(path)


def _check_output_path(path: str, n_outputs: int, force: bool) -> Path:
    p = Path(path)
    if p.suffix not in (".npy", ".npz"):
        raise InputError(f"output file {path} must end in .npy or .npz")
    if n_outputs > 1 and p.suffix != ".npz":
        raise InputError(f"the model has {n_outputs} outputs; name an .npz file for --output")
    if p.exists() and not force:
        raise InputError(f"output file {path} already exists; pass --force to overwrite it")
    if p.is_dir():
        raise InputError(f"output file {path} is a folder")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise InputError(f"the folder of output file {path} does not exist")
    if not os.access(p if p.exists() else parent, os.W_OK):
        raise InputError(f"cannot write output file {path}: permission denied")
    return p


def _save_outputs(p: Path, outputs: list[np.ndarray]) -> None:
    try:
        if p.suffix == ".npz":
            np.savez(p, **{f"out{i}": y for i, y in enumerate(outputs)})
        else:
            np.save(p, outputs[0])
    except OSError as e:
        raise InputError(f"cannot write output file {p}: {e.strerror or e}") from None


def cmd_inspect(args: argparse.Namespace) -> int:
    from mcuforge.model_info import format_summary, summary

    info = summary(_load_model(args.model), engine=args.engine)
    print(json.dumps(info, indent=2) if args.json else format_summary(info))
    return 0


def _run_backend(g, inputs: list[np.ndarray], args: argparse.Namespace) -> list[np.ndarray]:
    if args.backend == "ref":
        from mcuforge.ref.interpreter import run

        return run(g, inputs)
    from mcuforge.engine import compile_graph
    from mcuforge.ref.boundary import from_model_outputs, to_model_inputs

    compiled = compile_graph(g, patch=patch_spec(args), max_mac_overhead=args.max_mac_overhead)
    model_inputs = to_model_inputs(compiled.io, inputs)
    if args.backend == "c":
        from mcuforge.targets.host import run_c

        return from_model_outputs(compiled.io, run_c(compiled.graph, model_inputs, project=compiled.project))
    from mcuforge.targets.qemu import backend_board, run_qemu

    board = backend_board(args.backend, args.board, args.sram, args.flash)
    print(f"running on QEMU for {board.name} ({board.core})")
    return from_model_outputs(compiled.io, run_qemu(compiled.project, board, model_inputs))


def cmd_run(args: argparse.Namespace) -> int:
    from mcuforge.inputs import load_inputs
    from mcuforge.validate.cli import _input_range

    g = _load_model(args.model)
    records, how = load_inputs(g, args.input, _input_range(args.input_range))
    out_path = _check_output_path(args.output, len(g.outputs), args.force)
    for i, h in enumerate(how):
        if h != "as given":
            print(f"input {i}: {h}")
    runs = [_run_backend(g, xs, args) for xs in records]
    outputs = runs[0] if len(runs) == 1 else [np.stack([r[k] for r in runs]) for k in range(len(g.outputs))]
    _save_outputs(out_path, outputs)
    batch = "" if len(runs) == 1 else f" ({len(runs)} records, stacked on a new first axis)"
    for i, y in enumerate(outputs):
        flat = y.reshape(-1)
        preview = " ".join(str(v) for v in flat[:8]) + (" ..." if flat.size > 8 else "")
        print(f"output {i}: {'x'.join(map(str, y.shape))} {y.dtype}: {preview}")
    print(f"wrote {out_path}{batch}")
    if args.backend.startswith("qemu"):
        from mcuforge.oracle.compare import compare_outputs
        from mcuforge.ref.interpreter import run

        same = [all(compare_outputs(r, run(g, xs))) for r, xs in zip(runs, records)]
        bad = [k for k, ok in enumerate(same) if not ok]
        print(
            "compare with the reference executor: "
            + ("identical" if not bad else f"records {', '.join(map(str, bad))} differ")
        )
        if bad:
            return 1
    if args.compare == "tflm":
        from mcuforge.oracle.compare import compare_with_tflm

        data = Path(args.model).read_bytes()
        results = [compare_with_tflm(data, g, xs, r) for r, xs in zip(runs, records)]
        bad = [r for r in results if not r.identical]
        print(f"compare with TF-Lite Micro: {results[0].message if not bad else bad[0].message}")
        return 0 if not bad else 1
    return 0


def cmd_quantize_input(args: argparse.Namespace) -> int:
    """The raw bytes the C runner (main_host, the firmware) reads for one model input."""
    from mcuforge.inputs import load_input
    from mcuforge.passes import fold_io
    from mcuforge.ref.boundary import to_model_inputs
    from mcuforge.validate.cli import _input_range

    g = _load_model(args.model)
    if not 0 <= args.index < len(g.inputs):
        raise InputError(f"the model has {len(g.inputs)} input(s); --index must be 0..{len(g.inputs) - 1}")
    out = Path(args.output)
    if out.exists() and not args.force:
        raise InputError(f"{args.output} already exists; pass --force to overwrite it")
    if not out.resolve().parent.is_dir():
        raise InputError(f"the folder of {args.output} does not exist")
    x, how = load_input(g, args.index, args.x, _input_range(args.input_range))
    if len(x) != 1:
        raise InputError(f"{args.x} holds {len(x)} records; the C runner reads one record per file")
    io = fold_io(g)
    inputs = [np.zeros(g.tensors[n].shape, g.tensors[n].dtype) for n in g.inputs]
    inputs[args.index] = x[0]
    y = to_model_inputs(io, inputs)[args.index]  # the compiled model's input: a boundary QUANTIZE applied
    data = np.ascontiguousarray(y).astype(y.dtype.newbyteorder("<")).tobytes()
    try:
        out.write_bytes(data)
    except OSError as e:
        raise InputError(f"cannot write {args.output}: {e.strerror or e}") from None
    t = io.graph.tensors[io.graph.inputs[args.index]]
    info = {"output": str(out), "bytes": len(data), "dtype": str(y.dtype), "shape": list(t.shape), "how": how}
    print(
        json.dumps(info)
        if args.json
        else f"wrote {out}: {len(data):,} B, {y.dtype} {'x'.join(map(str, t.shape))} ({how})"
    )
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from mcuforge.engine import compile_graph
    from mcuforge.outdir import check_outdir, staged
    from mcuforge.report.report import build_report, misfit_message, write_report
    from mcuforge.targets.host import write_project

    board = board_from_args(args)
    if args.detect:
        from mcuforge.apps.detect_cli import detection_graph

        _, g = detection_graph(args.model, args.detect, args)
    else:
        g = _load_model(args.model)
    out = check_outdir(args.output, args.force)
    compiled = compile_graph(g, float_io=args.float_io, patch=patch_spec(args), max_mac_overhead=args.max_mac_overhead)
    compiled = compiled.for_board(board, args.kernels)
    report = build_report(compiled, board)
    with staged(out) as tmp:  # the folder appears complete, or stays as it was
        write_project(compiled.project, tmp)
        write_report(report, tmp)
    print(f"wrote C project and report to {out}/ for {board.describe()}, {_kernels_said(compiled.project)}")
    if compiled.patch is not None and compiled.patch.mode != "none":
        print(patch_summary(report["patch"]))
    print(
        f"peak SRAM {report['peak_sram_bytes']:,} B, Flash {report['flash_bytes']:,} B, "
        f"{report['macs']:,} MACs on {board.name} ({board.sram:,} B SRAM, {board.flash:,} B Flash)"
    )
    problem = misfit_message(report)
    if problem:
        if report["peak_sram_bytes"] > board.sram and args.patch == "none":
            problem += patch_hint(g, args, board)
        print(f"mcuforge: does not fit: {problem}", file=sys.stderr)
        return 3
    return 0




def _kernels_said(project) -> str:
    if not project.optimised:
        return "portable kernels"
    return f"ARMv7E-M kernels in {', '.join(project.optimised)} (portable C elsewhere and on the host)"








def cmd_bench(args: argparse.Namespace) -> int:
    from mcuforge.bench import bench_model

    result = bench_model(args.model, _load_model(args.model), patch_spec(args), args.max_mac_overhead)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        how = (
            ""
            if result["patch"] is None
            else (" with patches" if result["patch"]["used"] else " (per layer: no patch plan is smaller)")
        )
        print(
            f"{result['model']}: mcuforge peak SRAM {result['peak_sram_bytes']:,} B{how}, "
            f"TF-Lite Micro minimum arena {result['tflm_arena_bytes']:,} B, ratio {result['ratio']:.3f}"
        )
        print(f"TF-Lite Micro's messages while its arena was searched: {result['tflm_log']}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from mcuforge.engine import compile_graph
    from mcuforge.ref.boundary import to_model_inputs
    from mcuforge.ref.interpreter import check_inputs
    from mcuforge.targets.profile import format_profile, profile_model

    board = board_from_args(args)
    g = _load_model(args.model)
    compiled = compile_graph(g, patch=patch_spec(args), max_mac_overhead=args.max_mac_overhead)
    inputs = None
    if args.input:
        from mcuforge.inputs import load_inputs

        records, _ = load_inputs(g, args.input)
        if len(records) != 1:
            raise InputError(f"profile runs one record; the inputs hold {len(records)}")
        inputs = to_model_inputs(compiled.io, check_inputs(g, records[0]))
    result = profile_model(compiled, board, inputs)
    print(json.dumps(result, indent=2) if args.json else format_profile(result))
    if not args.json and compiled.patch is not None and compiled.patch.mode != "none":
        print(patch_summary(compiled.patch.as_dict()))
    return 0 if result["matches_reference"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcuforge", description="Deep learning on microcontrollers: an MCUNet toolkit."
    )
    parser.add_argument("--version", action="version", version=f"mcuforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="show a model's inputs, outputs, per-node table and totals")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument(
        "--engine",
        action="store_true",
        help="the graph the engine runs, numbered as report.json, profile and --patch SPLIT:GRID number it (default: the file's)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("run", help="run a model on .npy inputs and write its outputs")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="X",
        help="one per model input, in order: .npy of the input's dtype, float .npy (quantised as TFLite does), "
        "an image (PNG/JPEG/BMP, resized), or a batch of arrays (one more leading dimension)",
    )
    p.add_argument(
        "--output", required=True, metavar="Y.npy|Y.npz", help="outputs (.npz with out0, out1, ... when several)"
    )
    p.add_argument(
        "--backend",
        choices=["ref", "c", "qemu-m7", "qemu-m4"],
        default="ref",
        help="ref: the NumPy reference executor (default); c: the generated C, built with gcc on this machine; "
        "qemu-m7/qemu-m4: Cortex-M firmware run under QEMU, checked against the reference executor",
    )
    p.add_argument(
        "--board",
        help="board the QEMU firmware is linked for (default STM32H743 for qemu-m7, NUCLEO-L4R5ZI for qemu-m4)",
    )
    p.add_argument("--sram", type=int, help="override the board's SRAM in bytes (QEMU backends)")
    p.add_argument("--flash", type=int, help="override the board's Flash in bytes (QEMU backends)")
    p.add_argument("--compare", choices=["tflm"], help="also run TF-Lite Micro and check every output is identical")
    p.add_argument(
        "--input-range",
        metavar="LO,HI",
        help="image inputs: the float range the network was trained on (default: pixel - 128)",
    )
    add_patch_args(p)
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compile", help="compile a model into a self-contained C project with a static memory plan")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the C project and report")
    add_board_args(p)
    p.add_argument(
        "--float-io", action="store_true", help="keep the boundary QUANTIZE/DEQUANTIZE (float input/output buffers)"
    )
    p.add_argument(
        "--kernels",
        choices=["auto", "portable", "armv7em"],
        default="auto",
        help="auto (default): the ARMv7E-M kernels on cores with the DSP extension (M4, M7, M33, M55), portable C otherwise",
    )
    p.add_argument(
        "--float-abi",
        choices=["hard", "softfp", "soft"],
        help="override the board's float ABI (default: hard with an FPU)",
    )
    add_patch_args(p)
    p.add_argument(
        "--detect",
        metavar="CONFIG.json",
        help="end the model with detection post-processing (YOLO heads: decode + NMS in C); its output is then "
        "the int32 box table (x0, y0, x1, y1 in 1/256 input pixels, score in Q30, label) of mcuforge detect",
    )
    from mcuforge.apps.detect_cli import add_detect_args

    add_detect_args(p)
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("quantize-input", help="an image or .npy as the raw int8 bytes the C runner reads (in0.bin)")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument("x", metavar="X", help="an image (PNG/JPEG/BMP) or an .npy array (float values are quantised)")
    p.add_argument("-o", "--output", required=True, metavar="IN.bin", help="raw bytes of the compiled model's input")
    p.add_argument("--index", type=int, default=0, help="which model input (default 0)")
    p.add_argument(
        "--input-range",
        metavar="LO,HI",
        help="images: the float range the network was trained on (default: pixel - 128)",
    )
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_quantize_input)

    p = sub.add_parser("bench", help="our peak SRAM next to TF-Lite Micro's minimum arena for the same model")
    p.add_argument("model", help="an int8 .tflite model")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_patch_args(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "profile", help="executed instructions per layer, Flash, SRAM and stack of the model's firmware under QEMU"
    )
    p.add_argument("model", help="an int8 .tflite model")
    add_board_args(p)
    p.add_argument(
        "--input", action="append", metavar="X.npy", help="one per model input, in order (default: seeded random data)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_patch_args(p)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("boards", help="list the boards mcuforge knows")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_boards)
    from mcuforge.train.cli import add_parser as add_train_parser

    add_train_parser(sub)
    from mcuforge.validate.cli import add_parser

    add_parser(sub)
    from mcuforge.nas.search_cli import add_parser as add_search_parser

    add_search_parser(sub)
    from mcuforge.nas.cli import add_parsers as add_nas_parsers

    add_nas_parsers(sub)
    from mcuforge.apps.detect_cli import add_parser as add_detect_parser

    add_detect_parser(sub)
    from mcuforge.coverage_cli import add_parser as add_ops_parser

    add_ops_parser(sub)
    from mcuforge.data.synth_cli import add_parser as add_synth_parser

    add_synth_parser(sub)
    from mcuforge.apps.listen_cli import add_parser as add_listen_parser

    add_listen_parser(sub)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised so that cleanup (staged output folders, run folders) runs."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `search --nproc` runs the same command under torchrun
    previous = (
        signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    )
    try:
        return args.func(args)
    except MCUForgeError as e:
        print(f"mcuforge: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("mcuforge: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("mcuforge: terminated", file=sys.stderr)
        return 143
    except OSError as e:  # the machine, not the model: a full disk, a file another program removed
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"mcuforge: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
