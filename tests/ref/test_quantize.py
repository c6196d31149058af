"""QUANTIZE and DEQUANTIZE against TF-Lite Micro, bit for bit (float outputs bitwise)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.oracle.tflm import run_tflm
from mcuforge.quant.fixedpoint import tflite_round
from mcuforge.ref.quantize import KERNELS
from oracle_util import run_kernels

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def convert_graph(op, shape, in_dtype, qi, out_dtype, qo):
    b = GraphBuilder()
    x = b.input(shape, in_dtype, *qi) if qi else b.input(shape, in_dtype)
    b.output(b.op(op, [x], shape, out_dtype, quant(*qo) if qo else None))
    return b.graph


def check(g, x) -> np.ndarray:
    """Ours and TF-Lite Micro's outputs must be identical bit patterns (NaN-safe for floats)."""
    ours = run_kernels(g, [x], KERNELS)[0]
    theirs = np.asarray(run_tflm(write(g), [x])[0]).reshape(ours.shape)
    assert ours.dtype == theirs.dtype
    assert ours.tobytes() == theirs.tobytes(), f"ours {ours.ravel()[:8]} theirs {theirs.ravel()[:8]}"
    return ours


# ------------------------------------------------------------------ float32 -> int8
def test_quantize_special_values():
    # Out-of-int32-range quotients (and NaN, infinities) convert to INT32_MIN as on x86-64,
    # then the zero point is added with wraparound: a negative zero point turns them into 127.
    x = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 0.0, -0.0, 1e-30, 3e9, -3e9], np.float32)
    for zp in (-5, 0, 7):
        y = check(convert_graph(Op.QUANTIZE, x.shape, "float32", None, "int8", (0.1, zp)), x)
        assert y[0] == (127 if zp < 0 else -128)


@pytest.mark.parametrize("zp", [-128, -1, 0, 127])
def test_quantize_rounds_halves_away_from_zero(zp):
    # With a power-of-two scale the quotients are exact: k + 0.5 rounds away from zero.
    x = (np.arange(-40, 40, dtype=np.float32) + np.float32(0.5)) * np.float32(0.25)
    y = check(convert_graph(Op.QUANTIZE, x.shape, "float32", None, "int8", (0.25, zp)), x)
    expected = np.clip(np.array([tflite_round(v) for v in (x / np.float32(0.25)).tolist()]) + zp, -128, 127)
    assert np.array_equal(y, expected.astype(np.int8))


def test_quantize_divides_in_float32():
    # Values whose float32 quotient x / 0.1f lands on k + 0.5 but whose exact (double)
    # quotient does not: the two divisions round to different integers.
    s = np.float32(0.1)
    xs = []
    for k in range(-100, 100):
        x = np.float32((k + 0.5) * float(s))
        for _ in range(3):
            if tflite_round(float(x / s)) != tflite_round(float(x) / float(s)):
                xs.append(x)
            x = np.nextafter(x, np.float32(np.inf))
    xs = np.array(xs, np.float32)
    assert xs.size > 50
    check(convert_graph(Op.QUANTIZE, xs.shape, "float32", None, "int8", (float(s), 3)), xs)


@SETTINGS
@given(
    log_scale=st.floats(-6.0, 2.0),
    zp=st.integers(-128, 127),
    spread=st.floats(-1.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_quantize_random(log_scale, zp, spread, seed):
    scale = float(np.float32(10.0**log_scale))
    x = (np.random.default_rng(seed).standard_normal((4, 64)) * scale * 50 * 10.0**spread).astype(np.float32)
    check(convert_graph(Op.QUANTIZE, x.shape, "float32", None, "int8", (scale, zp)), x)


def test_quantize_float_to_int16():
    x = np.linspace(-3000, 3000, 101, dtype=np.float32)
    check(convert_graph(Op.QUANTIZE, x.shape, "float32", None, "int16", (0.05, 0)), x)


# ------------------------------------------------------------- integer requantise
@SETTINGS
@given(
    log_scales=st.tuples(st.floats(-5.0, 2.0), st.floats(-5.0, 2.0)),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127)),
)
def test_requantize_int8_to_int8(log_scales, zps):
    si, so = (float(np.float32(10.0**v)) for v in log_scales)
    check(convert_graph(Op.QUANTIZE, (256,), "int8", (si, zps[0]), "int8", (so, zps[1])), ALL_INT8)


