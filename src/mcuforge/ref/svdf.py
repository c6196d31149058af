"""SVDF (singular value decomposition filter), integer, bit-exact with TF-Lite Micro's
EvalIntegerSvdfReference (kernels/svdf_common.cc) and PrepareSvdf.

Inputs: x (batch, input_size) int8, weights_feature (filters, input_size) int8,
weights_time (filters, memory) int16 or int8, bias (units) int32, and the variable
state (batch, filters * memory) of weights_time's type; output (batch, units) int8,
units = filters / rank. Per invocation, for each batch b:

1. The state moves one step back in time: the whole flat state buffer shifts down by
   one element (each filter's row of `memory` values loses its oldest; the element that
   crosses into the previous row is overwritten in step 2).
2. Feature pass: dot[f] = sum_c wf[f, c] * (x[c] - x_zp)  (int32), requantised by
   effective_scale_1 = x_scale * wf_scale / state_scale (MultiplyByQuantizedMultiplier),
   clamped to the state type's range, plus the state zero point, stored as the newest
   element of row f. The zero point is added after the clamp and the sum is stored by a
   C conversion to the state type: an int8 state wraps modulo 256 (as TF-Lite Micro).
3. Time pass: t[f] = sum_m wt[f, m] * (state[f, m] - state_zp)  (int32).
4. out[u] = bias[u] + sum_{r < rank} t[u * rank + r]  (int32), requantised by
   effective_scale_2 = state_scale * wt_scale / y_scale, plus y_zp, clamped to int8.

The fused activation is read and kept (the writer stores it) but the integer kernel never
applies it: TF-Lite Micro's integer SVDF clamps to the int8 range only. The effective
scales are products and quotients of the float32 scales taken in double: svdf_common.cc
at HEAD reads as float32 arithmetic, but the oracle wheel (0.dev20261023) gives the
double result, one unit apart in the keyword model's state where the two Q31
multipliers differ (tests/ref/test_svdf.py::test_keyword_model_state_matches_tflm).
TF-Lite Micro reads the bias's scale, so the
integer kernel needs a bias (PrepareSvdf checks its scale is state_scale * wt_scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import int_range, multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from mcuforge.ref.checks import node_label

STATE_DTYPES = ("int16", "int8")  # weights_time and state: the same one (EvalIntegerSvdfReference<T>)


@dataclass(frozen=True)
class SvdfParams:
    """What PrepareSvdf derives (OpDataSvdf) plus the dimensions Eval reads."""

    batch: int
    input_size: int
    filters: int
    units: int
    memory: int
    rank: int
    input_zero_point: int
    state_zero_point: int
    output_zero_point: int
    multiplier_1: int  # effective_scale_1 (feature pass -> state)
    shift_1: int
    multiplier_2: int  # effective_scale_2 (time pass -> output)
    shift_2: int
    state_dtype: str  # "int16" or "int8" (weights_time's type too)


def _scale(a: float, b: float, c: float) -> float:
    """a * b / c of float32 scales, in double (see the module docstring)."""
    return float(a) * float(b) / float(c)


def prepare_svdf(g: Graph, node: Node) -> SvdfParams:
    """PrepareSvdf for the integer kernel: checks types and derives the two multipliers."""
    what = node_label(node)
    x, wf, wt = (g.tensor(n) for n in node.inputs[:3])  # type: ignore[arg-type]
    bias = g.tensor(node.inputs[3]) if node.inputs[3] is not None else None
    state = g.tensor(node.inputs[4])  # type: ignore[arg-type]
    y = g.tensor(node.outputs[0])
    if x.dtype != "int8" or y.dtype != "int8" or wf.dtype != "int8":
        raise UnsupportedError(
            f"{what} has {x.dtype} input, {wf.dtype} feature weights and {y.dtype} output; "
            "integer SVDF needs int8 for all three."
        )
    if wt.dtype not in STATE_DTYPES or state.dtype != wt.dtype:
        raise UnsupportedError(
            f"{what} has {wt.dtype} time weights and a {state.dtype} state; SVDF needs both int16 or both int8."
        )
    if bias is None or bias.dtype != "int32":
        raise UnsupportedError(f"{what} has no int32 bias, which TF-Lite Micro's integer SVDF requires.")
    if not state.variable:
        raise UnsupportedError(f"{what}: its state input {state.name!r} is not a variable tensor.")
    if any(t.quant is None or t.quant.per_channel for t in (x, wf, wt, state, y, bias)):
        raise UnsupportedError(f"{what} needs per-tensor quantisation on every tensor.")
    expected_bias_scale = float(np.float32(state.quant.s) * np.float32(wt.quant.s))  # type: ignore[union-attr]
    if abs(float(bias.quant.s) - expected_bias_scale) >= 1e-5:  # type: ignore[union-attr]
        raise UnsupportedError(f"{what}: the bias scale is not the state scale times the time weights' scale.")
    m1, s1 = quantize_multiplier(_scale(x.quant.s, wf.quant.s, state.quant.s))  # type: ignore[union-attr]
    m2, s2 = quantize_multiplier(_scale(state.quant.s, wt.quant.s, y.quant.s))  # type: ignore[union-attr]
    batch, input_size = x.shape
    filters, memory = wt.shape
    rank = node.attrs.rank
    return SvdfParams(
        batch, input_size, filters, filters // rank, memory, rank,
        x.quant.zp, state.quant.zp, y.quant.zp, m1, s1, m2, s2, state.dtype,  # type: ignore[union-attr]
    )  # fmt: skip


def svdf(p: SvdfParams, x, wf, wt, bias, state: np.ndarray) -> np.ndarray:
    """One invocation: updates `state` (batch, filters * memory) in place; returns the output."""
    lo, hi = int_range(p.state_dtype)
    flat = state.reshape(-1)
    flat[:-1] = flat[1:].copy()  # step 1: the whole buffer one element down
    s = state.reshape(p.batch, p.filters, p.memory)
    xs = x.astype(np.int64).reshape(p.batch, p.input_size) - p.input_zero_point
    dot = wrap_int32(xs @ wf.astype(np.int64).T)  # (batch, filters)
    dot = np.clip(multiply_by_quantized_multiplier(dot, p.multiplier_1, p.shift_1), lo, hi)
    new = dot + p.state_zero_point  # not clamped again: stored by a C conversion (wraps)
    bits = 8 * np.dtype(p.state_dtype).itemsize
    s[:, :, -1] = (((new - lo) % (1 << bits)) + lo).astype(p.state_dtype)
    t = wrap_int32(np.einsum("bfm,fm->bf", s.astype(np.int64) - p.state_zero_point, wt.astype(np.int64)))
    acc = wrap_int32(bias.astype(np.int64)[None, :] + t.reshape(p.batch, p.units, p.rank).sum(axis=2))
    out = multiply_by_quantized_multiplier(acc, p.multiplier_2, p.shift_2) + p.output_zero_point
    return np.clip(out, -128, 127).astype(np.int8)


def _svdf_kernel(g: Graph, node: Node, args: list) -> list:
    x, wf, wt, bias, state = args
    return [svdf(prepare_svdf(g, node), x, wf, wt, bias, state)]


# family svdf (begin)
KERNELS = {Op.SVDF: _svdf_kernel}
# family svdf (end)
