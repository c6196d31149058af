"""MEAN, SUM, REDUCE_MAX and REDUCE_MIN against TF-Lite Micro, bit for bit (ARG_MAX, ARG_MIN and
CUMSUM: test_reduce_index.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.ref.reduce import KERNELS, prepare_mean
from oracle_util import assert_matches_oracles, assert_matches_tflm

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def reduce_graph(op, shape, axes, keep_dims, qi, qo):
    rank = len(shape)
    resolved = {a % rank for a in axes}
    if keep_dims:
        out_shape = tuple(1 if i in resolved else d for i, d in enumerate(shape))
    else:
        out_shape = tuple(d for i, d in enumerate(shape) if i not in resolved)
    b = GraphBuilder()
    x = b.input(shape, "int8", *qi)
    ax = b.const(np.array(axes, dtype=np.int32))
    b.output(b.op(op, [x, ax], out_shape, q=quant(*qo), attrs=O.ReduceAttrs(keep_dims)))
    return b.graph


def check(g, seed=0):
    x = np.random.default_rng(seed).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    return assert_matches_tflm(g, [x], KERNELS)[0]


AXES_CASES = {
    "global_pool": ((1, 7, 7, 16), [1, 2]),
    "global_pool_reversed": ((1, 5, 6, 8), [2, 1]),
    "last": ((2, 3, 20), [-1]),
    "one_spatial": ((1, 6, 6, 3), [1]),
    "batch_and_channels": ((3, 4, 5, 6), [0, 3]),
    "three_axes": ((1, 4, 4, 5), [1, 2, 3]),
    "duplicates": ((2, 3, 4, 5), [3, -1]),
    "all_2d": ((7, 9), [0, 1]),
    "5d": ((2, 3, 2, 3, 4), [1, 3]),
    "no_axes": ((2, 3), []),
}
QUANT_CASES = {
    "same": ((0.05, -3), (0.05, -3)),
    "rescaled": ((0.05, -3), (0.02, 10)),
    "zp_only": ((0.05, -128), (0.05, 127)),
    "upscale": ((0.3, 40), (0.01, -100)),  # s_in / s_out > 1: a positive shift before the 1/count fold
}


@pytest.mark.parametrize("case", sorted(AXES_CASES))
@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("q", sorted(QUANT_CASES))
def test_mean(case, keep_dims, q):
    shape, axes = AXES_CASES[case]
    check(reduce_graph(Op.MEAN, shape, axes, keep_dims, *QUANT_CASES[q]), seed=len(case))


def test_mean_with_equal_quantisation_rounds_like_quantized_mean_or_sum():
    # TF-Lite Micro runs QuantizedMeanOrSum even when input and output quantisation are
    # equal; truncating sum / count (older releases' reference_ops::Mean) differs here.
    g = reduce_graph(Op.MEAN, (1, 6, 6, 32), [1, 2], True, (0.05, 0), (0.05, 0))
    x = np.random.default_rng(3).integers(-128, 128, (1, 6, 6, 32)).astype(np.int8)
    y = assert_matches_tflm(g, [x], KERNELS)[0]
    s = x.astype(np.int64).sum(axis=(1, 2), keepdims=True)
    truncated = np.where(s >= 0, s // 36, -((-s) // 36))
    assert not np.array_equal(y, truncated)


def test_mean_large_count_caps_the_shift():
    # 64 * 64 = 4096 elements: shift = 12; with s_in / s_out = 2^-25 the cap 31 + shift bites.
    g = reduce_graph(Op.MEAN, (1, 64, 64, 2), [1, 2], False, (2.0**-20, 0), (32.0, 0))
    p = prepare_mean(g, g.nodes[0])
    assert p.num_elements == 4096 and p.shift == -31
    check(g)
    check(reduce_graph(Op.MEAN, (1, 64, 64, 2), [1, 2], False, (0.05, 7), (0.04, -7)))


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    data=st.data(),
    keep_dims=st.booleans(),
    log_scales=st.tuples(st.floats(-4.0, 1.0), st.floats(-4.0, 1.0)),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127)),
)
def test_mean_random(shape, data, keep_dims, log_scales, zps):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=3))
    si, so = (float(np.float32(10.0**v)) for v in log_scales)
    check(reduce_graph(Op.MEAN, tuple(shape), axes, keep_dims, (si, zps[0]), (so, zps[1])), seed=rank)


@pytest.mark.parametrize("case", sorted(AXES_CASES))
@pytest.mark.parametrize("keep_dims", [True, False])
def test_reduce_max(case, keep_dims):
    shape, axes = AXES_CASES[case]
    check(reduce_graph(Op.REDUCE_MAX, shape, axes, keep_dims, (0.05, -3), (0.05, -3)), seed=len(case))


def test_reduce_max_of_all_minimum_values():
    g = reduce_graph(Op.REDUCE_MAX, (2, 3, 4), [1], False, (0.1, -128), (0.1, -128))
    assert_matches_tflm(g, [np.full((2, 3, 4), -128, np.int8)], KERNELS)


def test_reduce_max_requires_equal_quantisation():
    g = reduce_graph(Op.REDUCE_MAX, (2, 3, 4), [1], False, (0.1, 0), (0.2, 0))
    x = np.zeros((2, 3, 4), np.int8)
    with pytest.raises(UnsupportedError, match="quantisation"):
        KERNELS[Op.REDUCE_MAX](g, g.nodes[0], [x, None])
    assert not run_tflm_isolated(write(g), [x]).ok


def test_axes_must_be_a_constant():
    b = GraphBuilder()
    x = b.input((2, 3), "int8", 0.1, 0)
    ax = b.input((1,), "int32")
    b.output(b.op(Op.MEAN, [x, ax], (2,), q=quant(0.1, 0), attrs=O.ReduceAttrs(False)))
    g = b.graph
    with pytest.raises(UnsupportedError, match="constant int32"):
        KERNELS[Op.MEAN](g, g.nodes[0], [np.zeros((2, 3), np.int8), np.array([1], np.int32)])


def test_axis_out_of_range_is_unsupported():
    g = reduce_graph(Op.MEAN, (2, 3), [0], False, (0.1, 0), (0.1, 0))
    g.tensors[g.nodes[0].inputs[1]].data = np.array([2], np.int32)
    with pytest.raises(UnsupportedError, match="out of range"):
        KERNELS[Op.MEAN](g, g.nodes[0], [np.zeros((2, 3), np.int8), None])


# ------------------------------------------------------------------ SUM
@pytest.mark.parametrize("case", sorted(AXES_CASES))
@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("q", sorted(QUANT_CASES))
def test_sum(case, keep_dims, q):
    shape, axes = AXES_CASES[case]
    check(reduce_graph(Op.SUM, shape, axes, keep_dims, *QUANT_CASES[q]), seed=len(case) + 1)


SUM_QUANT_CASES = {
    "no_saturation": ((0.01, 5), (0.5, -2)),  # s_out large enough that sums of a few values stay in range
    "downscale_far": ((2.0**-20, 0), (32.0, 0)),  # a multiplier with a shift far below 0
    "zp_edges": ((0.05, -128), (0.7, 127)),
}


@pytest.mark.parametrize("q", sorted(SUM_QUANT_CASES))
def test_sum_more_quantisation(q):
    check(reduce_graph(Op.SUM, (2, 5, 7), [1], False, *SUM_QUANT_CASES[q]), seed=5)
    check(reduce_graph(Op.SUM, (1, 16, 16, 3), [1, 2], True, *SUM_QUANT_CASES[q]), seed=6)


def test_sum_follows_tflm_where_litert_is_wrong():
    # LiteRT's reference SUM (ai-edge-litert 2.3, int8) returns values far from the sum here
    # (e.g. -1 or a value 128 off), while TF-Lite Micro's QuantizedMeanOrSum gives the
    # rescaled sum, rounded and clamped. We follow TF-Lite Micro.
    x = np.random.default_rng(0).integers(-128, 128, (2, 3, 4)).astype(np.int8)
    for qi, qo in [((0.1, 0), (0.1, 0)), ((0.1, 3), (0.2, -5))]:
        g = reduce_graph(Op.SUM, (2, 3, 4), [1], False, qi, qo)
        y = assert_matches_oracles(g, [x], follows="tflm", why="LiteRT's int8 SUM is wrong", kernels=KERNELS)
        exact = (x.astype(np.int64).sum(axis=1) - 3 * qi[1]) * qi[0] / qo[0] + qo[1]
        assert (np.abs(y - np.clip(exact, -128, 127)) <= 0.5 + 1e-9).all()


def test_sum_large_count_and_extremes():
    # 4096 values of -128 with zp 127: the int32 sum minus zp * count is -1044480.
    g = reduce_graph(Op.SUM, (1, 64, 64, 2), [1, 2], False, (0.001, 127), (10.0, 0))
    assert_matches_tflm(g, [np.full((1, 64, 64, 2), -128, np.int8)], KERNELS)
    g = reduce_graph(Op.SUM, (1, 64, 64, 2), [1, 2], False, (0.001, -128), (3.0, -128))
    assert_matches_tflm(g, [np.full((1, 64, 64, 2), 127, np.int8)], KERNELS)


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    data=st.data(),
    keep_dims=st.booleans(),
    log_scales=st.tuples(st.floats(-4.0, 1.0), st.floats(-4.0, 1.0)),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127)),
)
def test_sum_random(shape, data, keep_dims, log_scales, zps):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=3))
    si, so = (float(np.float32(10.0**v)) for v in log_scales)
    check(reduce_graph(Op.SUM, tuple(shape), axes, keep_dims, (si, zps[0]), (so, zps[1])), seed=rank)


# ------------------------------------------------------------ REDUCE_MIN
@pytest.mark.parametrize("case", sorted(AXES_CASES))
@pytest.mark.parametrize("keep_dims", [True, False])
def test_reduce_min(case, keep_dims):
    shape, axes = AXES_CASES[case]
    check(reduce_graph(Op.REDUCE_MIN, shape, axes, keep_dims, (0.05, 7), (0.05, 7)), seed=len(case) + 2)


def test_reduce_min_of_all_maximum_values():
    g = reduce_graph(Op.REDUCE_MIN, (2, 3, 4), [0, 2], True, (0.1, 127), (0.1, 127))
    assert_matches_tflm(g, [np.full((2, 3, 4), 127, np.int8)], KERNELS)


def test_reduce_min_requires_equal_quantisation():
    g = reduce_graph(Op.REDUCE_MIN, (2, 3, 4), [1], False, (0.1, 0), (0.1, 1))
    x = np.zeros((2, 3, 4), np.int8)
    with pytest.raises(UnsupportedError, match="quantisation"):
        KERNELS[Op.REDUCE_MIN](g, g.nodes[0], [x, None])
    assert not run_tflm_isolated(write(g), [x]).ok