@pytest.mark.parametrize(
    "in_dtype, out_dtype, qi, qo",
    [
        ("int8", "int8", (0.1, 3), (0.1, 3)),  # identity
        ("int8", "int8", (0.1, 0), (0.1, -128)),  # zero point shift only
        ("int8", "uint8", (0.1, -128), (0.1, 0)),  # TF-Lite Micro's x ^ 0x80 shortcut
        ("uint8", "int8", (0.1, 128), (0.1, 0)),
        ("int8", "int16", (0.1, 5), (0.001, 0)),
        ("int8", "int32", (0.1, 5), (0.001, -7)),
        ("int16", "int8", (0.001, 0), (0.1, 4)),
    ],
)
def test_requantize_between_integer_types(in_dtype, out_dtype, qi, qo):
    info = np.iinfo(in_dtype)
    x = np.linspace(info.min, info.max, 300).round().astype(in_dtype)
    check(convert_graph(Op.QUANTIZE, x.shape, in_dtype, qi, out_dtype, qo), x)


def test_unsupported_conversions():
    g = convert_graph(Op.QUANTIZE, (4,), "float32", None, "uint8", (0.1, 0))
    with pytest.raises(UnsupportedError, match="uint8"):
        KERNELS[Op.QUANTIZE](g, g.nodes[0], [np.zeros(4, np.float32)])
    g = convert_graph(Op.QUANTIZE, (4,), "uint8", (0.1, 0), "int16", (0.1, 0))
    with pytest.raises(UnsupportedError, match="uint8 to int16"):
        KERNELS[Op.QUANTIZE](g, g.nodes[0], [np.zeros(4, np.uint8)])
    g = convert_graph(Op.DEQUANTIZE, (4,), "uint8", (0.1, 0), "float32", None)
    with pytest.raises(UnsupportedError, match="int8 or int16"):
        KERNELS[Op.DEQUANTIZE](g, g.nodes[0], [np.zeros(4, np.uint8)])


# --------------------------------------------------------------------- DEQUANTIZE
@SETTINGS
@given(log_scale=st.floats(-8.0, 3.0), zp=st.integers(-128, 127))
def test_dequantize_is_bitwise_equal(log_scale, zp):
    scale = float(np.float32(10.0**log_scale))
    y = check(convert_graph(Op.DEQUANTIZE, (256,), "int8", (scale, zp), "float32", None), ALL_INT8)
    assert y.dtype == np.float32


def test_dequantize_int16():
    x = np.linspace(-32768, 32767, 500).round().astype(np.int16)
    check(convert_graph(Op.DEQUANTIZE, x.shape, "int16", (3.0517578e-05, 0), "float32", None), x)


# ------------------------------------------------------------------ whole graphs
def test_float_in_float_out_chain_through_the_interpreter():
    """QUANTIZE -> HARD_SWISH -> ADD -> MEAN -> SOFTMAX -> DEQUANTIZE, run by ref.interpreter."""
    from mcuforge.ir import ops as O
    from mcuforge.ref.interpreter import run

    b = GraphBuilder()
    x = b.input((1, 6, 6, 10), "float32")
    q = b.op(Op.QUANTIZE, [x], (1, 6, 6, 10), q=quant(0.05, -3))
    h = b.op(Op.HARD_SWISH, [q], (1, 6, 6, 10), q=quant(0.04, -90))
    a = b.op(Op.ADD, [h, q], (1, 6, 6, 10), q=quant(0.08, -20), attrs=O.ElementwiseAttrs(O.Act.RELU))
    axes = b.const(np.array([1, 2], np.int32))
    m = b.op(Op.MEAN, [a, axes], (1, 10), q=quant(0.03, -100), attrs=O.ReduceAttrs(False))
    s = b.op(Op.SOFTMAX, [m], (1, 10), q=quant(1.0 / 256.0, -128), attrs=O.SoftmaxAttrs(1.0))
    b.output(b.op(Op.DEQUANTIZE, [s], (1, 10), "float32"))
    g = b.graph
    inp = (np.random.default_rng(0).standard_normal((1, 6, 6, 10)) * 3).astype(np.float32)
    ours = run(g, [inp])[0]
    theirs = np.asarray(run_tflm(write(g), [inp])[0]).reshape(ours.shape)
    assert ours.dtype == np.float32 and ours.tobytes() == theirs.tobytes()
    assert abs(float(ours.sum()) - 1.0) < 0.05  # a probability distribution
