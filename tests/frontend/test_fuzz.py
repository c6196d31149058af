"""Mutation fuzzing: damaged models (truncated, byte-flipped) and semantically edited ones
(scales, zero points, shapes, indices, options; frontend/mutants.py) never crash, hang or
leak a traceback.

Every mutant goes through the CLI's `run` path in-process (read, verify, execute), and
the semantic ones through compile's as well (passes, plan, C text); the only acceptable
outcomes are success or an MCUForgeError (exit code 2). benchmarks/fuzz.py runs more.
"""

import signal
from pathlib import Path

import numpy as np
import pytest

from toy_cnn import build_demo_graph
from mcuforge.errors import MCUForgeError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ref.interpreter import run
from real_models import make_input
from frontend.mutants import BYTE_KINDS, SEMANTIC_KINDS, mutants
from mcuforge.engine import compile_graph

SMALL_REAL = ["tflm_hello_world_int8", "tflm_micro_speech_int8", "mlperf_kws_dscnn_int8"]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def check_mutants(data: bytes, n: int, seed: int, kinds=BYTE_KINDS, compile_too: bool = False) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    outcomes = {"ok": 0, "rejected": 0}
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for kind, mutant in mutants(data, rng, n, kinds):
            signal.alarm(10)
            try:
                g = read(mutant)
                run(g, make_input(Path("."), g, None))
                if compile_too:
                    compile_graph(g)
                outcomes["ok"] += 1
            except MCUForgeError as e:
                assert "\n" not in str(e) and str(e)
                outcomes["rejected"] += 1
            except Hang:
                pytest.fail(f"a mutated model ({kind}) made mcuforge hang")
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)
    return outcomes


def test_fuzz_demo_model():
    outcomes = check_mutants(write(build_demo_graph()), 2000, seed=1)
    assert outcomes["rejected"] > 0 and outcomes["ok"] + outcomes["rejected"] == 2000


def test_semantic_mutants_of_the_demo_model():
    outcomes = check_mutants(write(build_demo_graph()), 350, seed=3, kinds=SEMANTIC_KINDS, compile_too=True)
    assert outcomes["rejected"] > 50 and outcomes["ok"] > 50


@pytest.mark.parametrize("model", SMALL_REAL)
def test_fuzz_real_models(models_dir, model):
    data = (models_dir / f"{model}.tflite").read_bytes()
    outcomes = check_mutants(data, 500, seed=2)
    assert outcomes["rejected"] > 0
    outcomes = check_mutants(data, 140, seed=4, kinds=SEMANTIC_KINDS, compile_too=True)
    assert outcomes["rejected"] > 0
