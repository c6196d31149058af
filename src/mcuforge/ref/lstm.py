"""UNIDIRECTIONAL_SEQUENCE_LSTM with an int16 cell, bit-exact with TF-Lite Micro's integer
kernels (unidirectional_sequence_lstm.cc, lstm_eval.h / lstm_eval.cc, lstm_eval_common.cc):
int8 activations with int32 biases (8x8 -> 16), or int16 activations with int64 biases
(16x8 -> 16: the products' int64 sums take MultiplyByQuantizedMultiplier's int64 overload,
and the hidden state is clamped to int16).

Prepare (PrepareGateParametersInteger): every gate has two fully connected products, one of
the step's input x and one of the previous hidden state h, each requantised on its own to
Q3.12 (scale 2^-12, int16) by QuantizeMultiplier(double(s_x) * double(s_w) / 2^-12); the
recurrent product has no bias. The three elementwise products take Q0.15 gate outputs
(scale 2^-15): forget x cell -> cell (2^-15 * s_c / s_c), input x cell gate -> cell
(2^-30 / s_c), tanh(cell) x output gate -> hidden (2^-30 / s_h, plus h's zero point,
clamped to h's dtype). The cell clip is cell_clip / s_c in double, cut to int16.

Eval, per time step (LstmStep), for each gate:
    pre = sat16(clamp16(MBQM(W_x (x - zp_x) + b)) + clamp16(MBQM(W_h (h - zp_h))))
then forget, input and output gates = sigmoid(pre), the cell gate = tanh(pre) (both the
int16 kernels of ref/activations16.py at input scale 2^-12: multiplier 3, no shift), and
    c = sat16(clamp16(MBQM(f * c)) + clamp16(MBQM(i * g)))   clipped to +-clip when cell_clip > 0
    h = clamp(zp_h + MBQM(tanh_c(c) * o)),  the step's output row = h
where tanh_c rescales by the cell scale 2^p: left shift 15 + p - 3 (multiplier 3 << shift),
or for a negative shift multiplier 3 with that right shift. The zero points are folded into
the biases once here (b - zp_x * rowsum(W_x), -zp_h * rowsum(W_h)): the same sums as long
as none overflows its accumulator, which prepare checks. Batches are independent rows, so batch-major
(one batch after another) and time-major (all batches per step) orders give the same values.

State: input 18 (hidden state, int8 or int16) and 19 (cell state, int16) are variable tensors. The
kernel returns the output and writes the new state back into the arrays it was given when
they are writable (a stateful session's arrays), so the next invocation continues from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes_lstm import BIASES, CELL_STATE, INPUT, INPUT_WEIGHTS, OUTPUT_STATE, RECURRENT_WEIGHTS
from mcuforge.quant.fixedpoint import (
    int_range,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_int64,
    quantize_multiplier,
)
from mcuforge.ref.activations16 import SigmoidTanh16Params, checked_log2, logistic16_values, tanh16_values
from mcuforge.ref.checks import node_label

GATE_SCALE = 2.0**-12  # the fully connected outputs: Q3.12, the nonlinearities' input
GATE_OUT_SCALE = 2.0**-15  # the sigmoid / tanh outputs: Q0.15
GATE_NAMES = ("input", "forget", "cell", "output")  # TFLite's slot order of weights and biases
I16 = (-32768, 32767)
BIAS_DTYPE = {"int8": "int32", "int16": "int64"}  # activation dtype -> TF-Lite Micro's bias type
GATE_ACT = SigmoidTanh16Params(3, 0)  # Q3.12 input: the power-of-two case, multiplier 3, no shift


@dataclass(frozen=True)
class GateParams:
    """One gate's two products (TFLite's FullyConnectedParams, zero points folded in)."""

    input_multiplier: int
    input_shift: int
    recurrent_multiplier: int
    recurrent_shift: int
    input_bias: np.ndarray  # int64 (state,): bias - zp_x * rowsum(W_x)
    recurrent_bias: np.ndarray  # int64 (state,): -zp_h * rowsum(W_h)


@dataclass(frozen=True)
class LstmParams:
    batch: int
    time_steps: int
    input_size: int
    state_size: int
    time_major: bool
    gates: tuple[GateParams, ...]  # input, forget, cell, output
    forget_mul: tuple[int, int]  # (multiplier, shift): forget gate x cell -> cell
    input_mul: tuple[int, int]  # input gate x cell gate -> cell
    hidden_mul: tuple[int, int]  # tanh(cell) x output gate -> hidden
    hidden_zp: int
    activation_dtype: str  # "int8" (8x8 -> 16) or "int16" (16x8 -> 16)
    cell_clip: int | None  # quantised clip, None without one
    cell_tanh: SigmoidTanh16Params  # tanh of the cell state at its scale


def _tensor(g: Graph, node: Node, i: int) -> Tensor:
    return g.tensor(node.inputs[i])  # type: ignore[arg-type]


def _check(g: Graph, node: Node) -> str:
    """The activation dtype, after checking every operand against TF-Lite Micro's kernels."""
    what = node_label(node)
    x, y = _tensor(g, node, INPUT), g.tensor(node.outputs[0])
    h, c = _tensor(g, node, OUTPUT_STATE), _tensor(g, node, CELL_STATE)
    act = x.dtype if x.dtype in BIAS_DTYPE else "int8"
    for t, dtype in ((x, act), (y, act), (h, act), (c, "int16")):
        if t.dtype != dtype:
            raise UnsupportedError(
                f"{what}: tensor {t.name!r} is {t.dtype}; TFLite's integer LSTM takes int8 (or int16) input, output "
                "and hidden state alike and an int16 cell state"
            )
        if t.quant is None or t.quant.per_channel or not t.quant.s > 0:
            raise UnsupportedError(f"{what}: tensor {t.name!r} needs per-tensor quantisation with a positive scale.")
    if c.quant.zp != 0:
        raise UnsupportedError(f"{what}: the cell state {c.name!r} has zero point {c.quant.zp}; TFLite's LSTM needs 0.")
    for i in (*INPUT_WEIGHTS, *RECURRENT_WEIGHTS):
        w = _tensor(g, node, i)
        if w.dtype != "int8" or w.data is None or w.quant is None:
            raise UnsupportedError(f"{what}: weights {w.name!r} must be constant int8 with quantisation.")
        if w.quant.per_channel or w.quant.zp != 0:
            raise UnsupportedError(
                f"{what}: weights {w.name!r} need per-tensor quantisation with zero point 0, as TF-Lite Micro's LSTM"
            )
    for i in BIASES:
        b = _tensor(g, node, i)
        if b.dtype != BIAS_DTYPE[act] or b.data is None:
            raise UnsupportedError(
                f"{what}: the gate bias {b.name!r} must be a constant {BIAS_DTYPE[act]} tensor with {act} activations."
            )
    return act


