"""Spatial-family operators against TF-Lite Micro (and LiteRT's reference kernels) on
writer-built graphs: DEPTH_TO_SPACE, SPACE_TO_DEPTH, GATHER, REVERSE_V2, MIRROR_PAD,
SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, GATHER_ND."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.errors import InputError, ModelFormatError, UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph, Tensor
from mcuforge.ir.shapes import infer_shapes
from mcuforge.ir.shapes_spatial import mirror_limit
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.ref.spatial import KERNELS
from oracle_util import assert_matches_litert, assert_matches_oracles, assert_matches_tflm

IN_Q, OUT_Q = (0.1, 3), (0.25, -9)  # different on purpose: the kernels copy bytes regardless


def spatial_graph(op, shape, operands=(), attrs=None, dtype="int8", runtime=None, out_q=OUT_Q) -> Graph:
    """x -> op(x, *operands) -> y, the output shape from the shape rule. `operands` are int32
    constants; `runtime` = (slot dtype, shape) makes operand 1 a model input instead."""
    b = GraphBuilder()
    x = b.input(shape, dtype, *(IN_Q if dtype == "int8" else ()))
    ins = [x]
    for k, v in enumerate(operands):
        if k == 0 and runtime is not None:
            ins.append(b.input(runtime[1], runtime[0]))
        else:
            keep = isinstance(v, np.ndarray) and v.dtype == np.int64  # int64 only when asked for
            ins.append(b.const(np.asarray(v, np.int64 if keep else np.int32)))
    q = quant(*out_q) if dtype == "int8" else None
    y = b.op(op, ins, (), dtype, q, attrs)
    g = b.graph
    (out,) = infer_shapes(g, g.nodes[0])
    g.tensors[y] = Tensor(y, out, dtype, q)
    b.output(y)
    return g


def inputs_for(g: Graph, seed: int = 0, indices=None) -> list[np.ndarray]:
    xs = random_inputs(g, seed)
    if indices is not None:
        xs[1] = np.asarray(indices, dtype=xs[1].dtype).reshape(xs[1].shape)
    return xs


def tflm(g, xs=None, seed=0):
    return assert_matches_tflm(g, inputs_for(g, seed) if xs is None else xs, KERNELS)


# ------------------------------------------------------------ DEPTH_TO_SPACE, SPACE_TO_DEPTH
@pytest.mark.parametrize("shape,block", [((1, 2, 3, 8), 2), ((2, 3, 2, 18), 3), ((1, 1, 1, 4), 2), ((1, 2, 2, 5), 1)])
def test_depth_to_space(shape, block):
    g = spatial_graph(Op.DEPTH_TO_SPACE, shape, attrs=O.BlockAttrs(block))
    (y,) = tflm(g)
    x = inputs_for(g)[0]
    assert block == 1 or y[0, 1, 0, 0] == x[0, 0, 0, shape[3] // block**2 * block]  # (i=1, j=0): DCR order


@pytest.mark.parametrize("shape,block", [((1, 4, 6, 3), 2), ((2, 6, 3, 2), 3), ((1, 2, 2, 1), 2), ((1, 3, 1, 4), 1)])
def test_space_to_depth(shape, block):
    tflm(spatial_graph(Op.SPACE_TO_DEPTH, shape, attrs=O.BlockAttrs(block)))


def test_depth_space_round_trip_and_int32():
    x = np.arange(2 * 4 * 6 * 3, dtype=np.int32).reshape(2, 4, 6, 3)
    g = spatial_graph(Op.SPACE_TO_DEPTH, x.shape, attrs=O.BlockAttrs(2), dtype="int32")
    (s,) = assert_matches_litert(g, [x], KERNELS)  # TF-Lite Micro takes int8 and float32 only
    g2 = spatial_graph(Op.DEPTH_TO_SPACE, s.shape, attrs=O.BlockAttrs(2), dtype="int32")
    (back,) = assert_matches_litert(g2, [s], KERNELS)
    assert np.array_equal(back, x)


@pytest.mark.parametrize("op,shape,block", [
    (Op.DEPTH_TO_SPACE, (1, 2, 2, 6), 2), (Op.SPACE_TO_DEPTH, (1, 3, 4, 2), 2),
    (Op.DEPTH_TO_SPACE, (1, 2, 2, 4), 0), (Op.SPACE_TO_DEPTH, (1, 2, 4), 2),
])  # fmt: skip
def test_depth_space_bad_shapes(op, shape, block):
    with pytest.raises(ModelFormatError):
        spatial_graph(op, shape, attrs=O.BlockAttrs(block))


# ------------------------------------------------------------ GATHER
GATHERS = [  # params shape, indices, axis, batch_dims
    ((5, 3), [4, 0, 0, 2], 0, 0),
    ((2, 6, 4), [[5, 1], [0, 3], [2, 2]], 1, 0),
    ((2, 3, 4), [3, 0], -1, 0),  # negative axis
    ((1, 4, 4, 3), [2], 3, 0),
    ((3, 5, 2), [[4, 0], [1, 1], [3, 2]], 1, 1),  # batch_dims: one index row per batch
    ((2, 3, 5, 2), [[0, 4, 4], [1, 2, 3]], 2, 1),  # batch_dims with an outer axis between
    ((2, 3, 5, 2), [[0, 4, 4], [1, 2, 3]], 2, -1),  # negative batch_dims counts from the indices' rank
    ((4,), 2, 0, 0),  # a scalar index drops the axis
]


@pytest.mark.parametrize("shape,indices,axis,bd", GATHERS)
def test_gather_constant_indices(shape, indices, axis, bd):
    g = spatial_graph(Op.GATHER, shape, [indices], O.GatherAttrs(axis, bd))
    (y,) = tflm(g)
    x = inputs_for(g)[0]
    if bd == 0:
        assert np.array_equal(y, np.take(x, indices, axis=axis))


@pytest.mark.parametrize("shape,indices,axis,bd", GATHERS[:5])
def test_gather_runtime_indices(shape, indices, axis, bd):
    idx = np.asarray(indices, np.int32)
    g = spatial_graph(Op.GATHER, shape, [idx], O.GatherAttrs(axis, bd), runtime=("int32", idx.shape))
    tflm(g, inputs_for(g, 1, idx))


def embedding_graph(index_dtype="int32") -> Graph:
    """An embedding lookup: a constant int8 table gathered by token ids that are a model input."""
    b = GraphBuilder()
    table = np.random.default_rng(5).integers(-128, 128, (10, 6)).astype(np.int8)
    ids = b.input((2, 3), index_dtype)
    y = b.op(Op.GATHER, [b.const(table, q=quant(*IN_Q)), ids], (2, 3, 6), q=quant(*IN_Q), attrs=O.GatherAttrs(0))
    b.output(y)
    return b.graph


def test_gather_constant_table():
    g = embedding_graph()
    tflm(g, [np.array([[9, 0, 3], [3, 3, 7]], np.int32)])


def test_gather_int64_indices_and_int32_data():
    """TF-Lite Micro's GATHER takes int32 indices and int8/float32 data only: LiteRT is the oracle."""
    g = spatial_graph(Op.GATHER, (3, 4), [np.array([2, 0], np.int64)], O.GatherAttrs(1))
    assert g.tensors[g.nodes[0].inputs[1]].dtype == "int64"
    assert_matches_litert(g, inputs_for(g), KERNELS)
    g = spatial_graph(Op.GATHER, (3, 4), [[1, 1, 0]], O.GatherAttrs(0), dtype="int32")
    assert_matches_litert(g, inputs_for(g), KERNELS)
    idx = np.array([[0, 2], [1, 1]], np.int64)
    g = spatial_graph(Op.GATHER, (3, 4), [idx], O.GatherAttrs(0), runtime=("int64", idx.shape))
    assert_matches_litert(g, inputs_for(g, 2, idx), KERNELS)


