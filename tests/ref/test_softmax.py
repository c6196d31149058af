"""SOFTMAX int8 -> int8 against TF-Lite Micro, bit for bit."""

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
from mcuforge.quant import gemmlowp as gl
from mcuforge.ref.softmax import KERNELS, calculate_input_radius, prepare_softmax
from oracle_util import assert_matches_tflm

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
OUT_Q = (1.0 / 256.0, -128)


def softmax_graph(shape, qi, beta=1.0, qo=OUT_Q):
    b = GraphBuilder()
    x = b.input(shape, "int8", *qi)
    b.output(b.op(Op.SOFTMAX, [x], shape, q=quant(*qo), attrs=O.SoftmaxAttrs(beta)))
    return b.graph


def check(g, x):
    return assert_matches_tflm(g, [x], KERNELS)[0]


@pytest.mark.parametrize("shape", [(1, 10), (2, 3, 7), (1, 250), (4, 1), (1, 2, 2, 16), (5,)])
@pytest.mark.parametrize("qi", [(0.1, 0), (0.0625, -128), (1e-3, 127), (0.5, 20)])
def test_shapes_and_scales(shape, qi):
    x = np.random.default_rng(sum(shape)).integers(-128, 128, shape).astype(np.int8)
    check(softmax_graph(shape, qi), x)


def test_long_rows():
    # 1001 classes: fine as long as the sum of exps stays below 256 (see the abort test).
    x = np.random.default_rng(7).integers(-128, 128, (2, 1001)).astype(np.int8)
    check(softmax_graph((2, 1001), (0.1, 0)), x)


@SETTINGS
@given(
    log_scale=st.floats(-3.0, 1.0),
    zp=st.integers(-128, 127),
    beta=st.floats(0.1, 10.0),
    depth=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_random(log_scale, zp, beta, depth, seed):
    g = softmax_graph((3, depth), (float(np.float32(10.0**log_scale)), zp), beta)
    x = np.random.default_rng(seed).integers(-128, 128, (3, depth)).astype(np.int8)
    x[1] = x[1, 0]  # an all-equal row
    x[2, : depth // 2] = -128  # a row with a long tail at the minimum
    try:
        prepare_softmax(g, g.nodes[0])
    except UnsupportedError:
        assert not run_tflm_isolated(write(g), [x]).ok
        return
    check(g, x)


def test_differences_below_diff_min_give_minus_128():
    # s_in = 2: multiplier 2 * 2^26 -> left shift 28, radius floor(31 * 2^26 / 2^28) = 7,
    # so only the 8 largest of 0..255 enter the sum; the others are skipped and give -128.
    g = softmax_graph((1, 256), (2.0, 0))
    p = prepare_softmax(g, g.nodes[0])
    assert (p.input_left_shift, p.diff_min) == (28, -7) == (28, -calculate_input_radius(5, 28))
    y = check(g, np.arange(-128, 128, dtype=np.int8).reshape(1, 256))
    assert (y[0, :248] == -128).all() and y[0, -1] == y.max() == 93  # 1 / (1 + e^-2 + e^-4 + ...)


def test_large_beta_caps_the_multiplier():
    # beta * s_in * 2^26 above 2^31 - 1 is capped; the maximum takes all the mass.
    g = softmax_graph((2, 50), (1.0, 0), beta=1000.0)
    p = prepare_softmax(g, g.nodes[0])
    assert (p.input_multiplier, p.input_left_shift) == ((1 << 31) - 1, 31)
    check(g, np.random.default_rng(1).integers(-128, 128, (2, 50)).astype(np.int8))


def test_many_equal_values_abort_like_tflm():
    # 1000 equal entries: the sum of exps (1000.0) leaves no room in the 8-bit output's
    # exponent (num_bits_over_unit + 23 > 31), and TF-Lite Micro aborts on TFLITE_CHECK.
    g = softmax_graph((1, 1000), (0.1, 0))
    x = np.zeros((1, 1000), np.int8)
    with pytest.raises(UnsupportedError, match="sum of exponentials"):
        KERNELS[Op.SOFTMAX](g, g.nodes[0], [x])
    assert not run_tflm_isolated(write(g), [x]).ok


@pytest.mark.parametrize("qo", [(1.0 / 256.0, 0), (1.0 / 255.0, -128)])
def test_output_quantisation_is_fixed(qo):
    g = softmax_graph((1, 4), (0.1, 0), qo=qo)
    with pytest.raises(UnsupportedError, match="1/256"):
        KERNELS[Op.SOFTMAX](g, g.nodes[0], [np.zeros((1, 4), np.int8)])
    assert not run_tflm_isolated(write(g), [np.zeros((1, 4), np.int8)]).ok


def test_tiny_beta_times_scale_is_rejected():
    g = softmax_graph((1, 4), (1e-6, 0), beta=1e-3)
    with pytest.raises(UnsupportedError, match="too small"):
        prepare_softmax(g, g.nodes[0])


def test_get_reciprocal():
    # x = 3.0 in Q12.19: 1/3 = 0.666.. * 2^-1, so shifted_scale ~ 2/3 in Q0.31 and one bit over unit.
    raw, bits = gl.get_reciprocal(np.array([3 << 19]), 12)
    assert bits[0] == 1 and abs(raw[0] / 2.0**31 - 2.0 / 3.0) < 1e-8
    assert gl.count_leading_zeros_u32(np.array([0, 1, 1 << 31, -1])).tolist() == [32, 31, 0, 0]
