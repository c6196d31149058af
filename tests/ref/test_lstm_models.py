"""The three LSTM models of ../shared/models (MNIST rows, micro_speech_lstm, DTLN noise
suppression) over several invocations with their state carried, against TF-Lite Micro bit
for bit, the LSTM layers' own outputs included; and the generated C over the same steps."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.frontend.tflite_read import load
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.oracle.tflm import run_tflm_sequence
from mcuforge.ref.interpreter import run_sequence
from mcuforge.targets.qemu import missing_tools

needs_qemu = pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")

LSTM_MODELS = ["tflm_mnist_lstm_int8", "tflm_xtensa_micro_speech_lstm", "tflm_dtln_noise_suppression"]


def steps_for(model: str, g, n: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Inputs that keep the gates off their rails: MNIST-like strokes (background -128),
    quiet spectrogram-like features, random DTLN frames."""
    rng = np.random.default_rng(seed)
    shape = g.tensors[g.inputs[0]].shape
    out = []
    for _ in range(n):
        if model == "tflm_mnist_lstm_int8":
            x = np.full(shape, -128, np.int8)
            col = int(rng.integers(6, 22))
            x[..., 4:24, col : col + 3] = rng.integers(60, 128, (shape[0], 20, 3))
            x[..., 12:15, 6:22] = 127
        elif model == "tflm_xtensa_micro_speech_lstm":
            x = rng.integers(-128, -90, shape).astype(np.int8)
        else:
            x = rng.integers(-128, 128, shape).astype(np.int8)
        out.append([x.astype(np.int8)])
    return out


def with_lstm_outputs(g):
    """g with every LSTM node's output added to the graph outputs."""
    g = g.copy()
    g.outputs += [n.outputs[0] for n in g.nodes if n.op == Op.UNIDIRECTIONAL_SEQUENCE_LSTM]
    return g


@pytest.mark.parametrize("model", LSTM_MODELS)
def test_lstm_models_sequence_match_tflm(models_dir, model):
    g = with_lstm_outputs(load(models_dir / f"{model}.tflite"))
    steps = steps_for(model, g, 3)
    theirs = run_tflm_sequence(write(g), steps)
    ours = run_sequence(g, steps)
    for k, (a_step, b_step) in enumerate(zip(ours, theirs)):
        for name, a, b in zip(g.outputs, a_step, b_step):
            assert a.tobytes() == np.asarray(b).tobytes(), f"step {k}, {name}: {int(np.sum(a != b))} values differ"
    lstm_out = ours[-1][-1]
    assert len(np.unique(lstm_out)) > 10  # the LSTM output is not on its rails
    assert not np.array_equal(ours[0][-1], ours[1][-1]) or model != "tflm_dtln_noise_suppression"


@pytest.mark.parametrize("model", LSTM_MODELS)
def test_lstm_models_sequence_c(models_dir, model):
    from mcuforge.engine import compile_graph
    from mcuforge.targets.sequence import run_c_sequence

    g = with_lstm_outputs(load(models_dir / f"{model}.tflite"))
    steps = steps_for(model, g, 3, seed=1)
    c = compile_graph(g)
    assert c.project.graph.state_bytes() > 0
    ours = run_c_sequence(c.graph, steps, project=c.project, sanitize=model == "tflm_dtln_noise_suppression")
    for k, (a_step, b_step) in enumerate(zip(ours, run_sequence(g, steps))):
        for name, a, b in zip(g.outputs, a_step, b_step):
            assert a.tobytes() == b.tobytes(), f"step {k}, {name}: {int(np.sum(a != b))} values differ"


@needs_qemu
@pytest.mark.parametrize("board", ["STM32F746", "STM32F412"])  # Cortex-M7, Cortex-M4
def test_dtln_sequence_qemu(models_dir, board):
    """DTLN streams one frame per invocation: its state must carry inside one QEMU boot."""
    from mcuforge.engine import compile_graph
    from mcuforge.hw.boards import get_board
    from mcuforge.targets.sequence import run_qemu_sequence

    g = with_lstm_outputs(load(models_dir / "tflm_dtln_noise_suppression.tflite"))
    steps = steps_for("tflm_dtln_noise_suppression", g, 4, seed=2)
    ours = run_qemu_sequence(compile_graph(g).project, get_board(board), steps)
    ref = run_sequence(g, steps)
    assert not np.array_equal(ref[0][0], ref[1][0])
    for k, (a_step, b_step) in enumerate(zip(ours, ref)):
        for name, a, b in zip(g.outputs, a_step, b_step):
            assert a.tobytes() == b.tobytes(), f"step {k}, {name}"
