"""Shape rules of the spatial family: GATHER, GATHER_ND, MIRROR_PAD, REVERSE_V2,
DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND.

Each follows the Prepare function of TF-Lite Micro's (or, where TF-Lite Micro checks
less, LiteRT's) kernel. `gather_dims`, `mirror_limit`, `block_operands` and
`normalised_axes` are the one place their operand checks live: the reference kernels
and the code generator call them too. Rules receive a shapes._Ctx; shapes.py imports
this module, so _Ctx is named here for type checking only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.ir import ops as O

if TYPE_CHECKING:
    from mcuforge.ir.shapes import Shape, _Ctx


def gather_dims(x: Shape, idx: Shape, a: O.GatherAttrs, where: str) -> tuple[int, int]:
    """(axis, batch_dims) of a GATHER, normalised as TF-Lite Micro's GatherPrepare does."""
    axis = a.axis + len(x) if a.axis < 0 else a.axis
    if not 0 <= axis < len(x):
        raise ModelFormatError(f"{where}: axis {a.axis} is out of range for params of rank {len(x)}")
    bd = a.batch_dims + len(idx) if a.batch_dims < 0 else a.batch_dims
    if not 0 <= bd <= min(axis, len(idx)):
        raise ModelFormatError(
            f"{where}: batch_dims {a.batch_dims} must lie in [0, {min(axis, len(idx))}] "
            f"for axis {axis} and indices of rank {len(idx)}"
        )
    if tuple(x[:bd]) != tuple(idx[:bd]):
        raise ModelFormatError(f"{where}: the first {bd} dimensions of params {x} and indices {idx} differ")
    return axis, bd


def check_indices(values: np.ndarray, limits, where: str, error=ModelFormatError) -> None:
    """Every index along the last axis of `values` (or every value when `limits` is an int) in [0, limit)."""
    v = np.asarray(values, dtype=np.int64)
    hi = np.asarray(limits, dtype=np.int64)
    bad = (v < 0) | (v >= hi)
    if np.any(bad):
        first = int(v[bad].reshape(-1)[0])
        what = f"an axis of size {int(hi)}" if hi.ndim == 0 else f"dimensions {tuple(int(d) for d in hi)}"
        raise error(f"{where}: index {first} is out of range for {what}")


def _gather(ctx: _Ctx, a: O.GatherAttrs) -> Shape:
    x, idx = ctx.shape(0, "params"), ctx.shape(1, "indices")
    axis, bd = gather_dims(x, idx, a, ctx.where)
    t = ctx.tensor(1)
    if t.data is not None:
        check_indices(t.data, x[axis], ctx.where)
    return (*x[:axis], *idx[bd:], *x[axis + 1 :])


def _gather_nd(ctx: _Ctx, _a) -> Shape:
    x, idx = ctx.shape(0, "params"), ctx.shape(1, "indices")
    if not x or not idx:
        raise ctx.bad(f"params {x} and indices {idx} must both have rank 1 or more")
    k = idx[-1]
    if k > len(x):
        raise ctx.bad(f"indices of depth {k} do not fit params of rank {len(x)}")
    t = ctx.tensor(1)
    if t.data is not None and t.data.size:
        check_indices(t.data.reshape(-1, k), x[:k], ctx.where)
    return (*idx[:-1], *x[k:])


def mirror_limit(mode: O.MirrorPadMode, size: int) -> int:
    """The most MIRROR_PAD may add on one side of an axis of `size`: REFLECT size-1, SYMMETRIC size."""
    return size - 1 if O.MirrorPadMode(mode) == O.MirrorPadMode.REFLECT else size


def _mirror_pad(ctx: _Ctx, a: O.MirrorPadAttrs) -> Shape:
    x = ctx.shape(0)
    p = ctx.ints(1, "paddings")
    if ctx.tensor(1).shape != (len(x), 2):
        raise ctx.bad(f"paddings have shape {ctx.tensor(1).shape}, expected {(len(x), 2)} for rank {len(x)}")
    p = p.reshape(-1, 2)
    for d, (lo, hi) in zip(x, p):
        if min(lo, hi) < 0 or max(lo, hi) > mirror_limit(a.mode, d):
            raise ctx.bad(
                f"paddings {p.tolist()} exceed what {a.mode} mirroring allows "
                f"(0 to {mirror_limit(a.mode, d)} on an axis of size {d})"
            )
    return tuple(int(d + lo + hi) for d, (lo, hi) in zip(x, p))


