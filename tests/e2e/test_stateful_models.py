"""The keyword models (SVDF, state kept between invocations) over a sequence of steps:
the compiled C on the host and the firmware under QEMU against the reference executor's
Session, which tests/ref/test_svdf.py checks against TF-Lite Micro, state included."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.hw.boards import get_board
from mcuforge.ir import Op
from mcuforge.ref.boundary import to_model_inputs
from mcuforge.ref.interpreter import run_sequence
from mcuforge.targets.qemu import missing_tools
from mcuforge.targets.sequence import run_c_sequence, run_qemu_sequence

MODELS = ["tflm_keyword_scrambled", "tflm_keyword_scrambled_8bit"]


def _compiled_with_layer_outputs(models_dir, model):
    """The model with every SVDF and FULLY_CONNECTED output as an extra graph output: its
    scrambled weights saturate the final output, the layers show a wrong state."""
    g = load(models_dir / f"{model}.tflite")
    g.outputs = [n.outputs[0] for n in g.nodes if n.op in (Op.SVDF, Op.FULLY_CONNECTED)] + list(g.outputs)
    c = compile_graph(g)
    rng = np.random.default_rng(5)
    steps = [to_model_inputs(c.io, [rng.integers(-3000, 3000, (1, 96)).astype(np.int16)]) for _ in range(7)]
    return c, steps


def _assert_same(ours, ref, names):
    for k, (a, b) in enumerate(zip(ours, ref)):
        for name, x, y in zip(names, a, b):
            assert x.tobytes() == y.tobytes(), f"step {k}, {name}: {int(np.sum(x != y))} values differ"


@pytest.mark.parametrize("model", MODELS)
def test_keyword_model_c_sequence(models_dir, model):
    c, steps = _compiled_with_layer_outputs(models_dir, model)
    g = c.project.graph
    assert g.state_bytes() == sum(g.tensors[v].nbytes for v in g.variables()) > 0
    _assert_same(run_c_sequence(g, steps, project=c.project), run_sequence(g, steps), g.outputs)


@pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")
@pytest.mark.parametrize("model", MODELS)
def test_keyword_model_qemu_sequence(models_dir, model):
    c, steps = _compiled_with_layer_outputs(models_dir, model)
    g = c.project.graph
    _assert_same(run_qemu_sequence(c.project, get_board("STM32F412"), steps), run_sequence(g, steps), g.outputs)


def test_inspect_and_report_show_state_bytes(models_dir):
    from mcuforge.model_info import format_summary, summary
    from mcuforge.report.report import build_report, report_md

    g = load(models_dir / "tflm_keyword_scrambled.tflite")
    info = summary(g)
    assert info["state_bytes"] == 4 * 512 * 2 + 3 * 1024 * 2  # four 512- and three 1024-value int16 states
    assert "state: 10,240 B of variable tensors" in format_summary(info)
    c = compile_graph(g)
    report = build_report(c, get_board("STM32F412"))
    assert report["state_bytes"] == 10240 <= report["arena_bytes"]
    assert "persistent state: 10,240 B" in report_md(report, "chart.png")
