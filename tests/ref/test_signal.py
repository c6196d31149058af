"""TF-Lite Micro's signal-library operators (family signal) in the reference kernels,
against TF-Lite Micro bit for bit: each op alone on random and edge-case data, the audio
front end on real speech, and the reader / writer round trip of their options."""

from __future__ import annotations

import dataclasses
import wave
from pathlib import Path

import numpy as np
import pytest

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder
from mcuforge.ir.graph import Node, Tensor
from mcuforge.oracle.tflm import run_tflm
from mcuforge.ref.interpreter import run
from oracle_util import assert_matches_tflm

RNG = np.random.default_rng(15)
MODELS = Path(__file__).resolve().parents[2] / ".." / "shared" / "models"


def one_op(op, inputs, out_shapes, out_dtypes, attrs=None):
    """A graph of one node: inputs are (array, is_const) pairs; outputs of the given shapes and dtypes."""
    b = GraphBuilder()
    names, feeds = [], []
    for x, const in inputs:
        x = np.asarray(x)
        if const:
            names.append(b.const(x))
        else:
            names.append(b.input(x.shape, str(x.dtype)))
            feeds.append(x)
    g = b.graph
    outs = [g.add_tensor(Tensor(g.unique_name(f"out{k}"), tuple(s), d)).name for k, (s, d) in
            enumerate(zip(out_shapes, out_dtypes))]  # fmt: skip
    g.add_node(Node(op, names, outs, attrs if attrs is not None else O.ATTRS[op](), name=outs[0]))
    b.output(*outs)
    return g, feeds


def i16(shape, lo=-32768, hi=32767):
    return RNG.integers(lo, hi + 1, shape).astype(np.int16)


# ------------------------------------------------------------ window, auto scale
@pytest.mark.parametrize("shift", [0, 5, 12, 15])
@pytest.mark.parametrize("frames", [1, 3])
def test_window(shift, frames):
    x, w = i16((frames, 64)), i16((64,))
    g, feeds = one_op(Op.SIGNAL_WINDOW, [(x, False), (w, True)], [x.shape], ["int16"], O.SignalWindowAttrs(shift))
    assert_matches_tflm(g, feeds)


@pytest.mark.parametrize(
    "x",
    [i16((48,)), i16((48,), -100, 100), np.zeros(48, np.int16), np.r_[-32768, i16((47,), -50, 50)].astype(np.int16),
     np.r_[i16((47,), -50, 50), -32768].astype(np.int16), np.full(48, -1, np.int16), np.r_[1, np.zeros(47)].astype(np.int16)],
    ids=["full", "small", "zeros", "min-first", "min-last", "minus-one", "one"],
)  # fmt: skip
def test_fft_auto_scale(x):
    g, feeds = one_op(Op.SIGNAL_FFT_AUTO_SCALE, [(x, False)], [x.shape, ()], ["int16", "int32"])
    assert_matches_tflm(g, feeds)


# ------------------------------------------------------------ rfft, energy
@pytest.mark.parametrize("fft_length,frame", [(512, 480), (512, 512), (256, 200), (64, 64), (16, 10), (8, 8),
                                              (24, 20), (40, 33), (120, 100), (60, 60), (4, 4)])  # fmt: skip
@pytest.mark.parametrize("scale", [32767, 3000, 40])
def test_rfft(fft_length, frame, scale):
    x = i16((32, frame), -scale, scale)  # 32 frames: the rounding ties of sround are rare
    g, feeds = one_op(Op.SIGNAL_RFFT, [(x, False)], [(32, fft_length + 2)], ["int16"], O.SignalRfftAttrs(fft_length))
    assert_matches_tflm(g, feeds)


def test_rfft_refuses_other_primes():
    x = i16((14,))
    with pytest.raises(UnsupportedError, match="prime factor 7"):
        read(write(one_op(Op.SIGNAL_RFFT, [(x, False)], [(16,)], ["int16"], O.SignalRfftAttrs(14))[0]))


@pytest.mark.parametrize("start,end", [(0, 257), (5, 241), (0, 0), (100, 101)])
def test_energy(start, end):
    x = np.r_[i16((510,)), -32768, -32768, 7, -9].astype(np.int16)
    g, feeds = one_op(Op.SIGNAL_ENERGY, [(x, False)], [(257,)], ["uint32"], O.SignalEnergyAttrs(start, end))
    theirs = run_tflm(write(g), feeds)[0]
    ours = run(g, feeds)[0]
    # TF-Lite Micro writes only bins [start, end); the others hold what its arena held.
    assert ours[start:end].tobytes() == theirs[start:end].tobytes()
    assert not ours[:start].any() and not ours[end:].any()


