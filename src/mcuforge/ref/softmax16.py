"""SOFTMAX int16 -> int16, bit-exact with TF-Lite Micro's reference_ops::SoftmaxInt16.

Prepare (CalculateSoftmaxParams): zero points 0, output scale within 0.1% of 1/32768;
QuantizeMultiplier(double(s_in) * double(beta) / (10 / 65535)) rescales x - max(row)
so that [-65535, 0] means [-10, 0]. Two 513-entry tables, the same for every model,
built as LUTPopulate<int16_t> builds them in float32 (exp on [-10, 0], 1 / (1 + x) on
[0, 1], each sample nudged by half its midpoint interpolation error); LUTLookup
interpolates them with the low 7 bits of the (re-centred) argument. Eval per row:
e = exp LUT of the rescaled difference (Q0.15), sum in int32, its reciprocal from the
1 / (1 + x) LUT after normalising the sum, y = clamp((e * r + round) >> (31 - clz(sum))).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from mcuforge.ref.checks import node_label

LUT_STEPS = 512


@dataclass(frozen=True)
class Softmax16Params:
    input_multiplier: int
    input_left_shift: int


def _round(x: np.ndarray) -> np.ndarray:
    """TfLiteRound (std::round on float): halves away from zero."""
    return (np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))).astype(np.float32)


def _exp(v: np.ndarray) -> np.ndarray:
    # std::exp on float: the correctly rounded float32 of exp (computed in double)
    return np.exp(v.astype(np.float64)).astype(np.float32)


def _one_over_one_plus(v: np.ndarray) -> np.ndarray:
    return (np.float32(1.0) / (np.float32(1.0) + v)).astype(np.float32)


def lut_populate(input_scale, input_zp: int, output_scale, fn) -> np.ndarray:
    """LUTPopulateInt16<float> with output zero point 0, all in float32."""
    f = np.float32
    in_min = f(input_scale) * f(-32768 - input_zp)
    in_max = f(input_scale) * f(32767 - input_zp)
    out_min, out_max = f(output_scale) * f(-32768), f(output_scale) * f(32767)
    step = f((in_max - in_min) / f(LUT_STEPS))
    half = f(step / f(2))
    inv = f(f(65536) / f(out_max - out_min))
    i = np.arange(LUT_STEPS, dtype=np.float32)
    at = (in_min + i * step).astype(np.float32)
    val, mid = fn(at), fn((at + half).astype(np.float32))
    nxt = fn((in_min + (i + f(1)) * step).astype(np.float32))
    sample = _round((val * inv).astype(np.float32))
    interp = _round((((nxt * inv).astype(np.float32) + sample) / f(2)).astype(np.float32))
    err = (interp - _round((mid * inv).astype(np.float32))).astype(np.float32)
    bias = _round((err / f(2)).astype(np.float32))
    lut = np.clip(sample - bias, -32768, 32767)
    last = np.clip(_round((fn(np.array([in_max], np.float32)) * inv).astype(np.float32)), -32768, 32767)
    return np.concatenate([lut, last]).astype(np.int64)


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(exp LUT, 1 / (1 + x) LUT) as InitializeLutForInt16 fills them."""
    rng = np.float32(65535)  # int16 max - int16 min, converted to float
    exp_lut = lut_populate(np.float32(10.0) / rng, 32767, np.float32(2.0) / rng, _exp)
    inv_lut = lut_populate(np.float32(1.0) / rng, -32768, np.float32(2.0) / rng, _one_over_one_plus)
    return exp_lut, inv_lut


def lut_lookup(value: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """LUTLookup for int16: 9 bits index, 7 bits interpolate."""
    v = np.asarray(value).astype(np.int64)
    index = 256 + (v >> 7)
    offset = v & 0x7F
    base = lut[index]
    slope = lut[index + 1] - lut[index]
    return base + ((slope * offset + 64) >> 7)


def prepare_softmax16(g: Graph, node: Node) -> Softmax16Params:
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    what = node_label(node)
    for t in (x, y):
        if t.dtype != "int16" or t.quant is None or t.quant.per_channel or t.quant.zp != 0:
            raise UnsupportedError(f"{what}: int16 tensor {t.name!r} needs per-tensor quantisation with zero point 0.")
    if abs(float(y.quant.s) - 1.0 / 32768) > 0.001 / 32768:
        raise UnsupportedError(f"{what} needs output scale 1/32768 for int16 input, as TF-Lite Micro does.")
    beta = float(np.float32(node.attrs.beta))
    m, s = quantize_multiplier(float(x.quant.s) * beta / (10.0 / 65535.0))
    return Softmax16Params(m, s)


def eval_softmax16(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    p = prepare_softmax16(g, node)
    exp_lut, inv_lut = tables()
    x = np.asarray(inputs[0]).astype(np.int64)
    shape = x.shape
    rows = x.reshape(-1, shape[-1] if shape else 1)
    diff = rows - rows.max(axis=1, keepdims=True)
    scaled = multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_left_shift)
    e = lut_lookup(np.clip(scaled + 32767, -32768, 32767), exp_lut)
    e = ((e + 32768) & 0xFFFF) - 32768  # cached as int16 in the output buffer
    total = e.sum(axis=1, keepdims=True)
    hp1 = np.array([[32 - int(t).bit_length() if t > 0 else 32] for t in total.reshape(-1)], np.int64)
    shifted = ((total << (hp1 - 1)) + (1 << 13)) >> 14
    recip = lut_lookup(np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), inv_lut)
    right = 31 - hp1
    out = (e * recip + (np.int64(1) << (right - 1))) >> right
    return [np.clip(out, 0, 32767).astype(np.int16).reshape(g.tensor(node.outputs[0]).shape)]