def normalised_axes(axes, rank: int, where: str) -> list[int]:
    """REVERSE_V2's axes in [0, rank), sorted; repeats are malformed."""
    out = []
    for v in np.asarray(axes, dtype=np.int64).reshape(-1):
        if not -rank <= v < rank:
            raise ModelFormatError(f"{where}: axis {int(v)} is out of range for rank {rank}")
        out.append(int(v) % rank)
    if len(set(out)) != len(out):
        raise ModelFormatError(f"{where}: axes {sorted(out)} name an axis twice")
    return sorted(out)


def _reverse(ctx: _Ctx, _a) -> Shape:
    x = ctx.shape(0)
    if len(ctx.tensor(1).shape) != 1:
        raise ctx.bad(f"the axis operand has shape {ctx.tensor(1).shape}, expected rank 1")
    normalised_axes(ctx.ints(1, "axis"), len(x), ctx.where)
    return x


def _depth_to_space(ctx: _Ctx, a: O.BlockAttrs) -> Shape:
    n, h, w, c = ctx.shape(0, "input", (4,))
    b = a.block_size
    if b < 1 or c % (b * b):
        raise ctx.bad(f"block size {b} does not divide the {c} channels into {b}x{b} blocks")
    return (n, h * b, w * b, c // (b * b))


def _space_to_depth(ctx: _Ctx, a: O.BlockAttrs) -> Shape:
    n, h, w, c = ctx.shape(0, "input", (4,))
    b = a.block_size
    if b < 1 or h % b or w % b:
        raise ctx.bad(f"block size {b} does not divide the {h}x{w} input")
    return (n, h // b, w // b, c * b * b)


def block_operands(x: Shape, block, amounts, where: str) -> tuple[list[int], list[list[int]]]:
    """SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND: (block, [before, after] per spatial axis), checked.

    As LiteRT's and TF-Lite Micro's kernels: a rank-3 (N, W, C) or rank-4 (N, H, W, C)
    input, one block size per spatial axis.
    """
    if len(x) not in (3, 4):
        raise UnsupportedError(f"{where}: an input of rank {len(x)} is not supported (TFLite takes rank 3 or 4)")
    m = len(x) - 2
    block = [int(v) for v in np.asarray(block).reshape(-1)]
    amounts = np.asarray(amounts, dtype=np.int64)
    if amounts.size != 2 * len(block):
        raise ModelFormatError(f"{where}: {len(block)} block sizes need {len(block)}x2 amounts, not {amounts.size}")
    if len(block) != m:
        raise UnsupportedError(
            f"{where}: {len(block)} block sizes for a rank-{len(x)} input are not supported "
            f"(TFLite's kernels take one per axis between batch and channels, {m} here)"
        )
    if min(block) < 1 or np.any(amounts < 0):
        raise ModelFormatError(f"{where}: block {block} must be positive and amounts {amounts.tolist()} not negative")
    return block, [[int(lo), int(hi)] for lo, hi in amounts.reshape(m, 2)]


def _space_to_batch(ctx: _Ctx, _a) -> Shape:
    x = ctx.shape(0)
    block, pads = block_operands(x, ctx.ints(1, "block shape"), ctx.ints(2, "paddings"), ctx.where)
    spatial = []
    for d, b, (lo, hi) in zip(x[1:-1], block, pads):
        if (d + lo + hi) % b:
            raise ctx.bad(f"the padded size {d + lo + hi} is not a multiple of the block size {b}")
        spatial.append((d + lo + hi) // b)
    return (x[0] * int(np.prod(block)), *spatial, x[-1])


def _batch_to_space(ctx: _Ctx, _a) -> Shape:
    x = ctx.shape(0)
    block, crops = block_operands(x, ctx.ints(1, "block shape"), ctx.ints(2, "crops"), ctx.where)
    nb = int(np.prod(block))
    if x[0] % nb:
        raise ctx.bad(f"the batch {x[0]} is not a multiple of the block's {nb} pixels")
    spatial = [d * b - lo - hi for d, b, (lo, hi) in zip(x[1:-1], block, crops)]
    return (x[0] // nb, *spatial, x[-1])


RULES = {
    O.Op.GATHER: _gather,
    O.Op.GATHER_ND: _gather_nd,
    O.Op.MIRROR_PAD: _mirror_pad,
    O.Op.REVERSE_V2: _reverse,
    O.Op.DEPTH_TO_SPACE: _depth_to_space,
    O.Op.SPACE_TO_DEPTH: _space_to_depth,
    O.Op.SPACE_TO_BATCH_ND: _space_to_batch,
    O.Op.BATCH_TO_SPACE_ND: _batch_to_space,
}
