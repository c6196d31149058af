"""Shape rules and index arithmetic of the slicing family: SLICE, SPLIT, SPLIT_V, UNPACK,
PACK, TILE, BROADCAST_TO (rows in ir/shapes.py RULES).

The index helpers (`slice_box`, `split_sizes`, `broadcast_shape`) are the one place each
op's operand arithmetic lives: the shape rules, the reference kernels (ref/slicing.py)
and the emitters (codegen/ops_slicing.py) all call them. They follow TFLite's kernels
(lite/kernels/slice.cc, split.cc, split_v.cc, unpack.cc, pack.cc, tile.cc,
broadcast_to.cc) and raise ModelFormatError with the caller's `where` prefix.

SPLIT, SPLIT_V and UNPACK have several outputs: their rules return a list of shapes.
The rules take the shapes module's per-node context (`ctx`: shape, ints, axis, bad).
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.errors import ModelFormatError

Shape = tuple[int, ...]


def slice_box(in_shape: Shape, begin, size, where: str = "SLICE") -> tuple[list[int], list[int]]:
    """SLICE's (begins, sizes) per axis: a size of -1 takes the rest of the axis
    (slice.cc), every begin must lie in [0, n] and begin + size in [begin, n]."""
    begin = np.asarray(begin, dtype=np.int64).reshape(-1)
    size = np.asarray(size, dtype=np.int64).reshape(-1)
    rank = len(in_shape)
    if begin.size != rank or size.size != rank:
        raise ModelFormatError(
            f"{where}: begin and size hold {begin.size} and {size.size} values for a rank-{rank} input"
        )
    begins, sizes = [], []
    for d, n in enumerate(in_shape):
        b, s = int(begin[d]), int(size[d])
        s = n - b if s == -1 else s
        if not 0 <= b <= n or not 0 <= s <= n - b:
            raise ModelFormatError(
                f"{where}: begin {int(begin[d])} and size {int(size[d])} do not fit axis {d} of size {n}"
            )
        begins.append(b)
        sizes.append(s)
    return begins, sizes


def split_sizes(in_shape: Shape, axis: int, sizes, where: str = "SPLIT_V") -> tuple[int, list[int]]:
    """(axis, output sizes along it) of SPLIT_V: at most one size is -1 and takes what the
    others leave (split_v.cc); the sizes must add up to the axis. `axis` may be negative."""
    rank = len(in_shape)
    if not -rank <= axis < rank:
        raise ModelFormatError(f"{where}: axis {axis} is out of range for rank {rank}")
    axis %= rank
    sizes = [int(s) for s in np.asarray(sizes, dtype=np.int64).reshape(-1)]
    n = in_shape[axis]
    open_ = [i for i, s in enumerate(sizes) if s == -1]
    if len(open_) > 1 or any(s < -1 for s in sizes):
        raise ModelFormatError(f"{where}: split sizes {sizes} may hold one -1 and no other negative value")
    if open_:
        sizes[open_[0]] = n - (sum(sizes) + 1)
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise ModelFormatError(f"{where}: split sizes {sizes} do not add up to the axis' {n}")
    return axis, sizes


def even_split(in_shape: Shape, axis: int, num: int, where: str = "SPLIT") -> tuple[int, list[int]]:
    """(axis, output sizes) of SPLIT into `num` equal parts (split.cc)."""
    rank = len(in_shape)
    if not -rank <= axis < rank:
        raise ModelFormatError(f"{where}: axis {axis} is out of range for rank {rank}")
    axis %= rank
    if num < 1 or in_shape[axis] % num:
        raise ModelFormatError(f"{where}: axis {axis} of size {in_shape[axis]} cannot be split into {num} equal parts")
    return axis, [in_shape[axis] // num] * num


def broadcast_shape(in_shape: Shape, shape, where: str = "BROADCAST_TO") -> Shape:
    """BROADCAST_TO's output: `shape`, which must be at least the input's rank, and each
    input dimension (aligned on the right) must be 1 or equal its output dimension."""
    out = tuple(int(d) for d in np.asarray(shape, dtype=np.int64).reshape(-1))
    if len(out) < len(in_shape) or any(d < 0 for d in out):
        raise ModelFormatError(f"{where}: the input of shape {in_shape} cannot be broadcast to {out}")
    for d, n in zip(out[len(out) - len(in_shape) :], in_shape):
        if n != d and n != 1:
            raise ModelFormatError(f"{where}: the input of shape {in_shape} cannot be broadcast to {out}")
    return out


def tile_multiples(in_shape: Shape, multiples, where: str = "TILE") -> list[int]:
    m = [int(v) for v in np.asarray(multiples, dtype=np.int64).reshape(-1)]
    if len(m) != len(in_shape) or any(v < 0 for v in m):
        raise ModelFormatError(f"{where}: multiples {m} do not fit a rank-{len(in_shape)} input")
    return m


def _scalar(ctx, i: int, what: str) -> int:
    v = ctx.ints(i, what)
    if v.size != 1:
        raise ctx.bad(f"the {what} holds {v.size} values, expected one")
    return int(v[0])


# ------------------------------------------------------------------ rules
def _same_dtype(ctx, slots) -> None:
    """These ops move bytes: every data input and output has one dtype."""
    names = [ctx.node.inputs[i] for i in slots] + list(ctx.node.outputs)
    dtypes = {ctx.g.tensors[n].dtype for n in names if n in ctx.g.tensors}
    if len(dtypes) > 1:
        raise ctx.bad(f"mixes the dtypes {sorted(dtypes)}; its data inputs and outputs must have one dtype")


def slice_rule(ctx, _a) -> Shape:
    x = ctx.shape(0)
    _same_dtype(ctx, [0])
    return tuple(slice_box(x, ctx.ints(1, "begin"), ctx.ints(2, "size"), ctx.where)[1])


def _outputs(ctx, count: int, what: str) -> None:
    if count != len(ctx.node.outputs):
        raise ctx.bad(f"{what} is {count} but the node has {len(ctx.node.outputs)} outputs")


def _pieces(x: Shape, axis: int, sizes: list[int]) -> list[Shape]:
    return [(*x[:axis], s, *x[axis + 1 :]) for s in sizes]


def split_rule(ctx, a) -> list[Shape]:
    x = ctx.shape(1)  # SPLIT's inputs: (axis, input)
    _same_dtype(ctx, [1])
    _outputs(ctx, a.num_splits, "num_splits")
    axis, sizes = even_split(x, _scalar(ctx, 0, "axis"), a.num_splits, ctx.where)
    return _pieces(x, axis, sizes)


def split_v_rule(ctx, a) -> list[Shape]:
    x = ctx.shape(0)
    _same_dtype(ctx, [0])
    sizes = ctx.ints(1, "size_splits")
    _outputs(ctx, a.num_splits, "num_splits")
    if sizes.size != a.num_splits:
        raise ctx.bad(f"size_splits holds {sizes.size} values but num_splits is {a.num_splits}")
    axis, sizes = split_sizes(x, _scalar(ctx, 2, "axis"), sizes, ctx.where)
    return _pieces(x, axis, sizes)


def unpack_rule(ctx, a) -> list[Shape]:
    x = ctx.shape(0)
    _same_dtype(ctx, [0])
    axis = ctx.axis(a.axis, len(x))
    if a.num != x[axis]:
        raise ctx.bad(f"num is {a.num} but axis {axis} of the input {x} has size {x[axis]}")
    _outputs(ctx, a.num, "num")
    return [x[:axis] + x[axis + 1 :]] * a.num


def pack_rule(ctx, a) -> Shape:
    shapes = [ctx.shape(i) for i in range(len(ctx.node.inputs))]
    _same_dtype(ctx, range(len(shapes)))
    if a.values_count != len(shapes):
        raise ctx.bad(f"values_count is {a.values_count} but the node has {len(shapes)} inputs")
    if any(s != shapes[0] for s in shapes):
        raise ctx.bad(f"its inputs have different shapes {sorted(set(shapes))}")
    axis = ctx.axis(a.axis, len(shapes[0]) + 1)
    return (*shapes[0][:axis], len(shapes), *shapes[0][axis:])


def tile_rule(ctx, _a) -> Shape:
    x = ctx.shape(0)
    _same_dtype(ctx, [0])
    return tuple(n * m for n, m in zip(x, tile_multiples(x, ctx.ints(1, "multiples"), ctx.where)))


def broadcast_to_rule(ctx, _a) -> Shape:
    _same_dtype(ctx, [0])
    return broadcast_shape(ctx.shape(0), ctx.ints(1, "shape"), ctx.where)


# ------------------------------------------------------------------ views
VIEW_OPS = frozenset({"SLICE", "SPLIT", "SPLIT_V", "UNPACK", "TILE", "BROADCAST_TO"})


def _contiguous(shape: Shape, sizes: list[int], k: int) -> bool:
    """A box of these sizes is one run of bytes: one index on every axis before k, all of every axis after."""
    return all(s == 1 for s in sizes[:k]) and tuple(sizes[k + 1 :]) == tuple(shape[k + 1 :])


def views(g, node) -> tuple[str, list[int]] | None:
    """(input, byte offset of each output inside it) when every output of this SLICE,
    SPLIT, SPLIT_V, UNPACK, TILE or BROADCAST_TO is one contiguous run of its non-constant
    input's bytes (the planner may then place the outputs there: plan/lifetimes.py);
    else None.

    SPLIT / SPLIT_V / UNPACK along an axis with only unit axes before it; a SLICE whose
    box is a single index on the axes before some axis k and the full axis after it; a
    TILE or BROADCAST_TO that repeats nothing (its output holds its input's bytes)."""
    op = str(node.op)
    if op not in VIEW_OPS:
        return None
    src = node.inputs[1] if op == "SPLIT" else node.inputs[0]
    x = g.tensors[src]
    if x.is_const or any(g.tensors[n].data is None for n in node.inputs if n is not None and n != src):
        return None
    item = np.dtype(x.dtype).itemsize
    where = f"{op} node {node.name!r}"
    if op in ("TILE", "BROADCAST_TO"):
        y = g.tensors[node.outputs[0]]
        return (src, [0]) if y.size == x.size and y.dtype == x.dtype else None
    if op == "SLICE":
        begins, sizes = slice_box(x.shape, g.tensors[node.inputs[1]].data, g.tensors[node.inputs[2]].data, where)
        rank = len(x.shape)
        if rank and not any(_contiguous(x.shape, sizes, k) for k in range(rank)):
            return None
        strides = [math.prod(x.shape[d + 1 :]) * item for d in range(rank)]
        return src, [sum(b * s for b, s in zip(begins, strides))]
    if op == "UNPACK":
        axis = node.attrs.axis % len(x.shape)
        sizes = [1] * x.shape[axis]
    elif op == "SPLIT":
        axis, sizes = even_split(x.shape, _first(g, node.inputs[0]), node.attrs.num_splits, where)
    else:
        axis, sizes = split_sizes(x.shape, _first(g, node.inputs[2]), g.tensors[node.inputs[1]].data, where)
    if math.prod(x.shape[:axis]) != 1:
        return None
    inner = math.prod(x.shape[axis + 1 :]) * item
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) * inner
    return src, [int(s) for s in starts]


