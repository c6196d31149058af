"""gemmlowp's fixed-point math (fixedpoint/fixedpoint.h), vectorised over NumPy arrays.

TF-Lite Micro evaluates int8 LOGISTIC, TANH and SOFTMAX with these functions (its
kernels/internal/fixedpoint.h is a copy of gemmlowp's). A `FixedPoint<int32_t, I>`
value is represented here by its raw int32 held in an int64 array plus the number
of integer bits `I` passed as a plain int (the C++ template argument): the real
value is raw / 2^(31 - I). Additions, subtractions and negations wrap to int32 as
the C code does on two's-complement hardware; multiplications are
SaturatingRoundingDoublingHighMul, exactly as FixedPoint::operator*.

The int16 helpers at the end serve reference_ops::HardSwish, which works on
int16 raw values with gemmlowp's int16 specialisations.
"""

from __future__ import annotations

import numpy as np

from mcuforge.quant.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

INT16_MIN = -(1 << 15)
INT16_MAX = (1 << 15) - 1

# Constants of gemmlowp's exp / tanh / logistic, as raw Q0.31 (or Q2.29) integers.
EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8) in Q0.31
ONE_THIRD = 715827883  # 1/3 in Q0.31
FORTY_EIGHT_OVER_17 = 1515870810  # 48/17 in Q2.29 (Newton-Raphson start)
NEG_THIRTY_TWO_OVER_17 = -1010580540  # -32/17 in Q2.29
# exp(-2^k) in Q0.31 for k = -2 .. 4: the barrel shifter of exp_on_negative_values.
EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242))


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def add(a, b) -> np.ndarray:
    """FixedPoint operator+: int32 addition (wraps)."""
    return wrap_int32(_i64(a) + _i64(b))


def sub(a, b) -> np.ndarray:
    """FixedPoint operator-: int32 subtraction (wraps)."""
    return wrap_int32(_i64(a) - _i64(b))


def neg(a) -> np.ndarray:
    """FixedPoint unary minus: -INT32_MIN wraps to INT32_MIN."""
    return wrap_int32(-_i64(a))


def mul(a, b) -> np.ndarray:
    """FixedPoint operator*: the integer bits of the operands add up."""
    return saturating_rounding_doubling_high_mul(a, b)


def one(int_bits: int) -> int:
    """FixedPoint<int32_t, I>::One(): INT32_MAX for I == 0 (1.0 is not representable)."""
    return INT32_MAX if int_bits == 0 else 1 << (31 - int_bits)


def constant_pot(exponent: int, int_bits: int) -> int:
    """FixedPoint<int32_t, I>::ConstantPOT<exponent>(): raw 2^(fractional bits + exponent)."""
    return 1 << (31 - int_bits + exponent)


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<exponent> on int32: saturating left or rounding right shift."""
    x = _i64(x)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def rescale(x, src_int_bits: int, dst_int_bits: int) -> np.ndarray:
    """Rescale<dst>(FixedPoint<src>): change the number of integer bits, saturating."""
    return saturating_rounding_multiply_by_pot(x, src_int_bits - dst_int_bits)


def rounding_half_sum(a, b) -> np.ndarray:
    """RoundingHalfSum for int32: (a + b + sign) / 2 in int64, truncating toward zero."""
    s = _i64(a) + _i64(b)
    s = s + np.where(s >= 0, 1, -1)
    return np.where(s >= 0, s // 2, -((-s) // 2))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), a and result Q0.31: Taylor expansion around -1/8."""
    x = add(a, constant_pot(-3, 0))
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(add(mul(add(x4_over_4, x3), ONE_THIRD), x2), -1)
    # AddSaturatingIf16Bit is a plain (wrapping) addition for int32.
    return add(EXP_MINUS_ONE_EIGHTH, mul(EXP_MINUS_ONE_EIGHTH, add(x, poly)))


