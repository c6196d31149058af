"""The unary family (ABS, RSQRT, ELU, NEG, LOG_SOFTMAX, L2_NORMALIZATION, ZEROS_LIKE, FILL,
CAST) against TF-Lite Micro, bit for bit; NEG against LiteRT (TF-Lite Micro has no int8 NEG).

The element-wise tests feed all 256 int8 values, so each configuration is exhaustive.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.shapes import infer_shapes
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.quant.fixedpoint import quantize_multiplier
from mcuforge.ref.unary import KERNELS, prepare_abs
from mcuforge.ref.unary_math import inv_sqrt_quantized_multiplier_exp, log_x_for_x_greater_than_or_equal_to_1
from mcuforge.ref.unary_rows import prepare_log_softmax
from oracle_util import assert_matches_litert, assert_matches_oracles, assert_matches_tflm, run_litert

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 2, 128)
LOG_SOFTMAX_Q = (16.0 / 256.0, 127)
L2_NORM_Q = (1.0 / 128.0, 0)


def unary_graph(op, qi, qo, shape=ALL_INT8.shape, attrs=None):
    b = GraphBuilder()
    x = b.input(shape, "int8", *qi)
    b.output(b.op(op, [x], shape, q=quant(*qo), attrs=attrs))
    return b.graph


def check(op, qi, qo, x=ALL_INT8, attrs=None) -> np.ndarray:
    return assert_matches_tflm(unary_graph(op, qi, qo, x.shape, attrs), [x], KERNELS)[0]


def tflm_rejects(g, x=ALL_INT8) -> bool:
    return not run_tflm_isolated(write(g), [x]).ok


def random_rows(shape, seed):
    return np.random.default_rng(seed).integers(-128, 128, shape).astype(np.int8)


def scale(log10: float) -> float:
    return float(np.float32(10.0**log10))


# ---------------------------------------------------------------------- ABS
@pytest.mark.parametrize(
    "qi, qo",
    [
        ((0.05, 0), (0.05, 0)),  # equal scales: no multiplier, |x| = 128 saturates to 127
        ((0.05, -128), (0.05, -128)),
        ((0.05, 127), (0.05, -100)),  # equal scales, zero points differ
        ((0.05, 10), (0.1, -128)),
        ((0.3, -50), (0.01, 20)),  # saturates high
        ((1e-3, 3), (2.0, 5)),  # tiny multiplier
    ],
)
def test_abs(qi, qo):
    check(Op.ABS, qi, qo)


# s_in / s_out whose float32 quotient differs from the double one in the Q31 multiplier.
ABS_FLOAT32_QUOTIENTS = [(0.1, 0.3), (0.7, 0.11), (0.013, 0.0077)]


@pytest.mark.parametrize("si, so", ABS_FLOAT32_QUOTIENTS)
def test_abs_multiplier_from_a_float32_quotient(si, so):
    g = unary_graph(Op.ABS, (si, -3), (so, -128))
    p = prepare_abs(g, g.nodes[0])
    assert p.multiplier != quantize_multiplier(float(np.float32(si)) / float(np.float32(so)))[0]
    assert_matches_tflm(g, [ALL_INT8], KERNELS)


# -------------------------------------------------------------------- RSQRT
def rsqrt_inputs(zp: int) -> np.ndarray:
    """Every int8 value at or above the zero point (RSQRT's domain), padded with zp."""
    x = np.full(256, zp, dtype=np.int8)
    x[: 128 - zp] = np.arange(zp, 128)
    return x.reshape(ALL_INT8.shape)


@pytest.mark.parametrize(
    "qi, qo",
    [((0.05, -128), (0.05, -128)), ((0.02, -128), (0.01, -100)), ((1.0, 0), (1.0 / 128, -128)),
     ((0.5, 100), (0.004, -128)), ((3e-4, -128), (0.5, 0)), ((7.0, -20), (0.002, 30))],
)  # fmt: skip
def test_rsqrt(qi, qo):
    y = check(Op.RSQRT, qi, qo, rsqrt_inputs(qi[1]))
    assert y.reshape(-1)[0] == 127  # x == zp: the maximum


def test_rsqrt_below_the_zero_point_is_an_error_in_tflm():
    g = unary_graph(Op.RSQRT, (0.05, 0), (0.05, -128))
    assert tflm_rejects(g)
    # Ours: the arithmetic without TF-Lite Micro's check, which gives the value of x - zp = 1.
    y = KERNELS[Op.RSQRT](g, g.nodes[0], [ALL_INT8])[0].reshape(-1)
    assert (y[:128] == y[129]).all() and y[128] == 127


@SETTINGS
@given(log_scales=st.tuples(st.floats(-4.0, 1.0), st.floats(-4.0, 1.0)), zps=st.tuples(st.integers(-128, 127),
       st.integers(-128, 127)))  # fmt: skip
def test_rsqrt_random(log_scales, zps):
    qi, qo = (scale(log_scales[0]), zps[0]), (scale(log_scales[1]), zps[1])
    check(Op.RSQRT, qi, qo, rsqrt_inputs(zps[0]))


def test_inv_sqrt_multiplier():
    for x in [2, 3, 100, 65025, 1 << 28, (1 << 29) + 5, (1 << 31) - 1]:
        m, s = inv_sqrt_quantized_multiplier_exp(x, -1)
        assert math.isclose(m * 2.0 ** (s - 31), 1 / math.sqrt(x), rel_tol=1e-5)
    assert inv_sqrt_quantized_multiplier_exp(1, -1) == inv_sqrt_quantized_multiplier_exp(0, -1) == (2**31 - 1, 0)


# ---------------------------------------------------------------------- ELU
@pytest.mark.parametrize(
    "qi, qo",
    [((0.05, 0), (0.05, 0)), ((0.1, 50), (0.03, -100)), ((0.02, -128), (0.1, 127)), ((1.0, 0), (1.0 / 128, 0)),
     ((0.004, 10), (0.004, 10)), ((0.5, -3), (0.008, -128))],
)  # fmt: skip
def test_elu(qi, qo):
    check(Op.ELU, qi, qo)


@SETTINGS
@given(log_scales=st.tuples(st.floats(-4.0, 1.0), st.floats(-4.0, 1.0)), zps=st.tuples(st.integers(-128, 127),
       st.integers(-128, 127)))  # fmt: skip
def test_elu_and_abs_random(log_scales, zps):
    qi, qo = (scale(log_scales[0]), zps[0]), (scale(log_scales[1]), zps[1])
    check(Op.ELU, qi, qo)
    check(Op.ABS, qi, qo)


def test_elu_refuses_an_output_scale_that_overflows():
    g = unary_graph(Op.ELU, (1.0, 0), (1e-9, 0))
    with pytest.raises(UnsupportedError, match="too small"):
        KERNELS[Op.ELU](g, g.nodes[0], [ALL_INT8])


# ---------------------------------------------------------------------- NEG
def test_neg_is_float_only_in_tflm():
    assert tflm_rejects(unary_graph(Op.NEG, (0.05, 0), (0.05, 0)))


def test_neg_matches_litert_where_litert_is_quantisation_aware():
    """LiteRT's int8 NEG negates raw values: right for zero points 0 and x > -128 only."""
    g = unary_graph(Op.NEG, (0.05, 0), (0.05, 0))
    x = ALL_INT8.copy()
    x.reshape(-1)[0] = 0  # -(-128) wraps to -128 in LiteRT; ours saturates to 127
    assert_matches_litert(g, [x], KERNELS)
    assert run_litert(g, [ALL_INT8])[0].reshape(-1)[0] == -128
    assert KERNELS[Op.NEG](g, g.nodes[0], [ALL_INT8])[0].reshape(-1)[0] == 127


@pytest.mark.parametrize("zi, zo", [(10, -20), (-128, -128), (127, 127), (0, 100)])
def test_neg_with_zero_points(zi, zo):
    """zp_in + zp_out - x, clamped (reference_integer_ops::Negate): the real value negated."""
    g = unary_graph(Op.NEG, (0.05, zi), (0.05, zo))
    x = ALL_INT8.astype(np.int64)
    y = KERNELS[Op.NEG](g, g.nodes[0], [ALL_INT8])[0].astype(np.int64)
    inside = (zi + zo - x >= -128) & (zi + zo - x <= 127)
    assert np.array_equal((y - zo)[inside], -(x - zi)[inside])
    assert np.array_equal(y[~inside], np.where(zi + zo - x > 127, 127, -128)[~inside])


def test_neg_needs_equal_scales():
    g = unary_graph(Op.NEG, (0.05, 0), (0.1, 0))
    with pytest.raises(UnsupportedError, match="equal input and output scales"):
        KERNELS[Op.NEG](g, g.nodes[0], [ALL_INT8])


# -------------------------------------------------------------- LOG_SOFTMAX
@pytest.mark.parametrize("shape", [(1, 10), (2, 3, 7), (1, 250), (4, 1), (1, 2, 2, 16), (5,)])
@pytest.mark.parametrize("qi", [(0.1, 0), (0.0625, -128), (1e-3, 127), (0.5, 20), (4.0, -5)])
def test_log_softmax(shape, qi):
    check(Op.LOG_SOFTMAX, qi, LOG_SOFTMAX_Q, random_rows(shape, sum(shape)))


@SETTINGS
@given(log_scale=st.floats(-4.0, 1.5), zp=st.integers(-128, 127), depth=st.integers(1, 300),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_log_softmax_random(log_scale, zp, depth, seed):
    x = random_rows((3, depth), seed)
    x[1] = x[1, 0]  # an all-equal row
    x[2, : depth // 2] = -128  # a long tail at the minimum
    check(Op.LOG_SOFTMAX, (scale(log_scale), zp), LOG_SOFTMAX_Q, x)


def test_log_softmax_long_rows_and_every_value():
    check(Op.LOG_SOFTMAX, (0.1, 0), LOG_SOFTMAX_Q, random_rows((2, 2000), 3))
    check(Op.LOG_SOFTMAX, (0.03, 5), LOG_SOFTMAX_Q, ALL_INT8)
    check(Op.LOG_SOFTMAX, (0.1, 0), LOG_SOFTMAX_Q, np.zeros((1, 4095), np.int8))  # the longest row: sum 4095.0


def test_log_softmax_rows_of_4096_are_refused():
    """4096 equal values overflow the int32 sum of exps (4096.0 in Q12.19 is 2^31), and
    TF-Lite Micro's answer is then wrong (-9 where log(1/4096) gives -6)."""
    g = unary_graph(Op.LOG_SOFTMAX, (0.1, 0), LOG_SOFTMAX_Q, (1, 4096))
    x = np.zeros((1, 4096), np.int8)
    with pytest.raises(UnsupportedError, match="4095"):
        prepare_log_softmax(g, g.nodes[0])
    assert run_tflm_isolated(write(g), [x]).outputs[0].reshape(-1)[0] == -9


def test_log_softmax_large_scale_caps_the_multiplier():
    # s_in * 2^26 above 2^31 - 1 is capped: multiplier 2^31 - 1, left shift 31.
    g = unary_graph(Op.LOG_SOFTMAX, (100.0, 0), LOG_SOFTMAX_Q, (2, 50))
    p = prepare_log_softmax(g, g.nodes[0])
    assert (p.input_multiplier, p.input_left_shift) == ((1 << 31) - 1, 31)
    assert_matches_tflm(g, [random_rows((2, 50), 1)], KERNELS)


@pytest.mark.parametrize("qo", [(16.0 / 256.0, 0), (1.0 / 16.0 + 1e-6, 127), (1.0 / 256.0, -128)])
def test_log_softmax_output_quantisation_is_fixed(qo):
    g = unary_graph(Op.LOG_SOFTMAX, (0.1, 0), qo, (1, 4))
    x = np.zeros((1, 4), np.int8)
    with pytest.raises(UnsupportedError, match="16/256"):
        KERNELS[Op.LOG_SOFTMAX](g, g.nodes[0], [x])
    assert tflm_rejects(g, x)


def test_log_softmax_tiny_input_scale_is_rejected():
    g = unary_graph(Op.LOG_SOFTMAX, (1e-9, 0), LOG_SOFTMAX_Q, (1, 4))
    with pytest.raises(UnsupportedError, match="too small"):
        prepare_log_softmax(g, g.nodes[0])


def test_fixed_point_log():
    for v in [1.0, 1.5, 2.0, 10.0, 100.0, 1000.0, 4095.0]:
        raw = log_x_for_x_greater_than_or_equal_to_1(int(v * 2**19), 5, 12)
        assert abs(raw / 2.0**26 - math.log(v)) < 1e-6


# --------------------------------------------------------- L2_NORMALIZATION
@pytest.mark.parametrize("shape", [(1, 10), (2, 3, 7), (1, 250), (4, 1), (1, 2, 2, 16), (5,), (3, 3000)])
@pytest.mark.parametrize("zp", [0, -128, 127, 17])
def test_l2_normalization(shape, zp):
    x = random_rows(shape, sum(shape))
    x.reshape(-1, shape[-1])[0] = zp  # an all-zero row: GetInvSqrt's x <= 1 case
    check(Op.L2_NORMALIZATION, (0.05, zp), L2_NORM_Q, x)


def test_l2_normalization_every_value_and_tiny_rows():
    check(Op.L2_NORMALIZATION, (0.05, 3), L2_NORM_Q, ALL_INT8)
    x = np.array([[3, 4], [4, 3], [-128, 127], [1, 0], [0, 2]], np.int8)  # sums of squares 0, 1, 4, ...
    check(Op.L2_NORMALIZATION, (0.1, 0), L2_NORM_Q, x)


@pytest.mark.parametrize("qo", [(1.0 / 128.0, 5), (1.0 / 64.0, 0), (0.05, 0)])
def test_l2_normalization_output_quantisation_is_fixed(qo):
    """TF-Lite Micro writes 1/128-scaled values whatever the output tensor says; we refuse."""
    g = unary_graph(Op.L2_NORMALIZATION, (0.05, 0), qo, (2, 8))
    with pytest.raises(UnsupportedError, match="1/128"):
        KERNELS[Op.L2_NORMALIZATION](g, g.nodes[0], [np.zeros((2, 8), np.int8)])


@pytest.mark.parametrize("act", [O.Act.RELU, O.Act.RELU6])
def test_l2_normalization_activation_is_refused(act):
    g = unary_graph(Op.L2_NORMALIZATION, (0.05, 0), L2_NORM_Q, (2, 8), O.L2NormAttrs(act))
    with pytest.raises(UnsupportedError, match="activation"):
        infer_shapes(g, g.nodes[0])
    assert tflm_rejects(g, np.zeros((2, 8), np.int8))


def test_l2_normalization_rank_5_is_refused():
    g = unary_graph(Op.L2_NORMALIZATION, (0.05, 0), L2_NORM_Q, (1, 1, 2, 2, 8))
    with pytest.raises(UnsupportedError, match="rank"):
        infer_shapes(g, g.nodes[0])
    assert tflm_rejects(g, np.zeros((1, 1, 2, 2, 8), np.int8))


# ------------------------------------------------------- ZEROS_LIKE, FILL, CAST
def test_zeros_like_writes_raw_zeros():
    y = check(Op.ZEROS_LIKE, (0.05, 17), (0.05, 17))
    assert (y == 0).all()


def fill_graph(dims, value_q=(0.05, 3), out_q=(0.05, 3), const_value=None):
    """FILL of `dims` by a scalar: a constant, or a graph input reshaped to a scalar."""
    b = GraphBuilder()
    d = b.const(np.array(dims, np.int32))
    if const_value is None:
        x = b.input((1,), "int8", *value_q)
        shape = b.const(np.array([], np.int32))
        v = b.op(Op.RESHAPE, [x, shape], (), q=quant(*value_q), attrs=O.ReshapeAttrs(()))
    else:
        v = b.const(np.array(const_value, np.int8), q=quant(*value_q))
        x = b.input((1,), "int8", *value_q)
    f = b.op(Op.FILL, [d, v], tuple(dims), q=quant(*out_q))
    b.output(f)
    return b.graph


@pytest.mark.parametrize("dims", [[2, 3], [7], [1, 2, 3, 4]])
@pytest.mark.parametrize("value", [-128, -7, 0, 127])
def test_fill(dims, value):
    assert_matches_tflm(fill_graph(dims), [np.array([value], np.int8)])  # RESHAPE too: the whole interpreter
    y = assert_matches_tflm(fill_graph(dims, const_value=value), [np.zeros(1, np.int8)], KERNELS)[0]
    assert (y == value).all()


def test_fill_copies_the_raw_value_whatever_the_quantisation():
    g = fill_graph([4], value_q=(0.05, 3), out_q=(0.5, -20), const_value=-7)
    assert (assert_matches_tflm(g, [np.zeros(1, np.int8)], KERNELS)[0] == -7).all()


CAST_INPUTS = {
    "int8": np.arange(-128, 128, dtype=np.int8),
    "int32": np.array([-(2**31), -129, -128, -1, 0, 1, 127, 128, 255, 256, 300, -300, 2**31 - 1] + [0] * 243, np.int32),
    "float32": np.array(
        [-np.inf, -1e10, -300.2, -129.0, -128.9, -128.0, -1.7, -0.7, -0.0, 0.0, 0.3, 1.5, 2.5, 126.99, 127.0, 127.9,
         128.5, 3e9, np.inf] + list(np.linspace(-200, 200, 237)), np.float32),
}  # fmt: skip


@pytest.mark.parametrize("din, dout", [("int8", "int32"), ("int8", "float32"), ("int32", "int8"), ("float32", "int8")])
@pytest.mark.parametrize("quantised", [True, False])
def test_cast(din, dout, quantised):
    b = GraphBuilder()
    q = (0.05, 3) if quantised else (None, 0)
    x = b.input((256,), din, *(q if din == "int8" else (None, 0)))
    b.output(b.op(Op.CAST, [x], (256,), dout, quant(*q) if dout == "int8" and quantised else None))
    assert_matches_tflm(b.graph, [CAST_INPUTS[din]], KERNELS)


def test_cast_float_nan_gives_zero_like_tflm():
    b = GraphBuilder()
    x = b.input((4,), "float32")
    b.output(b.op(Op.CAST, [x], (4,), "int8", quant(0.1, 0)))
    xs = [np.array([np.nan, -np.nan, 1.0, np.nan], np.float32)]
    y = assert_matches_tflm(b.graph, xs, KERNELS)[0]
    assert y.tolist() == [0, 0, 1, 0]
    assert run_litert(b.graph, xs)[0].tolist()[0] == 127  # LiteRT differs (undefined in C++)


def test_abs_refuses_a_ratio_beyond_the_shift_range():
    g = unary_graph(Op.ABS, (1e3, 0), (1e-7, 0))
    with pytest.raises(UnsupportedError, match="too small"):
        KERNELS[Op.ABS](g, g.nodes[0], [ALL_INT8])


@pytest.mark.parametrize(
    "op, qi, qo, x",
    [(Op.ABS, (0.05, 10), (0.1, -128), ALL_INT8), (Op.RSQRT, (0.02, -128), (0.01, -100), rsqrt_inputs(-128)),
     (Op.LOG_SOFTMAX, (0.1, 3), LOG_SOFTMAX_Q, random_rows((3, 40), 8)),
     (Op.L2_NORMALIZATION, (0.05, -7), L2_NORM_Q, random_rows((3, 40), 9))],
)  # fmt: skip
def test_litert_agrees(op, qi, qo, x):
    """LiteRT's reference kernels agree with TF-Lite Micro on these (ELU has no LiteRT
    reference kernel; NEG and CAST's NaN differ, see above)."""
    assert_matches_oracles(unary_graph(op, qi, qo, x.shape), [x], kernels=KERNELS)
