"""Mutation fuzzing: byte-flipped and truncated models never crash, hang or leak a traceback.

Every mutant goes through the CLI's `run` path in-process (read, verify, execute);
the only acceptable outcomes are success or an MCUForgeError (exit code 2).
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

SMALL_REAL = ["tflm_hello_world_int8", "tflm_micro_speech_int8", "mlperf_kws_dscnn_int8"]


def mutants(data: bytes, rng: np.random.Generator, n: int):
    for i in range(n):
        buf = bytearray(data)
        kind = i % 4
        if kind == 0:  # truncate
            yield bytes(buf[: int(rng.integers(0, len(buf)))])
        elif kind == 1:  # flip a few random bytes
            for pos in rng.integers(0, len(buf), int(rng.integers(1, 8))):
                buf[pos] ^= int(rng.integers(1, 256))
            yield bytes(buf)
        elif kind == 2:  # flip bytes in the first 2 KB, where tables and offsets live
            for pos in rng.integers(0, min(len(buf), 2048), int(rng.integers(1, 4))):
                buf[pos] = int(rng.integers(0, 256))
            yield bytes(buf)
        else:  # overwrite a 4-byte word with an extreme value
            pos = int(rng.integers(0, len(buf) - 4))
            buf[pos : pos + 4] = int(rng.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])).to_bytes(4, "little")
            yield bytes(buf)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def check_mutants(data: bytes, n: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    outcomes = {"ok": 0, "rejected": 0}
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for mutant in mutants(data, rng, n):
            signal.alarm(10)
            try:
                g = read(mutant)
                run(g, make_input(Path("."), g, None))
                outcomes["ok"] += 1
            except MCUForgeError as e:
                assert "\n" not in str(e) and str(e)
                outcomes["rejected"] += 1
            except Hang:
                pytest.fail("a mutated model made mcuforge hang")
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)
    return outcomes


def test_fuzz_demo_model():
    outcomes = check_mutants(write(build_demo_graph()), 2000, seed=1)
    assert outcomes["rejected"] > 0 and outcomes["ok"] + outcomes["rejected"] == 2000


@pytest.mark.parametrize("model", SMALL_REAL)
def test_fuzz_real_models(models_dir, model):
    data = (models_dir / f"{model}.tflite").read_bytes()
    outcomes = check_mutants(data, 500, seed=2)
    assert outcomes["rejected"] > 0
