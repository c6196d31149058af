"""Shape rules of the matmul family (TRANSPOSE_CONV, BATCH_MATMUL), merged into
ir.shapes.RULES. Each takes the `_Ctx` of ir.shapes (not imported here, which would be
circular) and the node's attributes.
"""

from __future__ import annotations

from mcuforge.errors import UnsupportedError
from mcuforge.ir import ops as O

Shape = tuple[int, ...]

MAX_MATMUL_RANK = 5  # TF-Lite Micro's BatchMatMulPrepare: ranks 2 to 5


def transpose_conv(ctx, a: O.TransposeConvAttrs) -> Shape:
    """TRANSPOSE_CONV: inputs (output_shape, weights O x KH x KW x I, input N x H x W x I,
    optional bias of O). The output shape is the constant output_shape operand, as TFLite
    takes it; TF-Lite Micro does not check it against the input's spatial size (every
    input pixel scatters into the output grid and what falls outside is dropped), so
    neither does this rule (LiteRT refuses such a file; tests/ref/test_matmul.py).
    Batch and channels must agree."""
    out = tuple(int(v) for v in ctx.ints(0, "output shape"))
    if len(ctx.tensor(0, "output shape").shape) != 1 or len(out) != 4:
        raise ctx.bad(f"the output shape operand holds {list(out)}, expected 4 values (N, H, W, C)")
    o, kh, kw, ci = ctx.shape(1, "filter", (4,))
    n, _h, _w, c = ctx.shape(2, "input", (4,))
    if any(int(s) < 1 for s in a.stride):
        raise ctx.bad(f"stride {tuple(a.stride)} must be at least 1")
    if isinstance(a.padding, tuple):
        raise UnsupportedError(f"{ctx.where}: explicit padding {a.padding} is not supported, only SAME and VALID")
    if min(kh, kw) < 1:
        raise ctx.bad(f"the filter has shape {(o, kh, kw, ci)}, whose window is empty")
    if c != ci:
        raise ctx.bad(f"input has {c} channels but the filter expects {ci}")
    if out[0] != n or out[3] != o:
        raise ctx.bad(f"output shape {out} does not match batch {n} and the filter's {o} output channels")
    if len(ctx.node.inputs) > 3 and ctx.node.inputs[3] is not None:
        size = 1
        for d in ctx.shape(3, "bias"):
            size *= d
        if size != o:
            raise ctx.bad(f"bias has shape {ctx.shape(3, 'bias')} but there are {o} output channels")
    return out


def matmul_dims(x: Shape, y: Shape, a: O.BatchMatMulAttrs) -> tuple[Shape, int, int, int]:
    """(broadcast batch shape, rows M, accumulation depth K, columns N) of x @ y, with
    x's last two axes swapped if adj_x and y's if adj_y; ValueError names a mismatch."""
    rank = max(len(x), len(y))
    xe, ye = (1,) * (rank - len(x)) + tuple(x), (1,) * (rank - len(y)) + tuple(y)
    batch = []
    for dx, dy in zip(xe[:-2], ye[:-2]):
        if dx != dy and dx != 1 and dy != 1:
            raise ValueError(f"batch dimensions of {tuple(x)} and {tuple(y)} do not broadcast")
        batch.append(dy if dx == 1 else dx)
    m, kx = (xe[-1], xe[-2]) if a.adj_x else (xe[-2], xe[-1])
    ky, n = (ye[-1], ye[-2]) if a.adj_y else (ye[-2], ye[-1])
    if kx != ky:
        raise ValueError(
            f"input 0 {tuple(x)} (adj_x={a.adj_x}) gives depth {kx} but input 1 {tuple(y)} (adj_y={a.adj_y}) gives {ky}"
        )
    return tuple(batch), m, kx, n


def batch_matmul(ctx, a: O.BatchMatMulAttrs) -> Shape:
    """BATCH_MATMUL: batch dimensions broadcast (shorter shapes extended with leading 1s),
    then rows of input 0 times columns of input 1 (TF-Lite Micro's ReshapeOutputTensor)."""
    x, y = ctx.shape(0, "input 0"), ctx.shape(1, "input 1")
    for what, s in (("input 0", x), ("input 1", y)):
        if len(s) < 2:
            raise ctx.bad(f"{what} has shape {s}, expected rank at least 2")
        if len(s) > MAX_MATMUL_RANK:
            raise UnsupportedError(f"{ctx.where}: {what} has rank {len(s)}; BATCH_MATMUL supports ranks 2 to 5")
    try:
        batch, m, _k, n = matmul_dims(x, y, a)
    except ValueError as e:
        raise ctx.bad(str(e)) from None
    return (*batch, m, n)
