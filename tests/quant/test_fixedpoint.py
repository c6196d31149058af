"""The fixed-point primitives against a direct transcription of their C definitions
(Python ints, no NumPy), over edge cases and random values."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.quant import fixedpoint as fp

I32 = st.integers(-(1 << 31), (1 << 31) - 1)


def c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def c_srdhm(a: int, b: int) -> int:
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return c_div(ab + nudge, 1 << 31)


def c_rdbp(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


@settings(max_examples=300, deadline=None)
@given(I32, I32)
def test_srdhm_matches_c(a, b):
    assert int(fp.saturating_rounding_doubling_high_mul(a, b)) == c_srdhm(a, b)


@settings(max_examples=300, deadline=None)
@given(I32, st.integers(0, 31))
def test_rounding_divide_matches_c(x, e):
    assert int(fp.rounding_divide_by_pot(x, e)) == c_rdbp(x, e)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 20), 1 << 20), st.floats(1e-6, 100.0))
def test_multiply_by_quantized_multiplier(x, real):
    m, s = fp.quantize_multiplier(real)
    left, right = max(s, 0), max(-s, 0)
    expected = c_rdbp(c_srdhm(x * (1 << left), m), right) if abs(x * (1 << left)) < (1 << 31) else None
    if expected is not None:
        assert int(fp.multiply_by_quantized_multiplier(x, m, s)) == expected
    # the multiplier represents the real number to within 2^-31 relative error
    assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0**-30


def test_quantize_multiplier_edges():
    assert fp.quantize_multiplier(0.0) == (0, 0)
    assert fp.quantize_multiplier(0.5) == (1 << 30, 0)
    assert fp.quantize_multiplier(1.0) == (1 << 30, 1)
    # rounding up to 2^31 renormalises
    m, s = fp.quantize_multiplier(math.nextafter(1.0, 0.0))
    assert (m, s) == (1 << 30, 1)
    assert fp.quantize_multiplier(1e-12) == (0, 0)


def test_activation_range():
    assert fp.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert fp.activation_range("RELU", 0.1, -5) == (-5, 127)
    assert fp.activation_range("RELU6", 0.05, -128) == (-128, -8)
    assert fp.activation_range("RELU6", 0.01, 0) == (0, 127)


def test_vectorised_shapes():
    x = np.arange(-100, 100).reshape(10, 20)
    m, s = fp.quantize_multipliers([0.3] * 20)
    y = fp.multiply_by_quantized_multiplier(x, m, s)
    assert y.shape == (10, 20)
    assert np.array_equal(y[:, 0], [c_rdbp(c_srdhm(int(v), int(m[0])), -int(s[0])) for v in x[:, 0]])
