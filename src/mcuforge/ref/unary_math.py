"""Fixed-point helpers of the unary family that quant/gemmlowp.py does not have, from
TFLite's kernels/internal/common.h, on plain Python ints (one value at a time):

- inv_sqrt_quantized_multiplier_exp: GetInvSqrtQuantizedMultiplierExp (RSQRT,
  L2_NORMALIZATION), 1/sqrt(x) by five Newton-Raphson steps in Q3.28;
- log_x_for_x_greater_than_or_equal_to_1: the fixed-point log of LOG_SOFTMAX;
- expf: the C library's float32 exp, which TF-Lite Micro's ELU table calls.

Additions and subtractions of FixedPoint values wrap to int32 as gemmlowp's do;
products are SaturatingRoundingDoublingHighMul (gemmlowp.mul).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from mcuforge.quant import gemmlowp as gl
from mcuforge.quant.fixedpoint import INT32_MAX, INT32_MIN, wrap_int32

# Q0.31 constants of log_x_for_x_greater_than_or_equal_to_1_impl.
LOG_2 = 1488522236  # log(2)
SQRT_SQRT_HALF = 1805811301  # sqrt(sqrt(0.5))
SQRT_HALF = 1518500250  # sqrt(0.5), also sqrt(2)/2 of the inverse square root
ONE_QUARTER = 536870912  # 1/4
ALPHA_N = 117049297  # 11/240 * sqrt(sqrt(2))
ALPHA_D = 127690142  # 1/20 * sqrt(sqrt(2))
ALPHA_I = 1057819769  # 2/sqrt(sqrt(2)) - sqrt(sqrt(2))
ALPHA_F = 638450708  # 1/4 * sqrt(sqrt(2))
HALF_THREE_Q3 = (1 << 28) + (1 << 27)  # 1.5 in Q3.28


def _i(x) -> int:
    return int(np.asarray(x).reshape(()))


def mul(a: int, b: int) -> int:
    return _i(gl.mul(a, b))


def add(a: int, b: int) -> int:
    return _i(gl.add(a, b))


def sub(a: int, b: int) -> int:
    return _i(gl.sub(a, b))


def pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT(Param): saturating left shift or rounding right shift."""
    return _i(gl.saturating_rounding_multiply_by_pot(x, exponent))


def clz32(x: int) -> int:
    return _i(gl.count_leading_zeros_u32(x))


def saturating_add(a: int, b: int) -> int:
    """SaturatingAddNonGemmlowp for int32."""
    return min(max(a + b, INT32_MIN), INT32_MAX)


def saturating_sub(a: int, b: int) -> int:
    """SaturatingSub for int32."""
    return min(max(a - b, INT32_MIN), INT32_MAX)


def inv_sqrt_quantized_multiplier_exp(x: int, reverse_shift: int) -> tuple[int, int]:
    """GetInvSqrtQuantizedMultiplierExp: 1/sqrt(x) as (Q31 multiplier, shift * reverse_shift).

    x <= 1 (0 is invalid, 1 would overflow the general path) gives (INT32_MAX, 0). Else
    x is scaled by powers of 4 into [2^27, 2^29), read as Q3.28 halved, and five
    Newton-Raphson steps x <- 1.5 x - (input / 2) x^3 start from 1.
    """
    if x <= 1:
        return INT32_MAX, 0
    shift = 11
    while x >= 1 << 29:
        x //= 4
        shift += 1
    left_shift_bit_pairs = (clz32(x) - 1) // 2 - 1
    shift -= left_shift_bit_pairs
    x <<= 2 * left_shift_bit_pairs
    fixed_input = x >> 1  # Q3.28
    half_input = pot(fixed_input, -1)
    y = 1 << 28  # F3::One()
    for _ in range(5):
        y3 = pot(mul(mul(y, y), y), 6)  # Q9 -> Q3
        y = pot(sub(mul(HALF_THREE_Q3, y), mul(half_input, y3)), 3)  # Q6 -> Q3
    y = mul(y, SQRT_HALF)  # times sqrt(2)/2: Q3.28 times Q0.31
    if shift < 0:
        y = _i(wrap_int32(y << -shift))  # int32 shift, as the C++ does
        shift = 0
    return y, shift * reverse_shift


def log_x_for_x_greater_than_or_equal_to_1(x: int, output_integer_bits: int, input_integer_bits: int) -> int:
    """log_x_for_x_greater_than_or_equal_to_1_impl: raw FixedPoint<output_integer_bits>
    of log(x), x a raw FixedPoint<input_integer_bits>.

    log(x) = z * log(2) + log(r) with x = r * 2^z: two candidate splits (directly and
    after premultiplying by sqrt(1/2)) keep r near sqrt(sqrt(1/2)); log(r) is a
    rational approximation in q = 2 (r - sqrt(sqrt(1/2))). The result is accumulated
    with one extra integer bit and rescaled.
    """
    accum_bits = output_integer_bits + 1
    shifted_quarter = pot(ONE_QUARTER, -accum_bits)  # Rescale<accum>(1/4) from Q0
    z_a = x  # reinterpreted as Q0.31
    z_a_headroom_plus_1 = clz32(z_a)
    r_a_tmp = pot(z_a, z_a_headroom_plus_1 - 1)
    r_a_raw = pot(mul(r_a_tmp, SQRT_HALF), 1)
    z_a_pow_2_adj = saturating_add(pot(input_integer_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter)
    z_b = mul(z_a, SQRT_HALF)
    z_b_headroom = clz32(z_b) - 1
    r_b_raw = pot(z_a, z_b_headroom)
    z_b_pow_2_adj = saturating_sub(pot(input_integer_bits - z_b_headroom, 31 - accum_bits), shifted_quarter)
    r = min(r_a_raw, r_b_raw)
    z_pow_2_adj = max(z_a_pow_2_adj, z_b_pow_2_adj)
    p = _i(gl.rounding_half_sum(r, SQRT_SQRT_HALF))
    q = sub(r, SQRT_SQRT_HALF)
    q = add(q, q)
    common_sq = mul(q, q)
    num = add(mul(q, r), mul(mul(q, common_sq), ALPHA_N))
    denom_minus_one_0 = add(mul(p, add(add(ALPHA_I, q), mul(ALPHA_D, common_sq))), mul(ALPHA_F, q))
    recip_denom = _i(gl.one_over_one_plus_x_for_x_in_0_1(denom_minus_one_0))
    num_scaled = pot(num, -accum_bits)  # Rescale<accum>(num) from Q0
    return pot(add(mul(z_pow_2_adj, LOG_2), mul(num_scaled, recip_denom)), accum_bits - output_integer_bits)


def _libm_expf():
    """The C library's expf (TF-Lite Micro's std::exp(float) on this host), or None."""
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).expf
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


_EXPF = _libm_expf()


def expf(v: float) -> np.float32:
    """float32 exp: the C library's expf where it can be loaded (glibc's is what TF-Lite
    Micro calls), else exp in double rounded to float32 (they differ only in rare
    double-rounding cases)."""
    if _EXPF is not None:
        return np.float32(_EXPF(float(v)))
    return np.float32(math.exp(float(v)))
