"""ARG_MAX, ARG_MIN (TF-Lite Micro for int32 indices and axes, LiteRT for int64 ones) and
CUMSUM (TF-Lite Micro, with its extra -zp_in term compensated; see ref/reduce_index.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.shapes import infer_shapes
from mcuforge.oracle.tflm import run_tflm, run_tflm_isolated
from mcuforge.ref.reduce import KERNELS
from oracle_util import assert_matches_litert, assert_matches_tflm, run_kernels


def arg_graph(op, shape, axis, output_type="int32", axis_dtype=np.int32, q=(0.05, -3)):
    a = axis % len(shape)
    b = GraphBuilder()
    x = b.input(shape, "int8", *q)
    ax = b.const(np.array([axis], dtype=axis_dtype))
    out_shape = tuple(d for i, d in enumerate(shape) if i != a)
    b.output(b.op(op, [x, ax], out_shape, dtype=output_type, attrs=O.ArgMinMaxAttrs(output_type)))
    return b.graph


def cumsum_graph(shape, axis, exclusive=False, reverse=False, qi=(0.05, 0), qo=(0.05, 0), axis_dtype=np.int32):
    b = GraphBuilder()
    x = b.input(shape, "int8", *qi)
    ax = b.const(np.array([axis], dtype=axis_dtype))
    b.output(b.op(Op.CUMSUM, [x, ax], shape, q=quant(*qo), attrs=O.CumsumAttrs(exclusive, reverse)))
    return b.graph


def rand(shape, seed, lo=-128, hi=128):
    return np.random.default_rng(seed).integers(lo, hi, shape).astype(np.int8)


ARG_CASES = {
    "last": ((2, 3, 20), -1),
    "first": ((5, 4), 0),
    "middle": ((2, 7, 3, 2), 1),
    "1d": ((9,), 0),
    "length_one": ((3, 1, 4), 1),
    "5d": ((2, 3, 2, 3, 4), 3),
    "negative": ((4, 5, 6), -2),
}


# ------------------------------------------------------------ ARG_MAX / ARG_MIN
@pytest.mark.parametrize("op", [Op.ARG_MAX, Op.ARG_MIN])
@pytest.mark.parametrize("case", sorted(ARG_CASES))
def test_arg_int32(op, case):
    shape, axis = ARG_CASES[case]
    g = arg_graph(op, shape, axis)
    assert_matches_tflm(g, [rand(shape, len(case))], KERNELS)


@pytest.mark.parametrize("op", [Op.ARG_MAX, Op.ARG_MIN])
def test_arg_ties_take_the_first_index(op):
    # few distinct values: many ties; all equal: index 0; the extreme last or first
    shape = (6, 8, 5)
    g = arg_graph(op, shape, 1)
    for x in (rand(shape, 1, -2, 2), np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)):
        assert_matches_tflm(g, [x], KERNELS)
    y = assert_matches_tflm(g, [rand(shape, 2, 0, 2)], KERNELS)[0]
    assert y.dtype == np.int32


@pytest.mark.parametrize("op", [Op.ARG_MAX, Op.ARG_MIN])
@pytest.mark.parametrize("case", sorted(ARG_CASES))
def test_arg_int64_follows_litert(op, case):
    # TF-Lite Micro runs int32 indices and int32 axes only; LiteRT's reference kernel is the oracle.
    shape, axis = ARG_CASES[case]
    for g in (arg_graph(op, shape, axis, "int64"), arg_graph(op, shape, axis, "int32", np.int64)):
        x = rand(shape, len(case) + 1)
        y = assert_matches_litert(g, [x], KERNELS)[0]
        assert not run_tflm_isolated(write(g), [x]).ok
        ref = (np.argmax if op == Op.ARG_MAX else np.argmin)(x, axis=axis)
        assert np.array_equal(y, ref)
    assert y.dtype == np.int32


def test_arg_output_type_must_match_the_tensor():
    g = arg_graph(Op.ARG_MAX, (2, 3), 1)
    g.nodes[0].attrs = O.ArgMinMaxAttrs("int64")
    with pytest.raises(ModelFormatError, match="int64 indices but the output is int32"):
        infer_shapes(g, g.nodes[0])
    g.nodes[0].attrs = O.ArgMinMaxAttrs("float32")
    with pytest.raises(UnsupportedError, match="float32 indices"):
        infer_shapes(g, g.nodes[0])


def test_arg_axis_must_be_one_constant_value():
    g = arg_graph(Op.ARG_MIN, (2, 3), 1)
    g.tensors[g.nodes[0].inputs[1]].data = np.array([0, 1], np.int32)
    with pytest.raises(ModelFormatError, match="one"):
        infer_shapes(g, g.nodes[0])
    with pytest.raises(UnsupportedError, match="not one axis"):
        KERNELS[Op.ARG_MIN](g, g.nodes[0], [np.zeros((2, 3), np.int8), None])


# ------------------------------------------------------------ CUMSUM
def tflm_cumsum_compensated(shape, axis, exclusive, reverse, qi, qo, x):
    """TF-Lite Micro's CUMSUM on x with one extra element of raw value 2 zp_in before the
    first summed element: it adds (2 zp_in - zp_in) * s_in, cancelling TF-Lite Micro's extra
    -zp_in * s_in, so the other outputs are the right cumulative sums."""
    a = axis % len(shape)
    pad = np.full(shape[:a] + (1,) + shape[a + 1 :], 2 * qi[1], np.int8)
    padded = np.concatenate([x, pad] if reverse else [pad, x], axis=a)
    g = cumsum_graph(padded.shape, axis, exclusive, reverse, qi, qo)
    y = run_tflm(write(g), [padded])[0].reshape(padded.shape)
    keep = range(0, shape[a]) if reverse else range(1, shape[a] + 1)
    return np.take(y, list(keep), axis=a)


CUMSUM_CASES = {
    "last": ((2, 3, 7), -1),
    "first": ((5, 4), 0),
    "middle": ((2, 6, 3, 2), 1),
    "1d": ((9,), 0),
    "length_one": ((3, 1, 4), 1),
    "5d": ((2, 3, 2, 3, 4), 3),
}
CUMSUM_QUANT = {
    "same": ((0.05, 0), (0.05, 0)),
    "rescaled": ((0.05, 0), (0.2, 10)),
    "zp_in": ((0.05, -20), (0.1, 3)),
    "zp_in_edge": ((0.02, 63), (0.3, -128)),
    "finer_output": ((0.1, 5), (0.03, -5)),
}


@pytest.mark.parametrize("case", sorted(CUMSUM_CASES))
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("q", sorted(CUMSUM_QUANT))
def test_cumsum(case, exclusive, reverse, q):
    shape, axis = CUMSUM_CASES[case]
    qi, qo = CUMSUM_QUANT[q]
    g = cumsum_graph(shape, axis, exclusive, reverse, qi, qo)
    x = rand(shape, len(case) + 7 * exclusive + 3 * reverse)
    ours = run_kernels(g, [x], KERNELS)[0]
    if qi[1] == 0:  # no extra term: TF-Lite Micro as it is
        assert_matches_tflm(g, [x], KERNELS)
    assert np.array_equal(ours, tflm_cumsum_compensated(shape, axis, exclusive, reverse, qi, qo, x))


def test_cumsum_tflm_adds_minus_zp_in():
    # TF-Lite Micro's accumulator starts at the rescaled -zp_in: with equal quantisation
    # every output is zp_in lower than the running sum (as long as nothing clamps).
    shape, q = (3, 5), (0.05, 10)
    g = cumsum_graph(shape, 1, qi=q, qo=q)
    x = rand(shape, 4, -3, 4)
    ours = run_kernels(g, [x], KERNELS)[0]
    assert np.array_equal(ours, np.cumsum(x.astype(np.int64) - 10, axis=1) + 10)
    assert np.array_equal(run_tflm(write(g), [x])[0], ours - 10)


def test_cumsum_extremes_and_the_longest_axis():
    # zp 0: 128 * 2^19 per value, 31 values fit the int32 accumulator; zp -128: 16 values
    # (2 zp_in is no int8 value there: checked against the real sums instead).
    for n, zp, v in ((31, 0, -128), (16, -128, 127)):
        g = cumsum_graph((2, n), 1, qi=(0.01, zp), qo=(0.5, 0))
        x = np.full((2, n), v, np.int8)
        y = run_kernels(g, [x], KERNELS)[0]
        if zp == 0:
            assert_matches_tflm(g, [x], KERNELS)
        exact = np.cumsum(x.astype(np.int64) - zp, axis=1) * 0.01 / 0.5
        assert (np.abs(y - np.clip(exact, -128, 127)) <= 0.5 + 1e-9).all()
        g = cumsum_graph((2, n + 1), 1, qi=(0.01, zp), qo=(0.5, 0))
        with pytest.raises(UnsupportedError, match="overflow"):
            KERNELS[Op.CUMSUM](g, g.nodes[0], [np.zeros((2, n + 1), np.int8), None])


def test_cumsum_output_rescale_must_be_below_one():
    g = cumsum_graph((4,), 0, qi=(1.0, 0), qo=(1e-7, 0))
    with pytest.raises(UnsupportedError, match="below 1"):
        KERNELS[Op.CUMSUM](g, g.nodes[0], [np.zeros(4, np.int8), None])


def test_cumsum_axis_is_int32():
    g = cumsum_graph((2, 3), 1, axis_dtype=np.int64)
    x = np.zeros((2, 3), np.int8)
    with pytest.raises(UnsupportedError, match="constant int32 tensor"):
        KERNELS[Op.CUMSUM](g, g.nodes[0], [x, None])
    assert not run_tflm_isolated(write(g), [x]).ok


def test_random_shapes():
    rng = np.random.default_rng(11)
    for i in range(40):
        shape = tuple(int(v) for v in rng.integers(1, 6, int(rng.integers(1, 6))))
        axis = int(rng.integers(-len(shape), len(shape)))
        x = rand(shape, i)
        op = (Op.ARG_MAX, Op.ARG_MIN)[i % 2]
        assert_matches_tflm(arg_graph(op, shape, axis), [x], KERNELS)
        si, so = (float(np.float32(10.0 ** rng.uniform(-3.0, 0.0))) for _ in range(2))
        qi, qo = (si, int(rng.integers(-63, 64))), (so, int(rng.integers(-128, 128)))
        exclusive, reverse = bool(i % 3 == 0), bool(i % 4 < 2)
        g = cumsum_graph(shape, axis, exclusive, reverse, qi, qo)
        ours = run_kernels(g, [x], KERNELS)[0]
        assert np.array_equal(ours, tflm_cumsum_compensated(shape, axis, exclusive, reverse, qi, qo, x))
