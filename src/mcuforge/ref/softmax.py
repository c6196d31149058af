"""SOFTMAX int8 -> int8, bit-exact with TF-Lite Micro's reference kernel.

Follows SoftmaxPrepare / CalculateSoftmaxParams (softmax_common.cc), which calls
PreprocessSoftmaxScaling and CalculateInputRadius, and reference_ops::Softmax for
int8 (Eval), per row of the last axis:

    diff = x - max(row)                                   (int32, <= 0)
    skipped when diff < diff_min: its output is -128
    d = SaturatingRoundingDoublingHighMul(diff << left_shift, multiplier)   (Q5.26)
    e = exp_on_negative_values(d)                          (gemmlowp, Q0.31)
    sum = sum of Rescale<12>(e)                            (Q12.19)
    1/sum: GetReciprocal -> shifted_scale (Q0.31) and num_bits_over_unit
    y = RoundingDivideByPOT(shifted_scale * e, num_bits_over_unit + 23) - 128

The output quantisation is fixed: TF-Lite Micro requires zero point -128 and a
scale of exactly 1/256. An int16 output (int8 input; keyword spotting's last layer)
takes zero point -32768 and a scale within 0.1% of 1/65536, and the same arithmetic
rounded to 16 bits: RoundingDivideByPOT(..., num_bits_over_unit + 15) - 32768.
int16 input (reference_ops::SoftmaxInt16, with its float-built tables) is in ref/softmax16.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ref import softmax16
from mcuforge.ref.checks import node_label
from mcuforge.ir.ops import Op
from mcuforge.quant import gemmlowp as gl
from mcuforge.quant.fixedpoint import (
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    tflite_round,
    wrap_int32,
)

SCALED_DIFF_INTEGER_BITS = 5  # kScaledDiffIntegerBits: the exp input is Q5.26
ACCUMULATION_INTEGER_BITS = 12  # kAccumulationIntegerBits: the sum of exps is Q12.19
INT8_MIN, INT8_MAX = -128, 127


@dataclass(frozen=True)
class SoftmaxParams:
    """SoftmaxParams for int8 input and output."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """PreprocessSoftmaxScaling then QuantizeMultiplierGreaterThanOne.

    The real multiplier beta * s_in * 2^(31 - integer bits) is capped at 2^31 - 1,
    since a larger one would only push every non-maximal input to exp(-inf) = 0.
    """
    real = min(beta * input_scale * float(1 << (31 - input_integer_bits)), float((1 << 31) - 1))
    if not real > 1.0:
        raise ValueError("the softmax input multiplier must exceed 1")
    q, shift = math.frexp(real)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    return q_fixed, shift


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius: the largest |diff| whose rescaled value cannot overflow."""
    max_input = 1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
    return math.floor(max_input / (1 << input_left_shift))


def prepare_softmax(g: Graph, node: Node) -> SoftmaxParams:
    """CalculateSoftmaxParams for int8 -> int8."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    what = node_label(node)
    if x.dtype != "int8" or y.dtype not in ("int8", "int16"):
        raise UnsupportedError(
            f"{what} has {x.dtype} input and {y.dtype} output; only int8 -> int8 and int8 -> int16 are supported."
        )
    if x.quant is None or y.quant is None or x.quant.per_channel or not x.quant.scale[0] > 0:
        raise UnsupportedError(f"{what} needs per-tensor quantisation with a positive scale on its input and output.")
    if y.dtype == "int16":
        if y.quant.zp != -32768 or abs(float(y.quant.scale[0]) - 1.0 / 65536) > 0.001 / 65536:
            raise UnsupportedError(
                f"{what} needs output scale 1/65536 and zero point -32768 for int16, as TF-Lite Micro does."
            )
    elif y.quant.zp != INT8_MIN or y.quant.scale[0] != np.float32(1.0 / 256.0):
        raise UnsupportedError(f"{what} needs output scale 1/256 and zero point -128, as TF-Lite Micro does.")
    beta = float(np.float32(node.attrs.beta))  # the flatbuffer stores beta as float32
    try:
        multiplier, shift = preprocess_softmax_scaling(beta, float(x.quant.scale[0]), SCALED_DIFF_INTEGER_BITS)
    except ValueError as e:
        raise UnsupportedError(f"{what}: beta times the input scale is too small (TF-Lite Micro rejects it).") from e
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift)
    return SoftmaxParams(multiplier, shift, diff_min)


def eval_softmax(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::Softmax<int8_t, int8_t / int16_t>, all rows at once."""
    if g.tensor(node.inputs[0]).dtype == "int16":  # type: ignore[arg-type]
        return softmax16.eval_softmax16(g, node, inputs)
    p = prepare_softmax(g, node)
    x = np.asarray(inputs[0]).astype(np.int64)
    shape = x.shape
    rows = x.reshape(-1, shape[-1] if shape else 1)
    diff = rows - rows.max(axis=1, keepdims=True)
    used = diff >= p.diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne: (diff << shift) in int32, then SRDHM.
    scaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << p.input_left_shift), p.input_multiplier)
    exps = gl.exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
    accum = gl.rescale(exps, 0, ACCUMULATION_INTEGER_BITS)
    # FixedPointAccum additions wrap in int32; each term is < 2^19, so they don't for < 4096 columns.
    sum_of_exps = wrap_int32(np.where(used, accum, 0).sum(axis=1, keepdims=True))
    shifted_scale, num_bits_over_unit = gl.get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    info = np.iinfo(g.tensor(node.outputs[0]).dtype)
    exponent = num_bits_over_unit + 31 - info.bits
    if np.any((exponent < 0) | (exponent > 31)):
        raise UnsupportedError(f"{node_label(node)}: the sum of exponentials is out of range (TF-Lite Micro aborts).")
    out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted_scale, exps), exponent) + info.min
    out = np.where(used, np.clip(out, info.min, info.max), info.min)
    return [out.astype(info.dtype).reshape(g.tensor(node.outputs[0]).shape)]


KERNELS = {Op.SOFTMAX: eval_softmax}
