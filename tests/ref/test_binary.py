"""Binary-family reference kernels (ref/binary.py, ref/binary_arith.py) against TF-Lite
Micro, bit for bit: MAXIMUM, MINIMUM, the six comparisons, SELECT_V2, the logical ops,
SQUARED_DIFFERENCE and PRELU (ADD_N and DIV: test_binary_arith.py). Where TF-Lite Micro is
wrong (8-D broadcasts) the test says so and checks LiteRT's reference kernels.

SQUARE, FLOOR_DIV and FLOOR_MOD are float-only in TF-Lite Micro (the last test runs them
on int8 and sees it fail), and SELECT (v1) is not in TF-Lite Micro, so mcuforge has none.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_write import to_model, write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.ref.binary import COMPARISONS, KERNELS
from oracle_util import assert_matches_oracles, assert_matches_tflm

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)
PAIRS = [ALL_INT8.reshape(256, 1), ALL_INT8.reshape(1, 256)]
CMP = tuple(COMPARISONS)
BROADCASTS = {
    "same": ((1, 4, 5, 3), (1, 4, 5, 3), (1, 4, 5, 3)),
    "channels": ((1, 4, 5, 3), (3,), (1, 4, 5, 3)),
    "scalar_first": ((1,), (2, 3, 4), (2, 3, 4)),
    "both": ((2, 1, 4, 1), (1, 3, 1, 5), (2, 3, 4, 5)),
    "5d": ((2, 1, 3, 1, 2), (1, 2, 1, 4, 2), (2, 2, 3, 4, 2)),
    "7d": ((2, 1, 3, 1, 2, 1, 2), (1, 2, 1, 2, 1, 3, 1), (2, 2, 3, 2, 2, 3, 2)),
}
RANK8 = ((2, 1, 3, 1, 2, 1, 2, 1), (1, 2, 1, 2, 1, 3, 1, 2), (2, 2, 3, 2, 2, 3, 2, 2))
# An output scale giving DIV (0.1, 3) / (0.05, -7) a multiplier of 200 (shift 8): its final shift
# stays <= 31 for every input pair, where TF-Lite Micro's arithmetic is defined.
DIV_DEFINED_QO = (0.01, 1)
WRONG_8D = "TF-Lite Micro's broadcasting is wrong for 8-D shapes; LiteRT's reference kernels are right"


def binary_graph(op, shape1, shape2, out_shape, q1=(0.1, 3), q2=(0.05, -7), qo=(0.2, 1), attrs=None, dtype="int8"):
    """One two-input node; comparisons get a bool output, logical ops bool everything."""
    b = GraphBuilder()
    logical = op in (Op.LOGICAL_AND, Op.LOGICAL_OR)
    x1 = b.input(shape1, "bool") if logical else b.input(shape1, dtype, *q1)
    x2 = b.input(shape2, "bool") if logical else b.input(shape2, dtype, *q2)
    boolean = logical or op in CMP
    if attrs is None and op == Op.DIV:
        attrs = O.DivAttrs()
    b.output(b.op(op, [x1, x2], out_shape, "bool" if boolean else dtype, None if boolean else quant(*qo), attrs))
    return b.graph


def select_graph(shape_c, shape_x, shape_y, out_shape, qx=(0.1, 0), qy=(0.2, 1), qo=(0.1, 0)):
    b = GraphBuilder()
    c = b.input(shape_c, "bool")
    x = b.input(shape_x, "int8", *qx)
    y = b.input(shape_y, "int8", *qy)
    b.output(b.op(Op.SELECT_V2, [c, x, y], out_shape, q=quant(*qo)))
    return b.graph


def add_n_graph(n, shape, q=(0.1, 0), qo=(0.15, -2)):
    b = GraphBuilder()
    xs = [b.input(shape, "int8", *q) for _ in range(n)]
    b.output(b.op(Op.ADD_N, xs, shape, q=quant(*qo)))
    return b.graph


def random_inputs(g, rng):
    out = []
    for n in g.inputs:
        t = g.tensors[n]
        if t.dtype == "bool":
            out.append(rng.integers(0, 2, t.shape).astype(bool))
        else:
            out.append(rng.integers(-128, 128, t.shape).astype(np.int8))
    return out


def check(g, rng=None, inputs=None):
    if inputs is None:
        inputs = random_inputs(g, rng)
    return assert_matches_tflm(g, inputs, KERNELS)[0]


# ------------------------------------------------------------------ MAXIMUM, MINIMUM, comparisons
@pytest.mark.parametrize("op", (Op.MAXIMUM, Op.MINIMUM, *CMP, Op.SQUARED_DIFFERENCE, Op.PRELU, Op.DIV))
@pytest.mark.parametrize("case", sorted(BROADCASTS))
def test_broadcast(op, case):
    s1, s2, so = BROADCASTS[case]
    qo = DIV_DEFINED_QO if op == Op.DIV else (0.2, 1)
    check(binary_graph(op, s1, s2, so, qo=qo), np.random.default_rng(len(case)))
    if op not in (Op.PRELU, Op.DIV):
        check(binary_graph(op, s2, s1, so, (0.04, -100), (0.3, 20)), np.random.default_rng(len(case) + 1))


@pytest.mark.parametrize("op", (Op.MAXIMUM, Op.MINIMUM))
@pytest.mark.parametrize("quants", [((0.1, 0), (0.1, 0), (0.1, 0)), ((0.1, 3), (0.05, -7), (0.2, 1))])
def test_max_min_compare_stored_values(op, quants):
    """Every int8 pair; differing scales are not rescaled (TF-Lite Micro compares stored values)."""
    y = check(binary_graph(op, (256, 1), (1, 256), (256, 256), *quants), inputs=PAIRS)
    fn = np.maximum if op == Op.MAXIMUM else np.minimum
    assert np.array_equal(y, fn(PAIRS[0], PAIRS[1]))


COMPARE_QUANTS = [
    ((0.1, 0), (0.1, 0)),  # equal scales: compares stored values
    ((0.1, 3), (0.05, -7)),
    ((0.02, -10), (0.0199, 12)),  # nearly equal scales: rounding on the common scale decides
    ((0.9999, 5), (1e-3, -20)),
    ((0.9, -1), (0.01, 127)),
]


@pytest.mark.parametrize("op", CMP)
@pytest.mark.parametrize("q1, q2", COMPARE_QUANTS)
def test_comparisons_of_every_pair(op, q1, q2):
    y = check(binary_graph(op, (256, 1), (1, 256), (256, 256), q1, q2), inputs=PAIRS)
    assert y.any() and not y.all()


@pytest.mark.parametrize("op", CMP)
def test_comparison_of_tiny_scales(op):
    """Scales below 2^-32 give a zero multiplier (QuantizeMultiplier): every pair compares equal."""
    y = check(binary_graph(op, (256, 1), (1, 256), (256, 256), (1e-10, 0), (3e-10, 1)), inputs=PAIRS)
    assert y.all() if op in (Op.EQUAL, Op.GREATER_EQUAL, Op.LESS_EQUAL) else not y.any()


@pytest.mark.parametrize("op", CMP)
def test_comparison_scale_of_one_is_rejected_like_tflm(op):
    g = binary_graph(op, (4,), (4,), (4,), (1.0, 0), (0.5, 0))
    with pytest.raises(UnsupportedError, match="outside"):
        KERNELS[op](g, g.nodes[0], [np.zeros(4, np.int8)] * 2)
    assert not run_tflm_isolated(write(g), [np.zeros(4, np.int8)] * 2).ok


@pytest.mark.parametrize("op", (Op.MAXIMUM, Op.GREATER, Op.SQUARED_DIFFERENCE, Op.DIV, Op.LOGICAL_OR))
def test_8d_broadcast_follows_litert(op):
    if op == Op.DIV:
        # Powers of two: LiteRT's DIV divides the scales in float32, TF-Lite Micro and ours in
        # double; exact here, so the two cannot round an exact-half quotient apart.
        g = binary_graph(op, *RANK8, (0.5, 3), (0.25, -7), (2.0**-7, 1))
    else:
        g = binary_graph(op, *RANK8)
    xs = random_inputs(g, np.random.default_rng(8))
    if op == Op.DIV:
        xs[1][xs[1] == -7] = 0  # LiteRT refuses a divisor equal to its zero point
    assert_matches_oracles(g, xs, follows="litert", why=WRONG_8D, kernels=KERNELS)


# ------------------------------------------------------------------ SELECT_V2, logical
SELECTS = [
    ((2, 3, 4), (2, 3, 4), (2, 3, 4), (2, 3, 4)),
    ((2, 1, 4), (3, 1), (1,), (2, 3, 4)),
    ((1,), (2, 3), (2, 3), (2, 3)),
    ((1, 1), (4,), (1,), (1, 4)),
    ((2, 1, 3, 1, 2), (1, 2, 1, 4, 1), (2, 2, 3, 4, 2), (2, 2, 3, 4, 2)),
    ((2, 1, 3, 1, 2, 1, 2), (1, 2, 1, 2, 1, 3, 1), (1,), (2, 2, 3, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("shapes", SELECTS, ids=str)
def test_select_v2(shapes):
    y = check(select_graph(*shapes), np.random.default_rng(len(shapes[3])))
    assert y.shape == shapes[3]


def test_select_v2_copies_stored_values_across_scales():
    g = select_graph((256, 1), (256, 1), (1, 256), (256, 256), (0.1, 3), (0.5, -20), (0.3, 7))
    c = (np.arange(256) % 3 == 0).reshape(256, 1)
    y = check(g, inputs=[c, PAIRS[0], PAIRS[1]])
    assert np.array_equal(y, np.where(c, PAIRS[0], PAIRS[1]))


def test_select_v2_8d_follows_litert():
    g = select_graph(RANK8[0], RANK8[1], (1,), RANK8[2])
    assert_matches_oracles(g, random_inputs(g, np.random.default_rng(3)), "litert", WRONG_8D, KERNELS)


@pytest.mark.parametrize("op", (Op.LOGICAL_AND, Op.LOGICAL_OR))
@pytest.mark.parametrize("case", sorted(BROADCASTS))
def test_logical(op, case):
    s1, s2, so = BROADCASTS[case]
    check(binary_graph(op, s1, s2, so), np.random.default_rng(len(case)))


def test_logical_not():
    b = GraphBuilder()
    x = b.input((3, 5), "bool")
    b.output(b.op(Op.LOGICAL_NOT, [x], (3, 5), "bool"))
    check(b.graph, np.random.default_rng(0))


# ------------------------------------------------------------------ SQUARED_DIFFERENCE
@SETTINGS
@given(
    log_scales=st.tuples(*[st.floats(-4.0, 1.0)] * 3),
    zps=st.tuples(*[st.integers(-128, 127)] * 3),
)
def test_squared_difference_random_quantisation(log_scales, zps):
    s1, s2, so = (float(np.float32(10.0**v)) for v in log_scales)
    g = binary_graph(Op.SQUARED_DIFFERENCE, (256, 1), (1, 256), (256, 256), (s1, zps[0]), (s2, zps[1]), (so, zps[2]))
    check(g, inputs=PAIRS)


SQDIFF_QUANTS = [
    ((0.1, 3), (0.05, -7), (0.7, -100)),
    ((0.01, -128), (0.01, 127), (5e-5, -128)),
    ((0.5, 0), (0.02, 0), (1e-4, 0)),
    ((0.003, 10), (0.004, -10), (0.002, 0)),
]


@pytest.mark.parametrize("quants", SQDIFF_QUANTS)
def test_squared_difference_every_pair(quants):
    y = check(binary_graph(Op.SQUARED_DIFFERENCE, (256, 1), (1, 256), (256, 256), *quants), inputs=PAIRS)
    assert len(np.unique(y)) > 2


# ------------------------------------------------------------------ PRELU
def prelu_graph(x_shape, alpha, qx=(0.1, 3), qa=(0.01, -5), qo=(0.07, 10), const=True):
    b = GraphBuilder()
    x = b.input(x_shape, "int8", *qx)
    a = b.const(np.asarray(alpha, np.int8), q=quant(*qa)) if const else b.input(np.shape(alpha), "int8", *qa)
    out = tuple(np.broadcast_shapes(x_shape, np.shape(alpha)))
    b.output(b.op(Op.PRELU, [x, a], out, q=quant(*qo)))
    return b.graph


PRELU_QUANTS = [
    ((0.1, 3), (0.01, -5), (0.07, 10)),
    ((0.02, -100), (0.2, 120), (0.5, 0)),
    ((0.5, 100), (0.004, 0), (0.01, -100)),
    ((0.1, 0), (0.1, 0), (0.1, 0)),
]


@pytest.mark.parametrize("quants", PRELU_QUANTS)
def test_prelu_every_input_and_alpha(quants):
    """Every int8 input against every int8 alpha (alpha as a second input, which TF-Lite Micro allows)."""
    y = check(prelu_graph((256, 1), np.zeros((1, 256)), *quants, const=False), inputs=PAIRS)
    assert len(np.unique(y)) > 50


@pytest.mark.parametrize("x_shape, alpha_shape", [((1, 4, 5, 3), (3,)), ((1, 4, 5, 3), (1, 1, 3)),
                                                  ((2, 3, 4), (2, 3, 4)), ((1, 6, 2), (1,))])  # fmt: skip
def test_prelu_constant_alpha_broadcast(x_shape, alpha_shape):
    rng = np.random.default_rng(len(alpha_shape))
    alpha = rng.integers(-128, 128, alpha_shape)
    check(prelu_graph(x_shape, alpha), rng)


# ------------------------------------------------------------------ errors, absent ops
def test_shapes_that_do_not_broadcast_are_unsupported():
    g = binary_graph(Op.MAXIMUM, (2, 3), (2, 4), (2, 4))
    with pytest.raises(UnsupportedError, match="broadcast"):
        KERNELS[Op.MAXIMUM](g, g.nodes[0], [np.zeros((2, 3), np.int8), np.zeros((2, 4), np.int8)])


def test_non_int8_data_is_unsupported():
    g = binary_graph(Op.GREATER, (4,), (4,), (4,), dtype="int16")
    with pytest.raises(UnsupportedError, match="int16"):
        KERNELS[Op.GREATER](g, g.nodes[0], [np.zeros(4, np.int16)] * 2)


def _patched_model(opname: str, n_inputs: int) -> bytes:
    """A one-node int8 model whose operator code is `opname` (an op the IR lacks)."""
    b = GraphBuilder()
    xs = [b.input((4,), "int8", 0.1, 0) for _ in range(n_inputs)]
    b.output(b.op(Op.ADD if n_inputs == 2 else Op.RELU, xs, (4,), q=quant(0.1, 0)))
    m = to_model(b.graph)
    code = getattr(fb.BuiltinOperator, opname)
    m.operatorCodes[0].builtinCode, m.operatorCodes[0].deprecatedBuiltinCode = code, min(code, 127)
    op = m.subgraphs[0].operators[0]
    op.builtinOptionsType, op.builtinOptions = fb.BuiltinOptions.NONE, None
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize("opname, n", [("SQUARE", 1), ("FLOOR_DIV", 2), ("FLOOR_MOD", 2)])
def test_tflm_has_no_int8_square_floor_div_floor_mod(opname, n):
    assert opname not in Op.__members__
    assert not run_tflm_isolated(_patched_model(opname, n), [np.array([1, 2, -3, 4], np.int8)] * n).ok


@pytest.mark.parametrize("op", (Op.MAXIMUM, Op.MINIMUM, *CMP, Op.SQUARED_DIFFERENCE, Op.LOGICAL_AND, Op.SELECT_V2))
def test_litert_agrees(op):
    """Both oracles agree with ours on every pair (comparisons across scales included); PRELU
    needs the input's shape for the output in LiteRT, so it is checked with a broadcast alpha."""
    if op == Op.SELECT_V2:
        g = select_graph((256, 1), (256, 1), (1, 256), (256, 256), (0.1, 3), (0.5, -20), (0.3, 7))
        xs = [(np.arange(256) % 3 == 0).reshape(256, 1), *PAIRS]
    elif op == Op.LOGICAL_AND:
        g = binary_graph(op, (2, 1, 4), (3, 1), (2, 3, 4))
        xs = random_inputs(g, np.random.default_rng(0))
    else:
        g = binary_graph(op, (256, 1), (1, 256), (256, 256), (0.1, 3), (0.05, -7), (0.7, -100))
        xs = PAIRS
    assert_matches_oracles(g, xs, kernels=KERNELS)


def test_litert_agrees_on_prelu():
    g = prelu_graph((1, 4, 5, 3), np.array([-100, 0, 77]))
    assert_matches_oracles(g, random_inputs(g, np.random.default_rng(1)), kernels=KERNELS)
