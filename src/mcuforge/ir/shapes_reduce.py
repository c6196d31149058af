"""Shape rules of the reduce family's ARG_MAX / ARG_MIN, RESIZE_BILINEAR and CUMSUM.

SUM and REDUCE_MIN use shapes.py's `_reduce` like MEAN. The rules take shapes.py's
per-node context (`ctx`: shape, ints, axis, bad, g, node, where); this module does not
import shapes.py, which imports it.
"""

from __future__ import annotations

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.ir import ops as O

Shape = tuple[int, ...]
INDEX_TYPES = ("int32", "int64")


def one_axis(ctx, rank: int) -> int:
    """The single value of the axis operand (input 1), made non-negative."""
    axis = ctx.ints(1, "axis")
    if axis.size != 1:
        raise ctx.bad(f"the axis operand holds {axis.size} values, expected one")
    return ctx.axis(int(axis[0]), rank)


def arg_min_max(ctx, a: O.ArgMinMaxAttrs) -> Shape:
    """reference_ops::ArgMinMax: the input's shape without the axis; int32 or int64 indices."""
    x = ctx.shape(0)
    if not x:
        raise ctx.bad("the input is a scalar; it needs at least one dimension")
    if a.output_type not in INDEX_TYPES:
        raise UnsupportedError(f"{ctx.where} writes {a.output_type} indices; supported: int32 and int64")
    out = ctx.node.outputs[0] if ctx.node.outputs else None
    if out in ctx.g.tensors and ctx.g.tensors[out].dtype != a.output_type:
        raise ctx.bad(f"its options ask for {a.output_type} indices but the output is {ctx.g.tensors[out].dtype}")
    axis = one_axis(ctx, len(x))
    return tuple(d for i, d in enumerate(x) if i != axis)


def resize_bilinear(ctx, a: O.ResizeAttrs) -> Shape:
    """(N, size[0], size[1], C) of a 4-D input; align_corners excludes half_pixel_centers."""
    if a.align_corners and a.half_pixel_centers:
        raise ModelFormatError(f"{ctx.where} sets both align_corners and half_pixel_centers, which TFLite forbids")
    n, _h, _w, c = ctx.shape(0, "input", (4,))
    size = ctx.ints(1, "size")
    if size.size != 2 or (size < 1).any():
        raise ctx.bad(f"size {size.tolist()} must be two positive integers")
    return (n, int(size[0]), int(size[1]), c)


def cumsum(ctx, _a: O.CumsumAttrs) -> Shape:
    """The input's shape; the axis operand holds one in-range value."""
    x = ctx.shape(0)
    if not x:
        raise ctx.bad("the input is a scalar; it needs at least one dimension")
    one_axis(ctx, len(x))
    return x