def _multiplier(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """QuantizeMultiplier of double(s1) * double(s2) / double(s_out) (float32 scales)."""
    return quantize_multiplier(float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out)))


def _gate(g: Graph, node: Node, k: int, x: Tensor, h: Tensor) -> GateParams:
    wx, wh = _tensor(g, node, INPUT_WEIGHTS[k]), _tensor(g, node, RECURRENT_WEIGHTS[k])
    bias = _tensor(g, node, BIASES[k]).data.astype(np.int64)  # type: ignore[union-attr]
    sum_x = wx.data.astype(np.int64).sum(axis=1)  # type: ignore[union-attr]
    sum_h = wh.data.astype(np.int64).sum(axis=1)  # type: ignore[union-attr]
    in_bias, rec_bias = bias - x.quant.zp * sum_x, -h.quant.zp * sum_h  # type: ignore[union-attr]
    # |sum w (x - zp)| <= cols * 128 * (range of x - zp), plus the bias: below 2^31 for the
    # int32 accumulators of 8x8; below 2^47 for the int64 requantisation of 16x8
    span, limit = (255, 1 << 31) if x.dtype == "int8" else (65535, 1 << 47)
    for cols, b in ((wx.shape[1], in_bias), (wh.shape[1], rec_bias)):
        if cols * 128 * span + int(np.abs(b).max(initial=0)) >= limit:
            raise UnsupportedError(
                f"{node_label(node)}: the {GATE_NAMES[k]} gate's sums can overflow TF-Lite Micro's accumulator."
            )
    mi, si = _multiplier(x.quant.s, wx.quant.s, GATE_SCALE)  # type: ignore[union-attr]
    mh, sh = _multiplier(h.quant.s, wh.quant.s, GATE_SCALE)  # type: ignore[union-attr]
    return GateParams(mi, si, mh, sh, in_bias, rec_bias)


def cell_tanh_params(cell_scale: float) -> SigmoidTanh16Params:
    """lstm_internal::Tanh's rescale of the cell state: 2^p = the cell scale (CheckedLog2,
    rounded even when the scale is no power of two, as TF-Lite Micro ignores its verdict)."""
    _, power = checked_log2(cell_scale)
    shift = 15 + power - 3
    if shift < 0:
        return SigmoidTanh16Params(3, -shift)
    return SigmoidTanh16Params(3 << shift, 0)  # input_multiplier 0: the power-of-two case


