"""LOG_SOFTMAX and L2_NORMALIZATION on int8, per row of the last axis, bit-exact with
TF-Lite Micro's reference kernels.

LOG_SOFTMAX (log_softmax.cc CalculateOpData, reference_ops::LogSoftmaxQuantized):
output fixed at scale 16/256, zero point 127 (TF-Lite Micro refuses others); beta 1.

    diff = x - max(row)                                   (<= 0)
    q5 = MultiplyByQuantizedMultiplier(diff, m, left_shift)     (Q5.26)
    sum = sum over diff >= diff_min of Rescale<12>(exp(q5))      (Q12.19)
    log_sum = log_x_for_x_greater_than_or_equal_to_1<5>(sum)    (Q5.26)
    adjusted_diff_min = max(diff_min - 1,
                            MultiplyByQuantizedMultiplier(log_sum + INT32_MIN, reverse divisor))
    y = RoundingDivideByPOT(q5 - log_sum, 22) + 127 where diff > adjusted_diff_min, else -128

L2_NORMALIZATION (l2norm.cc, reference_integer_ops::L2Normalization): output fixed at
scale 1/128, zero point 0 (TF-Lite Micro ignores the output tensor's; we refuse others):

    acc = sum (x - zp)^2;  m, s = GetInvSqrtQuantizedMultiplierExp(acc, -1)
    y = clamp(MultiplyByQuantizedMultiplier(x - zp, m, s + 7))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant import gemmlowp as gl
from mcuforge.quant.fixedpoint import (
    INT32_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    wrap_int32,
)
from mcuforge.ref.checks import int8_io, node_label
from mcuforge.ref.softmax import calculate_input_radius, preprocess_softmax_scaling
from mcuforge.ref.unary_math import inv_sqrt_quantized_multiplier_exp, log_x_for_x_greater_than_or_equal_to_1

INT8_MIN, INT8_MAX = -128, 127
SCALED_DIFF_INTEGER_BITS = 5  # kScaledDiffIntegerBits / kInputIntegerBits
ACCUMULATION_INTEGER_BITS = 12  # kAccumulationIntegerBits
OUTPUT_INTEGER_BITS = 4  # kOutputIntegerBits
LOG_SOFTMAX_OUTPUT = (np.float32(16.0 / 256.0), 127)  # kOutputScale, kOutputZeroPoint
L2_NORM_OUTPUT = (np.float32(1.0 / 128.0), 0)
L2_NORM_OUTPUT_SHIFT = 7  # kOutputScale of L2Normalization: the output is Q0.7
L2_NORM_MAX_DEPTH = ((1 << 31) - 1) // (255 * 255)  # the int32 sum of squares cannot overflow
# Each exp term is at most 2^19 (1.0 in Q12.19), so a row of 2^12 equal values overflows
# the int32 sum ("safe from overflowing in 2^12 steps"): TF-Lite Micro's result is then wrong.
LOG_SOFTMAX_MAX_DEPTH = (1 << ACCUMULATION_INTEGER_BITS) - 1


def rows_of(x: np.ndarray) -> np.ndarray:
    """The input as (outer, depth) rows of its last axis, in int64."""
    x = np.asarray(x).astype(np.int64)
    return x.reshape(-1, x.shape[-1] if x.ndim else 1)


# -------------------------------------------------------------- LOG_SOFTMAX
@dataclass(frozen=True)
class LogSoftmaxParams:
    """LogSoftmaxOpData."""

    input_multiplier: int
    input_left_shift: int
    reverse_scaling_divisor: int
    reverse_scaling_right_shift: int  # >= 0; the kernel passes its negation as the shift
    diff_min: int


def prepare_log_softmax(g: Graph, node: Node) -> LogSoftmaxParams:
    """CalculateOpData: PreprocessLogSoftmaxScalingExp(beta 1, double(s_in), 5)."""
    x, y = int8_io(g, node)
    what = node_label(node)
    if (np.float32(y.quant.scale[0]), y.quant.zp) != LOG_SOFTMAX_OUTPUT:
        raise UnsupportedError(f"{what} needs output scale 16/256 and zero point 127, as TF-Lite Micro does.")
    try:
        multiplier, left_shift = preprocess_softmax_scaling(1.0, float(x.quant.scale[0]), SCALED_DIFF_INTEGER_BITS)
    except ValueError as e:
        raise UnsupportedError(f"{what}: the input scale is too small (TF-Lite Micro rejects it).") from e
    # (1 << (31 - left_shift)) is a C int: left_shift 0 overflows it, and TF-Lite Micro aborts.
    real = (1 << (31 - left_shift)) / float(multiplier) if left_shift > 0 else 0.0
    divisor, reverse_shift = quantize_multiplier(real)
    if not 0.0 < real < 1.0 or reverse_shift > 0:
        raise UnsupportedError(f"{what}: the input scale is too small (TF-Lite Micro rejects it).")
    depth = x.shape[-1] if x.shape else 1
    if depth > LOG_SOFTMAX_MAX_DEPTH:
        raise UnsupportedError(
            f"{what}: rows of {depth} values can overflow TF-Lite Micro's sum of exponentials (at most 4095)."
        )
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)
    return LogSoftmaxParams(multiplier, left_shift, divisor, -reverse_shift, diff_min)


def _log_softmax_row(p: LogSoftmaxParams, row: np.ndarray) -> np.ndarray:
    diff = row - row.max()
    q5 = multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_left_shift)
    exps = gl.rescale(gl.exp_on_negative_values(q5, SCALED_DIFF_INTEGER_BITS), 0, ACCUMULATION_INTEGER_BITS)
    # F12 additions wrap in int32; each term is at most 2^19, so they cannot in rows below 4096.
    total = int(wrap_int32(np.where(diff >= p.diff_min, exps, 0).sum()))
    log_sum = log_x_for_x_greater_than_or_equal_to_1(total, SCALED_DIFF_INTEGER_BITS, ACCUMULATION_INTEGER_BITS)
    shifted = int(wrap_int32(log_sum + INT32_MIN))
    bound = int(multiply_by_quantized_multiplier(shifted, p.reverse_scaling_divisor, -p.reverse_scaling_right_shift))
    adjusted_diff_min = max(p.diff_min - 1, bound)
    y = rounding_divide_by_pot(wrap_int32(q5 - log_sum), 31 - SCALED_DIFF_INTEGER_BITS - OUTPUT_INTEGER_BITS)
    return np.where(diff > adjusted_diff_min, np.clip(y + INT8_MAX, INT8_MIN, INT8_MAX), INT8_MIN)


def eval_log_softmax(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    p = prepare_log_softmax(g, node)
    out = np.stack([_log_softmax_row(p, r) for r in rows_of(inputs[0])])
    return [out.astype(np.int8).reshape(g.tensor(node.outputs[0]).shape)]


# --------------------------------------------------------- L2_NORMALIZATION
def prepare_l2_normalization(g: Graph, node: Node) -> int:
    """L2NormPrepare: the input zero point (the output quantisation is fixed)."""
    x, y = int8_io(g, node)
    what = node_label(node)
    if (np.float32(y.quant.scale[0]), y.quant.zp) != L2_NORM_OUTPUT:
        raise UnsupportedError(f"{what} needs output scale 1/128 and zero point 0, what TF-Lite Micro produces.")
    depth = x.shape[-1] if x.shape else 1
    if depth > L2_NORM_MAX_DEPTH:
        raise UnsupportedError(f"{what}: rows of {depth} values could overflow the int32 sum of squares.")
    return x.quant.zp


def eval_l2_normalization(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    zp = prepare_l2_normalization(g, node)
    out = []
    for row in rows_of(inputs[0]):
        v = row - zp
        m, s = inv_sqrt_quantized_multiplier_exp(int((v * v).sum()), -1)
        out.append(np.clip(multiply_by_quantized_multiplier(v, m, s + L2_NORM_OUTPUT_SHIFT), INT8_MIN, INT8_MAX))
    return [np.stack(out).astype(np.int8).reshape(g.tensor(node.outputs[0]).shape)]


KERNELS = {
    Op.LOG_SOFTMAX: eval_log_softmax,
    Op.L2_NORMALIZATION: eval_l2_normalization,
}
