"""ADD, SUB and MUL on int8 tensors, bit-exact with TF-Lite Micro's reference kernels.

ADD follows CalculateOpDataAdd (add_common.cc) and reference_integer_ops::AddFunc;
SUB follows CalculateOpDataSub (sub_common.cc) and reference_ops::SubElementwise /
BroadcastQuantSubSlow. Both bring the two inputs onto a common scale of twice the
larger input scale, with 20 bits of headroom (left_shift = 20: |x - zp| <= 255
and 255 << 20 < 2^28, so the sum of two such values stays inside int32):

    a = MultiplyByQuantizedMultiplierSmallerThanOneExp((x1 - zp1) << 20, m1, s1)
    b = MultiplyByQuantizedMultiplierSmallerThanOneExp((x2 - zp2) << 20, m2, s2)
    y = MultiplyByQuantizedMultiplierSmallerThanOneExp(a +/- b, m_out, s_out) + zp_out

Both derive the three real multipliers in double precision from the float32
scales. (Some 2025 sources of sub_common.cc compute them in float32; the TF-Lite
Micro we test against computes SUB's in double, like ADD's, and the two differ
by one unit on some outputs, so we follow the oracle.)

MUL follows CalculateOpDataMul (mul_common.cc) and reference_integer_ops::MulElementwise:
y = MultiplyByQuantizedMultiplier((x1 - zp1) * (x2 - zp2), m, s) + zp_out with
m, s = QuantizeMultiplier(double(s1) * double(s2) / double(s_out)).

int16 (all three tensors int16): the same arithmetic with left_shift = 15 for ADD and
SUB (|x - zp| <= 65535 and 65535 << 15 < 2^31), the clamp to int16; MUL needs zero
point 0 on all three (MulPrepare's TF_LITE_ENSURE_EQ) and its product of two int16
values stays inside int32 (|product| <= 2^30).

All three broadcast like NumPy (BroadcastBinaryOpSimple, up to 6 dimensions) and
clamp to the fused activation's range (CalculateActivationRangeQuantized).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ref.checks import node_label
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import (
    activation_range,
    multiply_by_quantized_multiplier,
    int_range,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    quantize_multiplier,
)

MAX_BROADCAST_DIMS = 6  # BroadcastBinaryOpSimple handles up to 6-D shapes
ADD_SUB_LEFT_SHIFT = 20  # data->left_shift for int8 outputs
ADD_SUB_LEFT_SHIFT_INT16 = 15  # ... and for int16 outputs


@dataclass(frozen=True)
class AddSubParams:
    """OpDataAdd / OpDataSub for int8 (offsets are minus the input zero points)."""

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
    act_min: int
    act_max: int


@dataclass(frozen=True)
class MulParams:
    """OpDataMul for int8."""

    input1_zero_point: int
    input2_zero_point: int
    output_zero_point: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def _check_int8(g: Graph, node: Node) -> tuple:
    """The two inputs and the output, checked to be per-tensor quantised, all int8 or all int16."""
    what = node_label(node)
    tensors = [g.tensor(n) for n in (*node.inputs[:2], node.outputs[0]) if n is not None]
    if len(tensors) != 3:
        raise UnsupportedError(f"{what} needs two inputs and one output.")
    dtype = "int16" if tensors[2].dtype == "int16" else "int8"
    for t in tensors:
        if t.dtype != dtype:
            raise UnsupportedError(
                f"{what} has a {t.dtype} tensor {t.name!r}; only all-int8 or all-int16 tensors are supported."
            )
        if t.quant is None or t.quant.per_channel or not t.quant.scale[0] > 0:
            raise UnsupportedError(f"{what}: tensor {t.name!r} needs per-tensor quantisation with a positive scale.")
    if len(tensors[2].shape) > MAX_BROADCAST_DIMS:
        raise UnsupportedError(
            f"{what} has a {len(tensors[2].shape)}-D output; at most {MAX_BROADCAST_DIMS} dimensions are supported."
        )
    return tuple(tensors)


def _smaller_than_one_exp(real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TF-Lite Micro aborts unless 0 < real < 1 and shift <= 0."""
    m, s = quantize_multiplier(real)
    if not 0.0 < real < 1.0 or s > 0:
        raise UnsupportedError(
            f"{what}: its scales give a rescaling factor of {real:.6g}, outside (0, 1), which TF-Lite Micro rejects."
        )
    return m, s