# ------------------------------------------------------------ filter bank and after
def _filter_bank_tables(n_in, channels):
    widths = RNG.integers(0, 9, channels + 1).astype(np.int16)
    starts = np.array([RNG.integers(0, n_in - w + 1) for w in widths], np.int16)
    wstarts = np.r_[0, np.cumsum(widths)[:-1]].astype(np.int16)
    n_w = int(widths.sum())
    return i16((n_w,), -4096, 4096), i16((n_w,), -4096, 4096), starts, wstarts, widths


@pytest.mark.parametrize("channels", [1, 8, 40])
@pytest.mark.parametrize("big", [False, True])
def test_filter_bank(channels, big):
    n = 64
    x = RNG.integers(0, 2**32 if big else 2**20, n, dtype=np.uint64).astype(np.uint32)
    tables = _filter_bank_tables(n, channels)
    inputs = [(x, False)] + [(t, True) for t in tables]
    g, feeds = one_op(Op.SIGNAL_FILTER_BANK, inputs, [(channels,)], ["uint64"], O.SignalFilterBankAttrs(channels))
    assert_matches_tflm(g, feeds)


def test_filter_bank_square_root():
    x = np.r_[0, 1, 2, 3, 4, 2**32 - 1, 2**32, 2**32 + 1, 2**64 - 1, 2**63, 2**40 + 12345,
              RNG.integers(0, 2**63, 21, dtype=np.uint64)].astype(np.uint64)  # fmt: skip
    for bits in (0, 3, 15):
        g, feeds = one_op(Op.SIGNAL_FILTER_BANK_SQUARE_ROOT, [(x, False), (np.array(bits, np.int32), True)],
                          [x.shape], ["uint32"])  # fmt: skip
        assert_matches_tflm(g, feeds)


SUBTRACTION = [
    O.SignalSpectralSubtractionAttrs(40, 409, 15975, 983, 15401, 10, 819, False, 14),
    O.SignalSpectralSubtractionAttrs(40, 409, 15975, 983, 15401, 10, 819, True, 14),
    O.SignalSpectralSubtractionAttrs(40, 3000, 13384, 3000, 13384, 4, 2000, True, 14),
    O.SignalSpectralSubtractionAttrs(40, 20000, 45536, 100, 65436, 0, 30000, False, 16),
]


@pytest.mark.parametrize("attrs", SUBTRACTION)
@pytest.mark.parametrize("big", [False, True])
def test_spectral_subtraction_one_frame(attrs, big):
    x = RNG.integers(0, 2**32 if big else 2**16, 40, dtype=np.uint64).astype(np.uint32)
    op = Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION
    g, feeds = one_op(op, [(x, False)], [(40,), (40,)], ["uint32", "uint32"], attrs)
    assert_matches_tflm(g, feeds)


def _pcan_lut():
    """The gain table of the preprocessor model when present, else a random one."""
    path = MODELS / "tflm_audio_preprocessor_int8.tflite"
    if path.is_file():
        g = read(path.read_bytes())
        return g.tensors["signal_pcan/Const"].data
    return i16((125,))


@pytest.mark.parametrize("lut", ["model", "random"])
@pytest.mark.parametrize("shift", [0, 6, 12])
def test_pcan(lut, shift):
    table = _pcan_lut() if lut == "model" else i16((125,))
    x = RNG.integers(0, 2**32, 48, dtype=np.uint64).astype(np.uint32)
    noise = np.r_[0, 1, 2, 3, 4, 1023, 1024, 2**31, 2**32 - 1, RNG.integers(0, 2**32, 39, dtype=np.uint64)]
    noise = (noise.astype(np.uint64) >> RNG.integers(0, 32, 48).astype(np.uint64)).astype(np.uint32)
    noise[:9] = [0, 1, 2, 3, 4, 1023, 1024, 2**31, 2**32 - 1]
    g, feeds = one_op(Op.SIGNAL_PCAN, [(x, False), (noise, False), (table, True)], [(48,)], ["uint32"],
                      O.SignalPcanAttrs(shift))  # fmt: skip
    assert_matches_tflm(g, feeds)


