"""ADD, SUB and MUL reference kernels against TF-Lite Micro, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.quant.fixedpoint import activation_range
from mcuforge.ref.elementwise import KERNELS, prepare_add_sub
from oracle_util import assert_matches_tflm

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)
OPS = (Op.ADD, Op.SUB, Op.MUL)
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def binary_graph(op, shape1, shape2, out_shape, q1, q2, qo, act=O.Act.NONE):
    b = GraphBuilder()
    x1 = b.input(shape1, "int8", *q1)
    x2 = b.input(shape2, "int8", *q2)
    b.output(b.op(op, [x1, x2], out_shape, q=quant(*qo), attrs=O.ElementwiseAttrs(act)))
    return b.graph


def check(g, rng=None, inputs=None):
    if inputs is None:
        inputs = [rng.integers(-128, 128, g.tensors[n].shape).astype(np.int8) for n in g.inputs]
    return assert_matches_tflm(g, inputs, KERNELS)[0]


def exhaustive(op, q1, q2, qo, act=O.Act.NONE):
    """Every pair of int8 inputs: a (256, 1) column broadcast against a (1, 256) row."""
    g = binary_graph(op, (256, 1), (1, 256), (256, 256), q1, q2, qo, act)
    return check(g, inputs=[ALL_INT8.reshape(256, 1), ALL_INT8.reshape(1, 256)])


BROADCASTS = {
    "same": ((1, 4, 5, 3), (1, 4, 5, 3), (1, 4, 5, 3)),
    "rows": ((1, 4, 5, 3), (1, 1, 5, 3), (1, 4, 5, 3)),
    "channels": ((1, 4, 5, 3), (3,), (1, 4, 5, 3)),
    "scalar_first": ((1,), (2, 3, 4), (2, 3, 4)),
    "both": ((2, 1, 4, 1), (1, 3, 1, 5), (2, 3, 4, 5)),
    "5d": ((2, 1, 3, 1, 2), (1, 2, 1, 4, 2), (2, 2, 3, 4, 2)),
    "6d": ((1, 2, 1, 2, 1, 3), (2, 1, 2, 1, 2, 3), (2, 2, 2, 2, 2, 3)),
}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("case", sorted(BROADCASTS))
def test_broadcast(op, case):
    s1, s2, so = BROADCASTS[case]
    g = binary_graph(op, s1, s2, so, (0.03, 5), (0.07, -20), (0.09 if op != Op.MUL else 0.01, 11))
    check(g, np.random.default_rng(len(case)))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("act", list(O.Act))
def test_all_input_pairs_with_fused_activation(op, act):
    qo = (0.004, -3) if op == Op.MUL else (0.04, -3)
    y = exhaustive(op, (0.04, 17), (0.025, -60), qo, act)
    lo, hi = activation_range(str(act), qo[0], qo[1])
    assert (y == lo).any() and (y == hi).any()  # the ranges really reach both clamps


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("zps", [(-128, -128, -128), (127, 127, 127), (-128, 127, 0), (0, 0, 127)])
def test_zero_points_at_the_edges(op, zps):
    exhaustive(op, (0.02, zps[0]), (0.03, zps[1]), (0.05 if op != Op.MUL else 0.001, zps[2]))


@pytest.mark.parametrize("op", OPS)
def test_equal_scales_and_saturation(op):
    # Equal input scales give input multipliers of exactly 0.5; a small output scale saturates.
    exhaustive(op, (0.1, 0), (0.1, 0), (0.02 if op != Op.MUL else 0.05, 0))


@SETTINGS
@given(
    op=st.sampled_from(OPS),
    log_scales=st.tuples(*[st.floats(-4.0, 1.0)] * 3),
    zps=st.tuples(*[st.integers(-128, 127)] * 3),
    act=st.sampled_from(list(O.Act)),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_quantisation(op, log_scales, zps, act, seed):
    s1, s2, so = (float(np.float32(10.0**v)) for v in log_scales)
    g = binary_graph(op, (3, 1, 7), (1, 5, 7), (3, 5, 7), (s1, zps[0]), (s2, zps[1]), (so, zps[2]), act)
    if op != Op.MUL and 2 * max(s1, s2) >= (1 << 20) * so:
        # An output multiplier >= 1: both TF-Lite Micro and the kernel refuse the node.
        with pytest.raises(UnsupportedError):
            prepare_add_sub(g, g.nodes[0])
        assert not run_tflm_isolated(write(g), [np.zeros((3, 1, 7), np.int8), np.zeros((1, 5, 7), np.int8)]).ok
        return
    check(g, np.random.default_rng(seed))


# Scales where computing the real multipliers in float32 (as some sub_common.cc
# sources do) changes one or more outputs; TF-Lite Micro computes them in double.
SUB_DOUBLE_CASES = [
    ((0.16151268780231476, 87), (0.07714016735553741, -79), (0.0010799068259075284, -101)),
    ((0.0013982463860884309, -39), (0.004646400921046734, 18), (0.005006000399589539, -68)),
    ((0.016156746074557304, -17), (0.6194618940353394, 10), (0.9163223505020142, 32)),
]
# Likewise for MUL's s1 * s2 / s_out.
MUL_DOUBLE_CASES = [
    ((1.6536349058151245, -14), (0.001846388098783791, 93), (0.23947079479694366, 115)),
    ((0.06742044538259506, 27), (0.5057404041290283, 76), (9.123903274536133, -11)),
    ((0.003547181375324726, 36), (2.5395190715789795, 125), (0.3150204122066498, 114)),
]


@pytest.mark.parametrize("q1, q2, qo", SUB_DOUBLE_CASES)
def test_sub_multipliers_are_computed_in_double(q1, q2, qo):
    exhaustive(Op.SUB, q1, q2, qo)


@pytest.mark.parametrize("q1, q2, qo", MUL_DOUBLE_CASES)
def test_mul_multiplier_is_computed_in_double(q1, q2, qo):
    exhaustive(Op.MUL, q1, q2, qo)


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB])
def test_output_scale_too_small_is_rejected_like_tflm(op):
    # twice_max_input_scale / (2^20 * s_out) >= 1: QuantizeMultiplierSmallerThanOneExp aborts.
    g = binary_graph(op, (4,), (4,), (4,), (0.5, 0), (0.25, 0), (1e-7, 0))
    with pytest.raises(UnsupportedError, match="outside"):
        KERNELS[op](g, g.nodes[0], [np.zeros(4, np.int8), np.zeros(4, np.int8)])
    assert not run_tflm_isolated(write(g), [np.zeros(4, np.int8), np.zeros(4, np.int8)]).ok


def test_int16_mul_with_a_zero_point_is_unsupported():
    # int16 ADD / SUB / MUL run (tests/ref/test_int16.py); TF-Lite Micro's int16 MUL needs zero points 0.
    b = GraphBuilder()
    x1 = b.input((4,), "int16", 0.01, 3)
    x2 = b.input((4,), "int16", 0.01, 0)
    b.output(b.op(Op.MUL, [x1, x2], (4,), "int16", quant(0.02, 0), O.ElementwiseAttrs()))
    g = b.graph
    with pytest.raises(UnsupportedError, match="int16 MUL with a nonzero zero point"):
        KERNELS[Op.MUL](g, g.nodes[0], [np.zeros(4, np.int16)] * 2)
    assert not run_tflm_isolated(write(g), [np.zeros(4, np.int16), np.zeros(4, np.int16)]).ok


def test_shapes_that_do_not_broadcast_are_unsupported():
    g = binary_graph(Op.MUL, (2, 3), (2, 4), (2, 4), (0.1, 0), (0.1, 0), (0.1, 0))
    with pytest.raises(UnsupportedError, match="broadcast"):
        KERNELS[Op.MUL](g, g.nodes[0], [np.zeros((2, 3), np.int8), np.zeros((2, 4), np.int8)])


def test_zero_scale_is_unsupported():
    g = binary_graph(Op.ADD, (4,), (4,), (4,), (0.0, 0), (0.0, 0), (0.1, 0))
    with pytest.raises(UnsupportedError, match="positive scale"):
        KERNELS[Op.ADD](g, g.nodes[0], [np.zeros(4, np.int8)] * 2)
