"""Emitter for RESIZE_BILINEAR (kernel in kernels/portable/mf_resize.c).

ref/resize.py's prepare_resize_bilinear gives TF-Lite Micro's fixed-point position of
every output row and column; here they become const tables of input element offsets
and weights, so the kernel does no position arithmetic.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import Call, EmitContext, EmitFn
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref.resize import AxisTable, prepare_resize_bilinear


def _table(t: AxisTable, stride: int) -> np.ndarray:
    """[lo * stride, hi * stride, frac] per output index, flattened."""
    rows = [(lo * stride, hi * stride, f) for lo, hi, f in zip(t.lo, t.hi, t.frac)]
    return np.asarray(rows, dtype=np.int32).reshape(-1)


def emit_resize_bilinear(g: Graph, node: Node, ctx: EmitContext) -> Call:
    p = prepare_resize_bilinear(g, node)
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]  # type: ignore[index]
    n, h, w, c = x.shape
    params = (
        ("batch", str(n)),
        ("in_image", str(h * w * c)),
        ("depth", str(c)),
        ("out_h", str(y.shape[1])),
        ("out_w", str(y.shape[2])),
        ("rows", ctx.const_array(f"{node.name}_rows", _table(p.rows, w * c))),
        ("cols", ctx.const_array(f"{node.name}_cols", _table(p.cols, c))),
    )
    args = (ctx.ptr(x.name), ctx.ptr(y.name))
    return Call("mf_resize_bilinear_s8", "mf_resize_bilinear_params", params, args, ("mf_resize",))


EMITTERS: dict[Op, EmitFn] = {
    Op.RESIZE_BILINEAR: emit_resize_bilinear,
}
