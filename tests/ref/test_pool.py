"""AVERAGE_POOL_2D and MAX_POOL_2D reference kernels against TF-Lite Micro, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ref.conv import conv_output_size
from mcuforge.ref.pool import KERNELS, prepare_pool
from oracle_util import assert_matches_tflm

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
POOLS = [Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D]


def pool_graph(op, in_shape, filt, stride=None, padding=O.Padding.VALID, act=O.Act.NONE, q=(0.05, 3), out_q=None):
    stride = filt if stride is None else stride
    n, h, w, c = in_shape
    oh, _ = conv_output_size(h, filt[0], stride[0], 1, padding)
    ow, _ = conv_output_size(w, filt[1], stride[1], 1, padding)
    b = GraphBuilder()
    x = b.input(in_shape, "int8", *q)
    y = b.op(op, [x], (n, oh, ow, c), q=quant(*(out_q or q)), attrs=O.PoolAttrs(filt, stride, padding, act))
    b.output(y)
    return b.graph


def check(g, x: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    if x is None:
        rng = np.random.default_rng(seed)
        x = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    return assert_matches_tflm(g, [x], KERNELS)[0]


# ------------------------------------------------------------- hand-computed
def test_average_rounds_halves_away_from_zero():
    # Windows of two: sums 5, -5, 3, -3 -> 2.5, -2.5, 1.5, -1.5 -> 3, -3, 2, -2
    # (round-half-even would give 2, -2, 2, -2).
    x = np.array([2, 3, -2, -3, 1, 2, -1, -2], np.int8).reshape(1, 1, 8, 1)
    g = pool_graph(Op.AVERAGE_POOL_2D, (1, 1, 8, 1), (1, 2))
    y = check(g, x)
    assert y.ravel().tolist() == [3, -3, 2, -2]


def test_average_divides_by_the_in_image_count():
    # SAME 3x3 stride 1 on 2x2: every window holds the whole image (4 values, not 9).
    x = np.array([10, 20, 30, 41], np.int8).reshape(1, 2, 2, 1)
    g = pool_graph(Op.AVERAGE_POOL_2D, (1, 2, 2, 1), (3, 3), (1, 1), O.Padding.SAME)
    y = check(g, x)
    assert np.all(y == 25)  # 101 / 4 = 25.25


def test_max_ignores_padding_even_for_negative_inputs():
    x = np.full((1, 3, 3, 1), -100, np.int8)
    g = pool_graph(Op.MAX_POOL_2D, (1, 3, 3, 1), (3, 3), (2, 2), O.Padding.SAME)
    y = check(g, x)
    assert np.all(y == -100)


# ---------------------------------------------------------------- options
CASES = {
    "valid_2x2": dict(in_shape=(1, 8, 8, 3), filt=(2, 2)),
    "valid_3x3_s2_odd": dict(in_shape=(1, 9, 7, 2), filt=(3, 3), stride=(2, 2)),
    "same_3x3_s2": dict(in_shape=(1, 9, 8, 4), filt=(3, 3), stride=(2, 2), padding=O.Padding.SAME),
    "same_3x3_s1": dict(in_shape=(1, 5, 6, 2), filt=(3, 3), stride=(1, 1), padding=O.Padding.SAME),
    "same_even_filter": dict(in_shape=(1, 7, 7, 2), filt=(4, 2), stride=(1, 3), padding=O.Padding.SAME),
    "global": dict(in_shape=(1, 6, 5, 8), filt=(6, 5)),
    "global_large": dict(in_shape=(1, 12, 12, 16), filt=(12, 12)),
    "overlapping": dict(in_shape=(1, 10, 10, 3), filt=(3, 3), stride=(1, 1)),
    "batch2": dict(in_shape=(2, 6, 6, 3), filt=(2, 2)),
    "relu": dict(in_shape=(1, 6, 6, 3), filt=(2, 2), act=O.Act.RELU, q=(0.05, 20)),
    "relu6": dict(in_shape=(1, 6, 6, 3), filt=(2, 2), act=O.Act.RELU6, q=(0.1, -10)),
    "relu_n1_to_1": dict(in_shape=(1, 6, 6, 3), filt=(2, 2), act=O.Act.RELU_N1_TO_1, q=(0.02, 5)),
    "zero_point_low": dict(in_shape=(1, 6, 6, 3), filt=(3, 3), padding=O.Padding.SAME, q=(0.02, -128), act=O.Act.RELU),
    "zero_point_high": dict(in_shape=(1, 6, 6, 3), filt=(3, 3), padding=O.Padding.SAME, q=(0.02, 127)),
}


@pytest.mark.parametrize("op", POOLS)
@pytest.mark.parametrize("name", list(CASES))
def test_pool(op, name):
    check(pool_graph(op, **CASES[name]), seed=sum(map(ord, name)))


@SETTINGS
@given(
    op=st.sampled_from(POOLS),
    seed=st.integers(0, 2**32 - 1),
    hw=st.tuples(st.integers(1, 10), st.integers(1, 10)),
    c=st.integers(1, 5),
    filt=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    padding=st.sampled_from(list(O.Padding)),
    act=st.sampled_from(list(O.Act)),
    scale=st.floats(0.001, 1.0),
    zp=st.integers(-128, 127),
)
def test_pool_random(op, seed, hw, c, filt, stride, padding, act, scale, zp):
    if padding == O.Padding.VALID and (filt[0] > hw[0] or filt[1] > hw[1]):
        padding = O.Padding.SAME
    g = pool_graph(op, (1, *hw, c), filt, stride, padding, act, (scale, zp))
    check(g, seed=seed)


# ------------------------------------------------------------ unsupported
@pytest.mark.parametrize("out_q", [(0.06, 3), (0.05, 4)])
def test_requantising_pool_is_unsupported(out_q):
    g = pool_graph(Op.AVERAGE_POOL_2D, (1, 4, 4, 1), (2, 2), q=(0.05, 3), out_q=out_q)
    with pytest.raises(UnsupportedError, match="quantisation"):
        prepare_pool(g, g.nodes[0])


def test_int16_is_unsupported():
    g = pool_graph(Op.MAX_POOL_2D, (1, 4, 4, 1), (2, 2))
    g.tensors[g.inputs[0]].dtype = "int16"
    with pytest.raises(UnsupportedError, match="int16"):
        prepare_pool(g, g.nodes[0])
