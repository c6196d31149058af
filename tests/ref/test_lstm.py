"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8 activations, int16 cell) in the reference kernel, against
TF-Lite Micro bit for bit, on small graphs our writer writes with the state tensors marked
variable: one invocation from the reset state, several with the state carried, the
options' round trip and the refusals."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir import verify
from mcuforge.ir.shapes import infer_shapes
from mcuforge.oracle.tflm import run_tflm, run_tflm_sequence
from mcuforge.ref.interpreter import Session, run, run_sequence
from mcuforge.ref.lstm import KERNELS, cell_tanh_params


def lstm_graph(
    rng,
    batch=1,
    time_steps=5,
    n_in=7,
    state=6,
    time_major=False,
    s_x=0.02,
    zp_x=-3,
    s_h=2.0**-7,
    zp_h=0,
    s_c=2.0**-12,
    cell_clip=10.0,
    w_scale=0.01,
    bias_gain=1.0,
    act="int8",
) -> Graph:
    """One LSTM node: random per-tensor int8 weights, biases at scale s_x * s_w (int32; int64
    with int16 activations, act="int16")."""
    b = GraphBuilder()
    shape = (time_steps, batch, n_in) if time_major else (batch, time_steps, n_in)
    x = b.input(shape, act, s_x, zp_x)
    ins: list[str | None] = [x]
    scales = [float(np.float32(w_scale * rng.uniform(0.5, 2.0))) for _ in range(8)]
    for k in range(8):
        cols = n_in if k < 4 else state
        w = rng.integers(-127, 128, (state, cols)).astype(np.int8)
        ins.append(b.const(w, q=quant(scales[k], 0), name=f"w{k + 1}"))
    ins += [None] * 3
    for k in range(4):
        s_b = float(np.float32(s_x) * np.float32(scales[k]))
        # biases of a few gate units' worth (0.5 in real terms) so the gates move
        bias = np.round(rng.normal(0, 0.5 * bias_gain, state) / s_b).astype(np.int32 if act == "int8" else np.int64)
        ins.append(b.const(bias, q=quant(s_b, 0), name=f"b{k + 1}"))
    ins += [None] * 2
    ins.append(b.variable((batch, state), act, quant(s_h, zp_h), name="h_state"))
    ins.append(b.variable((batch, state), "int16", quant(s_c, 0), name="c_state"))
    ins += [None] * 4
    attrs = O.LstmAttrs("TANH", cell_clip, 0.0, time_major)
    out_shape = (shape[0], shape[1], state)
    b.output(b.op(Op.UNIDIRECTIONAL_SEQUENCE_LSTM, ins, out_shape, act, quant(s_h, zp_h), attrs))
    return b.graph


def run_ref(g: Graph, inputs: list[np.ndarray], state: dict[str, np.ndarray] | None = None) -> list[np.ndarray]:
    """One invocation of the reference executor, from the reset state or from `state`."""
    if state is None:
        return run(g, inputs)
    session = Session(g)
    session.state = {n: np.array(v) for n, v in state.items()}
    return session.run(inputs)


def check(g: Graph, x: np.ndarray) -> np.ndarray:
    assert infer_shapes(g, g.nodes[0]) == [g.tensors[g.outputs[0]].shape]
    verify(g)
    theirs = run_tflm(write(g), [x])[0]
    ours = run_ref(g, [x])[0]
    assert ours.dtype == theirs.dtype == x.dtype
    assert ours.shape == tuple(theirs.shape)
    diff = int(np.sum(ours != theirs))
    assert diff == 0, f"{diff} of {ours.size} differ:\nours   {ours.ravel()[:20]}\ntheirs {theirs.ravel()[:20]}"
    return ours


