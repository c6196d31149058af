"""Converter conformance: the models TensorFlow's TFLite converter and litert-torch made
(tools/make_fixtures.py, committed under tests/fixtures/converters/) read, run on the
reference executor with TF-Lite Micro's outputs (`==`), and the generated C gives the
reference's bytes; on QEMU in a slow test. A fixture whose operator mcuforge does not
support yet is listed in UNSUPPORTED with that operator: the test checks the refusal is
one clear sentence naming it, and fails once the operator lands (then drop the entry)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcuforge.engine import compile_graph
from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_read import load
from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import run_c

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "converters"
INDEX = json.loads((FIXTURES / "index.json").read_text()) if (FIXTURES / "index.json").is_file() else {}
MADE = sorted(n for n, e in INDEX.items() if e["made"])

# fixture -> the operator it needs that mcuforge lacks today (issue 14 adds them).
UNSUPPORTED: dict[str, str] = {}


def _fixture(name: str):
    arrays = np.load(FIXTURES / f"{name}.npz")
    xs = [arrays[f"in{i}"] for i in range(sum(k.startswith("in") for k in arrays.files))]
    ys = [arrays[f"out{i}"] for i in range(sum(k.startswith("out") for k in arrays.files))]
    return FIXTURES / f"{name}.tflite", xs, ys


def test_fixtures_exist_for_both_converters():
    assert {e["converter"] for n, e in INDEX.items() if e["made"]} == {"tf", "pt"}, "run tools/make_fixtures.py"


@pytest.mark.parametrize("name", MADE)
def test_fixture_matches_tflm_on_ref_and_c(name):
    path, xs, ys = _fixture(name)
    if name in UNSUPPORTED:
        with pytest.raises(UnsupportedError, match=UNSUPPORTED[name]):
            load(path)
        return
    g = load(path)
    ours = run(g, xs)
    if not ys:
        pytest.fail(f"{name} has no TF-Lite Micro output stored (tools/make_fixtures.py could not run it)")
    assert len(ours) == len(ys)
    for a, b in zip(ours, ys):
        assert a.dtype == b.dtype and np.array_equal(a, b.reshape(a.shape)), f"{name}: ref differs from TF-Lite Micro"
    compiled = compile_graph(g)
    c = from_model_outputs(compiled.io, run_c(compiled.graph, to_model_inputs(compiled.io, xs), project=compiled.project))
    for a, b in zip(c, ours):
        assert np.array_equal(a, b), f"{name}: the generated C differs from the reference"


@pytest.mark.slow
@pytest.mark.parametrize("name", MADE)
def test_fixture_on_qemu(name):
    from mcuforge.targets.qemu import backend_board, missing_tools, run_qemu

    if missing_tools():
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    if name in UNSUPPORTED:
        pytest.skip(f"{name} needs {UNSUPPORTED[name]}")
    path, xs, _ = _fixture(name)
    g = load(path)
    compiled = compile_graph(g)
    q = run_qemu(compiled.project, backend_board("qemu-m4"), to_model_inputs(compiled.io, xs))
    for a, b in zip(from_model_outputs(compiled.io, q), run(g, xs)):
        assert np.array_equal(a, b), f"{name}: QEMU differs from the reference"
