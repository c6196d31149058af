"""Mutation fuzz of the reader and compiler (issue 13): damaged and semantically edited
models (tests/frontend/mutants.py) through read, the reference executor and compile
(passes, memory plan, C text). Every mutant must run or be refused with one sentence
(an MCUForgeError); anything else is a traceback, and a mutant that takes more than
--timeout seconds is a hang. Prints one row per mutation kind.

    .venv/bin/python benchmarks/fuzz.py [--per-kind N] [--models NAME ...] [--seed S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import numpy as np  # noqa: E402
from frontend.mutants import BYTE_KINDS, SEMANTIC_KINDS, byte_mutant, semantic_mutant  # noqa: E402
from real_models import make_input  # noqa: E402
from toy_cnn import build_demo_graph  # noqa: E402

from mcuforge.engine import compile_graph  # noqa: E402
from mcuforge.errors import MCUForgeError  # noqa: E402
from mcuforge.frontend.tflite_read import read  # noqa: E402
from mcuforge.frontend.tflite_write import write  # noqa: E402
from mcuforge.ref.interpreter import run  # noqa: E402

MODELS = ["tflm_hello_world_int8", "tflm_micro_speech_int8", "mlperf_kws_dscnn_int8", "mlperf_ad_autoencoder_int8"]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-kind", type=int, default=30, help="mutants per kind and model (default 30)")
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=20)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args(argv)

    sources = {"demo": write(build_demo_graph())}
    shared = REPO.parent / "shared" / "models"
    for name in args.models:
        if (shared / f"{name}.tflite").is_file():
            sources[name] = (shared / f"{name}.tflite").read_bytes()
    rng = np.random.default_rng(args.seed)
    rows = {k: {"mutants": 0, "ran": 0, "refused": 0, "tracebacks": 0, "hangs": 0} for k in BYTE_KINDS + SEMANTIC_KINDS}
    failures = []
    signal.signal(signal.SIGALRM, _alarm)
    t0 = time.perf_counter()
    for name, data in sources.items():
        for kind in rows:
            make = byte_mutant if kind in BYTE_KINDS else semantic_mutant
            for _ in range(args.per_kind):
                mutant = make(data, rng, kind)
                row = rows[kind]
                row["mutants"] += 1
                signal.alarm(args.timeout)
                try:
                    g = read(mutant)
                    run(g, make_input(Path("."), g, None))
                    compile_graph(g)
                    row["ran"] += 1
                except MCUForgeError as e:
                    row["refused"] += 1
                    if "\n" in str(e) or not str(e):
                        row["tracebacks"] += 1
                        failures.append((name, kind, f"not one sentence: {e!r}"))
                except Hang:
                    row["hangs"] += 1
                    failures.append((name, kind, "hang"))
                except Exception:  # noqa: BLE001 - what the fuzz looks for
                    row["tracebacks"] += 1
                    failures.append((name, kind, traceback.format_exc().strip().splitlines()[-1]))
                finally:
                    signal.alarm(0)
    minutes = (time.perf_counter() - t0) / 60
    total = {k: sum(r[k] for r in rows.values()) for k in ("mutants", "ran", "refused", "tracebacks", "hangs")}
    print(f"\nmutation fuzz: {len(sources)} models ({', '.join(sources)}), seed {args.seed}, {minutes:.1f} min\n")
    print("| mutation | mutants | ran | refused (one sentence) | tracebacks | hangs |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, r in [*rows.items(), ("all", total)]:
        print(f"| {kind} | {r['mutants']:,} | {r['ran']:,} | {r['refused']:,} | {r['tracebacks']} | {r['hangs']} |")
    for f in failures[:20]:
        print("FAIL", *f)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "total": total, "failures": failures}, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
