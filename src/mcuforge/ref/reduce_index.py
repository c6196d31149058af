"""ARG_MAX, ARG_MIN and CUMSUM on int8 (the reduce family; merged into ref/reduce.py's KERNELS).

ARG_MAX / ARG_MIN (arg_min_max.cc -> reference_ops::ArgMinMax): along the one axis
of the second input, the index of the first largest / smallest raw int8 value (a
strict comparison, so ties keep the lower index), written as int32 or int64. The
quantisation does not matter (the scale is positive). TF-Lite Micro runs int32 axes
and int32 indices only; LiteRT also int64 ones, and is the oracle there.

CUMSUM (cumsum.cc -> reference_ops::CumSum, int8): every value is rescaled to
(x - zp_in) << 20 times 1/2 (QuantizeMultiplierSmallerThanOneExp(0.5), exactly
(x - zp_in) * 2^19), accumulated in int32 along the axis (exclusive: the sum before
the element; reverse: from the end), and each sum is rescaled by
2 s_in / (2^20 s_out) (MultiplyByQuantizedMultiplierSmallerThanOneExp) plus zp_out,
clamped. TF-Lite Micro starts its accumulator at the rescaled -zp_in instead of 0,
which adds -zp_in * s_in to every output; the right sum starts at 0, as here (equal to
TF-Lite Micro whenever zp_in = 0; LiteRT has no int8 CUMSUM). An axis long enough for
the int32 accumulator to overflow on some input is refused: TF-Lite Micro's result
there is undefined (signed overflow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import (
    INT32_MAX,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    quantize_multiplier,
)
from mcuforge.ref.checks import int8_io, node_label

CUMSUM_SHIFT = 20  # kCumSumIntegerShift


@dataclass(frozen=True)
class ArgParams:
    """The input as (outer, axis_size, inner) around the axis (row-major)."""

    axis: int
    outer: int
    axis_size: int
    inner: int
    is_max: bool
    output_type: str  # "int32" or "int64"


@dataclass(frozen=True)
class CumsumParams:
    """TF-Lite Micro's OpData of an int8 CUMSUM, with the axis split like ArgParams."""

    axis: int
    outer: int
    axis_size: int
    inner: int
    exclusive: bool
    reverse: bool
    input_offset: int  # -zp_in
    input_multiplier: int  # QuantizeMultiplierSmallerThanOneExp(s_in / (2 s_in)) = 0.5
    input_shift: int
    output_multiplier: int  # QuantizeMultiplierSmallerThanOneExp(2 s_in / (2^20 s_out))
    output_shift: int
    output_offset: int  # zp_out


def _axis(g: Graph, node: Node, rank: int, dtypes: tuple[str, ...] = ("int32", "int64")) -> int:
    """The one value of the constant axis operand (input 1), made non-negative."""
    t = g.tensor(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] is not None else None
    if t is None or t.data is None or t.dtype not in dtypes:
        raise UnsupportedError(f"{node_label(node)} needs its axis as a constant {' or '.join(dtypes)} tensor.")
    values = np.asarray(t.data).reshape(-1)
    if values.size != 1 or not -rank <= int(values[0]) < rank:
        raise UnsupportedError(f"{node_label(node)}: axis {values.tolist()} is not one axis of a {rank}-D input.")
    return int(values[0]) % rank


