"""Emitters of the spatial family (kernels in kernels/*/mf_spatial.c, and mf_shape's
mf_strided_copy): GATHER, GATHER_ND, MIRROR_PAD, REVERSE_V2, DEPTH_TO_SPACE,
SPACE_TO_DEPTH, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND.

DEPTH_TO_SPACE, SPACE_TO_DEPTH and REVERSE_V2 are one strided gather each (output
dimensions with their input byte strides, negative where reversed). MIRROR_PAD and
BATCH_TO_SPACE_ND are a table copy: the input offset of an output element is a sum
of one table entry per dimension, tables computed here (the mirror indices with the
same np.pad as the reference). Operand checks come from ir.shapes_spatial and
ref.spatial, the reference's own functions.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.codegen.ops_shape import _byte_strides, _c_list, _const, _io, _strided
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import MirrorPadMode, Op
from mcuforge.ir.shapes_spatial import gather_dims, normalised_axes
from mcuforge.ref.spatial import block_params, pad_value

SPATIAL_DIMS = 6  # MF_SPATIAL_DIMS in mf_spatial.h
SOURCES = ("mf_spatial",)


def _what(node: Node) -> str:
    return f"{node.op} node {node.name!r}"


def _itemsize(g: Graph, node: Node) -> int:
    x, y = _io(g, node)
    if x.dtype != y.dtype:
        raise UnsupportedError(f"{_what(node)} turns {x.dtype} into {y.dtype}, which the C kernels do not do.")
    return int(np.dtype(x.dtype).itemsize)


# ------------------------------------------------------------ strided gathers (mf_strided_copy)
def emit_depth_to_space(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """out[n, h, i, w, j, c] (as 6-D) = in[n, h, w, (i*b + j)*C' + c]."""
    x, _ = _io(g, node)
    es, b = _itemsize(g, node), node.attrs.block_size
    n, h, w, c = x.shape
    cp = c // (b * b)
    sn, sh, sw, _ = _byte_strides(x)
    dims = [(n, sn), (h, sh), (b, b * cp * es), (w, sw), (b, cp * es), (cp, es)]
    return _strided(node, ctx, es, dims, 0)


def emit_space_to_depth(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """out[n, h, w, i, j, c] (as 6-D) = in[n, h*b + i, w*b + j, c]."""
    x, _ = _io(g, node)
    es, b = _itemsize(g, node), node.attrs.block_size
    n, h, w, c = x.shape
    sn, sh, sw, sc = _byte_strides(x)
    dims = [(n, sn), (h // b, b * sh), (w // b, b * sw), (b, sh), (b, sw), (c, sc)]
    return _strided(node, ctx, es, dims, 0)


def emit_reverse(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, _ = _io(g, node)
    es = _itemsize(g, node)
    axes = set(normalised_axes(_const(g, node, 1, "axis"), len(x.shape), _what(node)))
    strides = _byte_strides(x)
    dims = [(d, -s if a in axes else s) for a, (d, s) in enumerate(zip(x.shape, strides))]
    offset = sum((d - 1) * s for a, (d, s) in enumerate(zip(x.shape, strides)) if a in axes and d > 0)
    return _strided(node, ctx, es, dims, offset)


def _block_params(g: Graph, node: Node, amounts: str) -> tuple[list[int], list[list[int]]]:
    """The reference's 4-D (block, amounts) of SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND."""
    return block_params(g, node, [None, _const(g, node, 1, "block shape"), _const(g, node, 2, amounts)])


# ------------------------------------------------------------ table copies (mf_table_copy)
def _table_copy(node: Node, ctx: EmitContext, run_bytes: int, tables: list[np.ndarray]) -> Call:
    """mf_table_copy over output dimensions (outermost first), each with its input byte offsets."""
    tables = [t for t in tables if len(t) != 1 or t[0] != 0]  # a size-1 dimension at offset 0 adds nothing
    if len(tables) > SPATIAL_DIMS:
        raise UnsupportedError(f"{_what(node)} needs more than {SPATIAL_DIMS} dimensions.")
    tables = [np.zeros(1, np.int64)] * (SPATIAL_DIMS - len(tables)) + tables
    flat = np.concatenate(tables)
    if flat.size and (flat.max() >= 2**31 or flat.min() < 0):
        raise UnsupportedError(f"{_what(node)}: its input is too large for 32-bit byte offsets.")
    params = (
        ("run_bytes", str(run_bytes)),
        ("shape", _c_list(len(t) for t in tables)),
        ("offsets", ctx.const_array(f"{node.name}_offsets", flat.astype(np.int32))),
    )
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    return Call("mf_table_copy", "mf_table_copy_params", params, args, SOURCES)


def emit_mirror_pad(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, _ = _io(g, node)
    es = _itemsize(g, node)
    pads = _const(g, node, 1, "paddings").astype(np.int64).reshape(-1, 2)
    mode = "reflect" if node.attrs.mode == MirrorPadMode.REFLECT else "symmetric"
    shape, strides = list(x.shape), _byte_strides(x)
    run = es
    while shape and not pads[len(shape) - 1].any():  # unpadded inner dimensions become one longer run
        run *= shape.pop()
    tables = [np.pad(np.arange(d), tuple(int(v) for v in pads[a]), mode=mode) * strides[a] for a, d in enumerate(shape)]
    return _table_copy(node, ctx, run, tables)


def emit_batch_to_space(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """out[n, y, x] = in[((y+top) % bh * bw + (x+left) % bw) * N + n, (y+top) // bh, (x+left) // bw]."""
    x, y = _io(g, node)
    es = _itemsize(g, node)
    (bh, bw), (ch, cw) = _block_params(g, node, "crops")
    nb, h, w = x.shape[0], x.shape[1], (x.shape[2] if len(x.shape) == 4 else 1)
    n, c = nb // (bh * bw), x.shape[-1]
    pixel, image = c * es, h * w * c * es
    out_h, out_w = h * bh - sum(ch), w * bw - sum(cw)
    rows, cols = np.arange(out_h) + ch[0], np.arange(out_w) + cw[0]
    tables = [
        np.arange(n) * image,
        (rows % bh) * bw * n * image + (rows // bh) * w * pixel,
        (cols % bw) * n * image + (cols // bw) * pixel,
    ]
    return _table_copy(node, ctx, pixel, tables)


# ------------------------------------------------------------ kernels of their own
def emit_space_to_batch(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    es = _itemsize(g, node)
    if es not in (1, 4):
        raise UnsupportedError(f"{_what(node)}: {x.dtype} data is not supported by the C kernel.")
    (bh, bw), (ph, pw) = _block_params(g, node, "paddings")
    w = x.shape[2] if len(x.shape) == 4 else 1
    out_w = y.shape[2] if len(y.shape) == 4 else 1
    params = (
        ("batch", str(x.shape[0])),
        ("in_h", str(x.shape[1])),
        ("in_w", str(w)),
        ("depth_bytes", str(x.shape[-1] * es)),
        ("block_h", str(bh)),
        ("block_w", str(bw)),
        ("pad_top", str(ph[0])),
        ("pad_left", str(pw[0])),
        ("out_h", str(y.shape[1])),
        ("out_w", str(out_w)),
        ("elem_size", str(es)),
        ("fill", str(pad_value(g, node))),
    )
    return Call("mf_space_to_batch", "mf_space_to_batch_params", params, (ctx.ptr(x.name), ctx.ptr(y.name)), SOURCES)


def _index_bytes(g: Graph, node: Node) -> int:
    t = g.tensors[node.inputs[1]]  # type: ignore[index]
    if t.dtype not in ("int32", "int64"):
        raise UnsupportedError(f"{_what(node)}: {t.dtype} indices are not supported (int32 or int64).")
    return int(np.dtype(t.dtype).itemsize)


def emit_gather(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    es = _itemsize(g, node)
    idx = g.tensors[node.inputs[1]]  # type: ignore[index]
    axis, bd = gather_dims(x.shape, idx.shape, node.attrs, _what(node))

    def prod(dims) -> int:
        return int(np.prod(dims, dtype=np.int64))

    params = (
        ("batch", str(prod(x.shape[:bd]))),
        ("outer", str(prod(x.shape[bd:axis]))),
        ("coords", str(prod(idx.shape[bd:]))),
        ("axis_size", str(x.shape[axis])),
        ("inner_bytes", str(prod(x.shape[axis + 1 :]) * es)),
        ("index_bytes", str(_index_bytes(g, node))),
    )
    args = (ctx.ptr(x.name), ctx.ptr(idx.name), ctx.ptr(y.name))
    return Call("mf_gather", "mf_gather_params", params, args, SOURCES)


def emit_gather_nd(g: Graph, node: Node, ctx: EmitContext) -> Call:
    x, y = _io(g, node)
    es = _itemsize(g, node)
    idx = g.tensors[node.inputs[1]]  # type: ignore[index]
    k = idx.shape[-1]
    strides = _byte_strides(x)
    params = (
        ("slices", str(int(np.prod(idx.shape[:-1], dtype=np.int64)))),
        ("depth", str(k)),
        ("slice_bytes", str(int(np.prod(x.shape[k:], dtype=np.int64)) * es)),
        ("index_bytes", str(_index_bytes(g, node))),
        ("dims", ctx.const_array(f"{node.name}_dims", np.asarray([*x.shape[:k], 0], np.int32))),
        ("strides", ctx.const_array(f"{node.name}_strides", np.asarray([*strides[:k], 0], np.int32))),
    )  # each table ends in a 0 so that it is never an empty C array
    args = (ctx.ptr(x.name), ctx.ptr(idx.name), ctx.ptr(y.name))
    return Call("mf_gather_nd", "mf_gather_nd_params", params, args, SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.GATHER: emit_gather,
    Op.GATHER_ND: emit_gather_nd,
    Op.MIRROR_PAD: emit_mirror_pad,
    Op.REVERSE_V2: emit_reverse,
    Op.DEPTH_TO_SPACE: emit_depth_to_space,
    Op.SPACE_TO_DEPTH: emit_space_to_depth,
    Op.SPACE_TO_BATCH_ND: emit_space_to_batch,
    Op.BATCH_TO_SPACE_ND: emit_batch_to_space,
}