CASES = {
    "small": dict(),
    "batch2": dict(batch=2, time_steps=4),
    "time_major": dict(batch=3, time_steps=4, time_major=True),
    "time_major_b1": dict(batch=1, time_steps=6, time_major=True),
    "hidden_zp": dict(zp_h=-1, s_h=2.0**-7, zp_x=-128, s_x=0.6),  # micro_speech_lstm's quantisation
    "hidden_zp_neg4": dict(zp_h=-4, s_h=0.0073633, s_x=0.0686, zp_x=-128),  # dtln's second layer
    "cell_2^-11": dict(s_c=2.0**-11, w_scale=0.02),
    "cell_2^-9": dict(s_c=2.0**-9, w_scale=0.03, bias_gain=3.0),
    "cell_2^-16": dict(s_c=2.0**-16, w_scale=0.005),  # tanh's rescale by a right shift
    "cell_not_pot": dict(s_c=3.1e-4),  # CheckedLog2 rounds to 2^-12
    "clip_tight": dict(cell_clip=0.3, w_scale=0.03, bias_gain=3.0),
    "no_clip": dict(cell_clip=0.0, s_c=2.0**-13, w_scale=0.03, bias_gain=3.0),
    "saturating": dict(w_scale=0.2, bias_gain=8.0, s_c=2.0**-14),
    "wide": dict(n_in=40, state=24, time_steps=3),
    "single_step": dict(time_steps=1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lstm_matches_tflm(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = lstm_graph(rng, **CASES[name])
    x = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    y = check(g, x)
    assert len(np.unique(y)) > 3  # the gates moved: a test that cannot fail is a defect


# 16x8: int16 activations (zero point 0, as the converter writes them), int64 biases
CASES16 = {
    "s16_small": dict(act="int16", s_x=1e-4, zp_x=0, s_h=2.0**-15, zp_h=0),
    "s16_time_major": dict(act="int16", batch=2, time_major=True, s_x=3e-5, zp_x=0, s_h=2.0**-14, zp_h=0, w_scale=0.02),
    "s16_wide": dict(act="int16", n_in=33, state=17, s_x=2e-4, zp_x=0, s_h=1.0 / 30000, zp_h=0, s_c=2.0**-11),
    "s16_saturating": dict(act="int16", s_x=1e-3, zp_x=0, s_h=2.0**-15, zp_h=0, w_scale=0.2, bias_gain=8.0),
    "s16_zero_points": dict(act="int16", s_x=1e-4, zp_x=40, s_h=2.0**-14, zp_h=-25),  # TF-Lite Micro applies them
}


def x_for(rng, g):
    t = g.tensors[g.inputs[0]]
    lo, hi = (-128, 128) if t.dtype == "int8" else (-32768, 32768)
    return rng.integers(lo, hi, t.shape).astype(t.dtype)


@pytest.mark.parametrize("name", list(CASES16))
def test_lstm_16x8_matches_tflm(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = lstm_graph(rng, **CASES16[name])
    y = check(g, x_for(rng, g))
    assert y.dtype == np.int16 and len(np.unique(y)) > 10


SEQUENCE_CASES = ["small", "time_major", "hidden_zp", "hidden_zp_neg4", "clip_tight", "cell_2^-16", "s16_zero_points"]
ALL_CASES = {**CASES, **CASES16}


@pytest.mark.parametrize("name", SEQUENCE_CASES)
def test_lstm_state_carries_like_tflm(name):
    """Four invocations of one interpreter: the hidden and cell state carry between them."""
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    g = lstm_graph(rng, **ALL_CASES[name])
    steps = [[x_for(rng, g)] for _ in range(4)]
    theirs = run_tflm_sequence(write(g), steps)
    ours = run_sequence(g, steps)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a[0].tobytes() == np.asarray(b[0]).tobytes(), f"step {k}: {int(np.sum(a[0] != b[0]))} values differ"
    # the state matters: the same input again gives another output
    again = run_sequence(g, [steps[0], steps[0]])
    assert not np.array_equal(again[0][0], again[1][0])


def test_two_halves_equal_the_whole():
    """Two invocations of half the sequence each equal one of the whole (batch-major: the
    sequence is the time axis of each batch row)."""
    rng = np.random.default_rng(5)
    whole = lstm_graph(rng, time_steps=6, batch=2)
    x = rng.integers(-128, 128, (2, 6, 7)).astype(np.int8)
    y = check(whole, x)
    half = whole.copy()
    half.tensors[half.inputs[0]].shape = (2, 3, 7)
    half.tensors[half.outputs[0]].shape = (2, 3, 6)
    y1, y2 = (s[0] for s in run_sequence(half, [[x[:, :3]], [x[:, 3:]]]))
    assert np.array_equal(np.concatenate([y1, y2], axis=1), y)


def test_options_round_trip():
    g = lstm_graph(np.random.default_rng(1), batch=2, time_steps=3, time_major=True, cell_clip=0.75)
    g.nodes[0].attrs = O.LstmAttrs("TANH", 0.75, 0.5, True, True, True)
    back = read(write(g))
    assert back.nodes[0].attrs == g.nodes[0].attrs
    assert [back.tensors[n].variable for n in ("h_state", "c_state")] == [True, True]
    assert [x is None for x in back.nodes[0].inputs] == [x is None for x in g.nodes[0].inputs]


def test_cell_tanh_rescale():
    as_pair = lambda p: (p.input_multiplier, p.input_left_shift)  # noqa: E731
    assert as_pair(cell_tanh_params(2.0**-12)) == (3, 0)
    assert as_pair(cell_tanh_params(2.0**-11)) == (6, 0)
    assert as_pair(cell_tanh_params(2.0**-16)) == (3, 4)


def _refused(g, match):
    with pytest.raises(UnsupportedError, match=match):
        infer_shapes(g, g.nodes[0])
        KERNELS[g.nodes[0].op](g, g.nodes[0], [None] * 24)


@pytest.mark.parametrize("slot,what", [(9, "peephole"), (16, "projection"), (20, "layer normalisation")])
def test_variants_refused(slot, what):
    g = lstm_graph(np.random.default_rng(0))
    g.nodes[0].inputs[slot] = g.nodes[0].inputs[13]
    _refused(g, what)


def test_cifg_and_activation_refused():
    g = lstm_graph(np.random.default_rng(0))
    g.nodes[0].inputs[1] = None
    _refused(g, "CIFG")
    g = lstm_graph(np.random.default_rng(0))
    g.nodes[0].attrs = O.LstmAttrs("RELU")
    _refused(g, "TANH only")


def test_types_refused():
    g = lstm_graph(np.random.default_rng(0))
    g.tensors["w2"].quant = quant([0.01] * 6, 0)
    _refused(g, "per-tensor quantisation with zero point 0")
    g = lstm_graph(np.random.default_rng(0))
    g.tensors["c_state"].dtype = "int8"
    _refused(g, "int16 cell state")
    g = lstm_graph(np.random.default_rng(0), **CASES16["s16_small"])
    g.tensors["b3"].dtype = "int32"
    _refused(g, "constant int64 tensor with int16 activations")


def test_macs():
    from mcuforge.ir.stats import node_macs, node_weight_bytes

    g = lstm_graph(np.random.default_rng(0), batch=2, time_steps=5, n_in=7, state=6)
    assert node_macs(g, g.nodes[0]) == 2 * 5 * (4 * 6 * (7 + 6) + 3 * 6)
    assert node_weight_bytes(g, g.nodes[0]) == 4 * 6 * 7 + 4 * 6 * 6 + 4 * 6 * 4


def test_reader_refuses_variants_in_one_sentence():
    g = lstm_graph(np.random.default_rng(0))
    g.nodes[0].inputs[10] = g.nodes[0].inputs[13]  # forget-gate peephole weights
    with pytest.raises(UnsupportedError, match="peephole") as info:
        read(write(g))
    assert "\n" not in str(info.value)