@pytest.mark.parametrize("bits,scale", [(0, 64), (3, 64), (3, 1600), (7, 2**20), (0, 1), (0, 2**15), (3, 3 * 2**15)])  # 2^15: rounding ties
def test_filter_bank_log(bits, scale):
    x = np.r_[0, 1, 2, 3, 2**29, 2**32 - 1, RNG.integers(0, 2**32, 26, dtype=np.uint64) >> RNG.integers(0, 32, 26).astype(np.uint64)]
    x = x.astype(np.uint32)
    g, feeds = one_op(Op.SIGNAL_FILTER_BANK_LOG, [(x, False)], [x.shape], ["int16"],
                      O.SignalFilterBankLogAttrs(bits, scale))  # fmt: skip
    assert_matches_tflm(g, feeds)


# ------------------------------------------------------------ options and round trip
def test_options_round_trip():
    attrs = SUBTRACTION[2]
    g, _ = one_op(Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION, [(np.zeros(40, np.uint32), False)], [(40,), (40,)],
                  ["uint32", "uint32"], attrs)  # fmt: skip
    h = read(write(g))
    node = h.nodes[0]  # the reader gives it its noise estimate as a variable input
    assert node.attrs == dataclasses.replace(attrs, state_input=True)
    state = h.tensors[node.inputs[1]]
    assert state.variable and state.shape == (40,) and state.dtype == "uint32" and h.variables() == [state.name]
    assert read(write(h)).nodes[0].attrs == node.attrs and len(read(write(h)).tensors) == len(h.tensors)


def test_options_with_a_missing_key_are_refused():
    from flatbuffers import flexbuffers

    from mcuforge.frontend.signal_options import CUSTOM_READERS

    fbb = flexbuffers.Builder()
    with fbb.Map():
        fbb.Int("end_index", 3)
    with pytest.raises(ModelFormatError, match="expected exactly the keys"):
        CUSTOM_READERS["SignalEnergy"](bytes(fbb.Finish()), "node 0 (SignalEnergy)")


# ------------------------------------------------------------ the audio front end on speech
def wav_frames(name: str, frame: int = 480, step: int = 320) -> list[np.ndarray]:
    path = MODELS / "inputs" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return [x[i : i + frame].reshape(1, frame) for i in range(0, len(x) - frame + 1, step)]


@pytest.mark.parametrize("wav", ["tflm_yes_1000ms.wav", "tflm_no_1000ms.wav", "tflm_noise_1000ms.wav",
                                 "tflm_silence_1000ms.wav"])  # fmt: skip
def test_preprocessor_first_frames_on_speech(wav):
    """Each 30 ms frame alone (the noise estimate from its reset state), as one invocation."""
    path = MODELS / "tflm_audio_preprocessor_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    model = path.read_bytes()
    g = read(model)
    for x in wav_frames(wav)[::6]:
        assert run(g, [x])[0].tobytes() == np.asarray(run_tflm(model, [x])[0]).tobytes()


# ------------------------------------------------------------ int32 builtins of the front end
def i32(shape, lo=-(2**31), hi=2**31 - 1):
    return RNG.integers(lo, hi, shape, endpoint=True).astype(np.int32)


def int32_binary(op, act=O.Act.NONE, scalar=False, small=False):
    lo, hi = (-3000, 3000) if small else (-(2**31), 2**31 - 1)
    a = i32((64,), lo, hi)
    b = i32((1,) if scalar else (64,), lo, hi)
    if op == Op.DIV:
        b[b == 0] = 7
    attrs = {Op.MUL: O.ElementwiseAttrs(act), Op.ADD: O.ElementwiseAttrs(act), Op.DIV: O.DivAttrs(act)}.get(op)
    return one_op(op, [(a, False), (b, scalar)], [(64,)], ["int32"], attrs)


INT32_CASES = [(op, act, scalar, small) for op in (Op.MUL, Op.ADD, Op.DIV) for act in (O.Act.NONE, O.Act.RELU, O.Act.RELU6)
               for scalar in (False, True) for small in (False, True)] + [
                  (op, O.Act.NONE, scalar, False) for op in (Op.MINIMUM, Op.MAXIMUM) for scalar in (False, True)]  # fmt: skip


@pytest.mark.parametrize("op,act,scalar,small", INT32_CASES)
def test_int32_arithmetic(op, act, scalar, small):
    g, feeds = int32_binary(op, act, scalar, small)
    assert_matches_tflm(g, feeds)


def test_int32_div_edges():
    """Truncation toward zero (INT32_MIN / -1 traps in TF-Lite Micro: not compared)."""
    a = np.array([-7, 7, -7, 7, -(2**31), 2**31 - 1, 0, -1, 5], np.int32)
    b = np.array([2, -2, -2, 2, 1, -1, 3, 2, -6], np.int32)
    g, feeds = one_op(Op.DIV, [(a, False), (b, False)], [(9,)], ["int32"], O.DivAttrs())
    assert_matches_tflm(g, feeds)


