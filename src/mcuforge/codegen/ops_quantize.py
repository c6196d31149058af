"""Emitters for QUANTIZE and DEQUANTIZE (kernels in kernels/*/mf_quantize.c).

Parameters from ref/quantize.py's prepare_quantize / prepare_dequantize: float32
input takes AffineQuantize (mf_quantize_f32, the float32 scale written as a
float literal that parses back to the same float32), integer input takes
Requantize (mf_requantize), DEQUANTIZE takes mf_dequantize_f32.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.quantize import prepare_dequantize, prepare_quantize

TYPE_CODES = {"int8": "MF_TYPE_INT8", "uint8": "MF_TYPE_UINT8", "int16": "MF_TYPE_INT16", "int32": "MF_TYPE_INT32"}
SOURCES = ("mf_quantize",)


def c_float(v: float) -> str:
    """A float32 as a C float literal: the shortest decimal that reads back as the same float32."""
    f = np.float32(v)
    if not np.isfinite(f):
        raise UnsupportedError(f"scale {v!r} is not a finite float32")
    text = str(f)  # NumPy prints the shortest round-tripping float32 digits
    return f"{text}f" if any(c in text for c in ".e") else f"{text}.0f"


def c_int(v: int) -> str:
    v = int(v)
    return "(-2147483647 - 1)" if v == -(1 << 31) else str(v)


def _type(node: Node, dtype: str) -> str:
    if dtype not in TYPE_CODES:
        raise UnsupportedError(f"{node.op} node {node.name!r}: {dtype} tensors are not supported by the C kernels.")
    return TYPE_CODES[dtype]


def emit_quantize(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_quantize(g, node)
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]  # type: ignore[index]
    args = (ctx.ptr(x.name), ctx.ptr(y.name))
    size = ("size", str(y.size))
    if x.dtype == "float32":
        params = (size, ("out_type", _type(node, y.dtype)), ("scale", c_float(p.output_scale)),
                  ("zero_point", c_int(p.output_zero_point)))  # fmt: skip
        return Call("mf_quantize_f32", "mf_quantize_params", params, args, SOURCES)
    params = (
        size,
        ("in_type", _type(node, x.dtype)),
        ("out_type", _type(node, y.dtype)),
        ("input_zero_point", c_int(p.input_zero_point)),
        ("output_zero_point", c_int(p.output_zero_point)),
        ("multiplier", c_int(p.requantize_multiplier)),
        ("shift", c_int(p.requantize_shift)),
    )
    return Call("mf_requantize", "mf_requantize_params", params, args, SOURCES)


def emit_dequantize(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_dequantize(g, node)
    x = g.tensors[node.inputs[0]]  # type: ignore[index]
    params = (
        ("size", str(x.size)),
        ("in_type", _type(node, x.dtype)),
        ("scale", c_float(p.scale)),  # a float32 scale held in a double: exact as float32
        ("zero_point", c_int(p.zero_point)),
    )
    args = (ctx.ptr(x.name), ctx.ptr(node.outputs[0]))
    return Call("mf_dequantize_f32", "mf_dequantize_params", params, args, SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.QUANTIZE: emit_quantize,
    Op.DEQUANTIZE: emit_dequantize,
}
