"""Emitter for UNIDIRECTIONAL_SEQUENCE_LSTM (kernels/portable/mf_lstm.c: mf_lstm_s8 for int8
activations, mf_lstm_s16 for int16): the parameters of ref/lstm.py's prepare_lstm, the
zero-point-folded biases as const arrays, the state tensors (variable, in the arena) passed
by pointer, and 4 * state int16 values of scratch."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.codegen.ops_s16 import _sigmoid_table
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes_lstm import CELL_STATE, INPUT, INPUT_WEIGHTS, OUTPUT_STATE, RECURRENT_WEIGHTS
from mcuforge.ref.lstm import GATE_NAMES, prepare_lstm

SOURCES = ("mf_elementwise", "mf_s16", "mf_lstm")  # the gates' sigmoid and tanh are mf_s16's


def _gate(node: Node, ctx: EmitContext, k: int, gp, wide: bool) -> str:
    """One mf_lstm_gate initialiser: int32 folded biases for s8, int64 ones for s16 (prepare_lstm
    checked that every sum fits its accumulator)."""
    name = f"{node.name}_{GATE_NAMES[k]}"
    dtype = np.int64 if wide else np.int32
    in_bias = ctx.const_array(f"{name}_bias", np.asarray(gp.input_bias, np.int64).astype(dtype))
    rec_bias = ctx.const_array(f"{name}_rbias", np.asarray(gp.recurrent_bias, np.int64).astype(dtype))
    biases = ("NULL", "NULL", in_bias, rec_bias) if wide else (in_bias, rec_bias, "NULL", "NULL")
    fields = (
        gp.input_multiplier, gp.input_shift, gp.recurrent_multiplier, gp.recurrent_shift,
        ctx.ptr(node.inputs[INPUT_WEIGHTS[k]]), ctx.ptr(node.inputs[RECURRENT_WEIGHTS[k]]),  # type: ignore[arg-type]
        *biases,
    )  # fmt: skip
    return "{" + ", ".join(str(f) for f in fields) + "}"


def emit_lstm(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_lstm(g, node)
    wide = p.activation_dtype == "int16"
    gates = ",\n        ".join(_gate(node, ctx, k, gp, wide) for k, gp in enumerate(p.gates))
    params = (
        ("batch", str(p.batch)),
        ("time_steps", str(p.time_steps)),
        ("input_size", str(p.input_size)),
        ("state_size", str(p.state_size)),
        ("time_major", "1" if p.time_major else "0"),
        ("gates", "{\n        " + gates + "}"),
        ("forget_multiplier", str(p.forget_mul[0])),
        ("forget_shift", str(p.forget_mul[1])),
        ("input_multiplier", str(p.input_mul[0])),
        ("input_shift", str(p.input_mul[1])),
        ("hidden_multiplier", str(p.hidden_mul[0])),
        ("hidden_shift", str(p.hidden_mul[1])),
        ("hidden_zp", str(p.hidden_zp)),
        ("cell_clip", str(-1 if p.cell_clip is None else p.cell_clip)),
        ("tanh_multiplier", str(p.cell_tanh.input_multiplier)),
        ("tanh_shift", str(p.cell_tanh.input_left_shift)),
        ("sigmoid_table", _sigmoid_table(ctx)),
    )
    args = (
        ctx.ptr(node.inputs[INPUT]),  # type: ignore[arg-type]
        ctx.ptr(node.outputs[0]),
        ctx.ptr(node.inputs[OUTPUT_STATE]),  # type: ignore[arg-type]
        ctx.ptr(node.inputs[CELL_STATE]),  # type: ignore[arg-type]
        f"(int16_t *){ctx.scratch}",
    )
    kernel = "mf_lstm_s16" if wide else "mf_lstm_s8"
    return Call(kernel, "mf_lstm_params", params, args, SOURCES, 4 * 2 * p.state_size)


EMITTERS = {Op.UNIDIRECTIONAL_SEQUENCE_LSTM: emit_lstm}