CASTS = [("int16", "int32"), ("uint32", "int32"), ("int32", "uint32"), ("int32", "int16"), ("int32", "int8")]


def cast_input(src):
    info = np.iinfo(src)
    return np.r_[info.min, info.max, 0, -1 if info.min else 1,
                 RNG.integers(int(info.min), int(info.max), 60, endpoint=True)].astype(src)  # fmt: skip


@pytest.mark.parametrize("src,dst", CASTS)
def test_integer_cast(src, dst):
    x = cast_input(src)
    g, feeds = one_op(Op.CAST, [(x, False)], [x.shape], [dst])
    assert_matches_tflm(g, feeds)


@pytest.mark.parametrize("attrs", SUBTRACTION)
def test_spectral_subtraction_carries_its_noise_estimate(attrs):
    """Ten invocations of one TF-Lite Micro interpreter against the kernel's state update
    (ref.signal.spectral_subtraction) with the estimate carried by hand from 0."""
    from mcuforge.oracle.tflm import run_tflm_sequence
    from mcuforge.ref.signal import spectral_subtraction

    frames = [RNG.integers(0, 2**20, 40, dtype=np.uint64).astype(np.uint32) for _ in range(10)]
    op = Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION
    g, _ = one_op(op, [(frames[0], False)], [(40,), (40,)], ["uint32", "uint32"], attrs)
    theirs = run_tflm_sequence(write(g), [[x] for x in frames])
    state = np.zeros(40, np.uint32)
    for x, (out, noise) in zip(frames, theirs):
        ours, state = spectral_subtraction(attrs, x, state)
        assert ours.tobytes() == out.tobytes() and state.tobytes() == noise.tobytes()


# ------------------------------------------------------------ framer, stacker, delay, overlap-add
STREAM = [
    (Op.SIGNAL_FRAMER, O.SignalFramerAttrs(6, 2, True), (2, 8), [(2, 4, 6), ()], ["int16", "bool"]),
    (Op.SIGNAL_FRAMER, O.SignalFramerAttrs(5, 5, False), (3, 10), [(3, 2, 5), ()], ["int16", "bool"]),
    (Op.SIGNAL_FRAMER, O.SignalFramerAttrs(7, 3, True), (9,), [(3, 7), ()], ["int16", "bool"]),
    (Op.SIGNAL_FRAMER, O.SignalFramerAttrs(8, 2, False), (4,), [(2, 8), ()], ["int16", "bool"]),
    (Op.SIGNAL_STACKER, O.SignalStackerAttrs(4, 2, 0, 1), (4,), [(12,), ()], ["int16", "bool"]),
    (Op.SIGNAL_STACKER, O.SignalStackerAttrs(3, 1, 2, 2), (3,), [(12,), ()], ["int16", "bool"]),
    (Op.SIGNAL_STACKER, O.SignalStackerAttrs(5, 0, 0, 1), (5,), [(5,), ()], ["int16", "bool"]),
    (Op.SIGNAL_DELAY, O.SignalDelayAttrs(3), (2, 8), [(2, 8)], ["int16"]),
    (Op.SIGNAL_DELAY, O.SignalDelayAttrs(11), (8,), [(8,)], ["int16"]),
    (Op.SIGNAL_DELAY, O.SignalDelayAttrs(0), (5,), [(5,)], ["int16"]),
    (Op.SIGNAL_OVERLAP_ADD, O.SignalOverlapAddAttrs(2), (3, 6), [(6,)], ["int16"]),
    (Op.SIGNAL_OVERLAP_ADD, O.SignalOverlapAddAttrs(4), (2, 2, 4), [(2, 8)], ["int16"]),
    (Op.SIGNAL_OVERLAP_ADD, O.SignalOverlapAddAttrs(1), (4, 5), [(4,)], ["int16"]),
]


def stream_graph(case):
    op, attrs, shape, out_shapes, dtypes = case
    return one_op(op, [(i16(shape), False)], out_shapes, dtypes, attrs)[0]


