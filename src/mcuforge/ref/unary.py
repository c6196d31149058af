"""Reference kernels of the unary family on int8, bit-exact with TF-Lite Micro (LiteRT for NEG).

Element-wise (the TF-Lite Micro function each follows is named in its prepare_/eval_):

- ABS: y = zp_out + |x - zp_in|, requantised by MultiplyByQuantizedMultiplier only when
  the float32 scales differ; the multiplier is QuantizeMultiplier(double(s_in / s_out))
  with the quotient taken in float32 (SetAbsOutputMultiplier).
- RSQRT: y = zp_out + 1/sqrt(x - zp_in) rescaled by 1 / (sqrtf(s_in) * s_out), the
  inverse square root from GetInvSqrtQuantizedMultiplierExp; x == zp_in gives 127.
  TF-Lite Micro stops with an error on an input below the zero point (the operator is
  undefined there); our kernels then compute what its arithmetic gives without that
  check, the value of x - zp_in = 1.
- ELU: a 256-entry lookup table computed in float32 as TF-Lite Micro's
  PopulateLookupTable: q(ELU(s_in * (x - zp_in))), ELU(v) = expf(v) - 1 below 0.
- NEG: y = clamp(zp_in + zp_out - x) with equal input and output scales
  (reference_integer_ops::Negate of TensorFlow Lite). TF-Lite Micro has no int8 NEG;
  LiteRT 2.3's int8 NEG negates the raw values (wrapping -(-128) to -128) and ignores
  the zero points, so it agrees only for zero points 0 and inputs above -128.
- ZEROS_LIKE writes raw 0 (not the zero point), FILL copies its scalar's raw value,
  CAST converts values without looking at quantisation: int8 -> int32 / float32 exactly,
  int32 -> int8 wrapping modulo 256, float32 -> int8 truncating toward zero and
  saturating, NaN giving 0 (the C++ cast is undefined there; this is what TF-Lite
  Micro's build does; LiteRT gives 127 for NaN).

LOG_SOFTMAX and L2_NORMALIZATION (per row of the last axis) are in ref/unary_rows.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, tflite_round, wrap_int32
from mcuforge.ref import unary_rows
from mcuforge.ref.checks import int8_io, node_label
from mcuforge.ref.unary_math import expf, inv_sqrt_quantized_multiplier_exp

INT8_MIN, INT8_MAX = -128, 127
ALL_INT8 = np.arange(INT8_MIN, INT8_MAX + 1)
RSQRT_SHIFT = 20  # kShift of RsqrtEvalQuantized: keeps 1/sqrt(x) an integer
REVERSE_SHIFT = -1  # kReverseShift


def _out(g: Graph, node: Node, y) -> list[np.ndarray]:
    return [np.asarray(y).astype(np.int8).reshape(g.tensor(node.outputs[0]).shape)]


def _scales(g: Graph, node: Node) -> tuple[np.float32, int, np.float32, int]:
    x, y = int8_io(g, node)
    return np.float32(x.quant.scale[0]), x.quant.zp, np.float32(y.quant.scale[0]), y.quant.zp


# ---------------------------------------------------------------------- ABS
@dataclass(frozen=True)
class AbsParams:
    """OpDataAbsRsqrt for ABS."""

    input_offset: int
    output_offset: int
    needs_rescale: bool
    multiplier: int
    shift: int


def prepare_abs(g: Graph, node: Node) -> AbsParams:
    """PrepareAbsRsqrt<kAbsNameId>: a multiplier only when the float32 scales differ."""
    si, zi, so, zo = _scales(g, node)
    if si == so:
        return AbsParams(zi, zo, False, 0, 0)
    with np.errstate(over="ignore"):
        ratio = si / so  # SetAbsOutputMultiplier: the quotient in float32
    if not ratio < 2.0**31:  # a larger left shift is undefined in the 32-bit arithmetic
        raise UnsupportedError(f"{node_label(node)}: the output scale {float(so):g} is too small for its input scale.")
    m, s = quantize_multiplier(float(ratio))
    return AbsParams(zi, zo, True, m, s)


def eval_abs(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """AbsEvalQuantized<int8_t>."""
    p = prepare_abs(g, node)
    v = np.abs(np.asarray(inputs[0]).astype(np.int64) - p.input_offset)
    if p.needs_rescale:
        v = multiply_by_quantized_multiplier(v, p.multiplier, p.shift)
    return _out(g, node, np.clip(v + p.output_offset, INT8_MIN, INT8_MAX))


# -------------------------------------------------------------------- RSQRT
@dataclass(frozen=True)
class RsqrtParams:
    """OpDataAbsRsqrt for RSQRT."""

    input_offset: int
    output_offset: int
    multiplier: int
    shift: int


def prepare_rsqrt(g: Graph, node: Node) -> RsqrtParams:
    """PrepareAbsRsqrt<kRsqrtNameId>: SetRsqrtOutputMultiplier, 1 / double(sqrtf(s_in) * s_out)."""
    si, zi, so, zo = _scales(g, node)
    m, s = quantize_multiplier(1.0 / float(np.sqrt(si) * so))
    if not -31 <= s - RSQRT_SHIFT <= 31:  # a shift the kernels' 32-bit arithmetic can take
        what = f"output scale {float(so):g} is out of range for input scale {float(si):g}"
        raise UnsupportedError(f"{node_label(node)}: {what}.")
    return RsqrtParams(zi, zo, m, s)


def rsqrt_value(p: RsqrtParams, x: int) -> int:
    """RsqrtEvalQuantized<int8_t> for one input (without the x >= zp_in check)."""
    value = x - p.input_offset
    if value == 0:
        return INT8_MAX  # "any value close to 0 represents the max output value"
    m, s = inv_sqrt_quantized_multiplier_exp(value, REVERSE_SHIFT)
    data = int(multiply_by_quantized_multiplier(1, m, s + RSQRT_SHIFT))
    y = int(multiply_by_quantized_multiplier(data, p.multiplier, p.shift - RSQRT_SHIFT)) + p.output_offset
    return min(max(y, INT8_MIN), INT8_MAX)


def rsqrt_table(p: RsqrtParams) -> np.ndarray:
    """RSQRT of every int8 input, indexed by x + 128 (how the reference evaluates it)."""
    return np.array([rsqrt_value(p, int(x)) for x in ALL_INT8], dtype=np.int8)


def eval_rsqrt(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    table = rsqrt_table(prepare_rsqrt(g, node))
    return _out(g, node, table[np.asarray(inputs[0]).astype(np.int64) + 128])


# ---------------------------------------------------------------------- ELU
def prepare_elu(g: Graph, node: Node) -> np.ndarray:
    """CalculateOpData / PopulateLookupTable<int8_t>: the table, indexed by x + 128.

    Every step in float32: dequantised = s_in * (x - zp_in); ELU; rescaled =
    roundf(elu * (1 / s_out)); quantised = (int32)(rescaled + zp_out), clamped.
    """
    si, zi, so, zo = _scales(g, node)
    inverse_scale = np.float32(1.0) / so
    table = []
    for x in ALL_INT8:
        v = si * np.float32(int(x) - zi)
        transformed = expf(v) - np.float32(1.0) if v < 0 else v
        with np.errstate(over="ignore"):
            product = transformed * inverse_scale
        if not abs(float(product)) < 2.0**30:  # far from where the int32 conversion is undefined
            raise UnsupportedError(f"{node_label(node)}: the output scale {float(so):g} is too small for its inputs.")
        rescaled = np.float32(tflite_round(float(product)))  # roundf, exact in double
        shifted = np.float32(rescaled + np.float32(zo))
        table.append(min(max(int(shifted), INT8_MIN), INT8_MAX))
    return np.array(table, dtype=np.int8)


def eval_elu(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """EvalUsingLookupTable."""
    return _out(g, node, prepare_elu(g, node)[np.asarray(inputs[0]).astype(np.int64) + 128])


# ---------------------------------------------------------------------- NEG
def prepare_neg(g: Graph, node: Node) -> int:
    """The zero point sum of reference_integer_ops::Negate (equal scales required)."""
    si, zi, so, zo = _scales(g, node)
    if si != so:
        scales = f"{float(si):g} != {float(so):g}"
        raise UnsupportedError(f"{node_label(node)} needs equal input and output scales ({scales}).")
    return zi + zo


def eval_neg(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    zero_point_sum = prepare_neg(g, node)
    return _out(g, node, np.clip(zero_point_sum - np.asarray(inputs[0]).astype(np.int64), INT8_MIN, INT8_MAX))


# ------------------------------------------------------- ZEROS_LIKE, FILL, CAST
def _int8_data(g: Graph, node: Node, slot: int) -> None:
    t = g.tensor(node.inputs[slot]) if slot >= 0 else g.tensor(node.outputs[0])  # type: ignore[arg-type]
    if t.dtype != "int8":
        raise UnsupportedError(f"{node_label(node)} has the {t.dtype} tensor {t.name!r}; only int8 is supported.")


def eval_zeros_like(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """ZerosLikeEval<int8_t>: raw zeros, whatever the zero point."""
    _int8_data(g, node, 0)
    _int8_data(g, node, -1)
    return _out(g, node, np.zeros(g.tensor(node.outputs[0]).shape, dtype=np.int8))


def eval_fill(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """FillEval<int8_t>: every element is the scalar's raw value (quantisation not read)."""
    _int8_data(g, node, 1)
    _int8_data(g, node, -1)
    value = np.asarray(inputs[1]).reshape(-1)[0]
    return _out(g, node, np.full(g.tensor(node.outputs[0]).shape, value, dtype=np.int8))


