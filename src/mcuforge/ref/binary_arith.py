"""SQUARED_DIFFERENCE, PRELU, ADD_N and DIV on int8, bit-exact with TF-Lite Micro's
reference kernels (the binary family's arithmetic half; ref/binary.py holds the table).

- SQUARED_DIFFERENCE (squared_difference.cc): both inputs onto twice the larger input
  scale with left_shift 7, as ADD does with 20, then the squared difference requantised
  by one multiplier (QuantizeMultiplier, may exceed one):
      d = a - b,  y = MultiplyByQuantizedMultiplier(d * d, m, s) + zp_out
  with real m = (2 max(s1, s2))^2 / (2^14 s_out). |x - zp| <= 255, so |a|, |b| <= 255 * 2^6
  and d * d <= (255 * 2^7)^2 < 2^31. Clamped to [-128, 127] (no fused activation).
- PRELU (prelu_common.cc, reference/prelu.h): v = x - zp_in; v >= 0 gives
  MultiplyByQuantizedMultiplier(v, m1, s1), else MultiplyByQuantizedMultiplier(
  v * (alpha - zp_alpha), m2, s2); real m1 = s_in / s_out, m2 = s_in s_alpha / s_out (double).
- ADD_N (add_n.cc, reference/add_n.h): every input has the first's shape, scale and zero
  point (TF-Lite Micro refuses others). Each input is brought onto twice its scale with
  left_shift 20 (multiplier 0.5) and the sum requantised as ADD does. TF-Lite Micro's
  reference kernel starts its accumulator from the rescaled input offset -zp (its
  comment says "x = 0"), which adds one spurious -zp term: with zp = -100, scale 0.1 and
  output scale 0.15 the result is 67 units high. LiteRT has no int8 ADD_N. mcuforge
  starts from 0, the sum the kernel means; the two agree exactly when zp = 0.
- DIV (div.cc, reference/div.h DivElementwise): with v1 = x1 - zp1, v2 = x2 - zp2 (both
  signs flipped when v2 < 0), the quotient v1 / v2 in fixed point:
      inv, recip_shift = GetReciprocal(v2, 31)
      headroom = CountLeadingSignBits(v1)
      q = SaturatingRoundingDoublingHighMul(v1 << headroom, inv)
      y = MultiplyByQuantizedMultiplierSmallerThanOneExp(q, m, s - recip_shift - headroom) + zp_out
  with m, s = QuantizeMultiplier(s1 / (s2 s_out)) in double. (The div.cc of the sources
  divides the float32 scales in float32; the TF-Lite Micro we test against computes in
  double: for scales 0.5, 0.002, 200 float32 gives exactly 1.25 and its results differ;
  LiteRT's DIV divides in float32, so it differs from both on such exact-half quotients.)
  v2 = 0 (a divisor equal to its zero point) follows the same formulas
  (TF-Lite Micro's result there; LiteRT refuses such inputs).
  Where the final shift exceeds 31 (a small |v1|: headroom up to 31, plus recip_shift,
  minus a small s), gemmlowp's RoundingDivideByPOT shifts an int32 by 32 or more, which
  is undefined in C: on x86 TF-Lite Micro and LiteRT agree on values such as 127 for
  1 / 128 (the shift count wraps), a Cortex-M gives others. mcuforge rounds q / 2^shift
  correctly there, which gives the output zero point (the true quotient rounds to 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant import gemmlowp as gl
from mcuforge.quant.fixedpoint import (
    activation_range,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from mcuforge.ref.binary_checks import broadcast, out, tensors
from mcuforge.ref.checks import node_label
from mcuforge.ref.elementwise import _smaller_than_one_exp

SQUARED_DIFFERENCE_LEFT_SHIFT = 7  # squared_difference.cc for int8
ADD_N_LEFT_SHIFT = 20  # add_n.cc kAddNIntegerShift
# |v1| <= 255 gives a headroom >= 23 and recip_shift >= -1 (v2 = 0): with s <= 22 the final
# shift of DivElementwise stays a right shift.
DIV_MAX_OUTPUT_SHIFT = 22


def _scales(ts) -> list[float]:
    return [float(t.quant.scale[0]) for t in ts]


def _rescale(x, offset: int, left_shift: int, multiplier: int, shift: int) -> np.ndarray:
    """(x + offset) << left_shift, times a multiplier below one: the ADD-style input rescaling."""
    return multiply_by_quantized_multiplier_smaller_than_one_exp((x + offset) << left_shift, multiplier, shift)


# ------------------------------------------------------------------ SQUARED_DIFFERENCE
@dataclass(frozen=True)
class SquaredDifferenceParams:
    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int


def prepare_squared_difference(g: Graph, node: Node) -> SquaredDifferenceParams:
    """PrepareQuantized of squared_difference.cc for int8 (double arithmetic)."""
    x1, x2, y = tensors(g, node, ("int8",), "int8", True)
    what = node_label(node)
    s1, s2, so = _scales((x1, x2, y))
    shift = SQUARED_DIFFERENCE_LEFT_SHIFT
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = _smaller_than_one_exp(s1 / twice_max, what)
    m2, sh2 = _smaller_than_one_exp(s2 / twice_max, what)
    mo, sho = quantize_multiplier(twice_max * twice_max / ((1 << (2 * shift)) * so))
    return SquaredDifferenceParams(shift, -x1.quant.zp, m1, sh1, -x2.quant.zp, m2, sh2, y.quant.zp, mo, sho)


def eval_squared_difference(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    p = prepare_squared_difference(g, node)
    a, b = broadcast(g, node, inputs[:2])
    d = _rescale(a, p.input1_offset, p.left_shift, p.input1_multiplier, p.input1_shift) - _rescale(
        b, p.input2_offset, p.left_shift, p.input2_multiplier, p.input2_shift
    )
    y = multiply_by_quantized_multiplier(d * d, p.output_multiplier, p.output_shift) + p.output_offset
    return out(g, node, np.clip(y, -128, 127))


# ------------------------------------------------------------------ PRELU
@dataclass(frozen=True)
class PreluParams:
    input_offset: int
    alpha_offset: int
    output_offset: int
    output_multiplier_1: int
    output_shift_1: int
    output_multiplier_2: int
    output_shift_2: int


def prepare_prelu(g: Graph, node: Node) -> PreluParams:
    """CalculatePreluParams for int8 (double arithmetic)."""
    x, alpha, y = tensors(g, node, ("int8",), "int8", True)
    si, sa, so = _scales((x, alpha, y))
    m1, s1 = quantize_multiplier(si / so)
    m2, s2 = quantize_multiplier(si * sa / so)
    return PreluParams(-x.quant.zp, -alpha.quant.zp, y.quant.zp, m1, s1, m2, s2)


def eval_prelu(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """BroadcastPrelu4DSlow (BroadcastBinaryOpSimple with the PReLU function)."""
    p = prepare_prelu(g, node)
    x, alpha = broadcast(g, node, inputs[:2])
    v = x + p.input_offset
    positive = multiply_by_quantized_multiplier(v, p.output_multiplier_1, p.output_shift_1)
    negative = multiply_by_quantized_multiplier(v * (alpha + p.alpha_offset), p.output_multiplier_2, p.output_shift_2)
    y = np.where(v >= 0, positive, negative) + p.output_offset
    return out(g, node, np.clip(y, -128, 127))


# ------------------------------------------------------------------ ADD_N
@dataclass(frozen=True)
class AddNParams:
    left_shift: int
    input_offset: int
    input_multiplier: int
    input_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int


def prepare_add_n(g: Graph, node: Node) -> AddNParams:
    """CalculateOpData of add_n.cc for int8 (double arithmetic)."""
    ts = tensors(g, node, ("int8",), "int8", True)
    what = node_label(node)
    first, y = ts[0], ts[-1]
    for t in ts[1:-1]:
        if t.quant.zp != first.quant.zp or float(t.quant.scale[0]) != float(first.quant.scale[0]):
            raise UnsupportedError(
                f"{what}: input {t.name!r} is quantised differently from the first input {first.name!r}; "
                "TF-Lite Micro's ADD_N needs one scale and zero point for all inputs."
            )
    s, so = _scales((first, y))
    shift = ADD_N_LEFT_SHIFT
    twice_max = 2.0 * s
    mi, si = _smaller_than_one_exp(s / twice_max, what)
    mo, sho = _smaller_than_one_exp(twice_max / ((1 << shift) * so), what)
    return AddNParams(shift, -first.quant.zp, mi, si, y.quant.zp, mo, sho)


def eval_add_n(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """reference_ops::AddN for int8, the accumulator starting at 0 (see the module docstring)."""
    p = prepare_add_n(g, node)
    xs = [np.asarray(x).astype(np.int64) for x in inputs]
    # |offset + x| <= 255 per term, << 20 and halved: each term is at most 255 * 2^19 < 2^27,
    # so 16 inputs cannot overflow int32; beyond, the sum wraps as the C code's int32 does.
    acc = np.zeros_like(xs[0])
    for x in xs:
        acc = wrap_int32(acc + _rescale(x, p.input_offset, p.left_shift, p.input_multiplier, p.input_shift))
    y = multiply_by_quantized_multiplier_smaller_than_one_exp(acc, p.output_multiplier, p.output_shift)
    return out(g, node, np.clip(y + p.output_offset, -128, 127))


# ------------------------------------------------------------------ DIV
@dataclass(frozen=True)
class DivParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def prepare_div(g: Graph, node: Node) -> DivParams:
    """CalculateOpDataDiv for int8: s1 / (s2 * s_out) in double, then QuantizeMultiplier."""
    x1, x2, y = tensors(g, node, ("int8",), "int8", True)
    s1, s2, so = _scales((x1, x2, y))
    real = s1 / (s2 * so)
    m, s = quantize_multiplier(real)
    if s > DIV_MAX_OUTPUT_SHIFT:
        raise UnsupportedError(
            f"{node_label(node)}: its scales give a rescaling factor of {real:.6g}, at or above the 2^22 "
            "below which TF-Lite Micro's DIV arithmetic is defined."
        )
    act_min, act_max = activation_range(str(node.attrs.activation), float(so), y.quant.zp)
    return DivParams(-x1.quant.zp, -x2.quant.zp, y.quant.zp, m, s, act_min, act_max)


def count_leading_sign_bits(x) -> np.ndarray:
    """CountLeadingSignBits of int32 values: 31 for 0 and -1."""
    x = np.asarray(x, dtype=np.int64)
    return gl.count_leading_zeros_u32(np.where(x < 0, ~x, x)) - 1


def div_quotient(v1: np.ndarray, v2: np.ndarray, p: DivParams) -> np.ndarray:
    """DivElementwise's arithmetic from offset values v1, v2 to the clamped output."""
    flip = v2 < 0
    v1, v2 = np.where(flip, -v1, v1), np.where(flip, -v2, v2)
    inv, recip_shift = gl.get_reciprocal(v2, 31)
    headroom = count_leading_sign_bits(v1)
    # v1 * (1 << headroom): headroom is 31 only for v1 = 0, where the product is 0 in C too.
    q = saturating_rounding_doubling_high_mul(wrap_int32(v1 << headroom), inv)
    total_shift = p.output_shift - recip_shift - headroom
    # Exponents above 31 round |x| < 2^31 to 0 (or -1 for -2^31 at 32) all alike: 62 keeps int64 shifts defined.
    exponent = np.minimum(-total_shift, 62)
    y = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(q, p.output_multiplier), exponent)
    return np.clip(y + p.output_offset, p.act_min, p.act_max)


def eval_div(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    p = prepare_div(g, node)
    a, b = broadcast(g, node, inputs[:2])
    return out(g, node, div_quotient(a + p.input1_offset, b + p.input2_offset, p))


KERNELS = {
    Op.SQUARED_DIFFERENCE: eval_squared_difference,
    Op.PRELU: eval_prelu,
    Op.ADD_N: eval_add_n,
    Op.DIV: eval_div,
}
