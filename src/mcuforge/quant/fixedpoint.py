"""Fixed-point arithmetic of the TFLite int8 spec: the one source of int8 truth.

Everything here follows TF-Lite Micro's reference kernels (tensorflow/lite/kernels/
internal/common.h and quantization_util.cc, gemmlowp's fixedpoint.h), which round
twice: a rounding doubling high multiply, then a rounding right shift. Functions
take NumPy arrays (any shape) or scalars and compute in int64, wrapping to int32
exactly where the C code would.
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.errors import UnsupportedError

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def tflite_round(x: float) -> float:
    """std::round: halves away from zero."""
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = m * 2^(shift - 31), m a Q31 integer in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """Vector form of quantize_multiplier: (int64 multipliers, int64 shifts)."""
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).reshape(-1)]
    m = np.array([p[0] for p in pairs], dtype=np.int64)
    s = np.array([p[1] for p in pairs], dtype=np.int64)
    return m, s


def wrap_int32(x):
    """Two's complement wrap of int64 values to the int32 range (what C int arithmetic does)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values held in int64."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    v = ab + nudge
    # C integer division truncates toward zero.
    high = np.where(v >= 0, v >> 31, -((-v) >> 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, INT32_MAX, high)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent, rounding halves away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier (double rounding, as TF-Lite Micro's reference kernels).

    `shift` > 0 shifts left before the multiply (in int32 arithmetic), < 0 right after.
    """
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(wrap_int32(x << left), multiplier), right
    )


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, left_shift):
    """MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0)."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -np.asarray(left_shift))


def activation_range(act: str, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp a fused activation implies."""

    def q(v: float) -> int:
        # TF-Lite Micro divides in float32: zero_point + round(f / scale).
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            r = float(np.float32(v) / np.float32(scale))
        if not math.isfinite(r) or abs(r) >= 2.0**31:
            # TF-Lite Micro converts the float to int32 here, undefined behaviour in C++
            raise UnsupportedError(
                f"an output scale of {scale:g} is too small for its fused {act}: {v:g} / scale overflows a 32-bit integer"
            )
        return zero_point + int(tflite_round(r))

    if act == "RELU":
        return max(qmin, q(0.0)), qmax
    if act == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


def multiply_by_quantized_multiplier_int64(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier(int64_t x, ...) (common.cc), the 16x8 requantisation
    of int64 accumulators: the Q31 multiplier rounded to Q15 (saturating at 0x7FFF),
    then one rounding shift by 15 - shift. Defined for |x| < 2^47, where x times a Q15
    multiplier stays below 2^62; the result is cut to int32 as the C++ cast does."""
    x = np.asarray(x, dtype=np.int64)
    m = np.asarray(multiplier, dtype=np.int64)
    total = 15 - np.asarray(shift, dtype=np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    return wrap_int32((x * reduced + np.left_shift(np.int64(1), total - 1)) >> total)


def int_range(dtype: str) -> tuple[int, int]:
    """(min, max) of an integer dtype name ("int8", "int16", ...)."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)
