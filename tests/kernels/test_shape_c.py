"""C kernels for the data-movement operators (mf_shape) against the reference executor,
bit for bit: PAD/PADV2, TRANSPOSE, CONCATENATION, STRIDED_SLICE, RESIZE_NEAREST_NEIGHBOR,
and the copy that RESHAPE/SQUEEZE/EXPAND_DIMS use when they are not aliased."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.table import emitter
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir.shapes import strided_slice_ranges
from mcuforge.ref.interpreter import random_inputs, run
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_shape_ops import one_op

SLICES = [
    ([0, 1, 0, 0], [1, 5, 6, 3], [1, 1, 1, 1], O.StridedSliceAttrs()),
    ([0, 0, 1, 0], [1, 6, 6, 3], [1, 2, 2, 1], O.StridedSliceAttrs()),
    ([0, -3, 0, 1], [0, -1, 0, 3], [1, 1, 1, 1], O.StridedSliceAttrs(begin_mask=0b0101, end_mask=0b0101)),
    ([0, 2, 0, 0], [1, 3, 6, 3], [1, 1, 1, 1], O.StridedSliceAttrs(shrink_axis_mask=0b0010)),
    ([0, 5, 5, 2], [1, 0, 0, 0], [1, -1, -2, -1], O.StridedSliceAttrs(end_mask=0b1000)),
    ([0, 5, 0, 0], [1, -7, 6, 3], [1, -1, 1, 1], O.StridedSliceAttrs()),  # a whole axis reversed
    ([0, 1, 1, 0], [1, 3, 2, 2], [1, 1, 1, 1], O.StridedSliceAttrs(offset=True)),
    ([0, 0], [1, 4], [1, 3], O.StridedSliceAttrs()),  # fewer entries than axes
]
RESIZES = [((8, 10), False, False), ((8, 10), True, False), ((8, 10), False, True), ((7, 3), False, False),
           ((7, 3), True, False), ((5, 9), False, True), ((2, 2), False, False)]  # fmt: skip


def pad_graph(shape, pads, op=Op.PAD, dtype="int8", value=None) -> Graph:
    b = GraphBuilder()
    q = quant(0.1, 3) if dtype == "int8" else None
    x = b.input(shape, dtype, *((0.1, 3) if q else ()))
    ins = [x, b.const(np.array(pads, np.int32))]
    if op == Op.PADV2:
        ins.append(b.const(np.array([value], dtype), q=q))
    out = tuple(s + lo + hi for s, (lo, hi) in zip(shape, pads))
    b.output(b.op(op, ins, out, dtype, q))
    return b.graph


def concat_graph(shapes, axis, dtype="int8", const_first=False) -> Graph:
    b = GraphBuilder()
    q = quant(0.1, 3) if dtype == "int8" else None
    xs = [b.input(s, dtype, *((0.1, 3) if q else ())) for s in shapes]
    if const_first:
        data = np.arange(np.prod(shapes[0])).reshape(shapes[0]).astype(dtype)
        xs[0] = b.const(data, q=q)
        b.graph.inputs.remove(b.graph.inputs[0])
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    b.output(b.op(Op.CONCATENATION, xs, out, dtype, q, O.ConcatAttrs(axis=axis)))
    return b.graph


def transpose_graph(shape, perm, dtype="int8") -> Graph:
    b = GraphBuilder()
    q = quant(0.1, 3) if dtype == "int8" else None
    x = b.input(shape, dtype, *((0.1, 3) if q else ()))
    p = b.const(np.array(perm, np.int32))
    b.output(b.op(Op.TRANSPOSE, [x, p], tuple(shape[i] for i in perm), dtype, q))
    return b.graph


def all_graphs() -> list[Graph]:
    gs = [pad_graph((1, 5, 6, 3), p) for p in ([[0, 0], [1, 1], [1, 1], [0, 0]], [[0, 0], [0, 2], [3, 0], [0, 1]])]
    gs.append(pad_graph((1, 4, 4, 2), [[0, 0], [1, 2], [2, 1], [0, 0]], Op.PADV2, value=-7))
    gs.append(pad_graph((2, 3, 1, 2, 3), [[1, 0], [0, 0], [2, 1], [0, 0], [0, 0]]))  # 5-D
    gs.append(pad_graph((3, 4), [[0, 0], [0, 0]]))  # no padding at all
    gs.append(pad_graph((1, 3, 3, 2), [[0, 0], [1, 1], [1, 1], [0, 0]], Op.PADV2, "float32", -1.5))
    gs.append(pad_graph((2, 3, 5), [[1, 1], [0, 2], [1, 0]], dtype="int32"))
    for perm in ([0, 2, 3, 1], [0, 3, 1, 2], [3, 2, 1, 0], [0, 1, 3, 2], [0, 1, 2, 3]):
        gs.append(transpose_graph((1, 3, 5, 7), perm))
    gs.append(transpose_graph((2, 3, 4, 5, 2), [4, 0, 3, 1, 2]))
    gs.append(transpose_graph((2, 3, 2, 3, 2, 2), [5, 4, 3, 2, 1, 0]))
    gs.append(transpose_graph((3, 4, 5), [2, 0, 1], "float32"))
    for axis in (-1, 0, 1, 2):
        gs.append(concat_graph([(1, 4, 4, 3)] * 3, axis))
    gs.append(concat_graph([(2, 3, 1), (2, 3, 4), (2, 3, 2), (2, 3, 5)], 2))
    gs.append(concat_graph([(2, 1, 3), (2, 4, 3)], 1, const_first=True))
    gs.append(concat_graph([(2, 3), (2, 2)], 1, "int32"))
    shape = (1, 6, 6, 3)
    for begin, end, strides, attrs in SLICES:
        _, out = strided_slice_ranges(shape, begin, end, strides, attrs)
        gs.append(one_op(Op.STRIDED_SLICE, shape, out, [begin, end, strides], attrs=attrs))
    for size, align, half in RESIZES:
        attrs = O.ResizeAttrs(align, half)
        gs.append(one_op(Op.RESIZE_NEAREST_NEIGHBOR, (2, 4, 5, 2), (2, *size, 2), [list(size)], attrs=attrs))
    return gs


def test_every_op_under_sanitizers():
    check_c(merge(all_graphs()), seed=61, sanitize=True)


@pytest.mark.parametrize("op, out_shape, consts, attrs", [
    (Op.RESHAPE, (1, 24), [[1, 24]], None),
    (Op.SQUEEZE, (2, 12), [], O.SqueezeAttrs((1,))),
    (Op.EXPAND_DIMS, (1, 1, 2, 3, 4), [[1]], None),
])  # fmt: skip
def test_copy_when_not_aliased(op, out_shape, consts, attrs):
    """Output and input in different places: mf_copy moves the bytes; overlapping too."""
    in_shape = (1, 2, 3, 4) if op != Op.SQUEEZE else (2, 1, 12)
    g = one_op(op, in_shape, out_shape, consts, attrs)
    x, y = g.inputs[0], g.outputs[0]
    xs = random_inputs(g, 62)
    for offsets in ({x: 0, y: 24}, {x: 5, y: 0}, {x: 0, y: 7}):
        out = run_layout(g, offsets, 40, xs)
        assert np.array_equal(out[0], run(g, xs)[0])


def test_gathers_merge_contiguous_dimensions():
    def fields(g):
        return dict(emitter(g.nodes[0].op)(g, g.nodes[0], EmitContext(g)).params)

    f = fields(transpose_graph((1, 3, 5, 7), [0, 1, 3, 2]))  # 3 x (7 x 5): H stays outermost
    assert (f["shape"], f["stride"]) == ("{1, 1, 1, 3, 7, 5}", "{0, 0, 0, 35, 1, 7}")
    f = fields(transpose_graph((1, 3, 5, 7), [0, 1, 2, 3]))  # identity: one contiguous run
    assert f["shape"] == "{1, 1, 1, 1, 1, 105}"
    f = fields(pad_graph((1, 5, 6, 3), [[0, 0], [1, 1], [1, 1], [0, 0]]))  # C merges into W
    assert f["in_shape"] == "{1, 1, 1, 1, 5, 18}"
    assert f["before"] == f["after"] == "{0, 0, 0, 0, 1, 3}"
    assert f["fill"] == "3"  # the output zero point
