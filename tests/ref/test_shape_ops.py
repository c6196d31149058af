"""Data-movement operators against TF-Lite Micro on writer-built graphs."""

import numpy as np
import pytest

from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.shapes import strided_slice_ranges
from mcuforge.ref.shape_ops import KERNELS
from oracle_util import assert_matches_tflm

RNG = np.random.default_rng(7)


def rand(shape):
    return RNG.integers(-128, 128, shape).astype(np.int8)


def one_op(op, in_shape, out_shape, consts=(), attrs=None, out_q=(0.1, 3)):
    b = GraphBuilder()
    x = b.input(in_shape, "int8", 0.1, 3)
    extra = [b.const(np.asarray(c, dtype=np.int32)) if c is not None else None for c in consts]
    y = b.op(op, [x, *extra], out_shape, q=quant(*out_q), attrs=attrs)
    b.output(y)
    return b.graph


@pytest.mark.parametrize("pads", [[[0, 0], [1, 1], [1, 1], [0, 0]], [[0, 0], [0, 2], [3, 0], [0, 1]]])
def test_pad(pads):
    shape = (1, 5, 6, 3)
    out = tuple(s + a + b for s, (a, b) in zip(shape, pads))
    g = one_op(Op.PAD, shape, out, [pads])
    assert_matches_tflm(g, [rand(shape)], KERNELS)


def test_padv2_constant_value():
    b = GraphBuilder()
    x = b.input((1, 4, 4, 2), "int8", 0.1, 3)
    pads = b.const(np.array([[0, 0], [1, 2], [2, 1], [0, 0]], np.int32))
    value = b.const(np.array([-7], np.int8), q=quant(0.1, 3))
    y = b.op(Op.PADV2, [x, pads, value], (1, 7, 7, 2), q=quant(0.1, 3))
    b.output(y)
    assert_matches_tflm(b.graph, [rand((1, 4, 4, 2))], KERNELS)


def test_reshape_squeeze_expand():
    g = one_op(Op.RESHAPE, (1, 2, 3, 4), (1, 24), [[1, 24]], out_q=(0.1, 3))
    assert_matches_tflm(g, [rand((1, 2, 3, 4))], KERNELS)
    g = one_op(Op.SQUEEZE, (1, 1, 1, 8), (1, 8), attrs=O.SqueezeAttrs((1, 2)), out_q=(0.1, 3))
    assert_matches_tflm(g, [rand((1, 1, 1, 8))], KERNELS)
    g = one_op(Op.EXPAND_DIMS, (1, 8), (1, 1, 8), [[1]], out_q=(0.1, 3))
    assert_matches_tflm(g, [rand((1, 8))], KERNELS)


@pytest.mark.parametrize("perm", [[0, 2, 3, 1], [0, 3, 1, 2], [3, 2, 1, 0]])
def test_transpose(perm):
    shape = (1, 3, 5, 7)
    g = one_op(Op.TRANSPOSE, shape, tuple(shape[p] for p in perm), [perm], out_q=(0.1, 3))
    assert_matches_tflm(g, [rand(shape)], KERNELS)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenation(axis):
    b = GraphBuilder()
    shapes = [(1, 4, 4, 3), (1, 4, 4, 3), (1, 4, 4, 3)]
    xs = [b.input(s, "int8", 0.1, 3) for s in shapes]
    out = list(shapes[0])
    out[axis] *= 3
    y = b.op(Op.CONCATENATION, xs, out, q=quant(0.1, 3), attrs=O.ConcatAttrs(axis=axis))
    b.output(y)
    assert_matches_tflm(b.graph, [rand(s) for s in shapes], KERNELS)


@pytest.mark.parametrize(
    "begin,end,strides,attrs",
    [
        ([0, 1, 0, 0], [1, 5, 6, 3], [1, 1, 1, 1], O.StridedSliceAttrs()),
        ([0, 0, 1, 0], [1, 6, 6, 3], [1, 2, 2, 1], O.StridedSliceAttrs()),
        ([0, -3, 0, 1], [0, -1, 0, 3], [1, 1, 1, 1], O.StridedSliceAttrs(begin_mask=0b0101, end_mask=0b0101)),
        ([0, 2, 0, 0], [1, 3, 6, 3], [1, 1, 1, 1], O.StridedSliceAttrs(shrink_axis_mask=0b0010)),
        ([0, 5, 5, 2], [1, 0, 0, 0], [1, -1, -2, -1], O.StridedSliceAttrs(end_mask=0b1000)),
    ],
)
def test_strided_slice(begin, end, strides, attrs):
    shape = (1, 6, 6, 3)
    _, out = strided_slice_ranges(shape, begin, end, strides, attrs)
    g = one_op(Op.STRIDED_SLICE, shape, out, [begin, end, strides], attrs=attrs, out_q=(0.1, 3))
    assert_matches_tflm(g, [rand(shape)], KERNELS)


@pytest.mark.parametrize(
    "size,align,half",
    [((8, 10), False, False), ((8, 10), True, False), ((8, 10), False, True), ((7, 3), False, False), ((7, 3), True, False), ((5, 9), False, True)],
)
def test_resize_nearest(size, align, half):
    shape = (1, 4, 5, 2)
    g = one_op(Op.RESIZE_NEAREST_NEIGHBOR, shape, (1, *size, 2), [list(size)], attrs=O.ResizeAttrs(align, half), out_q=(0.1, 3))
    assert_matches_tflm(g, [rand(shape)], KERNELS)


def test_strided_slice_offset_is_relative_end():
    """TF-Lite Micro ignores the offset flag (it never copies it into its params), so
    this case is checked by hand: with offset, end counts from begin (LiteRT's rule)."""
    g = one_op(Op.STRIDED_SLICE, (1, 6, 6, 3), (1, 3, 2, 2), [[0, 1, 1, 0], [1, 3, 2, 2], [1, 1, 1, 1]],
               attrs=O.StridedSliceAttrs(offset=True))
    x = rand((1, 6, 6, 3))
    (y,) = KERNELS[Op.STRIDED_SLICE](g, g.nodes[0], [x] + [g.tensors[n].data for n in g.nodes[0].inputs[1:]])
    assert np.array_equal(y, x[:, 1:4, 1:3, 0:2])
