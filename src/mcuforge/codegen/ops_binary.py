"""Emitters for the binary family (kernels in kernels/*/mf_binary.c): MAXIMUM, MINIMUM,
the comparisons, SELECT_V2, LOGICAL_AND/OR/NOT, SQUARED_DIFFERENCE, PRELU, ADD_N, DIV.

Quantisation parameters come from the ref's prepare_* functions (ref/binary.py,
ref/binary_arith.py). Broadcasting becomes an output shape of MF_BIN_DIMS (8)
dimensions with per-dimension element strides for each input (0 along broadcast
dimensions); neighbouring dimensions that every input walks alike (contiguously, or
broadcast) are merged, so a plain element-wise node is one long row.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref import binary as ref
from mcuforge.ref import binary_arith as arith
from mcuforge.ref.binary_checks import tensors

BIN_DIMS = 8  # MF_BIN_DIMS in mf_binary.h
SOURCES = ("mf_binary", "mf_activation")  # mf_binary.c uses mf_activation.h's gemmlowp reciprocal


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of a row-major input of `shape` (left-padded to len(out)), 0 where broadcast."""
    shape = (1,) * (len(out) - len(shape)) + tuple(shape)
    strides, step = [0] * len(out), 1
    for d in range(len(out) - 1, -1, -1):
        strides[d] = step if shape[d] == out[d] and out[d] != 1 else 0
        step *= shape[d]
    return strides


def broadcast_dims(*shapes) -> tuple[list[int], list[list[int]]]:
    """(output shape, per-input strides), merged and left-padded to BIN_DIMS; three stride
    lists always (zeros for absent inputs)."""
    out = tuple(np.broadcast_shapes(*(tuple(s) for s in shapes))) or (1,)
    per_input = [_strides(tuple(s), out) for s in shapes]
    dims = [(n, [st[d] for st in per_input]) for d, n in enumerate(out) if n != 1] or [(1, [0] * len(shapes))]
    merged = [dims[0]]
    for n, inner in dims[1:]:
        pn, outer = merged[-1]
        if all(o == i * n for o, i in zip(outer, inner)):  # the outer dimension continues the inner one
            merged[-1] = (pn * n, inner)
        else:
            merged.append((n, inner))
    merged = [(1, [0] * len(shapes))] * (BIN_DIMS - len(merged)) + merged  # at most 8: ranks are <= 8
    strides = [[m[1][k] for m in merged] for k in range(len(shapes))]
    strides += [[0] * BIN_DIMS] * (3 - len(strides))
    return [m[0] for m in merged], strides


