"""`mcuforge listen MODEL --frontend PREPROCESSOR WAV`: keyword spotting on a WAV file,
streamed hop by hop through the front end and the network (apps/kws.py) on the
reference executor, the generated C or QEMU; prints the detections with their times."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mcuforge.errors import InputError


def _labels(model: str, given: str | None, k: int) -> list[str]:
    if given:
        labels = [v.strip() for v in given.split(",") if v.strip()]
    else:
        from mcuforge.frontend.metadata import model_info

        info = model_info(model)
        if info is None:
            raise InputError(f"{model} names no classes: pass --labels NAME,NAME,... ({k} names, in output order)")
        labels = list(info.labels)
    if len(labels) != k:
        raise InputError(f"the network gives {k} scores but {len(labels)} labels were given")
    return labels


def sequence_runner(backend: str, board: str | None = None):
    """A function (graph, steps) -> outputs per step for the backend, state carried."""
    if backend == "ref":
        from mcuforge.ref.interpreter import run_sequence

        return run_sequence
    from mcuforge.engine import compile_graph
    from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
    from mcuforge.targets.sequence import run_c_sequence, run_qemu_sequence

    qemu_board = None
    if backend.startswith("qemu-"):
        from mcuforge.targets.qemu import backend_board

        qemu_board = backend_board(backend, board)

    def run(g, steps):
        c = compile_graph(g)
        xs = [to_model_inputs(c.io, s) for s in steps]
        if qemu_board is None:
            ys = run_c_sequence(c.project.graph, xs, project=c.project)
        else:
            ys = run_qemu_sequence(c.project, qemu_board, xs)
        return [from_model_outputs(c.io, y) for y in ys]

    return run


def read_audio(path: str) -> np.ndarray:
    """A WAV file as 16 kHz mono int16 samples (any PCM width, channels and rate)."""
    from mcuforge.data.audio_resample import resample
    from mcuforge.data.audio_wav import read_wav

    p = Path(path)
    if not p.is_file():
        raise InputError(f"audio file {path} does not exist")
    pcm, rate = read_wav(p)
    return pcm if rate == 16000 else resample(pcm, rate, 16000)


def cmd_listen(args: argparse.Namespace) -> int:
    from mcuforge.apps.kws import RecognizerSettings, listen
    from mcuforge.frontend.tflite_read import load
    from mcuforge.validate.prepare import check_tools

    if args.frontend is None:
        raise InputError("listen needs the audio front end: --frontend PREPROCESSOR.tflite (int16 window in, feature frame out)")
    for what, path in (("model", args.model), ("front end", args.frontend)):
        if not Path(path).is_file():
            raise InputError(f"{what} {path} does not exist")
    st = RecognizerSettings(args.window_ms, args.threshold, args.suppression_ms, args.min_count)
    network, frontend = load(args.model), load(args.frontend)
    if args.backend != "ref":
        check_tools((args.backend,))
    k = network.tensors[network.outputs[0]].size
    labels = _labels(args.model, args.labels, k)
    pcm = read_audio(args.wav)
    r = listen(pcm, frontend, network, labels, sequence_runner(args.backend, args.board), st, args.hop_ms)
    out = {"wav": args.wav, "backend": args.backend, "seconds": round(len(pcm) / 16000, 3),
           "detections": r["detections"], "hops": r["hops"], "network_runs": r["network_runs"]}  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{args.wav}: {out['seconds']:.2f} s, {r['hops']} hops, {r['network_runs']} network runs ({args.backend})")
    for d in r["detections"]:
        print(f"  {d['time_s']:7.3f} s  {d['label']}  (score {d['score']:.3f})")
    if not r["detections"]:
        print("  no keyword heard")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("listen", help="keywords heard in a WAV file: front end + network streamed hop by hop")
    p.add_argument("model", help="an int8 keyword network (.tflite) whose input is a ring of feature frames")
    p.add_argument("wav", help="a WAV file (any PCM width, channels, sample rate; resampled to 16 kHz)")
    p.add_argument("--frontend", metavar="PREPROCESSOR", help="the audio front end as a .tflite (e.g. TF-Lite Micro's audio preprocessor)")
    p.add_argument("--labels", metavar="A,B,...", help="class names in output order (default: the model's own)")
    p.add_argument(
        "--backend", choices=["ref", "c", "qemu-m7", "qemu-m4"], default="ref",
        help="ref: the NumPy reference (default); c: the generated C built here; qemu-m7/qemu-m4: Cortex-M firmware",
    )  # fmt: skip
    p.add_argument("--board", help="board the QEMU firmware is linked for")
    p.add_argument("--hop-ms", type=float, default=20.0, help="time between front-end frames (default 20)")
    p.add_argument("--threshold", type=float, default=0.8, help="averaged score a detection needs (default 0.8)")
    p.add_argument("--window-ms", type=int, default=1000, help="scores averaged over this window (default 1000)")
    p.add_argument("--suppression-ms", type=int, default=1500, help="no repeat of a label within this time (default 1500)")
    p.add_argument("--min-count", type=int, default=1, help="results the window needs before a detection (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON (key detections: label, time_s, score)")
    p.set_defaults(func=cmd_listen)
