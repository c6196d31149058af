"""C kernels for MEAN and REDUCE_MAX (mf_reduce) against the reference executor, bit for bit."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.ops_reduce import split_dims
from mcuforge.codegen.table import emitter
from mcuforge.ir import Op
from kernels.test_elementwise_c import check_c, merge
from ref.test_reduce import AXES_CASES, QUANT_CASES, reduce_graph


def test_axes_keep_dims_and_quantisation_under_sanitizers():
    gs = []
    for case in sorted(AXES_CASES):
        shape, axes = AXES_CASES[case]
        for keep_dims in (True, False):
            gs += [reduce_graph(Op.MEAN, shape, axes, keep_dims, *QUANT_CASES[q]) for q in sorted(QUANT_CASES)]
            gs.append(reduce_graph(Op.REDUCE_MAX, shape, axes, keep_dims, (0.05, -3), (0.05, -3)))
    # 64 * 64 elements: the shift cap 31 + s bites; and a plain large global pool.
    gs.append(reduce_graph(Op.MEAN, (1, 64, 64, 2), [1, 2], False, (2.0**-20, 0), (32.0, 0)))
    gs.append(reduce_graph(Op.MEAN, (1, 64, 64, 2), [1, 2], False, (0.05, 7), (0.04, -7)))
    check_c(merge(gs), seed=41, sanitize=True)


def test_random_shapes_and_axes():
    rng = np.random.default_rng(42)
    gs = []
    for i in range(60):
        shape = tuple(int(v) for v in rng.integers(1, 7, int(rng.integers(1, 6))))
        rank = len(shape)
        axes = [int(a) for a in rng.integers(-rank, rank, int(rng.integers(1, 4)))]
        si, so = (float(np.float32(10.0 ** rng.uniform(-4.0, 1.0))) for _ in range(2))
        zi, zo = (int(v) for v in rng.integers(-128, 128, 2))
        if i % 4 == 3:
            gs.append(reduce_graph(Op.REDUCE_MAX, shape, axes, bool(i % 2), (si, zi), (si, zi)))
        else:
            gs.append(reduce_graph(Op.MEAN, shape, axes, bool(i % 2), (si, zi), (so, zo)))
    check_c(merge(gs), seed=43)


def test_reduce_max_of_all_minimum_values():
    g = reduce_graph(Op.REDUCE_MAX, (2, 3, 4), [1], False, (0.1, -128), (0.1, -128))
    assert (check_c(g, [np.full((2, 3, 4), -128, np.int8)])[0] == -128).all()


def test_split_dims_merges_contiguous_axes():
    d = split_dims((1, 7, 7, 16), (1, 2))  # global pool: H and W become one run of 49, stride C
    assert (d["outer_shape"][-1], d["outer_stride"][-1]) == (16, 1)
    assert (d["inner_shape"][-1], d["inner_stride"][-1]) == (49, 16)
    d = split_dims((3, 4, 5, 6), (0, 3))
    assert d["outer_shape"][-1:] == [20] and d["inner_shape"][-2:] == [3, 6] and d["inner_stride"][-2:] == [120, 1]
    g = reduce_graph(Op.MEAN, (2, 3, 2, 3, 4), [1, 3], True, (0.05, 1), (0.05, 1))
    call = emitter(Op.MEAN)(g, g.nodes[0], EmitContext(g))
    assert dict(call.params)["num_elements"] == "9" and call.scratch_bytes == 0