def exp_on_negative_values(a, int_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given as FixedPoint<int32_t, int_bits>; result Q0.31."""
    a = _i64(a)
    frac_bits = 31 - int_bits
    one_quarter = constant_pot(-2, int_bits)
    a_mod_quarter_minus_one_quarter = sub(a & (one_quarter - 1), one_quarter)
    in_q0 = rescale(a_mod_quarter_minus_one_quarter, int_bits, 0)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(in_q0)
    remainder = sub(a_mod_quarter_minus_one_quarter, a)
    for exponent, multiplier in EXP_BARREL:
        if int_bits > exponent:
            bit = (remainder & (1 << (frac_bits + exponent))) != 0
            result = np.where(bit, mul(result, multiplier), result)
    if int_bits > 5:
        # Inputs below -32 give 0 (raw -(1 << (36 - I)) is -32.0).
        result = np.where(a < -(1 << (36 - int_bits)), 0, result)
    return np.where(a == 0, one(0), result)


def _newton_raphson_reciprocal(a) -> np.ndarray:
    """The shared core of gemmlowp's 1/(1+x) and (1-x)/(1+x): x ~ 1/half_denominator in Q2.29."""
    half_denominator = rounding_half_sum(a, one(0))
    x = add(FORTY_EIGHT_OVER_17, mul(half_denominator, NEG_THIRTY_TWO_OVER_17))
    for _ in range(3):
        half_denominator_times_x = mul(half_denominator, x)  # Q0 * Q2 -> Q2
        one_minus = sub(one(2), half_denominator_times_x)
        x = add(x, rescale(mul(x, one_minus), 4, 2))  # Q2 * Q2 -> Q4, back to Q2
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), Q0.31 in and out."""
    x = _newton_raphson_reciprocal(a)
    # ExactMulByPot<-1> (Q2 -> Q1, raw unchanged) then Rescale<0> from 1 integer bit.
    return rescale(x, 1, 0)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out."""
    x = _newton_raphson_reciprocal(a)
    return rescale(sub(x, one(2)), 2, 0)


def tanh(a, int_bits: int) -> np.ndarray:
    """gemmlowp::tanh of FixedPoint<int32_t, int_bits>; result Q0.31."""
    a = _i64(a)
    negative = a < 0
    n = np.where(negative, a, neg(a))  # -|a|
    # neg_tanh_on_negative_values: ExactMulByPot<1> adds an integer bit, raw unchanged.
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, int_bits + 1))
    return np.where(a == 0, 0, np.where(negative, neg(t), t))


def logistic(a, int_bits: int) -> np.ndarray:
    """gemmlowp::logistic of FixedPoint<int32_t, int_bits>; result Q0.31."""
    a = _i64(a)
    positive = a > 0
    abs_input = np.where(positive, a, neg(a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(neg(abs_input), int_bits))
    if_negative = sub(one(0), if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def count_leading_zeros_u32(x) -> np.ndarray:
    """CountLeadingZeros(static_cast<uint32_t>(x)): 32 for 0."""
    u = _i64(x) & 0xFFFFFFFF
    # frexp gives the bit length exactly for integers below 2^53; 0 has none.
    _, bit_length = np.frexp(u.astype(np.float64))
    return 32 - bit_length.astype(np.int64)


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """GetReciprocal (common.h): (raw Q0.31 of 1/x scaled into [0.5, 1), num_bits_over_unit)."""
    x = _i64(x)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# ----------------------------------------------------------------------------- int16


def wrap_int16(x) -> np.ndarray:
    """Two's complement wrap to int16 (what static_cast<int16_t> does)."""
    return ((_i64(x) + (1 << 15)) & 0xFFFF) - (1 << 15)


def _c_div_pow2(x: np.ndarray, bits: int) -> np.ndarray:
    """C integer division by 2^bits: truncation toward zero."""
    return np.where(x >= 0, x >> bits, -((-x) >> bits))


def saturating_rounding_doubling_high_mul_i16(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul<int16_t>."""
    a, b = _i64(a), _i64(b)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = wrap_int16(_c_div_pow2(ab + nudge, 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, high)


def saturating_doubling_high_mul_i16(a, b) -> np.ndarray:
    """reference_ops::SaturatingDoublingHighMul (hard_swish.h): like the above, truncating."""
    a, b = _i64(a), _i64(b)
    high = wrap_int16(_c_div_pow2(a * b, 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, high)


def rounding_divide_by_pot_i16(x, exponent: int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT<int16_t>.

    The mask (2^exponent - 1) is an int16 (Dup<int16_t>), so for exponent >= 16 it
    wraps to -1; we reproduce that: non-negative x then gives 1 and negative x -1.
    """
    x = _i64(x)
    mask = int(wrap_int16((1 << exponent) - 1))
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return wrap_int16((x >> exponent) + (remainder > threshold))


def saturating_left_shift_i16(x, amount: int) -> np.ndarray:
    """reference_ops::SaturatingLeftShift (hard_swish.h): int64 product clamped to int16."""
    return np.clip(_i64(x) * (1 << amount), INT16_MIN, INT16_MAX)
