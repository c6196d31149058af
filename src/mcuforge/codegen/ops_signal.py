"""Emitters of the signal family (kernels/*/mf_signal.c): TF-Lite Micro's signal-library
operators, and the unquantised int32 / int16 / uint32 nodes of the audio front end
(int32 MUL / ADD / DIV / MINIMUM / MAXIMUM and integer CASTs), which take mf_signal.c's
kernels while every other node of those ops keeps its family's emitter."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.checks import node_label
from mcuforge.ref.signal import check_filter_bank
from mcuforge.ref.signal_fft import rfft_plan
from mcuforge.ref.signal_int import ARITHMETIC, _act, _is_plain_integer

SOURCES = ("mf_signal",)
INT_TYPES = {"int8": "MF_INT_S8", "int16": "MF_INT_S16", "int32": "MF_INT_S32", "uint32": "MF_INT_U32"}
BINARY = {Op.MUL: "MF_S32_MUL", Op.ADD: "MF_S32_ADD", Op.DIV: "MF_S32_DIV", Op.MINIMUM: "MF_S32_MIN",
          Op.MAXIMUM: "MF_S32_MAX"}  # fmt: skip


def _size(g: Graph, name: str) -> str:
    return str(g.tensors[name].size)


def _ptrs(ctx: EmitContext, node: Node) -> tuple[str, ...]:
    return tuple(ctx.ptr(n) for n in node.inputs) + tuple(ctx.ptr(n) for n in node.outputs)


def emit_window(g: Graph, node: Node, ctx: EmitContext) -> Call:
    params = (("size", _size(g, node.inputs[0])), ("window", _size(g, node.inputs[1])), ("shift", str(node.attrs.shift)))
    return Call("mf_signal_window", "mf_signal_window_params", params, _ptrs(ctx, node), SOURCES)


def emit_fft_auto_scale(g: Graph, node: Node, ctx: EmitContext) -> Call:
    return Call("mf_signal_fft_auto_scale", "mf_signal_size_params", (("size", _size(g, node.inputs[0])),),
                _ptrs(ctx, node), SOURCES)  # fmt: skip


def emit_rfft(g: Graph, node: Node, ctx: EmitContext) -> Call:
    plan = rfft_plan(node.attrs.fft_length)
    x = g.tensors[node.inputs[0]]
    frame = x.shape[-1]
    factors = np.array([v for pair in plan.factors for v in pair], np.int32)
    params = (
        ("frames", str(x.size // frame)), ("frame_len", str(frame)), ("fft_length", str(plan.fft_length)),
        ("num_factors", str(len(plan.factors))),
        ("factors", ctx.const_array(f"{node.name}_factors", factors)),
        ("twiddles", ctx.const_array(f"{node.name}_twiddles", plan.twiddles.astype(np.int16).reshape(-1))),
        ("super_twiddles", ctx.const_array(f"{node.name}_super", plan.super_twiddles.astype(np.int16).reshape(-1))),
    )  # fmt: skip
    args = (*_ptrs(ctx, node), ctx.scratch)
    return Call("mf_signal_rfft", "mf_signal_rfft_params", params, args, SOURCES, scratch_bytes=4 * plan.fft_length)


def emit_energy(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a = node.attrs
    params = (("bins", _size(g, node.outputs[0])), ("start", str(a.start_index)), ("end", str(a.end_index)))
    return Call("mf_signal_energy", "mf_signal_energy_params", params, _ptrs(ctx, node), SOURCES)


def emit_filter_bank(g: Graph, node: Node, ctx: EmitContext) -> Call:
    check_filter_bank(g, node)
    params = (("num_channels", str(node.attrs.num_channels)),)
    return Call("mf_signal_filter_bank", "mf_signal_filter_bank_params", params, _ptrs(ctx, node), SOURCES)


def emit_sqrt(g: Graph, node: Node, ctx: EmitContext) -> Call:
    return Call("mf_signal_filter_bank_sqrt", "mf_signal_size_params", (("size", _size(g, node.inputs[0])),),
                _ptrs(ctx, node), SOURCES)  # fmt: skip


def emit_spectral_subtraction(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a = node.attrs
    names = ("num_channels", "smoothing", "one_minus_smoothing", "alternate_smoothing",
             "alternate_one_minus_smoothing", "smoothing_bits", "min_signal_remaining", "spectral_subtraction_bits")
    params = (*((n, f"{int(getattr(a, n))}u" if n != "num_channels" else str(a.num_channels)) for n in names),
              ("clamping", str(int(a.clamping))))  # fmt: skip
    if a.state_input:  # the variable tensor: reset by mf_reset, kept between calls
        args = (ctx.ptr(node.inputs[0]), *(ctx.ptr(n) for n in node.outputs), ctx.ptr(node.inputs[1]), "0")
        return Call("mf_signal_spectral_subtraction", "mf_signal_spectral_subtraction_params", params, args, SOURCES)
    args = (*_ptrs(ctx, node), f"(uint32_t *){ctx.scratch}", "1")
    return Call("mf_signal_spectral_subtraction", "mf_signal_spectral_subtraction_params", params, args, SOURCES,
                scratch_bytes=4 * a.num_channels)  # fmt: skip


def emit_pcan(g: Graph, node: Node, ctx: EmitContext) -> Call:
    params = (("size", _size(g, node.inputs[0])), ("snr_shift", str(node.attrs.snr_shift)))
    return Call("mf_signal_pcan", "mf_signal_pcan_params", params, _ptrs(ctx, node), SOURCES)


def emit_log(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a = node.attrs
    params = (("size", _size(g, node.inputs[0])), ("input_correction_bits", f"{a.input_correction_bits}u"),
              ("output_scale", f"{a.output_scale & 0xFFFFFFFF}u"))  # fmt: skip
    return Call("mf_signal_filter_bank_log", "mf_signal_log_params", params, _ptrs(ctx, node), SOURCES)


def _emit_int_binary(g: Graph, node: Node, ctx: EmitContext) -> Call:
    y = g.tensors[node.outputs[0]]
    steps = []
    for n in node.inputs:
        t = g.tensors[n]
        if t.size not in (1, y.size):
            raise UnsupportedError(f"{node_label(node)}: int32 broadcasting other than of one value is not supported in C.")
        steps.append("1" if t.size == y.size else "0")
    lo, hi = _act(node) if node.op in (Op.MUL, Op.DIV) else _act_full()
    params = (("op", BINARY[node.op]), ("size", str(y.size)), ("a_step", steps[0]), ("b_step", steps[1]),
              ("act_min", "(-2147483647 - 1)" if lo == -(2**31) else str(lo)), ("act_max", str(hi)))  # fmt: skip
    return Call("mf_s32_binary", "mf_s32_binary_params", params, _ptrs(ctx, node), SOURCES)


def _act_full() -> tuple[int, int]:
    return -(2**31), 2**31 - 1


def _emit_int_cast(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
    params = (("size", str(x.size)), ("from", INT_TYPES[x.dtype]), ("to", INT_TYPES[y.dtype]))
    return Call("mf_int_cast", "mf_int_cast_params", params, _ptrs(ctx, node), SOURCES)


def overrides(emitters: dict) -> dict:
    """Emitters that take the unquantised integer nodes (ref/signal_int.py's) and pass every other on."""

    def route(op: Op, mine):
        fallback = emitters[op]

        def emit(g: Graph, node: Node, ctx: EmitContext) -> Call:
            return (mine if _is_plain_integer(g, node) else fallback)(g, node, ctx)

        return emit

    return {op: route(op, _emit_int_cast if op == Op.CAST else _emit_int_binary) for op in ARITHMETIC}


STREAM_SOURCES = ("mf_signal_stream",)


def _rows(shape: tuple[int, ...], inner: int = 1) -> int:
    return int(np.prod(shape[:-inner], dtype=np.int64))


def _stream_call(kernel: str, params, node: Node, ctx: EmitContext, state_values: int, work_values: int = -1) -> Call:
    """A streaming kernel: its state the node's variable-tensor input (kept between calls,
    reset by mf_reset), or the node's scratch reset at each call (one invocation). A kernel
    with work space (work_values >= 0) gets it in the scratch, after any state there."""
    stateful = getattr(node.attrs, "state_input", False)
    xs = node.inputs[:-1] if stateful else node.inputs
    ptrs = (*(ctx.ptr(n) for n in xs), *(ctx.ptr(n) for n in node.outputs))
    scratch_state = 0 if stateful else state_values
    state = ctx.ptr(node.inputs[-1]) if stateful else f"(int16_t *){ctx.scratch}"
    work = () if work_values < 0 else (f"(int16_t *){ctx.scratch} + {scratch_state}",)
    scratch = 2 * (scratch_state + max(work_values, 0))
    return Call(kernel, f"{kernel}_params", params, (*ptrs, state, *work, "0" if stateful else "1"), STREAM_SOURCES,
                scratch_bytes=scratch)


def emit_framer(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a, x = node.attrs, g.tensors[node.inputs[0]]
    rows = _rows(x.shape)
    params = (("rows", str(rows)), ("row_len", str(x.shape[-1])), ("frame_size", str(a.frame_size)),
              ("frame_step", str(a.frame_step)), ("prefill", str(int(a.prefill))))  # fmt: skip
    return _stream_call("mf_signal_framer", params, node, ctx, rows * (a.frame_size + a.frame_step + 2))


def emit_stacker(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a = node.attrs
    size = a.num_channels * (a.stacker_left_context + a.stacker_right_context + 1)
    params = (("num_channels", str(a.num_channels)), ("left", str(a.stacker_left_context)),
              ("right", str(a.stacker_right_context)), ("step", str(a.stacker_step)))  # fmt: skip
    return _stream_call("mf_signal_stacker", params, node, ctx, size + a.num_channels * (a.stacker_left_context + 1) + 4)


def emit_delay(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a, x = node.attrs, g.tensors[node.inputs[0]]
    rows, n = _rows(x.shape), x.shape[-1]
    params = (("rows", str(rows)), ("row_len", str(n)), ("delay", str(a.delay_length)))
    return _stream_call("mf_signal_delay", params, node, ctx, rows * a.delay_length, n + a.delay_length)


def emit_overlap_add(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a, x = node.attrs, g.tensors[node.inputs[0]]
    rows = _rows(x.shape, 2)
    params = (("rows", str(rows)), ("frames", str(x.shape[-2])), ("frame_size", str(x.shape[-1])),
              ("frame_step", str(a.frame_step)))  # fmt: skip
    return _stream_call("mf_signal_overlap_add", params, node, ctx, rows * x.shape[-1])


EMITTERS = {
    Op.SIGNAL_WINDOW: emit_window,
    Op.SIGNAL_FFT_AUTO_SCALE: emit_fft_auto_scale,
    Op.SIGNAL_RFFT: emit_rfft,
    Op.SIGNAL_ENERGY: emit_energy,
    Op.SIGNAL_FILTER_BANK: emit_filter_bank,
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT: emit_sqrt,
    Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION: emit_spectral_subtraction,
    Op.SIGNAL_PCAN: emit_pcan,
    Op.SIGNAL_FILTER_BANK_LOG: emit_log,
    Op.SIGNAL_FRAMER: emit_framer,
    Op.SIGNAL_STACKER: emit_stacker,
    Op.SIGNAL_DELAY: emit_delay,
    Op.SIGNAL_OVERLAP_ADD: emit_overlap_add,
}