def _stream_compare(case, ours, theirs, first=True):
    """Outputs equal; a framer's or stacker's frames only where TF-Lite Micro wrote them: a
    valid stacker output, and without prefill not the first invocation's frames before
    frame_size samples arrived."""
    op, attrs = case[0], case[1]
    if op in (Op.SIGNAL_FRAMER, Op.SIGNAL_STACKER):
        assert bool(ours[1]) == bool(theirs[1])
        if op == Op.SIGNAL_STACKER and not bool(ours[1]):
            return
        if op == Op.SIGNAL_FRAMER and not attrs.prefill and first:
            ready = [(f + 1) * attrs.frame_step >= attrs.frame_size for f in range(ours[0].shape[-2])]
            a, b = np.asarray(ours[0])[..., ready, :], np.asarray(theirs[0]).reshape(ours[0].shape)[..., ready, :]
            assert a.tobytes() == b.tobytes()
            return
    for a, b in zip(ours, theirs):
        assert np.asarray(a).tobytes() == np.asarray(b).reshape(np.shape(a)).tobytes()


@pytest.mark.parametrize("case", STREAM, ids=[f"{c[0].value}-{i}" for i, c in enumerate(STREAM)])
def test_stream_op_one_invocation(case):
    g = stream_graph(case)
    x = i16(g.tensors[g.inputs[0]].shape, -30000, 30000)
    _stream_compare(case, run(g, [x]), run_tflm(write(g), [x]))


@pytest.mark.parametrize("case", STREAM, ids=[f"{c[0].value}-{i}" for i, c in enumerate(STREAM)])
def test_stream_op_state_over_invocations(case):
    """Eight invocations of one TF-Lite Micro interpreter against the kernels' state steps."""
    from mcuforge.oracle.tflm import run_tflm_sequence
    from mcuforge.ref import signal_stream as S

    g = stream_graph(case)
    op, a = case[0], case[1]
    shape = g.tensors[g.inputs[0]].shape
    xs = [i16(shape, -30000, 30000) for _ in range(8)]
    theirs = run_tflm_sequence(write(g), [[x] for x in xs])
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    reset, step = {
        Op.SIGNAL_FRAMER: (lambda: S.framer_reset(a, rows), S.framer_step),
        Op.SIGNAL_STACKER: (lambda: S.stacker_reset(a), S.stacker_step),
        Op.SIGNAL_DELAY: (lambda: S.delay_reset(a, rows), S.delay_step),
        Op.SIGNAL_OVERLAP_ADD: (lambda: S.overlap_add_reset(a, shape), S.overlap_add_step),
    }[op]
    state = reset()
    for k, (x, out) in enumerate(zip(xs, theirs)):
        *ours, state = step(a, x, state)
        if op == Op.SIGNAL_FRAMER and not a.prefill and 0 < k < 2:
            continue  # frames not ready at the second invocation (frame 8, step 2, rows of 4)
        _stream_compare(case, ours, out, first=k == 0)



# ------------------------------------------------------------ state over invocations, as read from a file
def test_preprocessor_over_a_second_of_speech():
    """49 frames of "yes" through one TF-Lite Micro interpreter and one Session: the noise
    estimate carries over (the reader's variable tensor)."""
    from mcuforge.oracle.tflm import run_tflm_sequence
    from mcuforge.ref.interpreter import run_sequence

    path = MODELS / "tflm_audio_preprocessor_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    model = path.read_bytes()
    g = read(model)
    assert g.state_bytes() == 160
    steps = [[x] for x in wav_frames("tflm_yes_1000ms.wav")]
    ours, theirs = run_sequence(g, steps), run_tflm_sequence(model, steps)
    first = run(g, steps[0])[0]
    assert any(o[0].tobytes() != run(g, s)[0].tobytes() for o, s in zip(ours[1:], steps[1:]))  # the state matters
    assert ours[0][0].tobytes() == first.tobytes()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a[0].tobytes() == np.asarray(b[0]).tobytes(), f"frame {k}"


@pytest.mark.parametrize("case", STREAM, ids=[f"{c[0].value}-{i}" for i, c in enumerate(STREAM)])
def test_stream_state_as_read(case):
    """The streaming ops read from a file: their state is a variable input, carried by run_sequence."""
    from mcuforge.oracle.tflm import run_tflm_sequence
    from mcuforge.ref.interpreter import run_sequence

    model = write(stream_graph(case))
    g = read(model)
    assert len(g.variables()) == (0 if case[0] == Op.SIGNAL_DELAY and case[1].delay_length == 0 else 1)
    shape = g.tensors[g.inputs[0]].shape
    steps = [[i16(shape, -30000, 30000)] for _ in range(6)]
    for k, (a, b) in enumerate(zip(run_sequence(g, steps), run_tflm_sequence(model, steps))):
        if case[0] == Op.SIGNAL_FRAMER and not case[1].prefill and k == 1:
            continue  # frames not ready at the second invocation (frame 8, step 2, rows of 4)
        _stream_compare(case, a, b, first=k == 0)
