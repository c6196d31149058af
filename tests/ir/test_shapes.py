"""Shape inference: each op's rule, its errors, and STRIDED_SLICE against NumPy's own indexing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes import infer_shapes, same_padding, strided_slice_ranges, window_out

Q = quant(0.1, 0)


def shape_of(op: Op, inputs: list, attrs=None, consts: dict | None = None):
    """Infer the output shape of one node whose inputs are activation shapes or (for dict entries) constants."""
    b = GraphBuilder()
    names = []
    for x in inputs:
        if x is None:
            names.append(None)
        elif isinstance(x, np.ndarray):
            names.append(b.const(x, q=Q if x.dtype == np.int8 else None))
        else:
            names.append(b.input(x, "int8", 0.1, 0))
    b.op(op, names, (0,), q=Q, attrs=attrs)
    g = b.graph
    return infer_shapes(g, g.nodes[0])[0]


def i32(v) -> np.ndarray:
    return np.asarray(v, dtype=np.int32)


def w8(shape) -> np.ndarray:
    return np.zeros(shape, dtype=np.int8)


@pytest.mark.parametrize(
    "op,inputs,attrs,expected",
    [
        (Op.CONV_2D, [(1, 9, 9, 3), w8((8, 3, 3, 3)), i32(np.zeros(8))], O.ConvAttrs((2, 2)), (1, 5, 5, 8)),
        (
            Op.CONV_2D,
            [(1, 9, 9, 3), w8((8, 3, 3, 3)), None],
            O.ConvAttrs((2, 1), (1, 2), O.Padding.VALID),
            (1, 4, 5, 8),
        ),
        (Op.DEPTHWISE_CONV_2D, [(1, 8, 8, 2), w8((1, 3, 3, 6))], O.DepthwiseAttrs(depth_multiplier=3), (1, 8, 8, 6)),
        (Op.FULLY_CONNECTED, [(2, 3, 4), w8((5, 12))], O.FullyConnectedAttrs(), (2, 5)),
        (Op.FULLY_CONNECTED, [(2, 3, 4), w8((5, 4))], O.FullyConnectedAttrs(keep_num_dims=True), (2, 3, 5)),
        (Op.ADD, [(1, 4, 1, 3), (1, 1, 5, 1)], O.ElementwiseAttrs(), (1, 4, 5, 3)),
        (Op.MUL, [(1, 4, 4, 3), (3,)], O.ElementwiseAttrs(), (1, 4, 4, 3)),
        (Op.AVERAGE_POOL_2D, [(1, 7, 7, 4)], O.PoolAttrs((3, 3), (2, 2), O.Padding.VALID), (1, 3, 3, 4)),
        (Op.MAX_POOL_2D, [(1, 7, 7, 4)], O.PoolAttrs((3, 3), (2, 2), O.Padding.SAME), (1, 4, 4, 4)),
        (Op.MEAN, [(1, 7, 7, 4), i32([1, -2])], O.ReduceAttrs(True), (1, 1, 1, 4)),
        (Op.REDUCE_MAX, [(1, 7, 7, 4), i32(2)], O.ReduceAttrs(False), (1, 7, 4)),
        (Op.PAD, [(1, 4, 4, 2), i32([[0, 0], [1, 2], [3, 4], [0, 0]])], None, (1, 7, 11, 2)),
        (Op.PADV2, [(1, 4, 4, 2), i32([[0, 0], [1, 1], [1, 1], [0, 0]]), np.zeros(1, np.int8)], None, (1, 6, 6, 2)),
        (Op.RESHAPE, [(1, 4, 4, 2), i32([-1, 8])], O.ReshapeAttrs(), (4, 8)),
        (Op.RESHAPE, [(1, 4, 4, 2)], O.ReshapeAttrs((1, -1)), (1, 32)),
        (Op.SQUEEZE, [(1, 4, 1, 2)], O.SqueezeAttrs(), (4, 2)),
        (Op.SQUEEZE, [(1, 4, 1, 2)], O.SqueezeAttrs((-2,)), (1, 4, 2)),
        (Op.EXPAND_DIMS, [(4, 2), i32([-1])], None, (4, 2, 1)),
        (Op.EXPAND_DIMS, [(4, 2), i32(0)], None, (1, 4, 2)),
        (Op.TRANSPOSE, [(1, 3, 4, 5), i32([0, 3, 1, 2])], None, (1, 5, 3, 4)),
        (Op.CONCATENATION, [(1, 2, 3), (1, 2, 5), (1, 2, 1)], O.ConcatAttrs(-1), (1, 2, 9)),
        (Op.SOFTMAX, [(1, 10)], O.SoftmaxAttrs(), (1, 10)),
        (Op.HARD_SWISH, [(1, 3, 3)], None, (1, 3, 3)),
        (Op.RESIZE_NEAREST_NEIGHBOR, [(1, 4, 4, 3), i32([8, 6])], O.ResizeAttrs(), (1, 8, 6, 3)),
        (Op.QUANTIZE, [(1, 5)], None, (1, 5)),
        (
            Op.STRIDED_SLICE,
            [(1, 6, 6, 3), i32([0, 1, 0, 0]), i32([1, 5, 6, 3]), i32([1, 2, 3, 1])],
            O.StridedSliceAttrs(shrink_axis_mask=1),
            (2, 2, 3),
        ),
    ],
)
def test_rule(op, inputs, attrs, expected):
    assert shape_of(op, inputs, attrs) == expected


@pytest.mark.parametrize(
    "op,inputs,attrs,error,pattern",
    [
        (
            Op.CONV_2D,
            [(1, 9, 9, 3), w8((8, 3, 3, 4))],
            O.ConvAttrs(),
            ModelFormatError,
            "input has 3 channels but the filter expects 4",
        ),
        (Op.CONV_2D, [(1, 9, 9, 4), w8((8, 3, 3, 2))], O.ConvAttrs(), UnsupportedError, "grouped convolution"),
        (
            Op.CONV_2D,
            [(1, 9, 9, 3), w8((8, 3, 3, 3)), i32(np.zeros(7))],
            O.ConvAttrs(),
            ModelFormatError,
            "bias has shape",
        ),
        (
            Op.CONV_2D,
            [(1, 2, 2, 3), w8((8, 3, 3, 3))],
            O.ConvAttrs(padding=O.Padding.VALID),
            ModelFormatError,
            "does not fit",
        ),
        (Op.CONV_2D, [(1, 9, 9, 3), w8((8, 3, 3, 3))], O.ConvAttrs((0, 1)), ModelFormatError, "stride"),
        (Op.CONV_2D, [(9, 9, 3), w8((8, 3, 3, 3))], O.ConvAttrs(), ModelFormatError, "expected rank 4"),
        (
            Op.DEPTHWISE_CONV_2D,
            [(1, 8, 8, 2), w8((1, 3, 3, 6))],
            O.DepthwiseAttrs(depth_multiplier=2),
            ModelFormatError,
            "depth multiplier 2",
        ),
        (Op.FULLY_CONNECTED, [(1, 7), w8((5, 4))], O.FullyConnectedAttrs(), ModelFormatError, "cannot be split"),
        (Op.ADD, [(1, 4, 3), (1, 5, 3)], O.ElementwiseAttrs(), ModelFormatError, "do not broadcast"),
        (Op.MEAN, [(1, 4, 3), i32([3])], O.ReduceAttrs(), ModelFormatError, "axis 3 is out of range"),
        (Op.MEAN, [(1, 4, 3), (1,)], O.ReduceAttrs(), UnsupportedError, "is not constant"),
        (Op.PAD, [(1, 4, 3), i32([[0, 0], [-1, 0], [0, 0]])], None, ModelFormatError, "negative"),
        (Op.PAD, [(1, 4, 3), i32([[0, 0], [0, 0]])], None, ModelFormatError, "expected"),
        (Op.RESHAPE, [(1, 4, 3), i32([-1, -1])], O.ReshapeAttrs(), ModelFormatError, "only one -1"),
        (Op.RESHAPE, [(1, 4, 3), i32([5, -1])], O.ReshapeAttrs(), ModelFormatError, "cannot be reshaped"),
        (Op.SQUEEZE, [(1, 4, 3)], O.SqueezeAttrs((1,)), ModelFormatError, "cannot squeeze dimension 1"),
        (Op.EXPAND_DIMS, [(4, 3), i32([4])], None, ModelFormatError, "out of range"),
        (Op.TRANSPOSE, [(1, 4, 3), i32([0, 1, 1])], None, ModelFormatError, "permutation"),
        (Op.CONCATENATION, [(1, 2, 3), (1, 3, 3)], O.ConcatAttrs(-1), ModelFormatError, "differ outside axis 2"),
        (Op.RESIZE_NEAREST_NEIGHBOR, [(1, 4, 4, 3), i32([0, 2])], O.ResizeAttrs(), ModelFormatError, "two positive"),
        (Op.STRIDED_SLICE, [(4,), i32([0]), i32([4]), i32([0])], O.StridedSliceAttrs(), ModelFormatError, "zero"),
    ],
)
def test_rule_errors(op, inputs, attrs, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        shape_of(op, inputs, attrs)
    assert str(info.value).startswith(f"node 0 ({op}): ")


def test_custom_where_prefix():
    b = GraphBuilder()
    x = b.input((1, 4), "int8", 0.1, 0)
    b.op(Op.ADD, [x, b.input((1, 5), "int8", 0.1, 0)], (1, 4), q=Q)
    with pytest.raises(ModelFormatError, match=r"^operator 12: input shapes"):
        infer_shapes(b.graph, b.graph.nodes[0], where="operator 12")


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 40), k=st.integers(1, 7), stride=st.integers(1, 4), dilation=st.integers(1, 3))
def test_same_padding_gives_same_output(size, k, stride, dilation):
    """Padding a VALID window by SAME's amounts gives SAME's output size, odd pixel after."""
    before, after = same_padding(size, k, stride, dilation)
    assert after - before in (0, 1) and before >= 0
    assert window_out(size, k, stride, dilation, O.Padding.SAME) == -(-size // stride)
    assert window_out(size + before + after, k, stride, dilation, O.Padding.VALID) == -(-size // stride)


# ------------------------------------------------------------ STRIDED_SLICE vs NumPy
@st.composite
def slice_specs(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    n = draw(st.integers(1, rank + 2))
    ellipsis_at = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    entries = []
    consumed = 0
    for i in range(n):
        if i == ellipsis_at:
            entries.append(("ellipsis",))
            continue
        kinds = ["new", "range", "index"] if consumed < rank else ["new"]
        kind = draw(st.sampled_from(kinds))
        if kind != "new":
            consumed += 1
        # A shrink index stays in [-1, 0], valid for any axis; TFLite's clamping of others is tested below.
        b = draw(st.integers(-1, 0) if kind == "index" else st.integers(-7, 7))
        e = draw(st.integers(-7, 7))
        s = draw(st.sampled_from([-3, -2, -1, 1, 2, 3]))
        entries.append((kind, b, e, s, draw(st.booleans()), draw(st.booleans())))
    return shape, entries


def encode(shape, entries):
    """The spec as TFLite operands and masks, and as a NumPy index tuple."""
    begin, end, strides, index = [], [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    for i, e in enumerate(entries):
        if e[0] == "ellipsis":
            begin.append(0), end.append(0), strides.append(1), index.append(Ellipsis)
            masks["ellipsis_mask"] |= 1 << i
            continue
        kind, b, en, s, bm, em = e
        begin.append(b), end.append(en), strides.append(s if kind == "range" else 1)
        if kind == "new":
            masks["new_axis_mask"] |= 1 << i
            index.append(np.newaxis)
        elif kind == "index":
            masks["shrink_axis_mask"] |= 1 << i
            index.append(b)
        else:
            masks["begin_mask"] |= bm << i
            masks["end_mask"] |= em << i
            index.append(slice(None if bm else b, None if em else en, s))
    return begin, end, strides, O.StridedSliceAttrs(**masks), tuple(index)


@settings(max_examples=400, deadline=None)
@given(slice_specs())
def test_strided_slice_matches_numpy(spec):
    """tf.strided_slice means Python's extended slicing; NumPy implements exactly that."""
    shape, entries = spec
    begin, end, strides, attrs, index = encode(shape, entries)
    x = np.arange(int(np.prod(shape))).reshape(shape)
    expected = x[index]
    ranges, out = strided_slice_ranges(shape, begin, end, strides, attrs)
    got = x[np.ix_(*ranges)].reshape(out)
    assert out == expected.shape and np.array_equal(got, expected)


def test_strided_slice_offset():
    """With `offset` the end is relative to the begin (TFLite's StridedSliceEndForAxis)."""
    x = np.arange(10)
    ranges, out = strided_slice_ranges(x.shape, [2], [3], [1], O.StridedSliceAttrs(offset=True))
    assert x[np.ix_(*ranges)].tolist() == [2, 3, 4] and out == (3,)
    ranges, out = strided_slice_ranges(x.shape, [-4], [2], [1], O.StridedSliceAttrs(offset=True))
    assert x[np.ix_(*ranges)].tolist() == [6, 7] and out == (2,)


def test_strided_slice_shrink_index_is_clamped_like_tflite():
    """TFLite clamps the begin before shrinking (StridedSliceStartForAxis), unlike TensorFlow, which fails."""
    x = np.arange(2)
    shrink = O.StridedSliceAttrs(shrink_axis_mask=1)
    ranges, out = strided_slice_ranges(x.shape, [-5], [0], [1], shrink)
    assert out == () and x[np.ix_(*ranges)].reshape(out).tolist() == 0
    with pytest.raises(ModelFormatError, match="index 2 is out of range for an axis of size 2"):
        strided_slice_ranges(x.shape, [2], [0], [1], shrink)