def test_gather_bad_indices():
    with pytest.raises(ModelFormatError, match="index 3 is out of range"):
        spatial_graph(Op.GATHER, (3, 4), [[0, 3]])
    with pytest.raises(ModelFormatError, match="batch_dims 2"):
        spatial_graph(Op.GATHER, (3, 4), [[0, 1]], O.GatherAttrs(1, 2))
    with pytest.raises(ModelFormatError, match="axis 2 is out of range"):
        spatial_graph(Op.GATHER, (3, 4), [[0, 1]], O.GatherAttrs(2))
    g = spatial_graph(Op.GATHER, (3, 4), [[0, 1]], runtime=("int32", (2,)))
    with pytest.raises(InputError, match="index -1 is out of range"):
        run(g, inputs_for(g, 0, [0, -1]))


# ------------------------------------------------------------ REVERSE_V2
@pytest.mark.parametrize("shape,axes", [((1, 4, 5, 3), [1]), ((1, 4, 5, 3), [-2]), ((1, 4, 5, 3), [1, 2]),
                                        ((2, 3, 4), [0, 1, 2]), ((7,), [0])])  # fmt: skip
def test_reverse(shape, axes):
    tflm(spatial_graph(Op.REVERSE_V2, shape, [np.array(axes, np.int32)]))


