"""FULLY_CONNECTED, int8, bit-exact with TF-Lite Micro's reference kernels.

Follows CalculateOpDataFullyConnected (Prepare) and reference_integer_ops::
FullyConnected / FullyConnectedPerChannel (Eval):

    acc[b, o] = sum_d (w[o, d] - w_zp) * (x[b, d] - x_zp) + bias[o]      (int32)
    y = MultiplyByQuantizedMultiplier(acc, m, shift) + y_zp, clamped to the activation

The input is read as a flat (batches, depth) matrix, batches being the output's element
count over its last dimension (FlatSizeSkipDim), so keep_num_dims only changes the
output tensor's shape, not the arithmetic.

Multipliers: double(input scale) * double(filter scale) / double(output scale), then
QuantizeMultiplier, for per-tensor weights (one multiplier) and per-channel weights
(one per output unit) alike. GetQuantizedConvolutionMultipler in
tensorflow/lite/kernels/kernel_util.cc multiplies the two float32 scales in float32
before the cast to double, but the tflite-micro wheel that is our oracle
(0.dev20261023, whose copy lives in tensorflow/lite/micro/kernels/kernel_util.cc)
computes the product in double: on scales where the two derivations give different
Q31 multipliers it agrees with the double one every time
(tests/ref/test_fc.py::test_multiplier_derivation). The per-tensor kernel applies the
filter zero point; FullyConnectedPerChannel ignores it. The multiply is TF-Lite
Micro's double rounding (rounding doubling high multiply, then
rounding shift), not LiteRT's single rounding.

16x8 (int16 input and output with zero point 0, int8 weights): the same sum, with
TF-Lite Micro's accumulator chosen by the bias: an int32 bias keeps the int32
accumulator and the requantisation above; an int64 bias, or none, takes an int64
accumulator and MultiplyByQuantizedMultiplier's int64 overload (a Q15 multiplier, one
rounding shift). The clamp is to int16 and the activation's range within it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ref.checks import node_label, weighted_16x8, weighted_int8
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import activation_range, int_range
from mcuforge.ref.conv import per_channel_multipliers, requantize, requantize16


@dataclass(frozen=True)
class FullyConnectedParams:
    """What CalculateOpDataFullyConnected derives (OpDataFullyConnected)."""

    input_offset: int  # -input zero point
    filter_offset: int  # -filter zero point (per-tensor kernel only; 0 when per channel)
    output_offset: int  # output zero point
    multipliers: tuple[int, ...]  # one entry per-tensor, else one per output unit
    shifts: tuple[int, ...]
    act_min: int
    act_max: int
    per_channel: bool
    batches: int
    accum_depth: int
    output_depth: int
    acc64: bool = False  # 16x8 with an int64 bias or none: int64 accumulator and requantisation
    dtype: str = "int8"  # input and output type


def fc_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """(multiplier, shift) for per-tensor weights: the scales multiplied and divided in double.

    This is what the oracle wheel computes (see the module docstring), the same
    arithmetic as one channel of PopulateConvolutionQuantizationParams.
    """
    (m,), (s,) = per_channel_multipliers(input_scale, np.array([filter_scale], np.float32), output_scale, 1)
    return m, s


def prepare_fully_connected(g: Graph, node: Node) -> FullyConnectedParams:
    """CalculateOpDataFullyConnected for int8 input, int8 weights, int32 bias, or for 16x8."""
    sixteen = g.tensor(node.inputs[0]).dtype == "int16"  # type: ignore[arg-type]
    x, w, b, y = weighted_16x8(g, node) if sixteen else weighted_int8(g, node)
    what = node_label(node)
    if len(w.shape) != 2 or len(y.shape) < 1:
        raise UnsupportedError(f"{what} needs 2-D weights, got shape {w.shape}.")
    units, depth = w.shape
    out_depth = y.shape[-1]
    batches = int(np.prod(y.shape[:-1], dtype=np.int64))
    if out_depth != units or batches * depth != x.size:
        raise UnsupportedError(
            f"{what}: input {x.shape} and weights {w.shape} do not give the output shape {y.shape}."
        )
    per_channel = w.quant.scale.size > 1
    if per_channel:
        ms, shifts = per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, units)
        filter_offset = 0
    else:
        # GetQuantizedConvolutionMultipler refuses a bias whose scale is off input *
        # filter by more than 2% of the output scale (Prepare fails in TF-Lite Micro).
        b_scale = b.quant.s if b is not None and b.quant is not None else 0.0
        if b is not None and abs(x.quant.s * w.quant.s - b_scale) / y.quant.s > 0.02:
            raise UnsupportedError(f"{what} has a bias scale that does not match input scale * filter scale.")
        m, s = fc_multiplier(x.quant.s, w.quant.s, y.quant.s)
        ms, shifts = (m,), (s,)
        filter_offset = -w.quant.zp
    act_min, act_max = activation_range(str(node.attrs.activation), y.quant.s, y.quant.zp, *int_range(y.dtype))
    return FullyConnectedParams(
        input_offset=-x.quant.zp,
        filter_offset=filter_offset,
        output_offset=y.quant.zp,
        multipliers=ms,
        shifts=shifts,
        act_min=act_min,
        act_max=act_max,
        per_channel=per_channel,
        batches=batches,
        accum_depth=depth,
        output_depth=units,
        acc64=sixteen and (b is None or b.dtype == "int64"),
        dtype=y.dtype,
    )


def fully_connected(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """FULLY_CONNECTED (int8): reference_integer_ops::FullyConnected / FullyConnectedPerChannel."""
    p = prepare_fully_connected(g, node)
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    assert x is not None and w is not None
    xs = (x.astype(np.float64) + p.input_offset).reshape(p.batches, p.accum_depth)
    ws = w.astype(np.float64) + p.filter_offset
    # Exact in float64: each term is at most 255 * 255 < 2^16 in magnitude (int8), or
    # 128 * 65536 = 2^23 (16x8), so every partial sum of fewer than 2^29 terms is an
    # integer below 2^53.
    acc = np.rint(xs @ ws.T).astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64).reshape(-1)
    if p.dtype == "int8":
        y = requantize(acc, p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max)
    else:
        y = requantize16(acc, p.multipliers, p.shifts, p.acc64, p.output_offset, p.act_min, p.act_max)
    return [y.reshape(g.tensor(node.outputs[0]).shape)]


KERNELS = {
    Op.FULLY_CONNECTED: fully_connected,
}
