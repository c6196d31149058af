"""SLICE, SPLIT, SPLIT_V, UNPACK, PACK, TILE, BROADCAST_TO against the outside oracles.

TF-Lite Micro for every op it has with int8; TF-Lite Micro has no TILE at all, so TILE's
oracle is LiteRT's reference kernels (assert_matches_litert). Every op copies bytes:
an output quantised differently from its input holds the same integers in both oracles,
and in ours.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.errors import ModelFormatError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir.shapes import infer_shapes
from mcuforge.ref.slicing import KERNELS
from mcuforge.oracle.tflm import run_tflm
from mcuforge.frontend.tflite_write import write
from oracle_util import assert_matches_litert, assert_matches_oracles, assert_matches_tflm, run_litert

RNG = np.random.default_rng(14)
IN_Q = (0.1, 3)
OTHER_Q = (0.05, -7)  # an output quantised unlike the input: the bytes are copied all the same


def rand(shape, dtype="int8"):
    info = np.iinfo(dtype)
    lo, hi = (info.min, info.max) if dtype == "int8" else (-(10**6), 10**6)
    return RNG.integers(lo, hi + 1, shape).astype(dtype)


def _q(dtype, q):
    return quant(*q) if dtype == "int8" else None


def slice_graph(shape, begin, size, dtype="int8", out_q=IN_Q, index_dtype="int32") -> Graph:
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    ins = [x, b.const(np.array(begin, index_dtype)), b.const(np.array(size, index_dtype))]
    out = tuple(n - bg if s == -1 else s for n, bg, s in zip(shape, begin, size))
    b.output(b.op(Op.SLICE, ins, out, dtype, _q(dtype, out_q)))
    return b.graph


def split_graph(shape, axis, num, dtype="int8", out_q=IN_Q) -> Graph:
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    a = axis % len(shape)
    piece = tuple(n // num if d == a else n for d, n in enumerate(shape))
    outs = b.op_multi(Op.SPLIT, [b.const(np.array(axis, np.int32)), x], [piece] * num, dtype, _q(dtype, out_q),
                      O.SplitAttrs(num))  # fmt: skip
    b.output(*outs)
    return b.graph


def split_v_graph(shape, sizes, axis, dtype="int8", out_q=IN_Q, axis_shape=()) -> Graph:
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    a = axis % len(shape)
    known = [s for s in sizes if s != -1]
    full = [shape[a] - sum(known) if s == -1 else s for s in sizes]
    pieces = [tuple(s if d == a else n for d, n in enumerate(shape)) for s in full]
    ins = [x, b.const(np.array(sizes, np.int32)), b.const(np.array(axis, np.int32).reshape(axis_shape))]
    b.output(*b.op_multi(Op.SPLIT_V, ins, pieces, dtype, _q(dtype, out_q), O.SplitAttrs(len(sizes))))
    return b.graph


def unpack_graph(shape, axis, dtype="int8", out_q=IN_Q) -> Graph:
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    a = axis % len(shape)
    piece = shape[:a] + shape[a + 1 :]
    outs = b.op_multi(Op.UNPACK, [x], [piece] * shape[a], dtype, _q(dtype, out_q), O.UnpackAttrs(shape[a], axis))
    b.output(*outs)
    return b.graph


def pack_graph(shape, count, axis, dtype="int8", out_q=IN_Q) -> Graph:
    b = GraphBuilder()
    xs = [b.input(shape, dtype, *(IN_Q if dtype == "int8" else ())) for _ in range(count)]
    a = axis % (len(shape) + 1)
    out = (*shape[:a], count, *shape[a:])
    b.output(b.op(Op.PACK, xs, out, dtype, _q(dtype, out_q), O.PackAttrs(count, axis)))
    return b.graph


def tile_graph(shape, multiples, dtype="int8", out_q=IN_Q, index_dtype="int32") -> Graph:
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    out = tuple(n * m for n, m in zip(shape, multiples))
    b.output(b.op(Op.TILE, [x, b.const(np.array(multiples, index_dtype))], out, dtype, _q(dtype, out_q)))
    return b.graph


def broadcast_graph(shape, to, dtype="int8", out_q=IN_Q) -> Graph:
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    b.output(b.op(Op.BROADCAST_TO, [x, b.const(np.array(to, np.int32))], tuple(to), dtype, _q(dtype, out_q)))
    return b.graph


def split_two_consumers() -> Graph:
    """x -> SPLIT -> (a, b); a -> RELU, b -> TRANSPOSE; a third output of SPLIT is a graph
    output itself, and the RELU's and TRANSPOSE's results are packed back together."""
    b = GraphBuilder()
    q = quant(0.1, 3)
    x = b.input((1, 4, 4, 6), "int8", 0.1, 3)
    a, c, d = b.op_multi(Op.SPLIT, [b.const(np.array(3, np.int32)), x], [(1, 4, 4, 2)] * 3, q=q,
                         attrs=O.SplitAttrs(3))  # fmt: skip
    r = b.op(Op.RELU, [a], (1, 4, 4, 2), q=q)
    t = b.op(Op.TRANSPOSE, [c, b.const(np.array([0, 2, 1, 3], np.int32))], (1, 4, 4, 2), q=q)
    p = b.op(Op.PACK, [r, t], (2, 1, 4, 4, 2), q=q, attrs=O.PackAttrs(2, 0))
    b.output(p, d)
    return b.graph


def scalar_graph(op, consts, out_shape, attrs=None, count=1) -> Graph:
    """`op` on 0-D tensors (made by RESHAPE: the runtimes' Python APIs cannot feed a 0-D input)."""
    b = GraphBuilder()
    q = quant(*IN_Q)
    empty = b.const(np.array([], np.int32))
    xs = [b.op(Op.RESHAPE, [b.input((1,), "int8", *IN_Q), empty], (), q=q) for _ in range(count)]
    ins = xs + [b.const(np.array(c, np.int32)) for c in consts]
    b.output(b.op(op, ins, out_shape, q=q, attrs=attrs))
    return b.graph


SCALARS = [  # (oracle, graph)
    ("tflm", lambda: scalar_graph(Op.BROADCAST_TO, [[2, 3]], (2, 3))),
    ("tflm", lambda: scalar_graph(Op.SLICE, [np.zeros(0), np.zeros(0)], ())),
    ("tflm", lambda: scalar_graph(Op.PACK, [], (3,), O.PackAttrs(3, 0), 3)),
    ("tflm", lambda: scalar_graph(Op.PACK, [], (2,), O.PackAttrs(2, -1), 2)),
    ("litert", lambda: scalar_graph(Op.TILE, [np.zeros(0)], ())),
]


def inputs_of(g: Graph) -> list[np.ndarray]:
    return [rand(g.tensors[n].shape, g.tensors[n].dtype) for n in g.inputs]


# The cases the C tests reuse (tests/kernels/test_slicing_c.py).
SLICES = [
    ((1, 6, 6, 3), [0, 1, 2, 0], [1, 4, 3, 3]),
    ((1, 6, 6, 3), [0, 0, 0, 1], [-1, -1, -1, 2]),  # -1: the rest of the axis
    ((2, 5, 7), [1, 2, 3], [1, 3, 4]),
    ((9,), [4], [5]),
    ((3, 4), [0, 0], [3, 4]),  # the whole input
    ((2, 3, 2, 3, 2), [1, 0, 1, 1, 0], [1, 2, 1, 2, 2]),  # 5-D, TF-Lite Micro's largest
]
SPLITS = [((1, 4, 4, 6), -1, 3), ((1, 4, 4, 6), 1, 2), ((2, 6, 5), 0, 2), ((4, 6), -2, 4), ((1, 4, 4, 6), 3, 1)]
SPLIT_VS = [
    ((1, 4, 4, 6), [1, 2, 3], -1),
    ((1, 6, 4, 2), [2, -1, 1], 1),  # -1: what the others leave
    ((2, 3, 4), [3], 1),
]
UNPACKS = [((3, 4, 2), 0), ((3, 4, 2), 1), ((3, 4, 2), -1), ((1, 2, 3, 4), 2), ((5,), 0)]
PACKS = [((4, 3), 3, 0), ((4, 3), 2, 1), ((4, 3), 2, -1), ((2, 3, 4), 4, 2), ((2, 2, 2, 2), 3, -5), ((6,), 2, 0)]
TILES = [((2, 3), [2, 3]), ((1, 2, 3, 2), [1, 2, 2, 1]), ((3,), [4]), ((2, 1, 3), [1, 5, 1]),
         ((2, 2, 2, 2), [2, 2, 2, 2]), ((2, 3), [1, 1]), ((2, 3), [0, 2])]  # fmt: skip
BROADCASTS = [((3,), (2, 3)), ((1, 3, 1), (4, 3, 5)), ((2, 1), (2, 3, 2, 4)), ((1,), (2, 2, 3)), ((2, 3), (2, 3)),
              ((1, 1, 3, 1), (2, 1, 3, 4))]  # fmt: skip


@pytest.mark.parametrize("shape, begin, size", SLICES)
def test_slice(shape, begin, size):
    g = slice_graph(shape, begin, size)
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_slice_int64_operands_int32_data_other_quant():
    g = slice_graph((2, 5, 7), [1, 2, 3], [1, -1, 4], index_dtype="int64")
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = slice_graph((2, 5, 7), [0, 2, 3], [2, 3, -1], dtype="int32")
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = slice_graph((1, 6, 6, 3), [0, 1, 2, 0], [1, 4, 3, 3], out_q=OTHER_Q)
    assert_matches_oracles(g, inputs_of(g), kernels=KERNELS)


@pytest.mark.parametrize("shape, axis, num", SPLITS)
def test_split(shape, axis, num):
    g = split_graph(shape, axis, num)
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_split_int32_and_other_quant():
    g = split_graph((2, 6, 5), 1, 3, dtype="int32")
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = split_graph((1, 4, 4, 6), -1, 2, out_q=OTHER_Q)
    assert_matches_oracles(g, inputs_of(g), kernels=KERNELS)


@pytest.mark.parametrize("shape, sizes, axis", SPLIT_VS)
def test_split_v(shape, sizes, axis):
    g = split_v_graph(shape, sizes, axis)
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_split_v_empty_piece():
    """TF-Lite Micro refuses a zero-size output ("dynamic tensor"): LiteRT's reference kernels are the oracle."""
    g = split_v_graph((5, 3), [0, 5], 0)
    assert_matches_litert(g, inputs_of(g), KERNELS)


def test_split_v_int32_and_other_quant():
    g = split_v_graph((3, 7), [2, -1, 1], 1, dtype="int32", axis_shape=(1,))
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = split_v_graph((1, 4, 4, 6), [4, 2], -1, out_q=OTHER_Q)
    assert_matches_oracles(g, inputs_of(g), kernels=KERNELS)


@pytest.mark.parametrize("shape, axis", UNPACKS)
def test_unpack(shape, axis):
    g = unpack_graph(shape, axis)
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_unpack_int32_and_other_quant():
    g = unpack_graph((3, 4, 2), 1, dtype="int32")
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = unpack_graph((3, 4, 2), 2, out_q=OTHER_Q)
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    _litert_refuses(g, "unpack.cc")


def _litert_refuses(g, where):
    """LiteRT's PACK and UNPACK refuse an output quantised unlike the input (TF-Lite Micro
    copies the bytes, and so do we)."""
    with pytest.raises(RuntimeError, match=where):
        run_litert(g, inputs_of(g))


@pytest.mark.parametrize("shape, count, axis", PACKS)
def test_pack(shape, count, axis):
    g = pack_graph(shape, count, axis)
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_pack_int32_and_other_quant():
    g = pack_graph((2, 3), 3, 1, dtype="int32")
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = pack_graph((2, 3), 3, 1, out_q=OTHER_Q)
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    _litert_refuses(g, "pack.cc")


@pytest.mark.parametrize("shape, multiples", TILES)
def test_tile(shape, multiples):
    """TF-Lite Micro has no TILE kernel: LiteRT's reference kernels are the oracle."""
    g = tile_graph(shape, multiples)
    assert_matches_litert(g, inputs_of(g), KERNELS)


def test_tile_int32_int64_and_other_quant():
    g = tile_graph((2, 3), [3, 2], dtype="int32", index_dtype="int64")
    assert_matches_litert(g, inputs_of(g), KERNELS)
    g = tile_graph((1, 2, 3, 2), [1, 2, 1, 3], out_q=OTHER_Q)
    assert_matches_litert(g, inputs_of(g), KERNELS)


def test_tflm_has_no_tile(capfd):
    with pytest.raises(RuntimeError, match="failed to allocate"):
        run_tflm(write(tile_graph((2, 3), [2, 3])), [rand((2, 3))])
    assert "Didn't find op for builtin opcode 'TILE'" in capfd.readouterr().err


@pytest.mark.parametrize("shape, to", BROADCASTS)
def test_broadcast_to(shape, to):
    g = broadcast_graph(shape, to)
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_broadcast_to_int32_and_other_quant():
    g = broadcast_graph((1, 3, 1), (2, 3, 4), dtype="int32")
    assert_matches_tflm(g, inputs_of(g), KERNELS)
    g = broadcast_graph((1, 3, 1), (2, 3, 4), out_q=OTHER_Q)  # LiteRT has no BROADCAST_TO version 1, which we write
    assert_matches_tflm(g, inputs_of(g), KERNELS)


def test_extreme_values():
    x = np.array([-128, 127, 0, -1, 1, -127] * 4, np.int8).reshape(2, 3, 4)
    for g in (slice_graph((2, 3, 4), [0, 1, 1], [2, 2, 3]), split_graph((2, 3, 4), 2, 2), unpack_graph((2, 3, 4), 0),
              broadcast_graph((2, 3, 4), (2, 2, 3, 4))):  # fmt: skip
        assert_matches_tflm(g, [x], KERNELS)


def test_multi_output_graph():
    """SPLIT's outputs feed different consumers, one is a graph output: the whole interpreter."""
    g = split_two_consumers()
    assert_matches_tflm(g, inputs_of(g))


def random_graphs(seed: int, per_op: int = 6) -> list[tuple[str, Graph]]:
    """Seeded random shapes, axes and operands, no empty tensors (TF-Lite Micro refuses them):
    (oracle, graph) pairs, the oracle "litert" for TILE and "tflm" for the rest."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Graph]] = []

    def shape(lo=1, hi=4):
        return tuple(int(d) for d in rng.integers(1, 5, int(rng.integers(lo, hi + 1))))

    for _ in range(per_op):
        x = shape(1, 5)
        begin = [int(rng.integers(0, n)) for n in x]
        size = [int(rng.choice([-1, rng.integers(1, n - b + 1)])) for n, b in zip(x, begin)]
        out.append(("tflm", slice_graph(x, begin, size)))
        x = shape()
        axis = int(rng.integers(-len(x), len(x)))
        n = x[axis]
        cuts = sorted(rng.choice(np.arange(1, n), int(rng.integers(0, n)), replace=False)) if n > 1 else []
        sizes = [int(v) for v in np.diff([0, *cuts, n])]
        if rng.random() < 0.5:
            sizes[int(rng.integers(len(sizes)))] = -1
        out.append(("tflm", split_v_graph(x, sizes, axis)))
        x = shape()
        out.append(("tflm", unpack_graph(x, int(rng.integers(-len(x), len(x))))))
        out.append(("tflm", pack_graph(x, int(rng.integers(1, 4)), int(rng.integers(-len(x) - 1, len(x) + 1)))))
        to = shape(len(x), 5)
        to = to[: len(to) - len(x)] + tuple(d if rng.random() < 0.5 else n for d, n in zip(to[len(to) - len(x) :], x))
        x = tuple(1 if d != n else n for d, n in zip(to[len(to) - len(x) :], x))
        out.append(("tflm", broadcast_graph(x, to)))
        x = shape()
        out.append(("litert", tile_graph(x, [int(m) for m in rng.integers(1, 4, len(x))])))
    return out


@pytest.mark.parametrize("oracle, make", SCALARS)
def test_scalars(oracle, make):
    g = make()
    (assert_matches_tflm if oracle == "tflm" else assert_matches_litert)(g, inputs_of(g))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_cases(seed):
    for oracle, g in random_graphs(seed):
        check = assert_matches_tflm if oracle == "tflm" else assert_matches_litert
        check(g, inputs_of(g), KERNELS)


# ------------------------------------------------------------------ shape rules
def _node(g):
    return g.nodes[0]


def test_multi_output_shapes():
    g = split_v_graph((1, 6, 4, 2), [2, -1, 1], 1)
    assert infer_shapes(g, _node(g)) == [(1, 2, 4, 2), (1, 3, 4, 2), (1, 1, 4, 2)]
    g = unpack_graph((3, 4, 2), -1)
    assert infer_shapes(g, _node(g)) == [(3, 4)] * 2


@pytest.mark.parametrize("make, fix, match", [
    (lambda: slice_graph((2, 5), [1, 2], [2, 2]), None, "do not fit axis 0"),
    (lambda: slice_graph((2, 5), [0, 6], [1, -1]), None, "do not fit axis 1"),
    (lambda: split_graph((1, 4, 6), 2, 3), lambda n: setattr(n, "attrs", O.SplitAttrs(4)), "num_splits is 4"),
    (lambda: split_graph((1, 4, 6), 2, 3), lambda n: n.inputs.__setitem__(0, "bad_axis"), "unknown tensor"),
    (lambda: split_v_graph((4, 6), [1, 2, 3], 1), lambda n: n.outputs.pop(), "num_splits is 3 but the node has 2"),
    (lambda: unpack_graph((3, 4), 0), lambda n: setattr(n, "attrs", O.UnpackAttrs(3, 1)), "num is 3 but axis 1"),
    (lambda: pack_graph((4, 3), 2, 0), lambda n: setattr(n, "attrs", O.PackAttrs(2, 3)), "out of range"),
    (lambda: broadcast_graph((2, 3), (3, 3)), None, "cannot be broadcast"),
])  # fmt: skip
def test_bad_operands(make, fix, match):
    g = make()
    if fix is not None:
        fix(_node(g))
    with pytest.raises(ModelFormatError, match=match):
        infer_shapes(g, _node(g))


def test_split_v_sizes_must_add_up():
    g = split_v_graph((4, 6), [1, 2, 3], 1)
    g.tensors[g.nodes[0].inputs[1]].data = np.array([1, 2, 2], np.int32)
    with pytest.raises(ModelFormatError, match="do not add up"):
        infer_shapes(g, _node(g))
    g.tensors[g.nodes[0].inputs[1]].data = np.array([-1, -1, 2], np.int32)
    with pytest.raises(ModelFormatError, match="one -1"):
        infer_shapes(g, _node(g))


def test_mixed_dtypes_are_refused():
    g = slice_graph((2, 5), [0, 1], [2, 2])
    y = g.tensors[g.outputs[0]]
    y.dtype, y.quant = "int32", None
    with pytest.raises(ModelFormatError, match="mixes the dtypes"):
        infer_shapes(g, _node(g))
