"""The audio preprocessor (signal-library ops, the noise estimate kept between invocations)
over a second of speech: the compiled C on the host and the firmware under QEMU against the
reference executor's Session, which tests/ref/test_signal.py checks against TF-Lite Micro."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load, read
from mcuforge.frontend.tflite_write import write
from mcuforge.hw.boards import get_board
from mcuforge.ir import Op
from mcuforge.ref.boundary import to_model_inputs
from mcuforge.ref.interpreter import run_sequence
from mcuforge.targets.qemu import missing_tools
from mcuforge.targets.sequence import run_c_sequence, run_qemu_sequence
from ref.test_signal import STREAM, i16, stream_graph, wav_frames
from e2e.test_stateful_models import _assert_same

MODEL = "tflm_audio_preprocessor_int8"


def _compiled(models_dir):
    """The model with the noise estimate as an extra output; 25 frames of "yes"."""
    g = load(models_dir / f"{MODEL}.tflite")
    sub = next(n for n in g.nodes if n.op == Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION)
    g.outputs = [sub.outputs[1], *g.outputs]
    c = compile_graph(g)
    steps = [to_model_inputs(c.io, [x]) for x in wav_frames("tflm_yes_1000ms.wav")[:25]]
    return c, steps


def test_preprocessor_c_sequence(models_dir):
    c, steps = _compiled(models_dir)
    g = c.project.graph
    assert g.state_bytes() == 160
    _assert_same(run_c_sequence(g, steps, project=c.project, sanitize=True), run_sequence(g, steps), g.outputs)


@pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")
def test_preprocessor_qemu_sequence(models_dir):
    c, steps = _compiled(models_dir)
    g = c.project.graph
    _assert_same(run_qemu_sequence(c.project, get_board("STM32F412"), steps), run_sequence(g, steps), g.outputs)


def test_stream_ops_c_sequence():
    """The streaming ops read from a file carry their variable-tensor state in C too."""
    for case in STREAM:
        g = read(write(stream_graph(case)))
        shape = g.tensors[g.inputs[0]].shape
        steps = [[i16(shape, -30000, 30000)] for _ in range(5)]
        _assert_same(run_c_sequence(g, steps, sanitize=True), run_sequence(g, steps), g.outputs)