def prepare_lstm(g: Graph, node: Node) -> LstmParams:
    act = _check(g, node)
    a = node.attrs
    x, h, c = _tensor(g, node, INPUT), _tensor(g, node, OUTPUT_STATE), _tensor(g, node, CELL_STATE)
    d0, d1, n_in = x.shape
    time_steps, batch = (d0, d1) if a.time_major else (d1, d0)
    s_c = c.quant.s  # type: ignore[union-attr]
    clip = None
    if np.float32(a.cell_clip) > 0:
        clip = int(min(max(float(np.float32(a.cell_clip)) / float(np.float32(s_c)), -32768.0), 32767.0))
    return LstmParams(
        batch=batch,
        time_steps=time_steps,
        input_size=n_in,
        state_size=h.shape[1],
        time_major=bool(a.time_major),
        gates=tuple(_gate(g, node, k, x, h) for k in range(4)),
        forget_mul=_multiplier(GATE_OUT_SCALE, s_c, s_c),
        input_mul=_multiplier(GATE_OUT_SCALE, GATE_OUT_SCALE, s_c),
        hidden_mul=_multiplier(GATE_OUT_SCALE, GATE_OUT_SCALE, h.quant.s),  # type: ignore[union-attr]
        hidden_zp=h.quant.zp,  # type: ignore[union-attr]
        activation_dtype=act,
        cell_clip=clip,
        cell_tanh=cell_tanh_params(s_c),
    )


def _fc16(v: np.ndarray, w: np.ndarray, bias: np.ndarray, m: int, s: int, wide: bool) -> np.ndarray:
    """One product requantised to Q3.12 and clamped to int16 (zero point folded into bias);
    `wide`: 16x8's int64 sum and requantisation."""
    acc = v.astype(np.int64) @ w.astype(np.int64).T + bias
    requant = multiply_by_quantized_multiplier_int64 if wide else multiply_by_quantized_multiplier
    return np.clip(requant(acc, m, s), *I16)


def _mul(a: np.ndarray, b: np.ndarray, ms: tuple[int, int], zp: int, lo_hi: tuple[int, int]) -> np.ndarray:
    """MulElementwise: zp + MBQM(a * b) (a product of two int16 fits int32), clamped."""
    return np.clip(zp + multiply_by_quantized_multiplier(a.astype(np.int64) * b, *ms), *lo_hi)


def lstm_step(p: LstmParams, weights: list[tuple[np.ndarray, np.ndarray]], x_t, h, c):
    """One time step on (batch, input) x_t, (batch, state) h and c: the new (h, c)."""
    gates = []
    wide = p.activation_dtype == "int16"
    for k, gp in enumerate(p.gates):
        wx, wh = weights[k]
        pre = _fc16(x_t, wx, gp.input_bias, gp.input_multiplier, gp.input_shift, wide)
        rec = _fc16(h, wh, gp.recurrent_bias, gp.recurrent_multiplier, gp.recurrent_shift, wide)
        pre = np.clip(pre + rec, *I16)
        act = tanh16_values if k == 2 else logistic16_values
        gates.append(act(GATE_ACT, pre).astype(np.int64))
    i, f, cg, o = gates
    c = np.clip(_mul(f, c, p.forget_mul, 0, I16) + _mul(i, cg, p.input_mul, 0, I16), *I16)
    if p.cell_clip is not None:
        c = np.clip(c, -p.cell_clip, p.cell_clip)
    tanh_c = tanh16_values(p.cell_tanh, c).astype(np.int64)
    h = _mul(tanh_c, o, p.hidden_mul, p.hidden_zp, int_range(p.activation_dtype))
    return h, c


def lstm_eval(p: LstmParams, weights, x: np.ndarray, h0: np.ndarray, c0: np.ndarray):
    """The whole sequence: (output, final hidden state, final cell state), shaped as given."""
    xs = np.asarray(x, np.int64)
    if not p.time_major:
        xs = xs.transpose(1, 0, 2)  # (time, batch, input)
    h = np.asarray(h0, np.int64).reshape(p.batch, p.state_size)
    c = np.asarray(c0, np.int64).reshape(p.batch, p.state_size)
    ys = np.zeros((p.time_steps, p.batch, p.state_size), np.int64)
    for t in range(p.time_steps):
        h, c = lstm_step(p, weights, xs[t], h, c)
        ys[t] = h
    if not p.time_major:
        ys = ys.transpose(1, 0, 2)
    act = p.activation_dtype
    return ys.astype(act), h.astype(act).reshape(np.shape(h0)), c.astype(np.int16).reshape(np.shape(c0))


def gate_weights(g: Graph, node: Node) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input weights, recurrent weights) per gate, in GATE_NAMES order."""
    pairs = zip(INPUT_WEIGHTS, RECURRENT_WEIGHTS)
    return [(_tensor(g, node, i).data, _tensor(g, node, r).data) for i, r in pairs]  # type: ignore[misc]


def eval_lstm(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    p = prepare_lstm(g, node)
    h0, c0 = inputs[OUTPUT_STATE], inputs[CELL_STATE]
    y, h, c = lstm_eval(p, gate_weights(g, node), inputs[INPUT], h0, c0)  # type: ignore[arg-type]
    for old, new in ((h0, h), (c0, c)):
        if isinstance(old, np.ndarray) and old.flags.writeable:
            old[...] = new.reshape(old.shape)  # the variable tensors carry to the next invocation
    return [y]


KERNELS = {Op.UNIDIRECTIONAL_SEQUENCE_LSTM: eval_lstm}
