"""SVDF in the reference kernels against TF-Lite Micro over several invocations (the
state carried by both), every integer form TF-Lite Micro runs: int8 input with int16
time weights and state (the keyword models), and with int8 ones (their _8bit form)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op, verify
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.oracle.tflm import run_tflm_sequence
from mcuforge.ref.interpreter import Session, run, run_sequence
from mcuforge.ref.svdf import prepare_svdf


def svdf_graph(
    seed: int,
    state_dtype: str = "int16",
    rank: int = 1,
    act: O.Act = O.Act.RELU,
    batch: int = 1,
    size: int = 12,
    units: int = 5,
    memory: int = 6,
    e1: float | None = None,
    state_zp: int | None = None,
):
    """A random one-node SVDF graph. e1 is the feature pass's effective scale (input *
    weights / state); the default keeps the state mostly unsaturated."""
    rng = np.random.default_rng(seed)
    filters = units * rank
    sixteen = state_dtype == "int16"
    x_s, wf_s = float(rng.uniform(0.02, 0.08)), float(rng.uniform(0.004, 0.02))
    e1 = e1 if e1 is not None else float(rng.uniform(2.0**-9, 2.0**-6) if sixteen else rng.uniform(2.0**-13, 2.0**-10))
    s_s = x_s * wf_s / e1
    zp_s = state_zp if state_zp is not None else 0 if sixteen else int(rng.integers(-60, 60))
    wt_s = float(rng.uniform(0.001, 0.004))
    wt_hi = 3000 if sixteen else 127
    # the output's spread: state ~ 74 * 73 * sqrt(size) * e1 (inputs and weights uniform,
    # capped by the state type), times the time weights' spread over memory * rank terms
    state_std = min(74 * 73 * np.sqrt(size) * e1, 20000.0 if sixteen else 70.0)
    acc_std = state_std * wt_hi / np.sqrt(3) * np.sqrt(memory * rank)
    y_s = s_s * wt_s * acc_std / 40.0 * float(rng.uniform(0.5, 2.0))
    b = GraphBuilder()
    x = b.input((batch, size), "int8", x_s, int(rng.integers(-20, 20)))
    wf = b.const(rng.integers(-127, 128, (filters, size)), "int8", quant(wf_s))
    wt = b.const(rng.integers(-wt_hi, wt_hi + 1, (filters, memory)), state_dtype, quant(wt_s))
    bias_s = float(np.float32(s_s) * np.float32(wt_s))
    bias = b.const(rng.integers(-5000, 5000, (units,)), "int32", quant(bias_s))
    state = b.variable((batch, filters * memory), state_dtype, quant(s_s, zp_s))
    attrs = O.SvdfAttrs(rank=rank, activation=act)
    y = b.op(Op.SVDF, [x, wf, wt, bias, state], (batch, units), "int8", quant(y_s, int(rng.integers(-30, 30))), attrs)
    b.output(y)
    return verify(b.graph)


def steps_for(g, n: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    t = g.tensors[g.inputs[0]]
    return [[rng.integers(-128, 128, t.shape).astype(np.int8)] for _ in range(n)]


def assert_sequence_matches_tflm(g, steps) -> list[list[np.ndarray]]:
    ours = run_sequence(g, steps)
    theirs = run_tflm_sequence(write(g), steps)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a[0].tobytes() == np.asarray(b[0]).tobytes(), f"step {k}: {a[0].ravel()} vs {np.asarray(b[0]).ravel()}"
    return ours


CASES = [
    (dtype, rank, act, batch)
    for dtype in ("int16", "int8")
    for rank in (1, 2)
    for act in (O.Act.NONE, O.Act.RELU)
    for batch in (1, 2)
]


@pytest.mark.parametrize("dtype,rank,act,batch", CASES, ids=[f"{d}-r{r}-{a}-b{n}" for d, r, a, n in CASES])
def test_svdf_sequence_matches_tflm(dtype, rank, act, batch):
    seed = zlib.crc32(f"{dtype}{rank}{act}{batch}".encode()) % 1000
    g = svdf_graph(seed, dtype, rank, act, batch)
    steps = steps_for(g, 10, seed + 1)
    ours = assert_sequence_matches_tflm(g, steps)
    outs = np.stack([o[0] for o in ours])
    assert len(np.unique(outs)) > 4, "outputs are (nearly) constant: the test would not see a wrong state"
    assert not np.array_equal(outs[0], outs[-1])


@pytest.mark.parametrize("seed", range(6))
def test_svdf_random_shapes_and_scales(seed):
    rng = np.random.default_rng(100 + seed)
    dtype = ("int16", "int8")[seed % 2]
    g = svdf_graph(
        seed, dtype, int(rng.integers(1, 4)), O.Act.RELU, int(rng.integers(1, 3)),
        int(rng.integers(1, 40)), int(rng.integers(1, 9)), int(rng.integers(1, 12)),
    )  # fmt: skip
    assert_sequence_matches_tflm(g, steps_for(g, 12, seed))


def test_int8_state_wraps_as_tflite_micro():
    """A saturating feature pass (large effective scale) plus a far zero point: the sum
    leaves int8 and is stored modulo 256, as the C++ conversion does."""
    g = svdf_graph(7, "int8", e1=0.05, state_zp=-100)
    steps = steps_for(g, 8, 3)
    assert_sequence_matches_tflm(g, steps)
    session = Session(g)
    for xs in steps:
        session.run(xs)
    (state,) = session.state.values()
    assert np.any(state > 27), "no value wrapped: -100 + a clamp at -128 can only reach 27 without wrapping"


def test_int16_state_with_zero_point_wraps_as_tflite_micro():
    """The converter gives int16 states zero point 0; TF-Lite Micro takes any, and the
    clamped value plus it is stored modulo 2^16."""
    g = svdf_graph(8, "int16", e1=4.0, state_zp=-3000)
    steps = steps_for(g, 6, 4)
    assert_sequence_matches_tflm(g, steps)
    assert_states_match_tflm(g, steps)
    session = Session(g)
    for xs in steps:
        session.run(xs)
    (state,) = session.state.values()
    assert np.any(state > 32767 - 3000), "no value wrapped"


def test_state_is_carried_and_reset():
    g = svdf_graph(3)
    steps = steps_for(g, 5, 9)
    seq = run_sequence(g, steps)
    assert run(g, steps[3])[0].tobytes() != seq[3][0].tobytes()  # run() starts from the reset state
    session = Session(g)
    first = [session.run(xs)[0] for xs in steps]
    session.reset()
    assert session.run(steps[0])[0].tobytes() == first[0].tobytes() == seq[0][0].tobytes()
    (name,) = g.variables()
    assert np.all(Session(g).state[name] == 0)


def test_int8_state_resets_to_zero_point():
    g = svdf_graph(4, "int8", state_zp=-37)
    (name,) = g.variables()
    assert np.all(Session(g).state[name] == -37)


def test_round_trip_keeps_options_and_variable():
    g = svdf_graph(5, "int8", rank=2, act=O.Act.NONE)
    h = read(write(g))
    (node,) = h.nodes
    assert node.op == Op.SVDF and node.attrs == O.SvdfAttrs(rank=2, activation=O.Act.NONE)
    assert [n for n, t in h.tensors.items() if t.variable] == [node.inputs[4]]


def test_refusals():
    g = svdf_graph(6)
    node = g.nodes[0]
    node.inputs[3] = None
    with pytest.raises(UnsupportedError, match="no int32 bias"):
        run(g, steps_for(g, 1, 0)[0])
    g = svdf_graph(6)
    g.tensors[g.nodes[0].inputs[4]].variable = False
    with pytest.raises(UnsupportedError, match="not a variable tensor"):
        prepare_svdf(g, g.nodes[0])
    g = svdf_graph(6, "int8")
    wt = g.tensors[g.nodes[0].inputs[2]]
    g.tensors[wt.name] = type(wt)(wt.name, wt.shape, "int16", wt.quant, wt.data.astype(np.int16))
    with pytest.raises(UnsupportedError, match="both int16 or both int8"):
        prepare_svdf(g, g.nodes[0])


def _tensor_index(model: bytes) -> dict[str, int]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    sub = fb.Model.GetRootAs(model, 0).Subgraphs(0)
    return {sub.Tensors(i).Name().decode(): i for i in range(sub.TensorsLength())}


def assert_states_match_tflm(g, steps) -> None:
    """After every step, every variable tensor equals TF-Lite Micro's (stronger than the
    outputs: the state holds `memory` steps of every filter)."""
    from mcuforge.oracle.tflm import run_tflm_sequence_tensors

    model = write(g)
    index = _tensor_index(model)
    theirs = run_tflm_sequence_tensors(model, steps, [index[v] for v in g.variables()])
    session = Session(g)
    for k, xs in enumerate(steps):
        session.run(xs)
        for v in g.variables():
            ours, tflm = session.state[v], theirs[k][index[v]].reshape(session.state[v].shape)
            assert ours.tobytes() == tflm.tobytes(), f"step {k}, {v}: {int(np.sum(ours != tflm))} values differ"


@pytest.mark.parametrize("seed", range(4))
def test_svdf_states_match_tflm(seed):
    g = svdf_graph(200 + seed, ("int16", "int8")[seed % 2], rank=1 + seed % 2, size=30, units=8, memory=5)
    assert_states_match_tflm(g, steps_for(g, 8, seed))


@pytest.mark.parametrize("model", ["tflm_keyword_scrambled", "tflm_keyword_scrambled_8bit"])
def test_keyword_model_state_matches_tflm(models_dir, model):
    """Several invocations of a keyword model on the ref and TF-Lite Micro: every SVDF's
    state and every layer's output after each step. Its scrambled weights saturate the
    final output, so the state is where a wrong step shows (a multiplier derived in float32
    instead of double puts one value of the first state one unit off at step 3)."""
    from mcuforge.frontend.tflite_read import load

    g = load(models_dir / f"{model}.tflite")
    h = g.copy()
    h.outputs = [n.outputs[0] for n in g.nodes if n.op in (Op.SVDF, Op.FULLY_CONNECTED)] + list(g.outputs)
    rng = np.random.default_rng(1)
    steps = [[rng.integers(-3000, 3000, (1, 96)).astype(np.int16)] for _ in range(8)]
    assert_states_match_tflm(h, steps)
    ours, theirs = run_sequence(h, steps), run_tflm_sequence(write(h), steps)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for name, x, y in zip(h.outputs, a, b):
            assert x.tobytes() == np.asarray(y).tobytes(), f"step {k}, {name}"
