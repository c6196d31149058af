"""RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC and TANH on int8, bit-exact with TF-Lite Micro.

What each kernel does (the TF-Lite Micro functions it follows are named in each
prepare_/eval_ function):

- RELU requantises: y = zp_out + MultiplyByQuantizedMultiplier(x - zp_in, m, s),
  m, s from s_in / s_out in double, clamped to [max(-128, zp_out), 127].
- RELU6 does not requantise: it clamps the raw input to [zp_in, q(6.0)], q in the
  *input* quantisation; the output's scale and zero point are ignored.
- LEAKY_RELU requantises with one multiplier for x >= zp_in (s_in / s_out) and
  one for x < zp_in (s_in * alpha / s_out).
- HARD_SWISH runs a 16-bit fixed-point pipeline with a "reluish" multiplier.
- LOGISTIC and TANH evaluate gemmlowp's fixed-point logistic / tanh on the input
  rescaled to Q4.27 (not a lookup table: that is what TF-Lite Micro's int8
  kernels run); the output is fixed at scale 1/256, zero point -128 (logistic) and
  scale 1/128, zero point 0 (tanh), whatever the output tensor says. Their int16
  versions (a table with interpolation) are in ref/activations16.py.

Real multipliers are computed in double from the float32 scales (and alpha). Some
TF-Lite Micro sources compute LEAKY_RELU's and HARD_SWISH's in float32 and widen
the result; the TF-Lite Micro we test against agrees with double arithmetic where
the two differ (tests pin such cases), so we follow it. RELU6's q(6.0), by
contrast, is a float32 quotient (FloatToQuantizedType), also pinned by tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ref import activations16
from mcuforge.ref.checks import int8_io, node_label
from mcuforge.ir.ops import Op
from mcuforge.quant import gemmlowp as gl
from mcuforge.quant.fixedpoint import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    tflite_round,
    wrap_int32,
)

INT8_MIN, INT8_MAX = -128, 127
SIGMOID_TANH_INPUT_INTEGER_BITS = 4  # kInputIntegerBits: the input is rescaled to Q4.27
INT32_MAX_MINUS_ROUNDING = (1 << 31) - 1 - (1 << 15)  # DownScaleInt32ToInt16Multiplier's saturation point


def _out(g: Graph, node: Node, y: np.ndarray) -> list[np.ndarray]:
    t = g.tensor(node.outputs[0])
    return [np.asarray(y).astype(np.int16 if t.dtype == "int16" else np.int8).reshape(t.shape)]


def _relu_io(g: Graph, node: Node, zero_points_zero: bool):
    """int8_io, or for RELU / RELU6 / LEAKY_RELU on int16 (both tensors int16, per-tensor, zero point 0
    where ReluPrepare requires it): (x, y, qmin, qmax)."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    if x.dtype != "int16" and y.dtype != "int16":
        return (*int8_io(g, node), INT8_MIN, INT8_MAX)
    for t in (x, y):
        if t.dtype != "int16" or t.quant is None or t.quant.per_channel or not t.quant.scale[0] > 0:
            raise UnsupportedError(f"{node_label(node)}: tensor {t.name!r} needs int16 with per-tensor quantisation.")
        if zero_points_zero and t.quant.zp != 0:
            raise UnsupportedError(
                f"{node_label(node)}: int16 tensor {t.name!r} needs zero point 0, as TF-Lite Micro does."
            )
    return x, y, gl.INT16_MIN, gl.INT16_MAX


# --------------------------------------------------------------------- RELU
@dataclass(frozen=True)
class ReluParams:
    """ReluOpData (ReluParams) for int8."""

    input_offset: int  # the input zero point (subtracted)
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def prepare_relu(g: Graph, node: Node) -> ReluParams:
    """CalculateReluOpData<int8_t> / <int16_t> (activations_common.cc)."""
    x, y, qmin, qmax = _relu_io(g, node, zero_points_zero=True)
    m, s = quantize_multiplier(float(x.quant.scale[0]) / float(y.quant.scale[0]))
    # act_min: zp_out + roundf(0.0f / s_out) = zp_out; act_max: +infinity -> the type's max.
    return ReluParams(x.quant.zp, y.quant.zp, m, s, max(qmin, y.quant.zp), qmax)


