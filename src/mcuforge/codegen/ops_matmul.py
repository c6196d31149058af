"""Emitters for TRANSPOSE_CONV and BATCH_MATMUL (kernels in kernels/*/mf_matmul.c).

Every quantisation parameter comes from the reference executor's prepare_* functions
(ref/matmul.py). BATCH_MATMUL's index arithmetic (broadcast batch strides, the
adj_x / adj_y element strides) is computed here; a constant right-hand side is stored
transposed, [batch][cols][depth], so the kernel reads each column contiguously (what
TF-Lite Micro does once at its first run).
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.matmul import prepare_batch_matmul, prepare_transpose_conv

SOURCES = ("mf_matmul",)
BATCH_DIMS = 3  # MF_MATMUL_BATCH_DIMS in mf_matmul.h


def _what(node: Node) -> str:
    return f"{node.op} node {node.name!r}"


def _c_list(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _int32_array(ctx: EmitContext, base: str, values) -> str:
    return ctx.const_array(base, np.asarray(values, np.int64).astype(np.int32))


# ---------------------------------------------------------------- TRANSPOSE_CONV
def tconv_scratch_bytes(out_shape: tuple[int, ...]) -> int:
    """mf_transpose_conv_s8's int32 accumulators: one per output element, as TF-Lite Micro's
    scratch buffer (all batches, so that the output may lie on the input)."""
    return 4 * int(np.prod(out_shape, dtype=np.int64))


def emit_transpose_conv(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_transpose_conv(g, node)
    w = g.tensors[node.inputs[1]]  # type: ignore[index]
    if w.data is None:
        raise UnsupportedError(f"{_what(node)} has weights computed at run time; only constant weights are supported.")
    bias = node.inputs[3] if len(node.inputs) > 3 else None
    if bias is not None and g.tensors[bias].data is None:
        raise UnsupportedError(f"{_what(node)} has a bias computed at run time; only constant biases are supported.")
    n, h, wd, c = p.in_shape
    _, oh, ow, oc = p.out_shape
    (kh, kw), (sh, sw), (pt, pl) = p.kernel_hw, p.stride, p.padding
    params = (
        ("batches", str(n)), ("in_h", str(h)), ("in_w", str(wd)), ("in_c", str(c)),
        ("out_h", str(oh)), ("out_w", str(ow)), ("out_c", str(oc)),
        ("k_h", str(kh)), ("k_w", str(kw)), ("stride_h", str(sh)), ("stride_w", str(sw)),
        ("pad_top", str(pt)), ("pad_left", str(pl)),
        ("input_zp", str(-p.input_offset)), ("output_zp", str(p.output_offset)),
        ("act_min", str(p.act_min)), ("act_max", str(p.act_max)),
        ("weights", ctx.ptr(node.inputs[1])),  # type: ignore[arg-type]
        ("bias", "NULL" if bias is None else ctx.ptr(bias)),
        ("multipliers", _int32_array(ctx, f"{node.name}_mult", p.multipliers)),
        ("shifts", _int32_array(ctx, f"{node.name}_shift", p.shifts)),
    )  # fmt: skip
    args = (ctx.ptr(node.inputs[2]), ctx.ptr(node.outputs[0]), ctx.scratch)  # type: ignore[arg-type]
    return Call("mf_transpose_conv_s8", "mf_tconv_params", params, args, SOURCES, tconv_scratch_bytes(p.out_shape))


# ------------------------------------------------------------------ BATCH_MATMUL
def _elem_strides(shape: tuple[int, ...]) -> list[int]:
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = step
        step *= shape[d]
    return strides


def batch_strides(shape: tuple[int, ...], batch_rank: int) -> list[int]:
    """Element strides of a stored operand along the output's batch dimensions (its shape
    extended with leading 1s); 0 where it has size 1 and is broadcast."""
    ext = (1,) * (batch_rank + 2 - len(shape)) + tuple(shape)
    strides = _elem_strides(ext)
    return [0 if ext[d] == 1 else strides[d] for d in range(batch_rank)]


def _pad_batch(values: list[int], fill: int) -> list[int]:
    return [fill] * (BATCH_DIMS - len(values)) + values


def emit_batch_matmul(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_batch_matmul(g, node)
    if len(p.batch) > BATCH_DIMS:
        raise UnsupportedError(
            f"{_what(node)} has {len(p.batch)} batch dimensions; at most {BATCH_DIMS} are supported."
        )
    a = node.attrs
    x, y = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]]  # type: ignore[index]
    rank = len(p.batch)
    m, k, n = p.rows, p.depth, p.cols
    lhs_row, lhs_depth = (1, m) if a.adj_x else (k, 1)
    y_shape, adj_y = y.shape, a.adj_y
    if y.data is not None and not adj_y:
        # a constant right-hand side: stored [batch][cols][depth], each column contiguous
        rhs = ctx.const_array(f"{node.name}_rhs_t", np.ascontiguousarray(np.swapaxes(y.data, -1, -2)))
        y_shape, adj_y = (*y.shape[:-2], n, k), True
    else:
        rhs = ctx.ptr(node.inputs[1])  # type: ignore[arg-type]
    rhs_depth, rhs_col = (1, k) if adj_y else (n, 1)
    params = (
        ("batch", _c_list(_pad_batch(list(p.batch), 1))),
        ("lhs_batch_stride", _c_list(_pad_batch(batch_strides(x.shape, rank), 0))),
        ("rhs_batch_stride", _c_list(_pad_batch(batch_strides(y_shape, rank), 0))),
        ("rows", str(m)), ("depth", str(k)), ("cols", str(n)),
        ("lhs_row_stride", str(lhs_row)), ("lhs_depth_stride", str(lhs_depth)),
        ("rhs_depth_stride", str(rhs_depth)), ("rhs_col_stride", str(rhs_col)),
        ("lhs_offset", str(p.lhs_offset)), ("rhs_offset", str(p.rhs_offset)),
        ("output_zp", str(p.output_offset)),
        ("multiplier", str(p.multiplier)), ("shift", str(p.shift)),
    )  # fmt: skip
    args = (ctx.ptr(node.inputs[0]), rhs, ctx.ptr(node.outputs[0]))  # type: ignore[arg-type]
    kernel = "mf_batch_matmul_s16" if p.dtype == "int16" else "mf_batch_matmul_s8"
    return Call(kernel, "mf_bmm_params", params, args, SOURCES)


EMITTERS: dict[Op, EmitFn] = {
    Op.TRANSPOSE_CONV: emit_transpose_conv,
    Op.BATCH_MATMUL: emit_batch_matmul,
}
