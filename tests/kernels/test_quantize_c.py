"""C kernels for QUANTIZE and DEQUANTIZE (mf_quantize) against the reference executor,
compared as bytes (so float outputs bit for bit, NaN-safe)."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.ops_quantize import c_float
from mcuforge.ir import Op
from mcuforge.quant.fixedpoint import tflite_round
from mcuforge.ref.interpreter import run
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_quantize import ALL_INT8, convert_graph

SPECIAL = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 0.0, -0.0, 1e-30, 3e9, -3e9, 2147483520.0, -2147483648.0],
                   np.float32)  # fmt: skip
INT_PAIRS = [
    ("int8", "int8", (0.1, 3), (0.1, 3)),
    ("int8", "int8", (0.1, 0), (0.1, -128)),
    ("int8", "uint8", (0.1, -128), (0.1, 0)),
    ("uint8", "int8", (0.1, 128), (0.1, 0)),
    ("int8", "int16", (0.1, 5), (0.001, 0)),
    ("int8", "int32", (0.1, 5), (0.001, -7)),
    ("int16", "int8", (0.001, 0), (0.1, 4)),
    ("int16", "int16", (0.001, 3), (0.0007, -2)),
    ("int32", "int8", (0.0001, 0), (0.1, 4)),
    ("int32", "int16", (0.0001, 9), (0.01, 4)),
    ("int16", "int32", (0.5, 9), (0.01, 4)),
]


def float32_division_cases() -> np.ndarray:
    """Values whose float32 quotient by 0.1f rounds differently from the double quotient."""
    s, xs = np.float32(0.1), []
    for k in range(-100, 100):
        x = np.float32((k + 0.5) * float(s))
        for _ in range(3):
            if tflite_round(float(x / s)) != tflite_round(float(x) / float(s)):
                xs.append(x)
            x = np.nextafter(x, np.float32(np.inf))
    return np.array(xs, np.float32)


def test_float_to_int_under_sanitizers():
    cases = [(convert_graph(Op.QUANTIZE, SPECIAL.shape, "float32", None, "int8", (0.1, zp)), SPECIAL)
             for zp in (-5, 0, 7)]  # fmt: skip
    halves = (np.arange(-40, 40, dtype=np.float32) + np.float32(0.5)) * np.float32(0.25)
    cases += [(convert_graph(Op.QUANTIZE, halves.shape, "float32", None, "int8", (0.25, zp)), halves)
              for zp in (-128, -1, 0, 127)]  # fmt: skip
    xs = float32_division_cases()
    cases.append((convert_graph(Op.QUANTIZE, xs.shape, "float32", None, "int8", (0.1, 3)), xs))
    wide = np.linspace(-3000, 3000, 101, dtype=np.float32)
    cases.append((convert_graph(Op.QUANTIZE, wide.shape, "float32", None, "int16", (0.05, 0)), wide))
    cases.append((convert_graph(Op.QUANTIZE, SPECIAL.shape, "float32", None, "int16", (0.01, -9)), SPECIAL))
    rng = np.random.default_rng(51)
    for _ in range(25):
        scale = float(np.float32(10.0 ** rng.uniform(-6.0, 2.0)))
        x = (rng.standard_normal((4, 64)) * scale * 50 * 10.0 ** rng.uniform(-1.0, 3.0)).astype(np.float32)
        qo = (scale, int(rng.integers(-128, 128)))
        cases.append((convert_graph(Op.QUANTIZE, x.shape, "float32", None, "int8", qo), x))
    check_c(merge([g for g, _ in cases]), [x for _, x in cases], sanitize=True)


def test_requantize_and_dequantize():
    rng = np.random.default_rng(52)
    cases = []
    for _ in range(25):
        si, so = (float(np.float32(10.0 ** rng.uniform(-5.0, 2.0))) for _ in range(2))
        zi, zo = (int(v) for v in rng.integers(-128, 128, 2))
        cases.append((convert_graph(Op.QUANTIZE, (256,), "int8", (si, zi), "int8", (so, zo)), ALL_INT8))
        scale = float(np.float32(10.0 ** rng.uniform(-8.0, 3.0)))
        cases.append((convert_graph(Op.DEQUANTIZE, (256,), "int8", (scale, zi), "float32", None), ALL_INT8))
    for in_dtype, out_dtype, qi, qo in INT_PAIRS:
        info = np.iinfo(in_dtype)
        x = np.linspace(info.min, info.max, 300).round().astype(in_dtype)
        cases.append((convert_graph(Op.QUANTIZE, x.shape, in_dtype, qi, out_dtype, qo), x))
    x16 = np.linspace(-32768, 32767, 500).round().astype(np.int16)
    cases.append((convert_graph(Op.DEQUANTIZE, x16.shape, "int16", (3.0517578e-05, 0), "float32", None), x16))
    check_c(merge([g for g, _ in cases]), [x for _, x in cases])


@pytest.mark.parametrize("gap", [0, 1])
def test_element_wise_contract(gap):
    """Requantisation in place / overlapping, and float32 -> int8 writing over the floats it read."""
    g = convert_graph(Op.QUANTIZE, (256,), "int8", (0.03, 4), "int8", (0.05, -6))
    out = run_layout(g, {g.outputs[0]: 0, g.inputs[0]: gap}, gap + 256, [ALL_INT8])
    assert np.array_equal(out[0], run(g, [ALL_INT8])[0])
    x = np.random.default_rng(53).standard_normal(64).astype(np.float32)
    g = convert_graph(Op.QUANTIZE, (64,), "float32", None, "int8", (0.02, 3))
    out = run_layout(g, {g.outputs[0]: 0, g.inputs[0]: 4 * gap}, 4 * gap + 256, [x])
    assert np.array_equal(out[0], run(g, [x])[0])


@pytest.mark.parametrize("x_at, y_at", [(0, 0), (0, 4), (8, 8), (3, 100)])
def test_dequantize_output_at_or_above_its_input(x_at, y_at):
    """DEQUANTIZE walks backwards: its float output may start at or above its int8 input."""
    g = convert_graph(Op.DEQUANTIZE, (256,), "int8", (0.03, -5), "float32", None)
    out = run_layout(g, {g.inputs[0]: x_at, g.outputs[0]: y_at}, y_at + 1024, [ALL_INT8])
    assert out[0].tobytes() == run(g, [ALL_INT8])[0].tobytes()


def test_float_literals_read_back_exactly():
    for v in (0.1, 1 / 256, 3.0517578e-05, 2.4000000953674316, 1e-30, 1.0, 123456.7):
        text = c_float(v)
        assert text.endswith("f") and np.float32(text[:-1]) == np.float32(v)


def test_float_chain_through_several_families():
    """QUANTIZE -> HARD_SWISH -> ADD -> MEAN -> SOFTMAX -> DEQUANTIZE, plus a PAD and a
    TRANSPOSE branch: every family header in one model.c, under the sanitizers."""
    from mcuforge.ir import ops as O
    from mcuforge.ir.builder import GraphBuilder, quant

    b = GraphBuilder()
    x = b.input((1, 6, 6, 10), "float32")
    q = b.op(Op.QUANTIZE, [x], (1, 6, 6, 10), q=quant(0.05, -3))
    h = b.op(Op.HARD_SWISH, [q], (1, 6, 6, 10), q=quant(0.04, -90))
    a = b.op(Op.ADD, [h, q], (1, 6, 6, 10), q=quant(0.08, -20), attrs=O.ElementwiseAttrs(O.Act.RELU))
    axes = b.const(np.array([1, 2], np.int32))
    m = b.op(Op.MEAN, [a, axes], (1, 10), q=quant(0.03, -100), attrs=O.ReduceAttrs(False))
    s = b.op(Op.SOFTMAX, [m], (1, 10), q=quant(1.0 / 256.0, -128), attrs=O.SoftmaxAttrs(1.0))
    pads = b.const(np.array([[0, 0], [1, 0], [0, 1], [0, 0]], np.int32))
    p = b.op(Op.PAD, [a, pads], (1, 7, 7, 10), q=quant(0.08, -20))
    perm = b.const(np.array([0, 3, 1, 2], np.int32))
    t = b.op(Op.TRANSPOSE, [p, perm], (1, 10, 7, 7), q=quant(0.08, -20))
    b.output(b.op(Op.DEQUANTIZE, [s], (1, 10), "float32"), t)
    g = b.graph
    x0 = (np.random.default_rng(54).standard_normal((1, 6, 6, 10)) * 3).astype(np.float32)
    check_c(g, [x0], sanitize=True)