def cast_float_to_int8(x: np.ndarray) -> np.ndarray:
    """float32 -> int8 as TF-Lite Micro's build does it: truncate, saturate, NaN -> 0."""
    f = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        t = np.trunc(np.nan_to_num(f, nan=0.0, posinf=INT8_MAX, neginf=INT8_MIN))
    return np.clip(t, INT8_MIN, INT8_MAX).astype(np.int8)


def eval_cast(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """CastEval / copyCast: static_cast of each value."""
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    data = np.asarray(inputs[0])
    if (x.dtype, y.dtype) in (("int8", "int32"), ("int8", "float32")):
        out = data.astype(y.dtype)
    elif (x.dtype, y.dtype) == ("int32", "int8"):
        out = wrap_int32(data.astype(np.int64)).astype(np.int8)  # modulo 256, two's complement
    elif (x.dtype, y.dtype) == ("float32", "int8"):
        out = cast_float_to_int8(data)
    else:
        raise UnsupportedError(f"{node_label(node)} casts {x.dtype} to {y.dtype}; only int8 <-> int32 / float32.")
    return [out.reshape(y.shape)]


KERNELS = {
    Op.ABS: eval_abs,
    Op.RSQRT: eval_rsqrt,
    Op.ELU: eval_elu,
    Op.NEG: eval_neg,
    Op.ZEROS_LIKE: eval_zeros_like,
    Op.FILL: eval_fill,
    Op.CAST: eval_cast,
    **unary_rows.KERNELS,
}
