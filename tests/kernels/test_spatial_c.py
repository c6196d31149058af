"""C kernels of the spatial family (mf_spatial, and mf_shape's strided copy) against the
reference executor, bit for bit: every case of the reference tests in one build under the
sanitizers, int32 data and int64 indices, and indices outside their axis (the C never reads
out of bounds; the reference refuses them)."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.table import emitter
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Graph
from mcuforge.ref.interpreter import random_inputs
from mcuforge.targets.host import run_c
from kernels.test_elementwise_c import check_c, merge
from ref.test_spatial import BTSS, GATHER_NDS, GATHERS, IN_Q, MIRRORS, STBS, embedding_graph, spatial_graph

REFLECT, SYMMETRIC = O.MirrorPadMode.REFLECT, O.MirrorPadMode.SYMMETRIC


def depth_space_graphs() -> list[Graph]:
    gs = [spatial_graph(Op.DEPTH_TO_SPACE, s, attrs=O.BlockAttrs(b))
          for s, b in [((1, 2, 3, 8), 2), ((2, 3, 2, 18), 3), ((1, 1, 1, 4), 2), ((1, 2, 2, 5), 1)]]
    gs += [spatial_graph(Op.SPACE_TO_DEPTH, s, attrs=O.BlockAttrs(b))
           for s, b in [((1, 4, 6, 3), 2), ((2, 6, 3, 2), 3), ((1, 2, 2, 1), 2), ((1, 3, 1, 4), 1)]]
    gs.append(spatial_graph(Op.DEPTH_TO_SPACE, (1, 2, 3, 12), attrs=O.BlockAttrs(2), dtype="int32"))
    gs.append(spatial_graph(Op.SPACE_TO_DEPTH, (2, 4, 2, 3), attrs=O.BlockAttrs(2), dtype="int32"))
    return gs  # fmt: skip


def reverse_graphs() -> list[Graph]:
    cases = [((1, 4, 5, 3), [1]), ((1, 4, 5, 3), [-2]), ((1, 4, 5, 3), [1, 2]), ((2, 3, 4), [0, 1, 2]),
             ((7,), [0]), ((2, 3, 4, 2), [0, 2]), ((2, 3, 4, 2), [3]), ((2, 3, 2, 2, 3, 2, 2), [1, 4, 6])]  # fmt: skip
    gs = [spatial_graph(Op.REVERSE_V2, s, [np.array(a, np.int32)]) for s, a in cases]
    gs.append(spatial_graph(Op.REVERSE_V2, (2, 3), [np.zeros(0, np.int32)]))
    gs.append(spatial_graph(Op.REVERSE_V2, (3, 5), [[1]], dtype="int32"))
    return gs


def mirror_graphs() -> list[Graph]:
    gs = [spatial_graph(Op.MIRROR_PAD, s, [p], O.MirrorPadAttrs(m)) for s, p, m in MIRRORS]
    gs.append(spatial_graph(Op.MIRROR_PAD, (3, 4), [np.array([[1, 2], [2, 1]], np.int64)], O.MirrorPadAttrs(SYMMETRIC)))
    gs.append(spatial_graph(Op.MIRROR_PAD, (3, 4, 2), [[[1, 2], [0, 0], [0, 0]]], dtype="int32"))  # one long run
    gs.append(spatial_graph(Op.MIRROR_PAD, (2, 3), [[[0, 0], [0, 0]]]))  # no padding at all
    return gs


def gather_graphs() -> list[Graph]:
    gs = [spatial_graph(Op.GATHER, s, [i], O.GatherAttrs(a, bd)) for s, i, a, bd in GATHERS]
    for s, i, a, bd in GATHERS[:5]:
        idx = np.asarray(i, np.int32)
        gs.append(spatial_graph(Op.GATHER, s, [idx], O.GatherAttrs(a, bd), runtime=("int32", idx.shape)))
    gs.append(spatial_graph(Op.GATHER, (3, 4), [np.array([2, 0], np.int64)], O.GatherAttrs(1)))
    gs.append(spatial_graph(Op.GATHER, (3, 4), [[1, 1, 0]], dtype="int32"))
    gs += [embedding_graph("int32"), embedding_graph("int64")]
    for s, i in GATHER_NDS:
        idx = np.asarray(i, np.int32)
        gs.append(spatial_graph(Op.GATHER_ND, s, [idx]))
        gs.append(spatial_graph(Op.GATHER_ND, s, [idx], runtime=("int32", idx.shape)))
    idx = np.array([[2, 1], [0, 3]], np.int64)
    gs.append(spatial_graph(Op.GATHER_ND, (3, 4), [idx], runtime=("int64", idx.shape)))
    gs.append(spatial_graph(Op.GATHER_ND, (3, 4, 2), [[[1], [2], [1]]], dtype="int32"))
    return gs


def space_batch_graphs() -> list[Graph]:
    gs = [spatial_graph(Op.SPACE_TO_BATCH_ND, s, [b, p], out_q=IN_Q) for s, b, p in STBS]
    gs.append(spatial_graph(Op.SPACE_TO_BATCH_ND, (1, 5, 7, 2), [[2, 3], [[1, 0], [1, 1]]]))  # pads with the output zp
    gs += [spatial_graph(Op.BATCH_TO_SPACE_ND, s, [b, c]) for s, b, c in BTSS]
    for op in (Op.SPACE_TO_BATCH_ND, Op.BATCH_TO_SPACE_ND):
        gs.append(spatial_graph(op, (4, 4, 6, 3), [[2, 2], [[0, 2], [2, 0]]], dtype="int32"))
        gs.append(spatial_graph(op, (4, 6, 3), [[2], [[2, 2]]], dtype="int32"))
    return gs


def runtime_indices(g: Graph, seed: int) -> list[np.ndarray]:
    """Random inputs with every runtime index in range for its node."""
    xs = random_inputs(g, seed)
    rng = np.random.default_rng(seed)
    for node in g.nodes:
        if node.op not in (Op.GATHER, Op.GATHER_ND) or node.inputs[1] not in g.inputs:
            continue
        name = node.inputs[1]
        x, t = g.tensors[node.inputs[0]], g.tensors[name]  # params may be a constant table
        if node.op == Op.GATHER:
            axis = node.attrs.axis % len(x.shape)
            v = rng.integers(0, x.shape[axis], t.shape)
        else:
            v = rng.integers(0, x.shape[: t.shape[-1]], t.shape)
        xs[g.inputs.index(name)] = v.astype(t.dtype)
    return xs


def test_strided_table_and_gather_kernels_under_sanitizers():
    g = merge(depth_space_graphs() + reverse_graphs() + mirror_graphs() + gather_graphs() + space_batch_graphs())
    for seed in (11, 12):
        check_c(g, runtime_indices(g, seed), sanitize=True)


def test_gather_index_out_of_range_is_memory_safe():
    """The reference refuses such an index (InputError); the C writes zero bytes for that slice."""
    g = spatial_graph(Op.GATHER, (3, 4), [[0, 1]], O.GatherAttrs(1), runtime=("int32", (2,)))
    x = random_inputs(g, 0)[0]
    (y,) = run_c(g, [x, np.array([4, -1], np.int32)], sanitize=True)
    assert not y.any()
    g = spatial_graph(Op.GATHER_ND, (3, 4), [[[0, 0]]], runtime=("int32", (3, 2)))
    (y,) = run_c(g, [x, np.array([[1, 4], [-1, 0], [2, 3]], np.int32)], sanitize=True)
    assert y.tolist() == [0, 0, x[2, 3]]  # [1, 4] is in range as a flat position, which TF-Lite Micro takes


def test_table_copy_drops_unit_dimensions_and_merges_runs():
    g = spatial_graph(Op.MIRROR_PAD, (1, 4, 5, 2), [[[0, 0], [1, 2], [0, 0], [0, 0]]])
    f = dict(emitter(Op.MIRROR_PAD)(g, g.nodes[0], EmitContext(g)).params)
    assert f["run_bytes"] == "10" and f["shape"] == "{1, 1, 1, 1, 1, 7}"  # W and C are one 10-byte run


def test_unfused_dilated_chain():
    """SPACE_TO_BATCH_ND -> strided conv -> BATCH_TO_SPACE_ND (a chain the import-time fusion
    leaves), batch 2, in C as in the reference."""
    from mcuforge.ir.builder import GraphBuilder, quant

    rng = np.random.default_rng(8)
    b = GraphBuilder()
    x = b.input((2, 8, 8, 3), "int8", 0.1, 5)
    s = b.op(Op.SPACE_TO_BATCH_ND, [x, b.const(np.array([2, 2], np.int32)),
             b.const(np.array([[2, 2], [2, 2]], np.int32))], (8, 6, 6, 3), q=quant(0.1, 5))  # fmt: skip
    ws = rng.uniform(0.002, 0.02, 4).astype(np.float32)
    w = b.const(rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8), q=quant(ws, np.zeros(4, np.int64), 0))
    bias = b.const(rng.integers(-2000, 2000, 4).astype(np.int32), q=quant(ws * np.float32(0.1), np.zeros(4, np.int64)))
    attrs = O.ConvAttrs(stride=(2, 2), padding=O.Padding.VALID)
    y = b.op(Op.CONV_2D, [s, w, bias], (8, 2, 2, 4), q=quant(0.2, -7), attrs=attrs)
    z = b.op(Op.BATCH_TO_SPACE_ND, [y, b.const(np.array([2, 2], np.int32)),
             b.const(np.array([[0, 1], [1, 0]], np.int32))], (2, 3, 3, 4), q=quant(0.2, -7))  # fmt: skip
    b.output(z)
    check_c(b.graph, seed=9, sanitize=True)