def test_reverse_non_contiguous_or_no_axes_and_int32():
    """TF-Lite Micro and LiteRT both refuse axes that are not contiguous ("Non-contiguous
    `axes` not supported") and crash (segmentation fault) on an empty axis list, so both are
    checked by hand against TensorFlow's meaning (np.flip; a copy)."""
    g = spatial_graph(Op.REVERSE_V2, (2, 3), [np.zeros(0, np.int32)])
    assert np.array_equal(run(g, inputs_for(g))[0], inputs_for(g)[0])
    g = spatial_graph(Op.REVERSE_V2, (2, 3, 4, 2), [[0, 2]])
    assert np.array_equal(run(g, inputs_for(g))[0], inputs_for(g)[0][::-1, :, ::-1])
    g = spatial_graph(Op.REVERSE_V2, (3, 5), [[1]], dtype="int32")
    assert_matches_oracles(g, inputs_for(g), kernels=KERNELS)
    with pytest.raises(ModelFormatError, match="twice"):
        spatial_graph(Op.REVERSE_V2, (3, 5), [[1, -1]])


# ------------------------------------------------------------ MIRROR_PAD
MIRRORS = [
    ((1, 4, 5, 2), [[0, 0], [1, 2], [3, 0], [0, 0]], O.MirrorPadMode.REFLECT),
    ((1, 4, 5, 2), [[0, 0], [1, 2], [3, 0], [0, 0]], O.MirrorPadMode.SYMMETRIC),
    ((1, 4, 5, 2), [[0, 0], [3, 3], [4, 4], [0, 0]], O.MirrorPadMode.REFLECT),  # the most REFLECT allows
    ((1, 4, 5, 2), [[0, 0], [4, 4], [5, 5], [0, 0]], O.MirrorPadMode.SYMMETRIC),  # the most SYMMETRIC allows
    ((2, 3, 4), [[1, 1], [2, 0], [0, 3]], O.MirrorPadMode.REFLECT),  # every axis, batch too
    ((6,), [[2, 5]], O.MirrorPadMode.SYMMETRIC),
]


@pytest.mark.parametrize("shape,pads,mode", MIRRORS)
def test_mirror_pad(shape, pads, mode):
    tflm(spatial_graph(Op.MIRROR_PAD, shape, [pads], O.MirrorPadAttrs(mode)))


def test_mirror_pad_int64_paddings_int32_data_and_limits():
    pads = np.array([[1, 2], [2, 1]], np.int64)
    # LiteRT requires equal input and output quantisation here; TF-Lite Micro copies bytes regardless.
    g = spatial_graph(Op.MIRROR_PAD, (3, 4), [pads], O.MirrorPadAttrs(O.MirrorPadMode.SYMMETRIC), out_q=IN_Q)
    assert_matches_oracles(g, inputs_for(g), kernels=KERNELS)
    g = spatial_graph(Op.MIRROR_PAD, (3, 4), [[[1, 2], [2, 1]]], dtype="int32")
    assert_matches_litert(g, inputs_for(g), KERNELS)  # TF-Lite Micro takes int8 and float32 only
    with pytest.raises(ModelFormatError, match="exceed what REFLECT"):
        spatial_graph(Op.MIRROR_PAD, (3, 4), [[[3, 0], [0, 0]]])
    with pytest.raises(ModelFormatError, match="exceed what SYMMETRIC"):
        spatial_graph(Op.MIRROR_PAD, (3, 4), [[[0, 0], [0, 5]]], O.MirrorPadAttrs(O.MirrorPadMode.SYMMETRIC))


# ------------------------------------------------------------ SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND
STB_PADS = "TF-Lite Micro's SPACE_TO_BATCH_ND pads with an unset value instead of the zero point"
STBS = [  # input shape, block, paddings
    ((1, 4, 6, 3), [2, 2], [[0, 0], [0, 0]]),
    ((2, 4, 6, 2), [2, 3], [[0, 0], [0, 0]]),  # batch 2: output batch (i*bw + j)*2 + n
    ((1, 5, 7, 2), [2, 3], [[1, 0], [1, 1]]),
    ((2, 3, 3, 1), [3, 1], [[2, 1], [0, 0]]),
    ((1, 7, 4), [3], [[1, 1]]),  # rank 3 (N, W, C): Conv1D's form
    ((2, 6, 3), [2], [[0, 0]]),
]