def _split(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    return int(np.prod(shape[:axis], dtype=np.int64)), shape[axis], int(np.prod(shape[axis + 1 :], dtype=np.int64))


def prepare_arg(g: Graph, node: Node) -> ArgParams:
    x: Tensor = g.tensor(node.inputs[0])  # type: ignore[arg-type]
    y: Tensor = g.tensor(node.outputs[0])
    if x.dtype != "int8" or y.dtype not in ("int32", "int64"):
        raise UnsupportedError(
            f"{node_label(node)} maps a {x.dtype} input to {y.dtype} indices; supported: int8 to int32 or int64."
        )
    if not x.shape:
        raise UnsupportedError(f"{node_label(node)} has a scalar input.")
    axis = _axis(g, node, len(x.shape))
    outer, n, inner = _split(x.shape, axis)
    if n == 0 and outer * inner > 0:
        raise UnsupportedError(f"{node_label(node)} searches an empty axis {axis}, which has no index to return.")
    return ArgParams(axis, outer, n, inner, node.op == Op.ARG_MAX, y.dtype)


def eval_arg(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """np.argmax / np.argmin return the first extreme index, as ArgMinMax's strict compare."""
    p = prepare_arg(g, node)
    out_shape = g.tensor(node.outputs[0]).shape
    x = np.asarray(inputs[0]).astype(np.int8).reshape(p.outer, p.axis_size, p.inner)
    if x.size == 0:
        return [np.zeros(out_shape, dtype=p.output_type)]
    idx = np.argmax(x, axis=1) if p.is_max else np.argmin(x, axis=1)
    return [idx.astype(p.output_type).reshape(out_shape)]


def _smaller_than_one(real: float, node: Node) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: the multiplier must lie in (0, 1)."""
    if not 0.0 < real < 1.0:
        raise UnsupportedError(
            f"{node_label(node)}: the output rescaling {real:.3g} (2 s_in / (2^20 s_out)) is not below 1, "
            "which TF-Lite Micro requires."
        )
    return quantize_multiplier(real)


def prepare_cumsum(g: Graph, node: Node) -> CumsumParams:
    """CalculateOpData of cumsum.cc (double arithmetic, as there)."""
    x, y = int8_io(g, node)
    if not x.shape:
        raise UnsupportedError(f"{node_label(node)} has a scalar input.")
    axis = _axis(g, node, len(x.shape), ("int32",))  # TFLite's CUMSUM takes int32 axes only
    outer, n, inner = _split(x.shape, axis)
    s_in, s_out = float(x.quant.scale[0]), float(y.quant.scale[0])
    zp_in, zp_out = x.quant.zp, y.quant.zp
    twice_max_input_scale = 2 * s_in
    in_m, in_s = _smaller_than_one(s_in / twice_max_input_scale, node)
    out_m, out_s = _smaller_than_one(twice_max_input_scale / ((1 << CUMSUM_SHIFT) * s_out), node)
    largest = max(127 - zp_in, zp_in + 128)  # the largest |x - zp_in|
    step = int(multiply_by_quantized_multiplier_smaller_than_one_exp(largest << CUMSUM_SHIFT, in_m, in_s))
    if n * step > INT32_MAX:
        raise UnsupportedError(
            f"{node_label(node)} sums {n} values along axis {axis}; with input zero point {zp_in} its int32 "
            f"accumulator can overflow beyond {INT32_MAX // step} values, where TF-Lite Micro's result is undefined."
        )
    attrs = node.attrs
    return CumsumParams(axis, outer, n, inner, attrs.exclusive, attrs.reverse, -zp_in, in_m, in_s, out_m, out_s, zp_out)


def eval_cumsum(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::CumSum (int8) with the accumulator starting at 0."""
    p = prepare_cumsum(g, node)
    x = np.asarray(inputs[0]).astype(np.int64).reshape(p.outer, p.axis_size, p.inner)
    scaled = multiply_by_quantized_multiplier_smaller_than_one_exp(
        (x + p.input_offset) << CUMSUM_SHIFT, p.input_multiplier, p.input_shift
    )
    if p.reverse:
        scaled = scaled[:, ::-1, :]
    acc = np.cumsum(scaled, axis=1)  # no wrap: prepare_cumsum ruled overflow out
    if p.exclusive:
        acc = np.concatenate([np.zeros_like(acc[:, :1, :]), acc[:, :-1, :]], axis=1)
    if p.reverse:
        acc = acc[:, ::-1, :]
    y = multiply_by_quantized_multiplier_smaller_than_one_exp(acc, p.output_multiplier, p.output_shift)
    y = np.clip(y + p.output_offset, -128, 127)
    return [y.astype(np.int8).reshape(g.tensor(node.outputs[0]).shape)]


KERNELS = {
    Op.ARG_MAX: eval_arg,
    Op.ARG_MIN: eval_arg,
    Op.CUMSUM: eval_cumsum,
}
