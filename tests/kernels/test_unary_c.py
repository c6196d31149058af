"""C kernels of the unary family (mf_unary) against the reference executor, bit for bit.

Element-wise nodes see all 256 int8 values; many one-node graphs share one build."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.table import emitter
from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ref.interpreter import run
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_unary import (
    ABS_FLOAT32_QUOTIENTS,
    ALL_INT8,
    CAST_INPUTS,
    L2_NORM_Q,
    LOG_SOFTMAX_Q,
    fill_graph,
    random_rows,
    rsqrt_inputs,
    unary_graph,
)

ELEMENTWISE = [Op.ABS, Op.RSQRT, Op.ELU, Op.NEG]


def random_scale(rng: np.random.Generator, lo: float = -4.0, hi: float = 1.0) -> float:
    return float(np.float32(10.0 ** rng.uniform(lo, hi)))


def elementwise_cases(rng: np.random.Generator, count: int):
    cases = []
    while len(cases) < count:
        op = ELEMENTWISE[len(cases) % len(ELEMENTWISE)]
        si, so = random_scale(rng), random_scale(rng)
        zi, zo = (int(v) for v in rng.integers(-128, 128, 2))
        g = unary_graph(op, (si, zi), (si if op == Op.NEG else so, zo))
        try:
            emitter(op)(g, g.nodes[0], EmitContext(g))
        except UnsupportedError:
            continue
        # RSQRT also below the zero point: both kernels compute the unchecked arithmetic there.
        cases.append((g, ALL_INT8))
    return cases


def pinned_cases():
    cases = [(unary_graph(Op.ABS, qi, qo), ALL_INT8) for qi, qo in
             [((0.05, 0), (0.05, 0)), ((0.05, 127), (0.05, -100)), ((0.3, -50), (0.01, 20)), ((1e-3, 3), (2.0, 5))]]
    cases += [(unary_graph(Op.ABS, (si, -3), (so, -128)), ALL_INT8) for si, so in ABS_FLOAT32_QUOTIENTS]
    for qi, qo in [((0.05, -128), (0.05, -128)), ((1.0, 0), (1.0 / 128, -128)), ((7.0, -20), (0.002, 30))]:
        cases.append((unary_graph(Op.RSQRT, qi, qo), rsqrt_inputs(qi[1])))
    cases += [(unary_graph(Op.ELU, qi, qo), ALL_INT8) for qi, qo in
              [((0.05, 0), (0.05, 0)), ((0.1, 50), (0.03, -100)), ((0.5, -3), (0.008, -128))]]
    cases += [(unary_graph(Op.NEG, (0.05, zi), (0.05, zo)), ALL_INT8) for zi, zo in [(0, 0), (10, -20), (127, 127)]]
    return cases  # fmt: skip


def test_elementwise_pinned_under_sanitizers():
    cases = pinned_cases()
    check_c(merge([g for g, _ in cases]), [x for _, x in cases], sanitize=True)


def test_elementwise_random_quantisation():
    cases = elementwise_cases(np.random.default_rng(41), 80)
    check_c(merge([g for g, _ in cases]), [x for _, x in cases])


def row_cases(rng: np.random.Generator):
    cases = []
    for shape in [(1, 10), (2, 3, 7), (1, 250), (4, 1), (1, 2, 2, 16), (5,), (2, 2000)]:
        for qi in [(0.1, 0), (0.0625, -128), (1e-3, 127), (4.0, -5), (100.0, 0)]:
            x = random_rows(shape, int(rng.integers(1 << 30)))
            x.reshape(-1, shape[-1])[0] = qi[1]  # a row of zeros (L2) / of equal values
            cases.append((unary_graph(Op.LOG_SOFTMAX, qi, LOG_SOFTMAX_Q, shape), x))
            cases.append((unary_graph(Op.L2_NORMALIZATION, qi, L2_NORM_Q, shape), x))
    for _ in range(30):
        depth = int(rng.integers(1, 301))
        qi = (random_scale(rng, -4.0, 1.5), int(rng.integers(-128, 128)))
        x = random_rows((3, depth), int(rng.integers(1 << 30)))
        x[2, : depth // 2] = -128
        op = Op.LOG_SOFTMAX if len(cases) % 2 else Op.L2_NORMALIZATION
        cases.append((unary_graph(op, qi, LOG_SOFTMAX_Q if op == Op.LOG_SOFTMAX else L2_NORM_Q, (3, depth)), x))
    return cases


def test_rows_under_sanitizers():
    cases = row_cases(np.random.default_rng(42))
    check_c(merge([g for g, _ in cases]), [x for _, x in cases], sanitize=True)


def cast_graph(din: str, dout: str, n: int = 256):
    b = GraphBuilder()
    x = b.input((n,), din, *((0.05, 3) if din == "int8" else (None, 0)))
    b.output(b.op(Op.CAST, [x], (n,), dout, quant(0.1, -5) if dout == "int8" else None))
    return b.graph


def test_zeros_like_fill_and_cast():
    cases = [(unary_graph(Op.ZEROS_LIKE, (0.05, 17), (0.05, 17)), ALL_INT8)]
    for dims in ([2, 3], [7], [1, 2, 3, 4]):
        cases.append((fill_graph(dims), np.array([-7], np.int8)))
        cases.append((fill_graph(dims, const_value=-128), np.zeros(1, np.int8)))
    for din, dout in [("int8", "int32"), ("int8", "float32"), ("int32", "int8"), ("float32", "int8")]:
        cases.append((cast_graph(din, dout), CAST_INPUTS[din]))
    nan = np.array([np.nan, -np.nan, 1.0, np.inf, -np.inf, -0.5, 126.5, -127.5], np.float32)
    cases.append((cast_graph("float32", "int8", 8), nan))
    check_c(merge([g for g, _ in cases]), [x for _, x in cases], sanitize=True)


@pytest.mark.parametrize("gap", [0, 3])
def test_in_place(gap):
    """The element-wise and row contracts: each output at or below its input's start, overlapping it
    (4-byte inputs of CAST stay aligned)."""
    gs = [unary_graph(Op.ABS, (0.05, 7), (0.04, -20)), unary_graph(Op.RSQRT, (0.05, -128), (0.04, -20)),
          unary_graph(Op.ELU, (0.05, 7), (0.04, -20)), unary_graph(Op.NEG, (0.05, 7), (0.05, -20)),
          unary_graph(Op.ZEROS_LIKE, (0.05, 7), (0.05, 7)),
          unary_graph(Op.LOG_SOFTMAX, (0.1, 7), LOG_SOFTMAX_Q), unary_graph(Op.L2_NORMALIZATION, (0.1, 7), L2_NORM_Q),
          cast_graph("int32", "int8"), cast_graph("float32", "int8")]  # fmt: skip
    g = merge(gs)
    offsets = {}
    for k, node in enumerate(g.nodes):
        wide = g.tensors[node.inputs[0]].dtype != "int8"
        offsets.update({node.outputs[0]: 1100 * k, node.inputs[0]: 1100 * k + ((gap + 3) // 4 * 4 if wide else gap)})
    xs = [ALL_INT8] * 7 + [CAST_INPUTS["int32"], CAST_INPUTS["float32"]]
    for a, b in zip(run_layout(g, offsets, 1100 * len(gs), xs), run(g, xs)):
        assert a.tobytes() == b.tobytes()


def test_emitters():
    g = unary_graph(Op.ELU, (0.05, 7), (0.04, -20))
    ctx = EmitContext(g)
    call = emitter(Op.ELU)(g, g.nodes[0], ctx)
    assert call.kernel == "mf_lut_s8" and call.scratch_bytes == 0
    assert len(ctx.arrays) == 1 and ctx.arrays[0].data.size == 256 and dict(call.params)["size"] == "256"
    g = unary_graph(Op.LOG_SOFTMAX, (0.1, 0), LOG_SOFTMAX_Q, (2, 3, 7))
    fields = dict(emitter(Op.LOG_SOFTMAX)(g, g.nodes[0], EmitContext(g)).params)
    assert (fields["rows"], fields["depth"]) == ("6", "7")
    g = cast_graph("int32", "float32")
    with pytest.raises(UnsupportedError, match="casts int32 to float32"):
        emitter(Op.CAST)(g, g.nodes[0], EmitContext(g))


def test_planner_runs_the_elementwise_chain_in_place():
    """ABS -> ELU -> NEG -> RSQRT -> ZEROS_LIKE: each may overwrite its input, so one 256-byte
    buffer holds the whole chain; the planned C equals the reference."""
    from mcuforge.plan.lifetimes import buffer_requests
    from mcuforge.plan.memory import plan_graph

    b = GraphBuilder()
    t = b.input(ALL_INT8.shape, "int8", 0.05, 3, name="x")
    for op, q in [(Op.ABS, (0.04, -128)), (Op.ELU, (0.03, -100)), (Op.NEG, (0.03, 20)),
                  (Op.RSQRT, (0.01, -128)), (Op.ZEROS_LIKE, (0.01, -128))]:  # fmt: skip
        t = b.op(op, [t], ALL_INT8.shape, q=quant(*q))
    b.output(t)
    g = b.graph
    assert len(buffer_requests(g, range(5)).overlaps) == 5
    assert plan_graph(g, {}).arena_bytes == 256
    check_c(g, [ALL_INT8])


@pytest.mark.parametrize("board", ["STM32F412", "STM32F746"])
def test_cortex_m_under_qemu(board):
    """The same kernels built for a Cortex-M4 and a Cortex-M7 and run under QEMU."""
    from mcuforge.codegen.generate import generate
    from mcuforge.hw.boards import get_board
    from mcuforge.targets.qemu import missing_tools, run_qemu

    if missing_tools() is not None:
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    cases = pinned_cases() + row_cases(np.random.default_rng(43))[:30]
    cases += [(cast_graph(din, dout), CAST_INPUTS[din]) for din, dout in
              [("int8", "int32"), ("int8", "float32"), ("int32", "int8"), ("float32", "int8")]]  # fmt: skip
    cases.append((fill_graph([3, 5]), np.array([-7], np.int8)))
    cases.append((unary_graph(Op.ZEROS_LIKE, (0.05, 1), (0.05, 1)), ALL_INT8))
    g, xs = merge([g for g, _ in cases]), [x for _, x in cases]
    ours = run_qemu(generate(g), get_board(board), xs)
    assert [y.tobytes() for y in ours] == [y.tobytes() for y in run(g, xs)]
