"""Emitters for the data-movement operators (kernels in kernels/*/mf_shape.c):
PAD, PADV2, TRANSPOSE, STRIDED_SLICE, CONCATENATION, RESIZE_NEAREST_NEIGHBOR, and
RESHAPE / SQUEEZE / EXPAND_DIMS when the planner did not alias them (a copy).

All index arithmetic happens here, with the ref's functions: STRIDED_SLICE's
ranges from ir.shapes.strided_slice_ranges, RESIZE's source rows and columns
from ref.shape_ops.nearest_indices. TRANSPOSE and STRIDED_SLICE both become one
strided gather (byte strides per output dimension, merged where contiguous).
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Act, Op
from mcuforge.ir.shapes import strided_slice_ranges
from mcuforge.ref.shape_ops import nearest_indices

SHAPE_DIMS = 6  # MF_SHAPE_DIMS in mf_shape.h
SOURCES = ("mf_shape",)


def _what(node: Node) -> str:
    return f"{node.op} node {node.name!r}"


def _c_list(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _const(g: Graph, node: Node, i: int, what: str) -> np.ndarray:
    name = node.inputs[i] if len(node.inputs) > i else None
    t = g.tensors[name] if name is not None else None
    if t is None or t.data is None:
        raise UnsupportedError(f"{_what(node)} needs its {what} as a constant tensor.")
    return np.asarray(t.data)


def _byte_strides(t: Tensor) -> list[int]:
    strides, step = [0] * len(t.shape), np.dtype(t.dtype).itemsize
    for d in range(len(t.shape) - 1, -1, -1):
        strides[d] = step
        step *= t.shape[d]
    return strides


def _io(g: Graph, node: Node) -> tuple[Tensor, Tensor]:
    return g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]  # type: ignore[index]


def _copy(node: Node, ctx: EmitContext, nbytes: int) -> Call:
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_copy", "mf_copy_params", (("bytes", str(nbytes)),), args, SOURCES)


def emit_copy(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """RESHAPE / SQUEEZE / EXPAND_DIMS: the same bytes under another shape."""
    x, y = _io(g, node)
    if x.nbytes != y.nbytes:
        raise UnsupportedError(f"{_what(node)} changes the size from {x.nbytes} to {y.nbytes} bytes.")
    return _copy(node, ctx, y.nbytes)


def _strided(node: Node, ctx: EmitContext, itemsize: int, dims: list[tuple[int, int]], offset: int) -> Call:
    """mf_strided_copy over (size, byte stride) output dimensions, outermost first."""
    if any(n == 0 for n, _ in dims):
        return _copy(node, ctx, 0)  # an empty output
    merged: list[tuple[int, int]] = []
    for n, s in dims:
        if n == 1:
            continue
        if merged and merged[-1][1] == s * n:  # the outer dimension continues the inner one
            merged[-1] = (merged[-1][0] * n, s)
        else:
            merged.append((n, s))
    if len(merged) > SHAPE_DIMS:
        raise UnsupportedError(f"{_what(node)} needs more than {SHAPE_DIMS} dimensions.")
    merged = [(1, 0)] * (SHAPE_DIMS - len(merged)) + merged
    params = (
        ("elem_size", str(itemsize)),
        ("shape", _c_list(n for n, _ in merged)),
        ("stride", _c_list(s for _, s in merged)),
        ("offset", str(offset)),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_strided_copy", "mf_strided_copy_params", params, args, SOURCES)


def emit_transpose(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    perm = [int(p) % max(len(x.shape), 1) for p in _const(g, node, 1, "permutation").reshape(-1)]
    if sorted(perm) != list(range(len(x.shape))):
        raise UnsupportedError(f"{_what(node)}: {perm} is not a permutation of the {len(x.shape)} input axes.")
    strides = _byte_strides(x)
    dims = [(x.shape[p], strides[p]) for p in perm]
    return _strided(node, ctx, np.dtype(x.dtype).itemsize, dims, 0)


def emit_strided_slice(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    a = node.attrs
    if a.ellipsis_mask or a.new_axis_mask:
        raise UnsupportedError("STRIDED_SLICE with an ellipsis or new-axis mask is not supported")  # as the ref
    values = [_const(g, node, i, what) for i, what in ((1, "begin"), (2, "end"), (3, "strides"))]
    ranges, _ = strided_slice_ranges(x.shape, *values, a, _what(node))
    strides = _byte_strides(x)
    dims = [(len(r), r.step * s) for r, s in zip(ranges, strides)]
    offset = sum(r.start * s for r, s in zip(ranges, strides) if len(r))
    return _strided(node, ctx, np.dtype(x.dtype).itemsize, dims, offset)


def _fill_bits(g: Graph, node: Node, y: Tensor) -> int:
    """The pad value as the int32 the kernel stores (a float32's bit pattern for float)."""
    if node.op == Op.PADV2 and len(node.inputs) > 2 and node.inputs[2] is not None:
        value = _const(g, node, 2, "constant value").reshape(-1)[0]
    elif y.quant is not None and y.dtype != "int16":
        value = y.quant.zp  # TFLM pad.cc: an int8 PAD without a value fills with the output zero point (int16: 0)
    else:
        value = 0
    v = np.asarray(value).astype(y.dtype)
    if y.dtype == "float32":
        return int(v.view(np.int32))
    return int(v)


def emit_pad(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    if x.dtype != y.dtype or np.dtype(y.dtype).itemsize not in (1, 2, 4):
        raise UnsupportedError(f"{_what(node)}: {x.dtype} -> {y.dtype} padding is not supported by the C kernels.")
    pads = _const(g, node, 1, "paddings").astype(np.int64).reshape(-1, 2)
    if pads.shape[0] != len(x.shape) or (pads < 0).any():
        raise UnsupportedError(f"{_what(node)}: paddings {pads.tolist()} do not fit a {len(x.shape)}-D input.")
    dims = [[int(n), int(b), int(e)] for n, (b, e) in zip(x.shape, pads)] or [[1, 0, 0]]
    # Merge an unpadded dimension into the one before it: its rows become longer runs.
    while len(dims) > 1 and dims[-1][1] == dims[-1][2] == 0:
        n = dims.pop()[0]
        dims[-1] = [dims[-1][0] * n, dims[-1][1] * n, dims[-1][2] * n]
    if len(dims) > SHAPE_DIMS:
        raise UnsupportedError(f"{_what(node)} needs more than {SHAPE_DIMS} dimensions.")
    dims = [[1, 0, 0]] * (SHAPE_DIMS - len(dims)) + dims
    fill = _fill_bits(g, node, y)
    params = (
        ("elem_size", str(np.dtype(y.dtype).itemsize)),
        ("in_shape", _c_list(d[0] for d in dims)),
        ("before", _c_list(d[1] for d in dims)),
        ("after", _c_list(d[2] for d in dims)),
        ("fill", "(-2147483647 - 1)" if fill == -(1 << 31) else str(fill)),
    )
    args = (ctx.ptr(x.name), ctx.ptr(y.name))
    return Call("mf_pad", "mf_pad_params", params, args, SOURCES)


def emit_concatenation(g: Graph, node: Node, ctx: EmitContext) -> Call:
    y = g.tensors[node.outputs[0]]
    if node.attrs.activation != Act.NONE:
        raise UnsupportedError(f"CONCATENATION with a fused {node.attrs.activation} is not supported")  # as the ref
    xs = [g.tensors[n] for n in node.inputs]  # type: ignore[index]
    for t in xs:
        q = t.quant
        if y.quant is not None and q is not None and (q.s != y.quant.s or q.zp != y.quant.zp):
            raise UnsupportedError(f"{_what(node)} mixes quantisation parameters, which TF-Lite Micro does not support")
        if t.dtype != y.dtype:
            raise UnsupportedError(f"{_what(node)} mixes {t.dtype} and {y.dtype} tensors.")
    axis = node.attrs.axis % len(y.shape)
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    itemsize = np.dtype(y.dtype).itemsize
    in_bytes = [int(np.prod(t.shape[axis:], dtype=np.int64)) * itemsize for t in xs]
    params = (
        ("num_inputs", str(len(xs))),
        ("outer", str(outer)),
        ("in_bytes", ctx.const_array(f"{node.name}_in_bytes", np.asarray(in_bytes, np.int32))),
    )
    inputs = "(const void *const[]){" + ", ".join(ctx.ptr(t.name) for t in xs) + "}"
    return Call("mf_concat", "mf_concat_params", params, (inputs, ctx.ptr(y.name)), SOURCES)


def emit_resize_nearest(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    if len(x.shape) != 4:
        raise UnsupportedError(f"{_what(node)} needs a 4-D NHWC input.")
    out_h, out_w = (int(v) for v in _const(g, node, 1, "size").reshape(-1)[:2])
    a = node.attrs
    rows = nearest_indices(x.shape[1], out_h, a.align_corners, a.half_pixel_centers)
    cols = nearest_indices(x.shape[2], out_w, a.align_corners, a.half_pixel_centers)
    params = (
        ("elem_size", str(np.dtype(x.dtype).itemsize)),
        ("batch", str(x.shape[0])),
        ("in_h", str(x.shape[1])),
        ("in_w", str(x.shape[2])),
        ("depth", str(x.shape[3])),
        ("out_h", str(out_h)),
        ("out_w", str(out_w)),
        ("rows", ctx.const_array(f"{node.name}_rows", np.asarray(rows, np.int32))),
        ("cols", ctx.const_array(f"{node.name}_cols", np.asarray(cols, np.int32))),
    )
    return Call("mf_resize_nearest", "mf_resize_nearest_params", params, (ctx.ptr(x.name), ctx.ptr(y.name)), SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.PAD: emit_pad,
    Op.PADV2: emit_pad,
    Op.RESHAPE: emit_copy,
    Op.SQUEEZE: emit_copy,
    Op.EXPAND_DIMS: emit_copy,
    Op.TRANSPOSE: emit_transpose,
    Op.CONCATENATION: emit_concatenation,
    Op.STRIDED_SLICE: emit_strided_slice,
    Op.RESIZE_NEAREST_NEIGHBOR: emit_resize_nearest,
}
