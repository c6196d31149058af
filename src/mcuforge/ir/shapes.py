"""Output shapes of every op kind, from the input shapes, attributes and constant operands.

`infer_shapes(g, node)` returns one shape per output (a rule returns a shape, or a
list of shapes for an op with several outputs such as SPLIT). It follows the shape rules of
TFLite's kernels (tensorflow/lite/kernels/*.cc and TF-Lite Micro's Prepare functions),
so that a shape stored in a .tflite file can be checked against it, and raises
ModelFormatError (the operands contradict each other) or UnsupportedError (a form
mcuforge does not handle, such as a non-constant operand) with one sentence.

`strided_slice_ranges` is the one place where STRIDED_SLICE index arithmetic lives;
the reference executor and the import-time folding use it too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.ir import ops as O
from mcuforge.ir import (  # the operator families' rules (RULES below)
    shapes_binary,
    shapes_lstm,
    shapes_matmul,
    shapes_reduce,
    shapes_slicing,
    shapes_spatial,
    shapes_svdf,
    shapes_unary,
)
from mcuforge.ir import shapes_signal  # family signal
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op

Shape = tuple[int, ...]


class _Ctx:
    """One node being inferred: its tensors and the prefix of every message."""

    def __init__(self, g: Graph, node: Node, where: str | None) -> None:
        self.g, self.node = g, node
        if where is None:
            index = next((i for i, n in enumerate(g.nodes) if n is node), None)
            where = f"node {index} ({node.op})" if index is not None else f"{node.op} node {node.name!r}"
        self.where = where

    def bad(self, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.where}: {msg}")

    def tensor(self, i: int, what: str = "input") -> Tensor:
        ins = self.node.inputs
        if i >= len(ins) or ins[i] is None:
            raise self.bad(f"the {what} (input {i}) is missing")
        if ins[i] not in self.g.tensors:
            raise self.bad(f"input {i} names unknown tensor {ins[i]!r}")
        return self.g.tensors[ins[i]]

    def shape(self, i: int, what: str = "input", ranks: tuple[int, ...] | None = None) -> Shape:
        s = self.tensor(i, what).shape
        if ranks is not None and len(s) not in ranks:
            want = " or ".join(str(r) for r in ranks)
            raise self.bad(f"the {what} has shape {s}, expected rank {want}")
        return s

    def ints(self, i: int, what: str) -> np.ndarray:
        """The values of a constant integer operand, flattened to int64."""
        t = self.tensor(i, what)
        if t.data is None:
            raise UnsupportedError(
                f"{self.where}: the {what} tensor {t.name!r} is not constant, which mcuforge requires"
            )
        if not np.issubdtype(t.data.dtype, np.integer):
            raise self.bad(f"the {what} tensor {t.name!r} has dtype {t.dtype}, expected int32")
        return t.data.astype(np.int64).reshape(-1)

    def axis(self, a: int, rank: int, what: str = "axis") -> int:
        if not -rank <= a < rank:
            raise self.bad(f"{what} {a} is out of range for rank {rank}")
        return a % rank


def infer_shapes(g: Graph, node: Node, where: str | None = None) -> list[Shape]:
    """Output shapes of `node` in `g`; `where` overrides the "node i (OP)" message prefix."""
    ctx = _Ctx(g, node, where)
    if node.op not in RULES:
        raise UnsupportedError(f"{ctx.where}: no shape rule for {node.op}")
    result = RULES[node.op](ctx, node.attrs)
    # A rule returns one shape (a tuple), or a list of shapes for a multi-output op.
    shapes = [tuple(int(d) for d in s) for s in (result if isinstance(result, list) else [result])]
    if len(node.outputs) != len(shapes):
        raise ctx.bad(f"has {len(node.outputs)} outputs, expected {len(shapes)}")
    for shape in shapes:
        if any(d < 0 for d in shape):
            raise ctx.bad(f"its operands give the impossible output shape {shape}")
    return shapes


# ------------------------------------------------------------------ windows
def window(size: int, k: int, stride: int, dilation: int, padding) -> tuple[int, int]:
    """(output length, padding before) of a sliding window along one axis.

    `padding` is SAME, VALID or an explicit (before, after) pair. ComputeOutSize
    (TFLite kernels/padding.h): SAME gives ceil(size / stride), VALID
    (size + stride - effective_k) / stride in C integer division. ComputePaddingWithOffset:
    the total padding (out - 1) * stride + effective_k - size (at least 0) is split with
    the smaller half before, so an odd total puts the extra row or column after.
    """
    eff = (k - 1) * dilation + 1
    if isinstance(padding, tuple):
        before, after = padding
        return _c_div(size + before + after - eff + stride, stride), before
    if O.Padding(padding) == O.Padding.SAME:
        out = (size + stride - 1) // stride
    else:
        out = _c_div(size - eff + stride, stride)
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def window_out(size: int, k: int, stride: int, dilation: int, padding) -> int:
    """Output length of a sliding window (see `window`)."""
    return window(size, k, stride, dilation, padding)[0]


def same_padding(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) padding of SAME, as TFLite's ComputePaddingWithOffset: the odd pixel goes after."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _check_window(ctx: _Ctx, stride, dilation=(1, 1), kernel=(1, 1)) -> None:
    for name, pair in (("stride", stride), ("dilation", dilation), ("filter size", kernel)):
        if any(int(v) < 1 for v in pair):
            raise ctx.bad(f"{name} {tuple(pair)} must be at least 1")


def _spatial(ctx: _Ctx, hw: Shape, k: Shape, stride, dilation, padding) -> Shape:
    out = tuple(window_out(hw[i], k[i], stride[i], dilation[i], O.axis_padding(padding, i)) for i in range(2))
    if min(out) < 1:
        eff = tuple((k[i] - 1) * dilation[i] + 1 for i in range(2))
        raise ctx.bad(
            f"the {eff[0]}x{eff[1]} window (with dilation) does not fit "
            f"the {hw[0]}x{hw[1]} input with {padding} padding"
        )
    return out


def _bias(ctx: _Ctx, channels: int) -> None:
    if len(ctx.node.inputs) > 2 and ctx.node.inputs[2] is not None:
        b = ctx.shape(2, "bias")
        if int(np.prod(b, dtype=np.int64)) != channels:
            raise ctx.bad(f"bias has shape {b} but there are {channels} output channels")


def _conv(ctx: _Ctx, a: O.ConvAttrs) -> Shape:
    n, h, w, c = ctx.shape(0, "input", (4,))
    o, kh, kw, ci = ctx.shape(1, "filter", (4,))
    _check_window(ctx, a.stride, a.dilation)
    if c != ci:
        if ci > 0 and c % ci == 0:
            raise UnsupportedError(f"{ctx.where}: grouped convolution ({c // ci} groups) is not supported")
        raise ctx.bad(f"input has {c} channels but the filter expects {ci}")
    _bias(ctx, o)
    return (n, *_spatial(ctx, (h, w), (kh, kw), a.stride, a.dilation, a.padding), o)


def _depthwise(ctx: _Ctx, a: O.DepthwiseAttrs) -> Shape:
    n, h, w, c = ctx.shape(0, "input", (4,))
    one, kh, kw, o = ctx.shape(1, "filter", (4,))
    _check_window(ctx, a.stride, a.dilation)
    if one != 1:
        raise ctx.bad(f"depthwise filter has shape {(one, kh, kw, o)}, expected 1 in dimension 0")
    if a.depth_multiplier < 1 or c * a.depth_multiplier != o:
        raise ctx.bad(
            f"input has {c} channels and depth multiplier {a.depth_multiplier} but the filter has {o} output channels"
        )
    _bias(ctx, o)
    return (n, *_spatial(ctx, (h, w), (kh, kw), a.stride, a.dilation, a.padding), o)


def _fully_connected(ctx: _Ctx, a: O.FullyConnectedAttrs) -> Shape:
    x = ctx.shape(0, "input")
    units, depth = ctx.shape(1, "weights", (2,))
    size = int(np.prod(x, dtype=np.int64))
    if depth < 1 or len(x) < 1 or size % depth:
        raise ctx.bad(f"input of shape {x} cannot be split into rows of the weights' {depth} inputs")
    _bias(ctx, units)
    if a.keep_num_dims:
        if x[-1] != depth:
            raise ctx.bad(
                f"with keep_num_dims the input's last dimension {x[-1]} must equal the weights' {depth} inputs"
            )
        return (*x[:-1], units)
    return (size // depth, units)


def _broadcast(ctx: _Ctx, _a) -> Shape:
    a, b = ctx.shape(0), ctx.shape(1)
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ctx.bad(f"input shapes {a} and {b} do not broadcast") from None


def _pool(ctx: _Ctx, a: O.PoolAttrs) -> Shape:
    n, h, w, c = ctx.shape(0, "input", (4,))
    _check_window(ctx, a.stride, (1, 1), a.filter)
    return (n, *_spatial(ctx, (h, w), a.filter, a.stride, (1, 1), a.padding), c)


def _reduce(ctx: _Ctx, a: O.ReduceAttrs) -> Shape:
    x = ctx.shape(0)
    axes = {ctx.axis(int(v), len(x)) for v in ctx.ints(1, "axes")}
    if a.keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in axes)


def _pad(ctx: _Ctx, _a) -> Shape:
    x = ctx.shape(0)
    p = ctx.ints(1, "paddings")
    if ctx.tensor(1).shape != (len(x), 2):
        raise ctx.bad(
            f"paddings have shape {ctx.tensor(1).shape}, expected {(len(x), 2)} for an input of rank {len(x)}"
        )
    if np.any(p < 0):
        raise ctx.bad(f"paddings {p.reshape(-1, 2).tolist()} contain a negative amount")
    if ctx.node.op == Op.PADV2 and ctx.tensor(2, "constant value").size != 1:
        raise ctx.bad("the constant value must hold exactly one element")
    return tuple(d + int(p[2 * i]) + int(p[2 * i + 1]) for i, d in enumerate(x))


def reshape_target(size: int, dims, where: str) -> Shape:
    """Resolve a RESHAPE target with at most one -1 against `size` elements."""
    dims = [int(d) for d in dims]
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise ModelFormatError(f"{where}: target shape {tuple(dims)} may hold only one -1 and no other negative size")
    known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
    if -1 in dims:
        if known == 0 or size % known:
            raise ModelFormatError(f"{where}: {size} elements cannot be reshaped to {tuple(dims)}")
        dims[dims.index(-1)] = size // known
    elif known != size:
        raise ModelFormatError(f"{where}: {size} elements cannot be reshaped to {tuple(dims)}")
    return tuple(dims)


def _reshape(ctx: _Ctx, a: O.ReshapeAttrs) -> Shape:
    x = ctx.shape(0)
    size = int(np.prod(x, dtype=np.int64))
    dims = None
    if len(ctx.node.inputs) > 1 and ctx.node.inputs[1] is not None:
        t = ctx.tensor(1, "shape")
        if t.data is not None:
            if len(t.shape) != 1:
                raise ctx.bad(f"the shape operand has shape {t.shape}, expected rank 1")
            dims = ctx.ints(1, "shape")
    if dims is None and a.new_shape is not None:
        dims = a.new_shape
    if dims is None:
        # TF-Lite Micro's reshape trusts the stored output shape (reshape_common.cc).
        dims = ctx.g.tensors[ctx.node.outputs[0]].shape if ctx.node.outputs[0] in ctx.g.tensors else None
    if dims is None:
        raise UnsupportedError(f"{ctx.where}: the target shape is neither constant nor stored in the options")
    return reshape_target(size, dims, ctx.where)


def _squeeze(ctx: _Ctx, a: O.SqueezeAttrs) -> Shape:
    x = ctx.shape(0)
    if not a.squeeze_dims:
        return tuple(d for d in x if d != 1)
    dims = {ctx.axis(int(d), len(x), "squeeze dimension") for d in a.squeeze_dims}
    for d in sorted(dims):
        if x[d] != 1:
            raise ctx.bad(f"cannot squeeze dimension {d} of size {x[d]} in shape {x}")
    return tuple(s for i, s in enumerate(x) if i not in dims)


def _expand_dims(ctx: _Ctx, _a) -> Shape:
    x = ctx.shape(0)
    axis = ctx.ints(1, "axis")
    if axis.size != 1:
        raise ctx.bad(f"the axis operand holds {axis.size} values, expected one")
    a = int(axis[0])
    if not -len(x) - 1 <= a <= len(x):
        raise ctx.bad(f"axis {a} is out of range for rank {len(x)}")
    a = a + len(x) + 1 if a < 0 else a
    return (*x[:a], 1, *x[a:])


def _transpose(ctx: _Ctx, _a) -> Shape:
    x = ctx.shape(0)
    perm = [int(p) for p in ctx.ints(1, "permutation")]
    if sorted(perm) != list(range(len(x))):
        raise ctx.bad(f"permutation {perm} does not fit rank {len(x)}")
    return tuple(x[p] for p in perm)


def _concat(ctx: _Ctx, a: O.ConcatAttrs) -> Shape:
    shapes = [ctx.shape(i) for i in range(len(ctx.node.inputs))]
    if not shapes:
        raise ctx.bad("has no inputs")
    rank = len(shapes[0])
    axis = ctx.axis(a.axis, rank)
    for s in shapes[1:]:
        if len(s) != rank or any(s[i] != shapes[0][i] for i in range(rank) if i != axis):
            raise ctx.bad(f"input shapes {shapes[0]} and {s} differ outside axis {axis}")
    return (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1 :])


def _same(ctx: _Ctx, _a) -> Shape:
    return ctx.shape(0)


def _resize(ctx: _Ctx, _a: O.ResizeAttrs) -> Shape:
    n, _h, _w, c = ctx.shape(0, "input", (4,))
    size = ctx.ints(1, "size")
    if size.size != 2 or np.any(size < 1):
        raise ctx.bad(f"size {size.tolist()} must be two positive integers")
    return (n, int(size[0]), int(size[1]), c)


def strided_slice_ranges(
    in_shape: Shape, begin, end, strides, a: O.StridedSliceAttrs, where: str = "STRIDED_SLICE"
) -> tuple[list[range], Shape]:
    """Per input axis, the indices STRIDED_SLICE takes; and the output shape.

    Follows tf.strided_slice: the spec entries are matched to input axes, an ellipsis
    entry stands for as many full axes as needed (an implicit one trails the spec), a
    new-axis entry inserts a size-1 output axis, a shrink entry takes one index and
    drops the axis. Per axis, start and stop follow TFLite's StridedSliceStartForAxis /
    StridedSliceEndForAxis (strided_slice_logic.h): negative indices count from the end,
    clamping to [0, n] (or [-1, n-1] for a negative stride), masks override, and with
    `offset` the end is relative to the begin. The output length along an axis is
    len(range(start, stop, stride)), which equals TFLite's ceil((stop-start)/stride)
    clipped at 0. TF-Lite Micro ignores ellipsis, new-axis and offset (it zeroes them),
    so a model using them differs there; this is the TensorFlow meaning.
    """
    begin, end, strides = (np.asarray(v, dtype=np.int64).reshape(-1) for v in (begin, end, strides))
    n, rank = begin.size, len(in_shape)
    if not end.size == strides.size == n:
        raise ModelFormatError(f"{where}: begin, end and strides hold {n}, {end.size} and {strides.size} values")

    def bit(mask: int, i: int) -> bool:
        return bool(mask >> i & 1)

    ellipsis = [i for i in range(n) if bit(a.ellipsis_mask, i)]
    if len(ellipsis) > 1:
        raise ModelFormatError(f"{where}: ellipsis mask {a.ellipsis_mask} marks more than one entry")
    new_axis = [i for i in range(n) if bit(a.new_axis_mask, i) and i not in ellipsis]
    consuming = n - len(ellipsis) - len(new_axis)
    if consuming > rank:
        raise ModelFormatError(f"{where}: {n} slice entries do not fit an input of rank {rank}")
    spec: list[int | str] = []  # entry index, "full" (an axis the ellipsis covers) or "new"
    for i in range(n):
        if i in ellipsis:
            spec += ["full"] * (rank - consuming)
        else:
            spec.append("new" if i in new_axis else i)
    if not ellipsis:
        spec += ["full"] * (rank - consuming)
    ranges: list[range] = []
    out: list[int] = []
    for entry in spec:
        if entry == "new":
            out.append(1)
            continue
        size = in_shape[len(ranges)]
        if entry == "full":
            ranges.append(range(size))
            out.append(size)
            continue
        i = int(entry)
        stride = int(strides[i])
        if stride == 0:
            raise ModelFormatError(f"{where}: stride of slice entry {i} is zero")
        lo, hi = (0, size) if stride > 0 else (-1, size - 1)
        start = int(begin[i]) + (size if begin[i] < 0 else 0)
        start = min(max(start, lo), hi)
        if bit(a.begin_mask, i):
            start = 0 if stride > 0 else size - 1
        if bit(a.shrink_axis_mask, i):
            if not 0 <= start < size:
                raise ModelFormatError(f"{where}: index {int(begin[i])} is out of range for an axis of size {size}")
            ranges.append(range(start, start + 1))
            continue
        stop = int(end[i]) + (start if a.offset else 0)
        stop = min(max(stop + (size if stop < 0 else 0), lo), hi)
        if bit(a.end_mask, i):
            stop = size if stride > 0 else -1
        ranges.append(range(start, stop, stride))
        out.append(len(ranges[-1]))
    return ranges, tuple(out)


def _strided_slice(ctx: _Ctx, a: O.StridedSliceAttrs) -> Shape:
    x = ctx.shape(0)
    values = [ctx.ints(i, what) for i, what in ((1, "begin"), (2, "end"), (3, "strides"))]
    return strided_slice_ranges(x, *values, a, ctx.where)[1]


def _detect(ctx: _Ctx, _a) -> Shape:
    from mcuforge.apps.yolo import check_heads

    return check_heads(ctx.g, ctx.node, ctx.where)


# family ssd (begin)
def _ssd_detect(ctx: _Ctx, _a) -> list[Shape]:
    from mcuforge.apps.ssd import check

    return check(ctx.g, ctx.node, ctx.where)


# family ssd (end)


RULES: dict[Op, Callable[[_Ctx, object], Shape | list[Shape]]] = {
    Op.CONV_2D: _conv,
    Op.DEPTHWISE_CONV_2D: _depthwise,
    Op.FULLY_CONNECTED: _fully_connected,
    Op.ADD: _broadcast,
    Op.SUB: _broadcast,
    Op.MUL: _broadcast,
    Op.AVERAGE_POOL_2D: _pool,
    Op.MAX_POOL_2D: _pool,
    Op.MEAN: _reduce,
    Op.REDUCE_MAX: _reduce,
    Op.PAD: _pad,
    Op.PADV2: _pad,
    Op.RESHAPE: _reshape,
    Op.SQUEEZE: _squeeze,
    Op.EXPAND_DIMS: _expand_dims,
    Op.TRANSPOSE: _transpose,
    Op.CONCATENATION: _concat,
    Op.SOFTMAX: _same,
    Op.LOGISTIC: _same,
    Op.TANH: _same,
    Op.RELU: _same,
    Op.RELU6: _same,
    Op.LEAKY_RELU: _same,
    Op.HARD_SWISH: _same,
    Op.RESIZE_NEAREST_NEIGHBOR: _resize,
    Op.QUANTIZE: _same,
    Op.DEQUANTIZE: _same,
    Op.STRIDED_SLICE: _strided_slice,
    # family slicing (begin)
    Op.SLICE: shapes_slicing.slice_rule,
    Op.SPLIT: shapes_slicing.split_rule,
    Op.SPLIT_V: shapes_slicing.split_v_rule,
    Op.UNPACK: shapes_slicing.unpack_rule,
    Op.PACK: shapes_slicing.pack_rule,
    Op.TILE: shapes_slicing.tile_rule,
    Op.BROADCAST_TO: shapes_slicing.broadcast_to_rule,
    # family slicing (end)
    # family spatial (begin)
    **shapes_spatial.RULES,
    # family spatial (end)
    # family binary (begin)
    Op.MAXIMUM: shapes_binary.binary,
    Op.MINIMUM: shapes_binary.binary,
    Op.EQUAL: shapes_binary.comparison,
    Op.NOT_EQUAL: shapes_binary.comparison,
    Op.GREATER: shapes_binary.comparison,
    Op.GREATER_EQUAL: shapes_binary.comparison,
    Op.LESS: shapes_binary.comparison,
    Op.LESS_EQUAL: shapes_binary.comparison,
    Op.SQUARED_DIFFERENCE: shapes_binary.binary,
    Op.PRELU: shapes_binary.binary,
    Op.DIV: shapes_binary.binary,
    Op.LOGICAL_AND: shapes_binary.logical,
    Op.LOGICAL_OR: shapes_binary.logical,
    Op.LOGICAL_NOT: shapes_binary.logical,
    Op.SELECT_V2: shapes_binary.select_v2,
    Op.ADD_N: shapes_binary.add_n,
    # family binary (end)
    # family unary (begin)
    **shapes_unary.RULES,
    # family unary (end)
    # family reduce (begin)
    Op.SUM: _reduce,
    Op.REDUCE_MIN: _reduce,
    Op.ARG_MAX: shapes_reduce.arg_min_max,
    Op.ARG_MIN: shapes_reduce.arg_min_max,
    Op.RESIZE_BILINEAR: shapes_reduce.resize_bilinear,
    Op.CUMSUM: shapes_reduce.cumsum,
    # family reduce (end)
    # family matmul (begin)
    Op.TRANSPOSE_CONV: shapes_matmul.transpose_conv,
    Op.BATCH_MATMUL: shapes_matmul.batch_matmul,
    # family matmul (end)
    Op.MF_YOLO_DETECT: _detect,
    # family lstm (begin)
    **shapes_lstm.RULES,
    # family lstm (end)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: _ssd_detect,
    # family ssd (end)
    # family signal (begin)
    **shapes_signal.RULES,
    # family signal (end)
    # family svdf (begin)
    **shapes_svdf.RULES,
    # family svdf (end)
}