def eval_relu(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """ReluQuantized: requantise, then clamp."""
    p = prepare_relu(g, node)
    x = np.asarray(inputs[0]).astype(np.int64)
    y = p.output_offset + multiply_by_quantized_multiplier(x - p.input_offset, p.output_multiplier, p.output_shift)
    return _out(g, node, np.clip(y, p.act_min, p.act_max))


@dataclass(frozen=True)
class Relu6Params:
    """Relu6OpData: the clamp bounds in the input's quantisation."""

    zero: int
    six: int


def prepare_relu6(g: Graph, node: Node) -> Relu6Params:
    """Relu6Prepare: six = FloatToQuantizedType<int8_t / int16_t>(6.0f, s_in, zp_in)."""
    x, _, qmin, qmax = _relu_io(g, node, zero_points_zero=False)
    # round(6.0f / scale) in float32, plus the zero point, clamped to the type.
    six = tflite_round(float(np.float32(6.0) / x.quant.scale[0])) + x.quant.zp
    return Relu6Params(x.quant.zp, int(min(max(six, qmin), qmax)))


def eval_relu6(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """Relu6Quantized: `val > six ? six : val < zero ? zero : val` on the raw values."""
    p = prepare_relu6(g, node)
    x = np.asarray(inputs[0]).astype(np.int64)
    return _out(g, node, np.where(x > p.six, p.six, np.where(x < p.zero, p.zero, x)))


# --------------------------------------------------------------- LEAKY_RELU
@dataclass(frozen=True)
class LeakyReluParams:
    """LeakyReluOpData for int8."""

    input_zero_point: int
    output_zero_point: int
    output_multiplier_alpha: int
    output_shift_alpha: int
    output_multiplier_identity: int
    output_shift_identity: int


def prepare_leaky_relu(g: Graph, node: Node) -> LeakyReluParams:
    """CalculateOpDataLeakyRelu: alpha and identity multipliers (double arithmetic), int8 or int16."""
    x, y, _, _ = _relu_io(g, node, zero_points_zero=False)
    s_in, s_out = float(x.quant.scale[0]), float(y.quant.scale[0])
    alpha = float(np.float32(node.attrs.alpha))  # stored as float32 in the flatbuffer
    ma, sa = quantize_multiplier(s_in * alpha / s_out)
    mi, si = quantize_multiplier(s_in / s_out)
    return LeakyReluParams(x.quant.zp, y.quant.zp, ma, sa, mi, si)


def eval_leaky_relu(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::QuantizeLeakyRelu; a negative alpha multiplies by |m| and negates."""
    p = prepare_leaky_relu(g, node)
    x = np.asarray(inputs[0]).astype(np.int64) - p.input_zero_point
    identity = multiply_by_quantized_multiplier(x, p.output_multiplier_identity, p.output_shift_identity)
    alpha_m = abs(p.output_multiplier_alpha)
    scaled = multiply_by_quantized_multiplier(x, alpha_m, p.output_shift_alpha)
    if p.output_multiplier_alpha < 0:
        scaled = -scaled
    y = p.output_zero_point + np.where(x >= 0, identity, scaled)
    info = np.iinfo(g.tensor(node.outputs[0]).dtype)
    return _out(g, node, np.clip(y, info.min, info.max))


# --------------------------------------------------------------- HARD_SWISH
@dataclass(frozen=True)
class HardSwishParams:
    """HardSwishParams: two 16-bit fixed-point multipliers and their exponents."""

    input_zero_point: int
    output_zero_point: int
    reluish_multiplier_fixedpoint_int16: int
    reluish_multiplier_exponent: int
    output_multiplier_fixedpoint_int16: int
    output_multiplier_exponent: int


def downscale_int32_to_int16_multiplier(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier: round a Q31 multiplier to Q15, saturating."""
    if m >= INT32_MAX_MINUS_ROUNDING:
        return gl.INT16_MAX
    return (m + (1 << 15)) >> 16


def prepare_hard_swish(g: Graph, node: Node) -> HardSwishParams:
    """HardSwishPrepare (hard_swish_common.cc), in double arithmetic."""
    x, y = int8_io(g, node)
    hires_input_scale = float(x.quant.scale[0]) / 128.0  # the input is shifted left by 7 bits
    reluish_scale = 3.0 / 32768.0  # 3.0 maps to 32768
    om, oe = quantize_multiplier(hires_input_scale / float(y.quant.scale[0]))
    if oe > 0:
        raise UnsupportedError(
            f"{node_label(node)}: the output scale is below 1/128 of the input scale, which TF-Lite Micro rejects."
        )
    rm, re_ = quantize_multiplier(hires_input_scale / reluish_scale)
    return HardSwishParams(
        x.quant.zp,
        y.quant.zp,
        downscale_int32_to_int16_multiplier(rm),
        re_,
        downscale_int32_to_int16_multiplier(om),
        oe,
    )


def eval_hard_swish(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::HardSwish<int8_t>, every step in int16 as the C code does."""
    p = prepare_hard_swish(g, node)
    x = gl.wrap_int16(np.asarray(inputs[0]).astype(np.int64) - p.input_zero_point)
    hires = gl.wrap_int16(x * (1 << 7))  # |x| <= 255, so x * 128 fits int16
    preshift_output = gl.saturating_rounding_doubling_high_mul_i16(hires, p.output_multiplier_fixedpoint_int16)
    reluish = hires
    e = p.reluish_multiplier_exponent
    if e > 0:  # saturating left shift by e - 1 now, the last bit after the multiply
        reluish = gl.saturating_left_shift_i16(reluish, e - 1)
    reluish = gl.saturating_rounding_doubling_high_mul_i16(reluish, p.reluish_multiplier_fixedpoint_int16)
    if e > 0:
        reluish = gl.saturating_left_shift_i16(reluish, 1)
    if e < 0:
        reluish = gl.rounding_divide_by_pot_i16(reluish, -e)
    reluish = (reluish + (1 << 15)) >> 1  # [-1, 1] -> [0, 1] in Q0.15
    preshift = gl.saturating_doubling_high_mul_i16(reluish, preshift_output)
    y = gl.rounding_divide_by_pot_i16(preshift, -p.output_multiplier_exponent)
    y = gl.wrap_int16(y + p.output_zero_point)
    return _out(g, node, np.clip(y, INT8_MIN, INT8_MAX))


# ----------------------------------------------------------- LOGISTIC, TANH
@dataclass(frozen=True)
class SigmoidTanhParams:
    """OpDataLogistic / Tanh's OpData for int8."""

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


def prepare_sigmoid_tanh(g: Graph, node: Node) -> SigmoidTanhParams:
    """CalculateArithmeticOpDataLogistic / Tanh's CalculateArithmeticOpData for int8.

    input_real_multiplier = s_in * 2^27 (double); frexp splits it into a Q31
    multiplier and a left shift (no QuantizeMultiplier: the mantissa of a float32
    scale times 2^31 is an exact integer). The radius CalculateInputRadius(4,
    shift, 31) = floor(15 * 2^27 / 2^shift) bounds |x - zp| below saturation.
    """
    x, y = int8_io(g, node)
    if node.op == Op.LOGISTIC and y.quant.zp != INT8_MIN:
        raise UnsupportedError(f"{node_label(node)} needs output zero point -128 (scale 1/256), as TF-Lite Micro does.")
    real = float(x.quant.scale[0]) * float(1 << (31 - SIGMOID_TANH_INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    if shift < 0:
        raise UnsupportedError(f"{node_label(node)}: input scale {float(x.quant.scale[0]):g} is too small.")
    multiplier = int(wrap_int32(tflite_round(q * (1 << 31))))
    bits = SIGMOID_TANH_INPUT_INTEGER_BITS
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << shift))
    return SigmoidTanhParams(x.quant.zp, radius, multiplier, shift)


def _sigmoid_tanh(g: Graph, node: Node, x_raw: np.ndarray) -> tuple[SigmoidTanhParams, np.ndarray, np.ndarray]:
    """(params, x - zp, the gemmlowp function of x - zp rescaled to Q4.27, as raw Q0.31)."""
    p = prepare_sigmoid_tanh(g, node)
    x = np.asarray(x_raw).astype(np.int64) - p.input_zero_point
    # Values outside the radius are replaced below; the wrapped shift there is harmless.
    q4 = multiply_by_quantized_multiplier(x, p.input_multiplier, p.input_left_shift)
    fn = gl.logistic if node.op == Op.LOGISTIC else gl.tanh
    return p, x, fn(q4, SIGMOID_TANH_INPUT_INTEGER_BITS)


def eval_logistic(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_integer_ops::Logistic (int8): Q0.31 -> Q0.8 rounding, zero point -128."""
    if g.tensor(node.inputs[0]).dtype == "int16":  # type: ignore[arg-type]
        return activations16.eval_logistic16(g, node, inputs)
    p, x, q0 = _sigmoid_tanh(g, node, inputs[0])
    y = np.clip(rounding_divide_by_pot(q0, 31 - 8) + INT8_MIN, INT8_MIN, INT8_MAX)
    y = np.where(x <= -p.input_range_radius, INT8_MIN, np.where(x >= p.input_range_radius, INT8_MAX, y))
    return _out(g, node, y)


def eval_tanh(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_integer_ops::Tanh (int8): Q0.31 -> Q0.7 rounding, zero point 0."""
    if g.tensor(node.inputs[0]).dtype == "int16":  # type: ignore[arg-type]
        return activations16.eval_tanh16(g, node, inputs)
    p, x, q0 = _sigmoid_tanh(g, node, inputs[0])
    y = np.clip(rounding_divide_by_pot(q0, 31 - 7), INT8_MIN, INT8_MAX)
    y = np.where(x <= -p.input_range_radius, INT8_MIN, np.where(x >= p.input_range_radius, INT8_MAX, y))
    return _out(g, node, y)


# prepare_<op> names for the code generator (LOGISTIC and TANH share their Prepare).
prepare_logistic = prepare_tanh = prepare_sigmoid_tanh

KERNELS = {
    Op.RELU: eval_relu,
    Op.RELU6: eval_relu6,
    Op.LEAKY_RELU: eval_leaky_relu,
    Op.HARD_SWISH: eval_hard_swish,
    Op.LOGISTIC: eval_logistic,
    Op.TANH: eval_tanh,
}
