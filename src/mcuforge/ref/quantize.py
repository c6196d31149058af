"""QUANTIZE and DEQUANTIZE, bit-exact with TF-Lite Micro's reference kernels.

QUANTIZE (PrepareQuantizeReference / EvalQuantizeReference, quantize_common.cc):

- float32 -> int8 / int16: reference_ops::AffineQuantize,
  q = clamp((int32)round(x / (float)scale) + zp), the division in float32 and
  round() halving away from zero. An x whose quotient does not fit an int32 (or is
  NaN) converts to INT32_MIN, as the x86-64 conversion instruction yields for
  the C++ cast, and the zero point is then added with int32 wraparound.
- integer -> integer (int8 -> int8 requantisation among others):
  reference_ops::Requantize, q = clamp(MultiplyByQuantizedMultiplier(x - zp_in, m, s)
  + zp_out) with m, s = QuantizeMultiplier(double(s_in) / double(s_out)). Its
  int8 <-> uint8 shortcut (x ^ 0x80 when only the zero point moves by 128) gives
  the same values as the general formula, so it needs no special case.

DEQUANTIZE (DequantizePrepare, reference_ops::Dequantize): int8 / int16 -> float32
as (float)(double(scale) * (x - zp)). The product of a float32 scale and an integer
below 2^17 is exact in double, so the result is the correctly rounded float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.checks import node_label
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import INT32_MIN, multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32

# Input -> output dtype pairs EvalQuantizeReference handles.
REQUANTIZE_PAIRS = {
    ("int8", "int8"), ("int8", "uint8"), ("int8", "int16"), ("int8", "int32"),
    ("uint8", "int8"),
    ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
    ("int32", "int8"), ("int32", "int16"),
}  # fmt: skip
AFFINE_OUTPUTS = ("int8", "int16")
DEQUANTIZE_INPUTS = ("int8", "int16")


@dataclass(frozen=True)
class QuantizeParams:
    """OpDataQuantizeReference: AffineQuantize's scale / zero point, Requantize's multiplier."""

    output_scale: float  # the float32 output scale (AffineQuantize divides by it in float32)
    output_zero_point: int
    input_zero_point: int
    requantize_multiplier: int  # 0 for float32 input
    requantize_shift: int


@dataclass(frozen=True)
class DequantizeParams:
    scale: float  # double(input scale)
    zero_point: int


def _per_tensor(node: Node, t: Tensor) -> None:
    if t.quant is None or t.quant.per_channel or not t.quant.scale[0] > 0:
        raise UnsupportedError(f"{node_label(node)}: tensor {t.name!r} needs per-tensor quantisation with a positive scale.")


def prepare_quantize(g: Graph, node: Node) -> QuantizeParams:
    """PrepareQuantizeReference."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    _per_tensor(node, y)
    if x.dtype == "float32":
        if y.dtype not in AFFINE_OUTPUTS:
            raise UnsupportedError(
                f"{node_label(node)} quantises float32 to {y.dtype}; only int8 and int16 outputs are supported."
            )
        return QuantizeParams(float(y.quant.scale[0]), y.quant.zp, 0, 0, 0)
    if (x.dtype, y.dtype) not in REQUANTIZE_PAIRS:
        raise UnsupportedError(f"{node_label(node)} converts {x.dtype} to {y.dtype}, which TF-Lite Micro does not support.")
    _per_tensor(node, x)
    m, s = quantize_multiplier(float(x.quant.scale[0]) / float(y.quant.scale[0]))
    return QuantizeParams(float(y.quant.scale[0]), y.quant.zp, x.quant.zp, m, s)


def affine_quantize(x: np.ndarray, scale: float, zero_point: int, dtype: str) -> np.ndarray:
    """reference_ops::AffineQuantize on float32 values."""
    q = np.asarray(x, dtype=np.float32) / np.float32(scale)  # float32 division
    q64 = q.astype(np.float64)  # exact; |q| + 0.5 is then exact too (std::round, halves away from 0)
    with np.errstate(invalid="ignore"):
        r = np.sign(q64) * np.floor(np.abs(q64) + 0.5)
        fits = np.abs(r) < 2.0**31  # False for NaN and infinities
    as_int = np.where(fits, np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0), 0.0).astype(np.int64)
    as_int = np.where(fits, as_int, INT32_MIN)  # what cvttss2si returns out of range
    info = np.iinfo(dtype)
    return np.clip(wrap_int32(as_int + zero_point), info.min, info.max).astype(dtype)


def eval_quantize(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """EvalQuantizeReference: AffineQuantize for float32 input, Requantize otherwise."""
    p = prepare_quantize(g, node)
    y = g.tensor(node.outputs[0])
    x = np.asarray(inputs[0])
    if g.tensor(node.inputs[0]).dtype == "float32":  # type: ignore[arg-type]
        return [affine_quantize(x, p.output_scale, p.output_zero_point, y.dtype).reshape(y.shape)]
    v = wrap_int32(x.astype(np.int64) - p.input_zero_point)
    q = multiply_by_quantized_multiplier(v, p.requantize_multiplier, p.requantize_shift) + p.output_zero_point
    info = np.iinfo(y.dtype)
    return [np.clip(wrap_int32(q), info.min, info.max).astype(y.dtype).reshape(y.shape)]


def prepare_dequantize(g: Graph, node: Node) -> DequantizeParams:
    """DequantizePrepare: int8 or int16 in, float32 out."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    if x.dtype not in DEQUANTIZE_INPUTS or y.dtype != "float32":
        raise UnsupportedError(
            f"{node_label(node)} converts {x.dtype} to {y.dtype}; only int8 or int16 to float32 is supported."
        )
    _per_tensor(node, x)
    return DequantizeParams(float(x.quant.scale[0]), x.quant.zp)


def eval_dequantize(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::Dequantize: static_cast<float>(double(scale) * (x - zp))."""
    p = prepare_dequantize(g, node)
    x = np.asarray(inputs[0]).astype(np.int64) - p.zero_point
    y = (p.scale * x.astype(np.float64)).astype(np.float32)
    return [y.reshape(g.tensor(node.outputs[0]).shape)]


KERNELS = {
    Op.QUANTIZE: eval_quantize,
    Op.DEQUANTIZE: eval_dequantize,
}