def _c_list(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _shape_fields(g: Graph, node: Node, n_inputs: int) -> tuple[tuple[str, str], ...]:
    shapes = [g.tensors[n].shape for n in node.inputs[:n_inputs]]  # type: ignore[index]
    y = g.tensors[node.outputs[0]]
    try:
        shape, strides = broadcast_dims(*shapes)
    except ValueError as e:
        raise UnsupportedError(f"{node.op} node {node.name!r}: input shapes {shapes} do not broadcast.") from e
    if int(np.prod(shape)) != y.size:
        raise UnsupportedError(f"{node.op} node {node.name!r}: inputs do not broadcast to the output shape {y.shape}.")
    return (("shape", _c_list(shape)), *((f"stride{k + 1}", _c_list(s)) for k, s in enumerate(strides)))


def _nested(fields: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    return ("b", "{" + ", ".join(f".{f} = {v}" for f, v in fields) + "}")


def _args(node: Node, ctx: EmitContext, n_inputs: int) -> tuple[str, ...]:
    return (*(ctx.ptr(x) for x in node.inputs[:n_inputs]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]


def _fields(params, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((n, str(int(getattr(params, n)))) for n in names)


def _kernel(node: Node) -> str:
    return f"mf_{node.op.value.lower()}_s8"


def emit_shape_only(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """MAXIMUM, MINIMUM, SELECT_V2, LOGICAL_AND, LOGICAL_OR: the broadcast is all they need."""
    n = 3 if node.op == Op.SELECT_V2 else 2
    _checked(g, node)
    kernel = f"mf_{node.op.value.lower()}" if node.op in ref.LOGICAL else _kernel(node)
    if g.tensors[node.outputs[0]].dtype == "int16":
        kernel = kernel.replace("_s8", "_s16")
    return Call(kernel, "mf_bin_shape", _shape_fields(g, node, n), _args(node, ctx, n), SOURCES)


def _checked(g: Graph, node: Node) -> None:
    """The ref's operand checks for the ops without a prepare_* function."""
    if node.op == Op.SELECT_V2:
        tensors(g, node, ("bool", "int8", "int8"), "int8", False)
    elif node.op in ref.LOGICAL or node.op == Op.LOGICAL_NOT:
        tensors(g, node, ("bool",), "bool", False)
    else:  # MAXIMUM, MINIMUM: int8, or int16 throughout
        dt = "int16" if g.tensors[node.outputs[0]].dtype == "int16" else "int8"
        tensors(g, node, (dt,), dt, False)


def emit_comparison(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = ref.prepare_comparison(g, node)
    names = ("left_shift", "input1_offset", "input1_multiplier", "input1_shift",
             "input2_offset", "input2_multiplier", "input2_shift")  # fmt: skip
    params = (_nested(_shape_fields(g, node, 2)), *_fields(p, names))
    return Call(_kernel(node), "mf_compare_params", params, _args(node, ctx, 2), SOURCES)


def emit_logical_not(g: Graph, node: Node, ctx: EmitContext) -> Call:
    _checked(g, node)
    size = str(g.tensors[node.outputs[0]].size)
    return Call("mf_logical_not", None, (), (size, *_args(node, ctx, 1)), SOURCES)


def emit_squared_difference(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = arith.prepare_squared_difference(g, node)
    names = ("left_shift", "input1_offset", "input1_multiplier", "input1_shift", "input2_offset",
             "input2_multiplier", "input2_shift", "output_offset", "output_multiplier", "output_shift")  # fmt: skip
    params = (_nested(_shape_fields(g, node, 2)), *_fields(p, names))
    return Call("mf_squared_difference_s8", "mf_sqdiff_params", params, _args(node, ctx, 2), SOURCES)


def emit_prelu(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = arith.prepare_prelu(g, node)
    names = ("input_offset", "alpha_offset", "output_offset", "output_multiplier_1", "output_shift_1",
             "output_multiplier_2", "output_shift_2")  # fmt: skip
    params = (_nested(_shape_fields(g, node, 2)), *_fields(p, names))
    return Call("mf_prelu_s8", "mf_prelu_params", params, _args(node, ctx, 2), SOURCES)


def emit_add_n(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = arith.prepare_add_n(g, node)
    names = ("left_shift", "input_offset", "input_multiplier", "input_shift", "output_offset",
             "output_multiplier", "output_shift")  # fmt: skip
    y = g.tensors[node.outputs[0]]
    params = (("size", str(y.size)), ("count", str(len(node.inputs))), *_fields(p, names))
    inputs = "(const int8_t *const[]){" + ", ".join(ctx.ptr(x) for x in node.inputs) + "}"  # type: ignore[arg-type]
    return Call("mf_add_n_s8", "mf_add_n_params", params, (inputs, ctx.ptr(node.outputs[0])), SOURCES)


def emit_div(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = arith.prepare_div(g, node)
    names = ("input1_offset", "input2_offset", "output_offset", "output_multiplier", "output_shift",
             "act_min", "act_max")  # fmt: skip
    params = (_nested(_shape_fields(g, node, 2)), *_fields(p, names))
    return Call("mf_div_s8", "mf_div_params", params, _args(node, ctx, 2), SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.MAXIMUM: emit_shape_only,
    Op.MINIMUM: emit_shape_only,
    **{op: emit_comparison for op in ref.COMPARISONS},
    Op.SELECT_V2: emit_shape_only,
    Op.LOGICAL_AND: emit_shape_only,
    Op.LOGICAL_OR: emit_shape_only,
    Op.LOGICAL_NOT: emit_logical_not,
    Op.SQUARED_DIFFERENCE: emit_squared_difference,
    Op.PRELU: emit_prelu,
    Op.ADD_N: emit_add_n,
    Op.DIV: emit_div,
}
