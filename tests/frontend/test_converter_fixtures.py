"""Converter conformance: the models TensorFlow's TFLite converter and litert-torch made
(tools/make_fixtures.py, committed under tests/fixtures/converters/) read, run on the
reference executor with TF-Lite Micro's outputs (`==`), and the generated C gives the
reference's bytes, and so does the Cortex-M4 firmware under QEMU.

Where TF-Lite Micro has no result or a wrong one, LiteRT's reference kernels (stored
beside it) are the oracle, and FOLLOWS_LITERT says why; the test also asserts that
TF-Lite Micro still differs there. A fixture mcuforge refuses is listed in UNSUPPORTED
with the words of its one-sentence refusal; the test fails once it reads (then drop the
entry)."""

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

# fixture -> what mcuforge's refusal says (the converter left an operator in float: a hybrid model).
UNSUPPORTED: dict[str, str] = {
    "tf_abs_elu": r"node \d+ \(ELU\) has the float32 tensor",  # TensorFlow 2.21 keeps tf.nn.elu in float
    "pt_block_residual": r"node \d+ \(ADD\) has the float32 tensor",  # litert-torch's quantiser skips the add
    "pt_hardswish": r"node \d+ \(HARD_SWISH\) has the float32 tensor",  # ... and hardswish
    "tf_cumsum": r"node \d+ \(CUMSUM\) has the float32 tensor",  # TensorFlow keeps CUMSUM in float
    "tf_add_n": r"node \d+ \(ADD_N\) has the float32 tensor",  # ... and ADD_N
    "pt_deconv": r"node \d+ \(TRANSPOSE_CONV\) is a float32 TRANSPOSE_CONV",  # not quantised by litert-torch
    "tf_gelu_tanh": r"node 0 uses GELU, which mcuforge does not support",  # a LiteRT builtin, not in TF-Lite Micro
}
_PADS = "TF-Lite Micro's SPACE_TO_BATCH_ND pads with an unset value instead of the zero point"
# fixture -> why LiteRT's reference kernels are the oracle there.
FOLLOWS_LITERT: dict[str, str] = {
    "tf_conv1d_dilated": _PADS,  # the converter's SPACE_TO_BATCH_ND / conv / BATCH_TO_SPACE_ND chain
    "tf_conv2d_dilated": _PADS,
    "tf_depthwise_dilated": _PADS,
    "tf_tile": "TF-Lite Micro has no TILE",
    "tf_unet_upsampling": "TF-Lite Micro has no TILE (Keras's UpSampling2D)",
}


def _fixture(name: str):
    arrays = np.load(FIXTURES / f"{name}.npz")

    def group(prefix: str) -> list[np.ndarray]:
        return [arrays[f"{prefix}{i}"] for i in range(sum(k.rstrip("0123456789") == prefix for k in arrays.files))]

    return FIXTURES / f"{name}.tflite", group("in"), group("out"), group("litert")


def test_fixtures_exist_for_both_converters():
    assert {e["converter"] for n, e in INDEX.items() if e["made"]} == {"tf", "pt"}, "run tools/make_fixtures.py"


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.size == b.size and np.array_equal(a, b.reshape(a.shape))


@pytest.mark.parametrize("name", MADE)
def test_fixture_matches_the_oracle_on_ref_and_c(name):
    path, xs, tflm, litert = _fixture(name)
    if name in UNSUPPORTED:
        with pytest.raises(UnsupportedError, match=UNSUPPORTED[name]) as info:
            load(path)
        assert len(str(info.value).splitlines()) == 1
        return
    g = load(path)
    ours = run(g, xs)
    if name in FOLLOWS_LITERT:
        assert all(_same(a, b) for a, b in zip(ours, litert)), f"{name}: ref differs from LiteRT"
        assert not tflm or not all(_same(a, b) for a, b in zip(ours, tflm)), (
            f"{name}: TF-Lite Micro now agrees ({FOLLOWS_LITERT[name]} no longer holds): update FOLLOWS_LITERT"
        )
    else:
        assert tflm, f"{name}: no TF-Lite Micro output stored; say in FOLLOWS_LITERT why LiteRT is the oracle"
        assert len(ours) == len(tflm)
        for a, b in zip(ours, tflm):
            assert _same(a, b), f"{name}: ref differs from TF-Lite Micro"
    compiled = compile_graph(g)
    c = from_model_outputs(compiled.io, run_c(compiled.graph, to_model_inputs(compiled.io, xs), project=compiled.project))
    for a, b in zip(c, ours):
        assert np.array_equal(a, b), f"{name}: the generated C differs from the reference"


@pytest.mark.parametrize("name", MADE)
def test_fixture_on_qemu(name):  # about 0.4 s each
    from mcuforge.targets.qemu import backend_board, missing_tools, run_qemu

    if missing_tools():
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    if name in UNSUPPORTED:
        pytest.skip(f"{name} needs {UNSUPPORTED[name]}")
    path, xs, _, _ = _fixture(name)
    g = load(path)
    compiled = compile_graph(g)
    q = run_qemu(compiled.project, backend_board("qemu-m4"), to_model_inputs(compiled.io, xs))
    for a, b in zip(from_model_outputs(compiled.io, q), run(g, xs)):
        assert np.array_equal(a, b), f"{name}: QEMU differs from the reference"
