"""RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC and TANH against TF-Lite Micro, bit for bit.

Every test feeds all 256 int8 values, so each configuration is checked exhaustively.
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
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.quant import gemmlowp as gl
from mcuforge.ref.activations import KERNELS, prepare_relu6, prepare_sigmoid_tanh
from oracle_util import assert_matches_tflm

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 2, 128)
# The output quantisation LOGISTIC and TANH produce whatever the tensor says.
FIXED_OUTPUT = {Op.LOGISTIC: (1.0 / 256.0, -128), Op.TANH: (1.0 / 128.0, 0)}


def unary_graph(op, qi, qo, attrs=None):
    b = GraphBuilder()
    x = b.input(ALL_INT8.shape, "int8", *qi)
    b.output(b.op(op, [x], ALL_INT8.shape, q=quant(*qo), attrs=attrs))
    return b.graph


def check(op, qi, qo, attrs=None) -> np.ndarray:
    return assert_matches_tflm(unary_graph(op, qi, qo, attrs), [ALL_INT8], KERNELS)[0]


def tflm_rejects(g) -> bool:
    return not run_tflm_isolated(write(g), [ALL_INT8]).ok


@SETTINGS
@given(
    op=st.sampled_from([Op.RELU, Op.RELU6, Op.LEAKY_RELU, Op.HARD_SWISH, Op.LOGISTIC, Op.TANH]),
    log_scales=st.tuples(st.floats(-6.0, 2.0), st.floats(-6.0, 2.0)),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127)),
    alpha=st.floats(-1.5, 1.5),
)
def test_random_quantisation(op, log_scales, zps, alpha):
    si, so = (float(np.float32(10.0**v)) for v in log_scales)
    qo = FIXED_OUTPUT.get(op, (so, zps[1]))
    attrs = O.LeakyReluAttrs(alpha) if op == Op.LEAKY_RELU else None
    g = unary_graph(op, (si, zps[0]), qo, attrs)
    if op == Op.HARD_SWISH and si / 128.0 / so >= 1.0:
        # Output multiplier exponent > 0: TF-Lite Micro's HardSwishPrepare fails.
        with pytest.raises(UnsupportedError):
            KERNELS[op](g, g.nodes[0], [ALL_INT8])
        assert tflm_rejects(g)
        return
    assert_matches_tflm(g, [ALL_INT8], KERNELS)


@pytest.mark.parametrize("qi, qo", [((0.05, -10), (0.05, -10)), ((0.05, 30), (0.02, -128)), ((0.3, -128), (0.01, 100))])
def test_relu_requantises(qi, qo):
    y = check(Op.RELU, qi, qo)
    assert y.min() == max(-128, qo[1])


def test_relu6_ignores_the_output_quantisation():
    # Relu6Quantized clamps raw input values to [zp_in, q_in(6.0)]; the output scale is never read.
    y = check(Op.RELU6, (0.05, -20), (1.0, 90))
    assert y.min() == -20 and y.max() == -20 + 120


# Input scales where round(6.0f / s) in float32 differs from the same quotient in double.
@pytest.mark.parametrize("scale", [2.4000000953674316, 1.7142857313156128, 1.3333333730697632, 0.800000011920929])
def test_relu6_six_uses_a_float32_quotient(scale):
    g = unary_graph(Op.RELU6, (scale, -100), (scale, -100))
    assert prepare_relu6(g, g.nodes[0]).six != -100 + math.floor(6.0 / scale + 0.5)  # double would differ
    assert_matches_tflm(g, [ALL_INT8], KERNELS)


@pytest.mark.parametrize("alpha", [0.2, 0.01, 1.7, -0.3, 0.0])
def test_leaky_relu_alphas(alpha):
    check(Op.LEAKY_RELU, (0.05, 10), (0.03, -5), O.LeakyReluAttrs(alpha))


# (s_in, zp_in, s_out, zp_out, alpha) where float32 arithmetic for the multipliers
# (as some TF-Lite Micro sources have it) changes an output; TF-Lite Micro uses double.
LEAKY_DOUBLE_CASES = [
    (2.266101121902466, 77, 0.6175031661987305, -26, -0.8615677952766418),
    (1.4291926622390747, -62, 5.019180774688721, 52, -0.8916932344436646),
]
HARD_SWISH_DOUBLE_CASES = [
    (1.1883974075317383, -128, 7.46129035949707, -63),
    (0.5394995808601379, 1, 2.588571071624756, -27),
]


@pytest.mark.parametrize("si, zi, so, zo, alpha", LEAKY_DOUBLE_CASES)
def test_leaky_relu_multipliers_in_double(si, zi, so, zo, alpha):
    check(Op.LEAKY_RELU, (si, zi), (so, zo), O.LeakyReluAttrs(alpha))


@pytest.mark.parametrize("si, zi, so, zo", HARD_SWISH_DOUBLE_CASES)
def test_hard_swish_multipliers_in_double(si, zi, so, zo):
    check(Op.HARD_SWISH, (si, zi), (so, zo))


@pytest.mark.parametrize(
    "qi, qo",
    [
        ((0.05, 0), (0.025, -50)),  # typical MobileNetV3
        ((0.5, 3), (0.3, -90)),  # reluish multiplier > 1: the saturating left shifts
        ((1e-4, 0), (0.5, 0)),  # output exponent <= -16: int16 RoundingDivideByPOT's wrapped mask
        ((0.02, -128), (0.02, 127)),
    ],
)
def test_hard_swish(qi, qo):
    check(Op.HARD_SWISH, qi, qo)


def test_hard_swish_output_scale_below_input_over_128_is_rejected():
    g = unary_graph(Op.HARD_SWISH, (1.0, 0), (0.001, 0))
    with pytest.raises(UnsupportedError, match="1/128"):
        KERNELS[Op.HARD_SWISH](g, g.nodes[0], [ALL_INT8])
    assert tflm_rejects(g)


@pytest.mark.parametrize("op", [Op.LOGISTIC, Op.TANH])
@pytest.mark.parametrize("scale", [1e-5, 0.004, 0.0625, 0.1, 0.7, 3.0, 8.0, 50.0])
@pytest.mark.parametrize("zp", [-128, 0, 127])
def test_logistic_tanh_scales(op, scale, zp):
    check(op, (scale, zp), FIXED_OUTPUT[op])


@pytest.mark.parametrize("op", [Op.LOGISTIC, Op.TANH])
def test_logistic_tanh_ignore_the_output_scale(op):
    qo = (0.5, -128) if op == Op.LOGISTIC else (0.25, 40)
    check(op, (0.1, 0), qo)


def test_logistic_needs_output_zero_point_minus_128():
    g = unary_graph(Op.LOGISTIC, (0.1, 0), (1.0 / 256.0, 0))
    with pytest.raises(UnsupportedError, match="-128"):
        KERNELS[Op.LOGISTIC](g, g.nodes[0], [ALL_INT8])
    assert tflm_rejects(g)


def test_sigmoid_tanh_prepare_values():
    # s_in = 0.1: 0.1 * 2^27 = 13421772.8 -> frexp (0.8, 24); radius floor(15 * 2^27 / 2^24) = 120.
    g = unary_graph(Op.TANH, (0.1, 3), FIXED_OUTPUT[Op.TANH])
    p = prepare_sigmoid_tanh(g, g.nodes[0])
    assert (p.input_left_shift, p.input_range_radius, p.input_zero_point) == (24, 120, 3)
    assert p.input_multiplier == round(float(np.float32(0.1)) * 2**27 / 2**24 * 2**31)


# RELU, RELU6, LEAKY_RELU, LOGISTIC and TANH run on int16 (tests/ref/test_int16_ops.py);
# HARD_SWISH does not (nor does TF-Lite Micro's), and int16 LOGISTIC / TANH with an
# output scale other than 2^-15 is refused, as TF-Lite Micro refuses it.
@pytest.mark.parametrize("op", [Op.HARD_SWISH, Op.LOGISTIC, Op.TANH])
def test_int16_is_unsupported(op):
    b = GraphBuilder()
    x = b.input((4,), "int16", 0.01, 0)
    b.output(b.op(op, [x], (4,), "int16", quant(0.01, 0)))
    g = b.graph
    with pytest.raises(UnsupportedError, match="int16"):
        KERNELS[op](g, g.nodes[0], [np.zeros(4, np.int16)])


# ------------------------------------------------------- gemmlowp fixed point
def test_gemmlowp_logistic_and_tanh_approximate_the_functions():
    """Sanity bounds (the exact values are pinned by the TF-Lite Micro comparisons above)."""
    raw = np.arange(-(2**31), 2**31, 2**21, dtype=np.int64)  # Q4.27 inputs over [-16, 16)
    x = raw / 2.0**27
    assert np.max(np.abs(gl.logistic(raw, 4) / 2.0**31 - 1.0 / (1.0 + np.exp(-x)))) < 1e-6
    assert np.max(np.abs(gl.tanh(raw, 4) / 2.0**31 - np.tanh(x))) < 1e-6
    assert gl.logistic(np.array([0]), 4)[0] == 1 << 30 and gl.tanh(np.array([0]), 4)[0] == 0


def test_gemmlowp_int16_rounding_divide_by_pot_mask_wraps():
    # exponent >= 16: the int16 mask is -1, so x >= 0 gives 1 and x < 0 gives -1, as in C++.
    assert gl.rounding_divide_by_pot_i16(np.array([0, 5, 32767, -1, -32768]), 17).tolist() == [1, 1, 1, -1, -1]
    assert gl.rounding_divide_by_pot_i16(np.array([3, -3, 2, -2]), 1).tolist() == [2, -2, 1, -1]


def test_gemmlowp_exp_on_negative_values():
    raw = -np.arange(0, 2**31, 2**20, dtype=np.int64)  # Q5.26 inputs over (-32, 0]
    e = gl.exp_on_negative_values(raw, 5) / 2.0**31
    assert np.max(np.abs(e - np.exp(raw / 2.0**26))) < 1e-6
    assert math.isclose(gl.one_over_one_plus_x_for_x_in_0_1(np.array([1 << 30]))[0] / 2.0**31, 1 / 1.5, rel_tol=1e-7)
