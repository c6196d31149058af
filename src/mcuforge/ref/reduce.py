"""MEAN, SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN and CUMSUM on int8, bit-exact with
TF-Lite Micro's reference kernels (CUMSUM: see cumsum_params for the one difference).

The axes are the second input, a constant int32 tensor; negative axes count from
the end and duplicates are dropped (reference_ops::ResolveAxis).

MEAN (EvalMeanHelper -> EvalIntegerMean -> reference_ops::QuantizedMeanOrSum,
reduce_common.cc) sums the raw int8 values in int32 and folds 1/count into the
multiplier m, s of s_in / s_out: k = floor(log2(count)), capped at 32 and at 31 + s;
m' = (m << k) / count in int64; s' = s - k. Then
y = MultiplyByQuantizedMultiplier(sum - zp_in * count, m', s') + zp_out, clamped.
The TF-Lite Micro we test against takes this path even when input and output share
scale and zero point. Older releases took reference_ops::Mean there, which
truncates sum / count toward zero; that often differs by one unit from what
TF-Lite Micro runs now, so it is not implemented. (Their 4-D, axes {1, 2},
keep_dims special case, reference_integer_ops::Mean, rounds as above.)

SUM (EvalSumHelper) is the same QuantizedMeanOrSum with compute_sum = true: the
multiplier of s_in / s_out is used as it is (no 1/count fold). LiteRT's reference SUM
(ai-edge-litert 2.3) returns values far from the sum on int8 (some -1, some 128 off);
we follow TF-Lite Micro, whose result is the rescaled sum, rounded and clamped.

MEAN and SUM also run on int16 (QuantizedMeanOrSum<int16_t>: the same arithmetic, the
clamp to int16); TF-Lite Micro's REDUCE_MAX / REDUCE_MIN have no int16 kernel.

REDUCE_MAX / REDUCE_MIN (EvalMinMaxHelper) require equal input and output
quantisation and take the largest / smallest raw value (initial value -128 / 127).

ARG_MAX / ARG_MIN (reference_ops::ArgMinMax) and CUMSUM are in ref/reduce_index.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.checks import int8_io, node_label
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from mcuforge.ref import reduce_index

INT8_MIN, INT8_MAX = -128, 127
MAX_INPUT_DIMS = 5  # kMaxNumberOfAxis: the size of EvalMeanHelper's index buffer


@dataclass(frozen=True)
class MeanParams:
    """OpDataReduce for an int8 MEAN, plus the resolved axes and the element count."""

    axes: tuple[int, ...]
    num_elements: int  # elements averaged into each output
    input_zero_point: int
    output_zero_point: int
    multiplier: int  # already divided by num_elements (QuantizedMeanOrSum's rescaling)
    shift: int


@dataclass(frozen=True)
class ReduceMaxParams:
    axes: tuple[int, ...]


def _io(g: Graph, node: Node, int16_ok: bool = False) -> tuple[Tensor, Tensor]:
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    if int16_ok and x.dtype == y.dtype == "int16":
        if x.quant is None or y.quant is None or x.quant.per_channel or y.quant.per_channel:
            raise UnsupportedError(f"{node_label(node)} needs per-tensor quantisation on its int16 tensors.")
    else:
        x, y = int8_io(g, node)
    if len(x.shape) > MAX_INPUT_DIMS:
        raise UnsupportedError(
            f"{node_label(node)} has a {len(x.shape)}-D input; at most {MAX_INPUT_DIMS} dimensions are supported."
        )
    return x, y


def resolve_axes(g: Graph, node: Node, rank: int) -> tuple[int, ...]:
    """ResolveAxis: the axes tensor's values made non-negative, duplicates dropped, in order."""
    name = node.inputs[1] if len(node.inputs) > 1 else None
    axes_t = g.tensor(name) if name is not None else None
    if axes_t is None or axes_t.data is None or axes_t.dtype != "int32":
        raise UnsupportedError(f"{node_label(node)} needs its axes as a constant int32 tensor.")
    out: list[int] = []
    for a in np.asarray(axes_t.data).reshape(-1).tolist():
        a = a + rank if a < 0 else a
        if not 0 <= a < rank:
            raise UnsupportedError(f"{node_label(node)}: axis {a} is out of range for a {rank}-D input.")
        if a not in out:
            out.append(a)
    return tuple(out)


