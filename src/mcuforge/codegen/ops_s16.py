"""Emitters for the 16x8 kernels (kernels/portable/mf_s16.c): FULLY_CONNECTED, CONV_2D and
DEPTHWISE_CONV_2D with int16 input and output, ADD / SUB / MUL on int16. ops_conv.py and
ops_elementwise.py hand int16 nodes here; the parameters come from the same prepare_*
functions as int8's."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.activations16 import SIGMOID_TABLE, prepare_sigmoid_tanh16
from mcuforge.ref import softmax16
from mcuforge.ref.conv import prepare_conv2d, prepare_depthwise_conv2d
from mcuforge.ref.fc import prepare_fully_connected

SOURCES = ("mf_elementwise", "mf_s16")  # mf_s16.h takes mf_elementwise.h's structs


def is_int16(g: Graph, node: Node) -> bool:
    return g.tensors[node.outputs[0]].dtype == "int16"


def _bias_arg(g: Graph, node: Node, ctx: EmitContext) -> str:
    """The bias as a const int64 array (int32 biases widen exactly; the kernels add them
    modulo 2^32 when acc64 is 0), or NULL."""
    w = g.tensors[node.inputs[1]]  # type: ignore[index]
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    if w.data is None or (bias is not None and g.tensors[bias].data is None):
        raise UnsupportedError(f"{node.op} node {node.name!r} has weights or a bias computed at run time.")
    if bias is None:
        return "NULL"
    return ctx.const_array(f"{node.name}_bias64", np.asarray(g.tensors[bias].data, np.int64).reshape(-1))


def _int32s(ctx: EmitContext, base: str, values) -> str:
    return ctx.const_array(base, np.asarray(values, np.int64).astype(np.int32))


def emit_conv_s16(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """CONV_2D or DEPTHWISE_CONV_2D, 16x8: one naive kernel each; the depthwise one takes
    a channel plane of scratch when passes/inplace_depthwise lets it run in place."""
    depthwise = node.op == Op.DEPTHWISE_CONV_2D
    p = prepare_depthwise_conv2d(g, node) if depthwise else prepare_conv2d(g, node)
    bias_arg = _bias_arg(g, node, ctx)
    n, h, w, c = g.tensors[node.inputs[0]].shape  # type: ignore[index]
    _, oh, ow, oc = g.tensors[node.outputs[0]].shape
    (kh, kw), (sh, sw), (dh, dw) = p.kernel_hw, p.stride, p.dilation
    params = (
        ("batches", str(n)), ("in_h", str(h)), ("in_w", str(w)), ("in_c", str(c)),
        ("out_h", str(oh)), ("out_w", str(ow)), ("out_c", str(oc)),
        ("k_h", str(kh)), ("k_w", str(kw)), ("stride_h", str(sh)), ("stride_w", str(sw)),
        ("dil_h", str(dh)), ("dil_w", str(dw)), ("pad_top", str(p.padding[0])), ("pad_left", str(p.padding[1])),
        ("groups", str(p.groups)), ("depth_multiplier", str(p.depth_multiplier)),
        ("act_min", str(p.act_min)), ("act_max", str(p.act_max)), ("acc64", "1" if p.acc64 else "0"),
        ("weights", ctx.ptr(node.inputs[1])),  # type: ignore[arg-type]
        ("bias", bias_arg),
        ("multipliers", _int32s(ctx, f"{node.name}_mult", p.multipliers)),
        ("shifts", _int32s(ctx, f"{node.name}_shift", p.shifts)),
    )  # fmt: skip
    x, y = ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0])  # type: ignore[arg-type]
    if not depthwise:
        return Call("mf_conv_s16", "mf_conv_s16_params", params, (x, y), SOURCES)
    inplace = ctx.inplace(node)
    scratch = 2 * h * w if inplace else 0  # one int16 channel plane
    args = (x, y, ctx.scratch if inplace else "NULL")
    return Call("mf_depthwise_s16", "mf_conv_s16_params", params, args, SOURCES, scratch)


def emit_fc_s16(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_fully_connected(g, node)
    bias_arg = _bias_arg(g, node, ctx)
    params = (
        ("batches", str(p.batches)),
        ("accum_depth", str(p.accum_depth)),
        ("output_depth", str(p.output_depth)),
        ("output_zp", str(p.output_offset)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
        ("per_channel", "1" if p.per_channel else "0"),
        ("acc64", "1" if p.acc64 else "0"),
        ("weights", ctx.ptr(node.inputs[1])),  # type: ignore[arg-type]
        ("bias", bias_arg),
        ("multipliers", _int32s(ctx, f"{node.name}_mult", p.multipliers)),
        ("shifts", _int32s(ctx, f"{node.name}_shift", p.shifts)),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_fc_s16", "mf_fc_s16_params", params, args, SOURCES)


def emit_elementwise_s16(g: Graph, node: Node, ctx: EmitContext, params: tuple[tuple[str, str], ...]) -> Call:
    """ADD / SUB / MUL on int16: the int8 emitter's parameter fields, the s16 kernel."""
    kernel = {Op.ADD: "mf_add_s16", Op.SUB: "mf_sub_s16", Op.MUL: "mf_mul_s16"}[node.op]
    params_type = "mf_mul_params" if node.op == Op.MUL else "mf_add_params"
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.inputs[1]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, params_type, params, args, SOURCES)


TABLE_KEY = "\0sigmoid_table"  # no tensor has this name: one table per project, shared by every node


def _sigmoid_table(ctx: EmitContext) -> str:
    symbols = ctx._const_symbols  # the context's symbol cache (keyed by tensor name)
    if TABLE_KEY not in symbols:
        symbols[TABLE_KEY] = ctx.const_array("sigmoid_table", SIGMOID_TABLE.astype(np.int32))
    return symbols[TABLE_KEY]


def emit_sigmoid_tanh_s16(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_sigmoid_tanh16(g, node)
    params = (
        ("size", str(g.tensors[node.outputs[0]].size)),
        ("input_multiplier", str(p.input_multiplier)),
        ("input_shift", str(p.input_left_shift)),
        ("table", _sigmoid_table(ctx)),
    )
    kernel = "mf_logistic_s16" if node.op == Op.LOGISTIC else "mf_tanh_s16"
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call(kernel, "mf_sigmoid_s16_params", params, args, SOURCES)


SOFTMAX_KEY = "\0softmax16_tables"


def emit_softmax_s16(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = softmax16.prepare_softmax16(g, node)
    x = g.tensors[node.inputs[0]]  # type: ignore[index]
    depth = x.shape[-1] if x.shape else 1
    symbols = ctx._const_symbols  # one pair of tables per project, as for the sigmoid table
    if SOFTMAX_KEY not in symbols:
        exp_lut, inv_lut = softmax16.tables()
        exp_sym = ctx.const_array("softmax_exp_lut", exp_lut.astype(np.int32))
        symbols[SOFTMAX_KEY] = f"{exp_sym},{ctx.const_array('softmax_inv_lut', inv_lut.astype(np.int32))}"
    exp_sym, inv_sym = symbols[SOFTMAX_KEY].split(",")
    params = (
        ("rows", str(x.size // depth if depth else 0)),
        ("depth", str(depth)),
        ("input_multiplier", str(p.input_multiplier)),
        ("input_left_shift", str(p.input_left_shift)),
        ("exp_lut", exp_sym),
        ("inv_lut", inv_sym),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_softmax_s16", "mf_softmax_s16_params", params, args, SOURCES)
