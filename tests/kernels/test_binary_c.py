"""C kernels of the binary family (mf_binary) against the reference executor, bit for bit:
MAXIMUM, MINIMUM, the comparisons, SELECT_V2, the logical ops, SQUARED_DIFFERENCE, PRELU,
ADD_N and DIV; the planner's in-place allowance; the emitter's merged broadcast.

gcc is the cost: each test merges many one-node graphs into one build."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.ops_binary import broadcast_dims
from mcuforge.codegen.table import emitter
from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.plan.lifetimes import buffer_requests
from mcuforge.ref.binary_arith import prepare_div
from mcuforge.ref.interpreter import run
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_binary_arith import DIV_QUANTS
from ref.test_binary import (
    BROADCASTS, CMP, COMPARE_QUANTS, PAIRS, PRELU_QUANTS, RANK8, SELECTS, SQDIFF_QUANTS,
    add_n_graph, binary_graph, prelu_graph, random_inputs, select_graph,
)  # fmt: skip

TWO_INPUT = (Op.MAXIMUM, Op.MINIMUM, *CMP, Op.SQUARED_DIFFERENCE, Op.PRELU, Op.DIV, Op.LOGICAL_AND, Op.LOGICAL_OR)


def check_cases(cases, sanitize=False):
    """cases: (graph, inputs or None); one merged build, compared with the reference."""
    g = merge([c[0] for c in cases])
    rng = np.random.default_rng(len(cases))
    xs = [x for c in cases for x in (c[1] if c[1] is not None else random_inputs(c[0], rng))]
    return check_c(g, xs, sanitize=sanitize)


def not_graph(shape):
    b = GraphBuilder()
    b.output(b.op(Op.LOGICAL_NOT, [b.input(shape, "bool")], shape, "bool"))
    return b.graph


def test_broadcasts():
    """Every op over every broadcast (both input orders), 8-D included, SELECT_V2's three-way
    broadcasts, constant alphas and a constant condition; under the sanitizers."""
    cases = []
    for op in TWO_INPUT:
        for case in [*sorted(BROADCASTS), "8d"]:
            s1, s2, so = RANK8 if case == "8d" else BROADCASTS[case]
            cases.append((binary_graph(op, s1, s2, so), None))
            cases.append((binary_graph(op, s2, s1, so, (0.04, -100), (0.3, 20), (0.06, -5)), None))
    cases += [(select_graph(*s), None) for s in [*SELECTS, (RANK8[0], RANK8[1], (1,), RANK8[2])]]
    cases += [(prelu_graph((1, 4, 5, 3), np.arange(3) * 40 - 60), None)]
    cases += [(prelu_graph((2, 3, 4), np.ones((3, 1))), None)]
    b = GraphBuilder()
    c = b.const(np.array([[True], [False], [True]]))
    x, y = b.input((3, 4), "int8", 0.1, 0), b.input((4,), "int8", 0.1, 0)
    b.output(b.op(Op.SELECT_V2, [c, x, y], (3, 4), q=quant(0.1, 0)))
    cases += [(b.graph, None), (not_graph((3, 5)), None), (not_graph((1,)), None)]
    check_cases(cases, sanitize=True)


def test_every_input_pair():
    """Every int8 pair: MAXIMUM/MINIMUM, the comparisons on every scale pair of the ref tests,
    SQUARED_DIFFERENCE, PRELU with alpha as an input, and DIV (its undefined-shift cells too)."""
    cases = []
    for op in (Op.MAXIMUM, Op.MINIMUM):
        cases.append((binary_graph(op, (256, 1), (1, 256), (256, 256)), PAIRS))
    for op in CMP:
        cases += [(binary_graph(op, (256, 1), (1, 256), (256, 256), q1, q2), PAIRS) for q1, q2 in COMPARE_QUANTS]
        cases.append((binary_graph(op, (256, 1), (1, 256), (256, 256), (1e-10, 0), (3e-10, 1)), PAIRS))
    for q in SQDIFF_QUANTS:
        cases.append((binary_graph(Op.SQUARED_DIFFERENCE, (256, 1), (1, 256), (256, 256), *q), PAIRS))
    for q in PRELU_QUANTS:
        cases.append((prelu_graph((256, 1), np.zeros((1, 256)), *q, const=False), PAIRS))
    for q in [*DIV_QUANTS, ((0.5, -20), (0.002, 60), (200.0, -50))]:
        for act in O.Act:
            cases.append((binary_graph(Op.DIV, (256, 1), (1, 256), (256, 256), *q, attrs=O.DivAttrs(act)), PAIRS))
    check_cases(cases)


def test_squared_difference_random_quantisation():
    rng = np.random.default_rng(7)
    cases = []
    for _ in range(30):
        scales, zps = 10.0 ** rng.uniform(-4.0, 1.0, 3), [int(v) for v in rng.integers(-128, 128, 3)]
        q = [(float(np.float32(s)), z) for s, z in zip(scales, zps)]
        cases.append((binary_graph(Op.SQUARED_DIFFERENCE, (3, 1, 7), (1, 5, 7), (3, 5, 7), *q), None))
    check_cases(cases)


def test_add_n():
    output_quants = ((0.15, -2), (0.5, 127), (0.01, -128))
    cases = [(add_n_graph(n, (4, 64), (0.1, zp), qo), None) for n in (2, 3, 7, 20) for zp in (0, -100, 127)
             for qo in output_quants]  # fmt: skip
    b = GraphBuilder()  # a constant summand
    x = b.input((2, 3), "int8", 0.1, 4)
    k = b.const(np.arange(6, dtype=np.int8).reshape(2, 3), q=quant(0.1, 4))
    b.output(b.op(Op.ADD_N, [x, k, x], (2, 3), q=quant(0.2, 0)))
    check_cases([*cases, (b.graph, None)])


@pytest.mark.parametrize("gap", [0, 3])
def test_output_overlapping_a_full_size_input(gap):
    """The element-wise contract: each output starts `gap` bytes below its full-size first
    input (and overlaps it); broadcast inputs live elsewhere."""
    gs = [binary_graph(op, (2, 5, 6), (6,), (2, 5, 6)) for op in TWO_INPUT]
    gs += [select_graph((2, 5, 6), (6,), (2, 5, 6), (2, 5, 6)), prelu_graph((2, 5, 6), np.arange(6) - 3)]
    gs += [not_graph((2, 5, 6)), add_n_graph(3, (2, 5, 6), (0.1, 0))]
    g = merge(gs)
    offsets = {}
    for k, node in enumerate(g.nodes):
        base = 300 * k
        offsets[node.outputs[0]] = base
        for j, x in enumerate(node.inputs):
            if not g.tensors[x].is_const:
                offsets[x] = base + gap + 70 * j  # the first input overlaps the output
    rng = np.random.default_rng(gap)
    xs = random_inputs(g, rng)
    for a, b in zip(run_layout(g, offsets, 300 * len(gs), xs), run(g, xs)):
        assert np.array_equal(a, b)


def test_planner_allows_full_size_inputs_only():
    b = GraphBuilder()
    x = b.input((2, 5, 6), "int8", 0.1, 0)
    y = b.input((6,), "int8", 0.1, 0)
    m = b.op(Op.MAXIMUM, [x, y], (2, 5, 6), q=quant(0.1, 0))
    c = b.op(Op.GREATER, [m, y], (2, 5, 6), "bool")
    b.output(b.op(Op.LOGICAL_NOT, [c], (2, 5, 6), "bool"))
    bufs = buffer_requests(b.graph, [0, 1, 2])
    pairs = {(o.out, o.inp) for o in bufs.overlaps}
    assert (m, x) in pairs and (c, m) in pairs and (b.graph.outputs[0], c) in pairs
    assert not any(o.inp == y for o in bufs.overlaps)  # the broadcast input is re-read


def test_broadcast_dims_merge():
    assert broadcast_dims((1, 4, 5, 3), (1, 4, 5, 3)) == ([1] * 7 + [60], [[0] * 7 + [1], [0] * 7 + [1], [0] * 8])
    shape, (s1, s2, s3) = broadcast_dims((2, 1, 4), (3, 1), (1,))
    assert shape == [1] * 5 + [2, 3, 4] and s1 == [0] * 5 + [4, 0, 1] and s2 == [0] * 6 + [1, 0] and s3 == [0] * 8
    shape, _ = broadcast_dims(*RANK8[:2])
    assert len(shape) == 8 and int(np.prod(shape)) == int(np.prod(RANK8[2]))


def test_emitters_take_the_ref_parameters_and_refuse_what_it_refuses():
    g = binary_graph(Op.DIV, (4,), (4,), (4,), (0.1, 3), (0.05, -7), (0.07, 10), O.DivAttrs(O.Act.RELU))
    p = prepare_div(g, g.nodes[0])
    call = emitter(Op.DIV)(g, g.nodes[0], EmitContext(g))
    fields = dict(call.params)
    assert call.kernel == "mf_div_s8" and fields["output_multiplier"] == str(p.output_multiplier)
    assert fields["act_min"] == str(p.act_min) and "mf_binary" in call.sources
    too_coarse = binary_graph(Op.GREATER, (4,), (4,), (4,), (1.5, 0))
    too_fine = binary_graph(Op.DIV, (4,), (4,), (4,), (1.0, 0), (1e-4, 0), (1e-4, 0))
    for bad in (too_coarse, too_fine):
        with pytest.raises(UnsupportedError):
            emitter(bad.nodes[0].op)(bad, bad.nodes[0], EmitContext(bad))


def test_on_cortex_m4_under_qemu():
    """The portable kernels on a Cortex-M4 (the family has no ARMv7E-M variant): DIV over every
    pair (its shifts above 31 included, which the kernel handles without a C shift of 32, where
    the ARM and x86 shifters differ), a comparison, SELECT_V2 and ADD_N; the reference's bytes."""
    from mcuforge.codegen.generate import generate
    from mcuforge.hw.boards import get_board
    from mcuforge.targets.qemu import missing_tools, run_qemu

    if missing_tools() is not None:
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    cases = [(binary_graph(Op.DIV, (256, 1), (1, 256), (256, 256), *DIV_QUANTS[0]), PAIRS)]
    cases += [(binary_graph(Op.GREATER_EQUAL, (256, 1), (1, 256), (256, 256), *COMPARE_QUANTS[2]), PAIRS)]
    cases += [(select_graph(*SELECTS[1]), None), (add_n_graph(3, (2, 8), (0.1, 0)), None)]
    g = merge([c[0] for c in cases])
    rng = np.random.default_rng(0)
    xs = [x for c in cases for x in (c[1] if c[1] is not None else random_inputs(c[0], rng))]
    ours = run_qemu(generate(g), get_board("STM32F412", 1 << 20, 1 << 21), xs)
    assert [y.tobytes() for y in ours] == [y.tobytes() for y in run(g, xs)]