def prepare_add_sub(g: Graph, node: Node) -> AddSubParams:
    """CalculateOpDataAdd / CalculateOpDataSub for int8 (double arithmetic)."""
    x1, x2, y = _check_int8(g, node)
    what = node_label(node)
    s1, s2, so = (float(t.quant.scale[0]) for t in (x1, x2, y))
    shift = ADD_SUB_LEFT_SHIFT_INT16 if y.dtype == "int16" else ADD_SUB_LEFT_SHIFT
    if y.dtype == "int16" and max(abs(x1.quant.zp), abs(x2.quant.zp)) >= 32767:
        raise UnsupportedError(f"{what} has an int16 input zero point of magnitude 32767 or more.")
    twice_max = 2.0 * max(s1, s2)
    real1 = s1 / twice_max
    real2 = s2 / twice_max
    real_out = twice_max / ((1 << shift) * so)
    m1, sh1 = _smaller_than_one_exp(real1, what)
    m2, sh2 = _smaller_than_one_exp(real2, what)
    mo, sho = _smaller_than_one_exp(real_out, what)
    act_min, act_max = activation_range(str(node.attrs.activation), so, y.quant.zp, *int_range(y.dtype))
    return AddSubParams(
        left_shift=shift,
        input1_offset=-x1.quant.zp,
        input1_multiplier=m1,
        input1_shift=sh1,
        input2_offset=-x2.quant.zp,
        input2_multiplier=m2,
        input2_shift=sh2,
        output_offset=y.quant.zp,
        output_multiplier=mo,
        output_shift=sho,
        act_min=act_min,
        act_max=act_max,
    )


def prepare_mul(g: Graph, node: Node) -> MulParams:
    """CalculateOpDataMul for int8: one multiplier for s1 * s2 / s_out, in double."""
    x1, x2, y = _check_int8(g, node)
    if y.dtype == "int16" and (x1.quant.zp, x2.quant.zp, y.quant.zp) != (0, 0, 0):
        raise UnsupportedError(
            f"{node_label(node)} is an int16 MUL with a nonzero zero point, which TF-Lite Micro rejects."
        )
    real = float(x1.quant.scale[0]) * float(x2.quant.scale[0]) / float(y.quant.scale[0])
    m, s = quantize_multiplier(real)
    qmin, qmax = int_range(y.dtype)
    act_min, act_max = activation_range(str(node.attrs.activation), float(y.quant.scale[0]), y.quant.zp, qmin, qmax)
    return MulParams(x1.quant.zp, x2.quant.zp, y.quant.zp, m, s, act_min, act_max)


def _broadcast(g: Graph, node: Node, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two inputs as int64, broadcast against each other (NumPy rules, as TF-Lite's)."""
    a, b = np.asarray(a).astype(np.int64), np.asarray(b).astype(np.int64)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError as e:
        raise UnsupportedError(f"{node_label(node)}: input shapes {a.shape} and {b.shape} do not broadcast.") from e
    out_shape = g.tensor(node.outputs[0]).shape
    if int(np.prod(shape, dtype=np.int64)) != int(np.prod(out_shape, dtype=np.int64)):
        raise UnsupportedError(f"{node_label(node)}: inputs broadcast to {shape}, not to the output shape {out_shape}.")
    return np.broadcast_to(a, shape), np.broadcast_to(b, shape)


def eval_add_sub(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_integer_ops::AddFunc / reference_ops::SubElementwise, vectorised."""
    p = prepare_add_sub(g, node)
    a, b = _broadcast(g, node, inputs[0], inputs[1])
    # (x + offset) * (1 << 20): |x + offset| <= 255 (int8; 65535 << 15 for int16), no int32 overflow.
    sa = multiply_by_quantized_multiplier_smaller_than_one_exp(
        (a + p.input1_offset) << p.left_shift, p.input1_multiplier, p.input1_shift
    )
    sb = multiply_by_quantized_multiplier_smaller_than_one_exp(
        (b + p.input2_offset) << p.left_shift, p.input2_multiplier, p.input2_shift
    )
    raw = sa + sb if node.op == Op.ADD else sa - sb
    y = multiply_by_quantized_multiplier_smaller_than_one_exp(raw, p.output_multiplier, p.output_shift)
    y = np.clip(y + p.output_offset, p.act_min, p.act_max)
    return [y.astype(g.tensor(node.outputs[0]).dtype).reshape(g.tensor(node.outputs[0]).shape)]


def eval_mul(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_integer_ops::MulElementwise / BroadcastMul6DSlow, vectorised."""
    p = prepare_mul(g, node)
    a, b = _broadcast(g, node, inputs[0], inputs[1])
    # |product| <= 256 * 256 (int8; 2^30 for int16): an int32; the left shift of a large multiplier wraps as in C.
    prod = (a - p.input1_zero_point) * (b - p.input2_zero_point)
    y = multiply_by_quantized_multiplier(prod, p.output_multiplier, p.output_shift) + p.output_zero_point
    y = np.clip(y, p.act_min, p.act_max)
    return [y.astype(g.tensor(node.outputs[0]).dtype).reshape(g.tensor(node.outputs[0]).shape)]


# prepare_<op> names for the code generator (ADD and SUB share their Prepare).
prepare_add = prepare_sub = prepare_add_sub

KERNELS = {
    Op.ADD: eval_add_sub,
    Op.SUB: eval_add_sub,
    Op.MUL: eval_mul,
}
