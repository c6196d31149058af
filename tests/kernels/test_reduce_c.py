"""C kernels of mf_reduce (MEAN, SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN, CUMSUM) against the
reference executor, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import generate
from mcuforge.hw.boards import get_board
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets.qemu import missing_tools, run_qemu
from mcuforge.codegen.ops_reduce import split_dims
from mcuforge.codegen.table import emitter
from mcuforge.ir import Op
from kernels.test_elementwise_c import check_c, merge
from ref.test_reduce import AXES_CASES, QUANT_CASES, SUM_QUANT_CASES, reduce_graph
from ref.test_reduce_index import ARG_CASES, CUMSUM_CASES, CUMSUM_QUANT, arg_graph, cumsum_graph
from ref.test_resize import resize_graph


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
            op = Op.REDUCE_MAX if i % 8 == 3 else Op.REDUCE_MIN
            gs.append(reduce_graph(op, shape, axes, bool(i % 2), (si, zi), (si, zi)))
        else:
            op = Op.SUM if i % 4 == 1 else Op.MEAN
            gs.append(reduce_graph(op, shape, axes, bool(i % 2), (si, zi), (so, zo)))
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


def test_sum_and_reduce_min_under_sanitizers():
    gs = []
    for case in sorted(AXES_CASES):
        shape, axes = AXES_CASES[case]
        for keep_dims in (True, False):
            quants = [QUANT_CASES[q] for q in sorted(QUANT_CASES)] + [SUM_QUANT_CASES[q] for q in sorted(SUM_QUANT_CASES)]
            gs += [reduce_graph(Op.SUM, shape, axes, keep_dims, *q) for q in quants]
            gs.append(reduce_graph(Op.REDUCE_MIN, shape, axes, keep_dims, (0.05, 7), (0.05, 7)))
    gs.append(reduce_graph(Op.SUM, (1, 64, 64, 2), [1, 2], False, (0.001, 127), (10.0, 0)))
    check_c(merge(gs), seed=44, sanitize=True)


def test_reduce_min_of_all_maximum_values_and_sum_extremes():
    g = merge(
        [
            reduce_graph(Op.REDUCE_MIN, (2, 3, 4), [0, 2], True, (0.1, 127), (0.1, 127)),
            reduce_graph(Op.SUM, (1, 64, 64, 2), [1, 2], False, (0.001, 127), (10.0, 0)),
            reduce_graph(Op.SUM, (1, 64, 64, 2), [1, 2], False, (0.001, -128), (3.0, -128)),
        ]
    )
    xs = [np.full((2, 3, 4), 127, np.int8), np.full((1, 64, 64, 2), -128, np.int8), np.full((1, 64, 64, 2), 127, np.int8)]
    ys = check_c(g, xs)
    assert (ys[0] == 127).all()


def test_arg_max_and_min_int32_and_int64():
    gs, xs = [], []
    rng = np.random.default_rng(45)
    for op in (Op.ARG_MAX, Op.ARG_MIN):
        for case in sorted(ARG_CASES):
            shape, axis = ARG_CASES[case]
            for out in ("int32", "int64"):
                gs.append(arg_graph(op, shape, axis, out))
                xs.append(rng.integers(-2, 2, shape).astype(np.int8))  # many ties
                gs.append(arg_graph(op, shape, axis, out, np.int64))
                xs.append(rng.integers(-128, 128, shape).astype(np.int8))
    g = merge(gs)
    ys = check_c(g, xs, sanitize=True)
    assert {y.dtype for y in ys} == {np.dtype("int32"), np.dtype("int64")}


def test_cumsum_options_and_quantisation():
    gs = []
    for case in sorted(CUMSUM_CASES):
        shape, axis = CUMSUM_CASES[case]
        for exclusive in (False, True):
            for reverse in (False, True):
                gs += [cumsum_graph(shape, axis, exclusive, reverse, *CUMSUM_QUANT[q]) for q in sorted(CUMSUM_QUANT)]
    # the longest axes the int32 accumulator allows, at the extremes
    gs.append(cumsum_graph((2, 31), 1, qi=(0.01, 0), qo=(0.5, 0)))
    gs.append(cumsum_graph((2, 16), -1, True, True, qi=(0.01, -128), qo=(0.5, 0)))
    g = merge(gs)
    check_c(g, seed=46, sanitize=True)
    extremes = [np.full(g.tensors[n].shape, v, np.int8) for n, v in zip(g.inputs, [127, -128] * len(g.inputs))]
    check_c(g, extremes)


@pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")
def test_family_on_cortex_m4_under_qemu():
    """One of each kernel of the family (mf_reduce, mf_resize) built for Cortex-M4, as the reference."""
    g = merge(
        [
            reduce_graph(Op.SUM, (2, 5, 7), [1], False, (0.01, 5), (0.5, -2)),
            reduce_graph(Op.REDUCE_MIN, (3, 4, 5, 6), [0, 3], True, (0.05, 7), (0.05, 7)),
            reduce_graph(Op.MEAN, (1, 7, 7, 16), [1, 2], True, (0.05, 7), (0.02, -7)),
            arg_graph(Op.ARG_MAX, (2, 7, 3, 2), 1, "int64"),
            arg_graph(Op.ARG_MIN, (4, 5, 6), -2, "int32"),
            cumsum_graph((2, 6, 3, 2), 1, True, True, (0.05, -20), (0.1, 3)),
            cumsum_graph((2, 16), -1, False, False, (0.01, -128), (0.5, 0)),
            resize_graph((1, 3, 5, 2), (7, 11), half_pixel_centers=True),
            resize_graph((2, 9, 7, 3), (4, 3), True),
            resize_graph((1, 5, 6, 3), (9, 4)),
        ]
    )
    xs = random_inputs(g, 3)
    ours = run_qemu(generate(g), get_board("STM32F412"), xs)
    for name, a, b in zip(g.outputs, ours, run(g, xs)):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