@pytest.mark.parametrize("shape,block,pads", STBS)
def test_space_to_batch(shape, block, pads):
    g = spatial_graph(Op.SPACE_TO_BATCH_ND, shape, [block, pads], out_q=IN_Q)  # LiteRT wants equal quantisation
    xs = inputs_for(g)
    if any(map(any, pads)):
        (y,) = assert_matches_oracles(g, xs, follows="litert", why=STB_PADS, kernels=KERNELS)
        assert (y == IN_Q[1]).any()  # the padding is the zero point
    else:
        assert_matches_oracles(g, xs, kernels=KERNELS)


def test_space_to_batch_copies_bytes_across_quantisation():
    """Different input and output quantisation: TF-Lite Micro copies the bytes (LiteRT refuses)."""
    tflm(spatial_graph(Op.SPACE_TO_BATCH_ND, (2, 4, 6, 2), [[2, 3], [[0, 0], [0, 0]]]))


BTSS = [  # input shape, block, crops
    ((4, 2, 3, 3), [2, 2], [[0, 0], [0, 0]]),
    ((12, 2, 2, 2), [2, 3], [[0, 0], [0, 0]]),  # batch 2 out
    ((6, 3, 3, 2), [2, 3], [[1, 0], [2, 3]]),
    ((4, 3, 3, 1), [1, 4], [[0, 2], [1, 1]]),
    ((3, 4, 2), [3], [[1, 2]]),  # rank 3
    ((4, 3, 5), [2], [[0, 0]]),
]


@pytest.mark.parametrize("shape,block,crops", BTSS)
def test_batch_to_space(shape, block, crops):
    g = spatial_graph(Op.BATCH_TO_SPACE_ND, shape, [block, crops], out_q=IN_Q)
    assert_matches_oracles(g, inputs_for(g), kernels=KERNELS)


@pytest.mark.parametrize("shape,block,pads", [STBS[2], STBS[4]])
def test_space_batch_round_trip_int32(shape, block, pads):
    x = np.arange(np.prod(shape), dtype=np.int32).reshape(shape)
    g = spatial_graph(Op.SPACE_TO_BATCH_ND, shape, [block, pads], dtype="int32")
    (s,) = assert_matches_litert(g, [x], KERNELS)  # TF-Lite Micro takes int8 and float32 only
    g = spatial_graph(Op.BATCH_TO_SPACE_ND, s.shape, [block, pads], dtype="int32")
    (back,) = assert_matches_litert(g, [s], KERNELS)
    assert np.array_equal(back, x)


@pytest.mark.parametrize("op,shape,block,amounts,error", [
    (Op.SPACE_TO_BATCH_ND, (1, 5, 6, 2), [2, 2], [[0, 0], [0, 0]], ModelFormatError),  # 5 rows in blocks of 2
    (Op.SPACE_TO_BATCH_ND, (1, 4, 4, 2), [2], [[0, 0]], UnsupportedError),  # one block size for two axes
    (Op.SPACE_TO_BATCH_ND, (1, 4, 4, 2), [2, 2], [[0, 0]], ModelFormatError),  # amounts for one axis
    (Op.SPACE_TO_BATCH_ND, (1, 4, 4, 2, 1), [2, 2, 1], [[0, 0]] * 3, UnsupportedError),  # rank 5
    (Op.BATCH_TO_SPACE_ND, (3, 2, 2, 1), [2, 2], [[0, 0], [0, 0]], ModelFormatError),  # 3 images, 4 per block
    (Op.BATCH_TO_SPACE_ND, (4, 2, 2, 1), [2, 2], [[0, -1], [0, 0]], ModelFormatError),
    (Op.BATCH_TO_SPACE_ND, (4, 2, 2, 1), [2, 0], [[0, 0], [0, 0]], ModelFormatError),
])  # fmt: skip
def test_space_batch_bad_operands(op, shape, block, amounts, error):
    with pytest.raises(error):
        spatial_graph(op, shape, [block, amounts])