def _first(g, name: str) -> int:
    return int(np.asarray(g.tensors[name].data).reshape(-1)[0])


# ------------------------------------------------------------------ gathers (views the other way)
GATHER_OPS = frozenset({"CONCATENATION", "PACK"})


def gathers(g, node) -> list[int] | None:
    """The byte offset of each input inside the output when every input of this
    CONCATENATION or PACK is one contiguous run of its output's bytes, a plain copy (same
    dtype and quantisation as the output, no fused activation); else None. The planner
    may then let each input's producer write into the output's buffer (plan/lifetimes.py).

    CONCATENATION along an axis with only unit axes before it; PACK along such an axis
    (axis 0, or after unit axes)."""
    op = str(node.op)
    if op not in GATHER_OPS or not node.inputs or any(n is None for n in node.inputs):
        return None
    y = g.tensors[node.outputs[0]]
    xs = [g.tensors[n] for n in node.inputs]
    rank = len(y.shape)
    if not rank or any(x.dtype != y.dtype for x in xs):
        return None
    if op == "CONCATENATION" and (
        str(node.attrs.activation) != "NONE" or not all(_same_quant(x.quant, y.quant) for x in xs)
    ):
        return None  # the kernel would requantise or clamp: not a copy (PACK copies bytes whatever the quantisation)
    if math.prod(y.shape[: node.attrs.axis % rank]) != 1:
        return None
    sizes = [x.nbytes for x in xs]
    if sum(sizes) != y.nbytes:
        return None
    return [int(s) for s in np.concatenate([[0], np.cumsum(sizes)[:-1]])]


def _same_quant(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point)