def prepare_mean(g: Graph, node: Node) -> MeanParams:
    """PrepareMeanOrSumHelper + the count-dependent rescaling of QuantizedMeanOrSum
    (MEAN; for SUM, compute_sum = true, the multiplier stays that of s_in / s_out)."""
    x, y = _io(g, node, int16_ok=True)
    axes = resolve_axes(g, node, len(x.shape))
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    multiplier, shift = quantize_multiplier(float(x.quant.scale[0]) / float(y.quant.scale[0]))
    if count > 0 and node.op != Op.SUM:
        # shift = floor(log2(count)) (63 - CountLeadingZeros on uint64), capped so the
        # int64 product cannot overflow and the final shift stays >= -31.
        # QuantizeMultiplier never returns a shift below -31, so s >= 0.
        s = min(count.bit_length() - 1, 32, 31 + shift)
        multiplier = (multiplier << s) // count
        shift -= s
    return MeanParams(axes, count, x.quant.zp, y.quant.zp, multiplier, shift)


def eval_mean(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::QuantizedMeanOrSum (compute_sum = false for MEAN, true for SUM)."""
    p = prepare_mean(g, node)
    out_shape, dtype = g.tensor(node.outputs[0]).shape, g.tensor(node.outputs[0]).dtype
    x = np.asarray(inputs[0]).astype(np.int64)
    if x.size == 0 or p.num_elements == 0:
        return [np.zeros(out_shape, dtype=dtype)]
    total = wrap_int32(x.sum(axis=p.axes))  # the int32 accumulator (temp_sum)
    shifted = wrap_int32(total - p.input_zero_point * p.num_elements)
    y = multiply_by_quantized_multiplier(shifted, p.multiplier, p.shift) + p.output_zero_point
    info = np.iinfo(dtype)
    return [np.clip(y, info.min, info.max).astype(dtype).reshape(out_shape)]


def prepare_reduce_max(g: Graph, node: Node) -> ReduceMaxParams:
    """PrepareMinMaxHelper (REDUCE_MAX and REDUCE_MIN); EvalMinMaxHelper then insists on
    equal input and output quantisation."""
    x, y = _io(g, node)
    if x.quant.scale[0] != y.quant.scale[0] or x.quant.zp != y.quant.zp:
        raise UnsupportedError(
            f"{node_label(node)} changes the quantisation between input and output, which TF-Lite Micro rejects."
        )
    return ReduceMaxParams(resolve_axes(g, node, len(x.shape)))


def eval_reduce_max(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::ReduceGeneric with max and the initial value -128."""
    p = prepare_reduce_max(g, node)
    out_shape = g.tensor(node.outputs[0]).shape
    x = np.asarray(inputs[0]).astype(np.int8)
    if x.size == 0:
        return [np.full(out_shape, INT8_MIN, dtype=np.int8)]
    return [np.max(x, axis=p.axes, initial=INT8_MIN).astype(np.int8).reshape(out_shape)]


def eval_reduce_min(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::ReduceGeneric with min and the initial value 127."""
    p = prepare_reduce_max(g, node)
    out_shape = g.tensor(node.outputs[0]).shape
    x = np.asarray(inputs[0]).astype(np.int8)
    if x.size == 0:
        return [np.full(out_shape, INT8_MAX, dtype=np.int8)]
    return [np.min(x, axis=p.axes, initial=INT8_MAX).astype(np.int8).reshape(out_shape)]


KERNELS = {
    Op.MEAN: eval_mean,
    Op.SUM: eval_mean,
    Op.REDUCE_MAX: eval_reduce_max,
    Op.REDUCE_MIN: eval_reduce_min,
    **reduce_index.KERNELS,
}