# ------------------------------------------------------------ GATHER_ND
GATHER_NDS = [  # params shape, indices
    ((3, 4), [[2, 1], [0, 3], [1, 0]]),  # whole tuples: single elements
    ((3, 4, 2), [[2], [0]]),  # depth 1: rows
    ((2, 3, 4), [[[1, 2], [0, 0]], [[1, 1], [0, 2]]]),  # batched tuples of depth 2: rows of 4
    ((1, 4, 4, 3), [[0, 3, 1, 2]]),
    ((2, 3, 2, 2, 2), [[1, 2, 1, 0, 1]]),  # depth 5, TF-Lite Micro's most
]


@pytest.mark.parametrize("shape,indices", GATHER_NDS)
def test_gather_nd(shape, indices):
    g = spatial_graph(Op.GATHER_ND, shape, [indices])
    (y,) = tflm(g)
    x, idx = inputs_for(g)[0], np.asarray(indices)
    assert np.array_equal(y, x[tuple(np.moveaxis(idx, -1, 0))])
    idx = idx.astype(np.int32)
    g = spatial_graph(Op.GATHER_ND, shape, [idx], runtime=("int32", idx.shape))
    tflm(g, inputs_for(g, 3, idx))


def test_gather_nd_int64_indices_int32_data_and_bounds():
    """TF-Lite Micro takes int32 indices and int8/float32 data only: LiteRT is the oracle."""
    g = spatial_graph(Op.GATHER_ND, (3, 4), [np.array([[2, 1], [0, 3]], np.int64)])
    assert_matches_litert(g, inputs_for(g), KERNELS)
    g = spatial_graph(Op.GATHER_ND, (3, 4, 2), [[[1], [2], [1]]], dtype="int32")
    assert_matches_litert(g, inputs_for(g), KERNELS)
    with pytest.raises(ModelFormatError, match="index 4 is out of range"):
        spatial_graph(Op.GATHER_ND, (3, 4), [[[1, 4]]])  # in range as a flat position, which TF-Lite Micro checks
    with pytest.raises(ModelFormatError, match="depth 3"):
        spatial_graph(Op.GATHER_ND, (3, 4), [[[1, 1, 1]]])
    g = spatial_graph(Op.GATHER_ND, (3, 4), [[[0, 0]]], runtime=("int32", (1, 2)))
    with pytest.raises(InputError, match="index 4 is out of range"):
        run(g, inputs_for(g, 0, [[1, 4]]))


# ------------------------------------------------------------ seeded random shapes
def test_random_space_batch_pairs():
    """Random ranks, batches, blocks, paddings and crops: STB against LiteRT (TF-Lite Micro where
    nothing is padded), BTS against both, and BTS(STB(x)) with the same amounts gives x back."""
    rng = np.random.default_rng(21)
    for _ in range(12):
        rank = int(rng.integers(3, 5))
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        block = [int(v) for v in rng.integers(1, 4, rank - 2)]
        dims = [int(v) for v in rng.integers(1, 7, rank - 2)]
        pads = [[int(v) for v in rng.integers(0, 3, 2)] for _ in dims]
        for p, d, b in zip(pads, dims, block):
            p[1] += (-(d + sum(p))) % b
        g = spatial_graph(Op.SPACE_TO_BATCH_ND, (n, *dims, c), [block, pads], out_q=IN_Q)
        xs = inputs_for(g, int(rng.integers(1000)))
        follows = "litert" if any(map(any, pads)) else "both"
        (s,) = assert_matches_oracles(g, xs, follows=follows, why=STB_PADS, kernels=KERNELS)
        g = spatial_graph(Op.BATCH_TO_SPACE_ND, s.shape, [block, pads], out_q=IN_Q)
        (back,) = assert_matches_oracles(g, [s], kernels=KERNELS)
        assert np.array_equal(back, xs[0])


def test_random_gathers_and_mirror_pads():
    rng = np.random.default_rng(22)
    for _ in range(12):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(v) for v in rng.integers(1, 5, rank))
        axis = int(rng.integers(-rank, rank))
        bd = int(rng.integers(0, axis % rank + 1))
        idx_shape = (*shape[:bd], *(int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3)))))
        idx = rng.integers(0, shape[axis], idx_shape).astype(np.int32)
        tflm(spatial_graph(Op.GATHER, shape, [idx], O.GatherAttrs(axis, bd)))
        mode = list(O.MirrorPadMode)[int(rng.integers(2))]
        pads = [[int(rng.integers(0, mirror_limit(mode, d) + 1)) for _ in range(2)] for d in shape]
        tflm(spatial_graph(Op.MIRROR_PAD, shape, [pads], O.MirrorPadAttrs(mode)))
