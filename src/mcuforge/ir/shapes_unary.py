"""Shape rules of the unary family (ABS, NEG, ELU, RSQRT, LOG_SOFTMAX, L2_NORMALIZATION,
ZEROS_LIKE, FILL, CAST), merged into ir/shapes.py's RULES.

Besides the shapes, these rules refuse at read time what TF-Lite Micro refuses in its
Prepare functions and mcuforge does not support (one sentence naming the node).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcuforge.errors import UnsupportedError
from mcuforge.ir import ops as O
from mcuforge.ir.ops import Op

if TYPE_CHECKING:  # shapes.py imports this module; its _Ctx is only needed for annotations
    from mcuforge.ir.shapes import Shape, _Ctx

# CAST's (input, output) dtype pairs: int8 data to and from int32 / float32 at the boundary.
CAST_PAIRS = frozenset({("int8", "int32"), ("int8", "float32"), ("int32", "int8"), ("float32", "int8")})
# family signal (begin)
# static_casts between the audio front end's integers (ref/signal_int.py)
SIGNAL_CAST_PAIRS = frozenset({("int16", "int32"), ("uint32", "int32"), ("int32", "uint32"), ("int32", "int16")})
CAST_PAIRS = CAST_PAIRS | SIGNAL_CAST_PAIRS
# family signal (end)
L2_NORM_MAX_RANK = 4  # L2NormPrepare: NumDimensions(input) <= 4


def same(ctx: _Ctx, _a) -> Shape:
    return ctx.shape(0)


def l2_normalization(ctx: _Ctx, a: O.L2NormAttrs) -> Shape:
    x = ctx.shape(0)
    if a.activation != O.Act.NONE:
        raise UnsupportedError(
            f"{ctx.where}: the fused activation {a.activation} is not supported (TF-Lite Micro runs only NONE)"
        )
    if not 1 <= len(x) <= L2_NORM_MAX_RANK:
        raise UnsupportedError(f"{ctx.where}: input of rank {len(x)} is not supported; TF-Lite Micro takes rank 1 to 4")
    return x


def fill(ctx: _Ctx, _a) -> Shape:
    """FillPrepare: constant rank-1 dims, a scalar value of the output's dtype."""
    dims_t = ctx.tensor(0, "dims")
    dims = ctx.ints(0, "dims")
    if len(dims_t.shape) != 1:
        raise ctx.bad(f"the dims operand has shape {dims_t.shape}, expected rank 1")
    if (dims < 0).any():
        raise ctx.bad(f"dims {dims.tolist()} contain a negative size")
    value = ctx.tensor(1, "value")
    if value.shape != ():
        raise ctx.bad(f"the value {value.name!r} has shape {value.shape}, expected a scalar")
    out = ctx.g.tensors.get(ctx.node.outputs[0])
    if out is not None and out.dtype != value.dtype:
        raise ctx.bad(f"the value is {value.dtype} but the output is {out.dtype}")
    return tuple(int(d) for d in dims)


def cast(ctx: _Ctx, _a) -> Shape:
    x = ctx.tensor(0)
    out = ctx.g.tensors.get(ctx.node.outputs[0])
    if out is not None and (x.dtype, out.dtype) not in CAST_PAIRS:
        raise UnsupportedError(
            f"{ctx.where}: casting {x.dtype} to {out.dtype} is not supported; "
            "mcuforge casts int8 to and from int32 or float32"
        )
    return x.shape


RULES = {
    Op.ABS: same,
    Op.NEG: same,
    Op.ELU: same,
    Op.RSQRT: same,
    Op.LOG_SOFTMAX: same,
    Op.L2_NORMALIZATION: l2_normalization,
    Op.ZEROS_LIKE: same,
    Op.FILL: fill,
    Op.CAST: cast,
}
