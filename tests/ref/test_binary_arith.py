"""ADD_N and DIV reference kernels (ref/binary_arith.py) against TF-Lite Micro, and the
random-quantisation sweep of the binary family; the arithmetic TF-Lite Micro gets wrong
(ADD_N's spurious -zp term, DIV's shifts of 32 or more) is stated and checked where it
happens. The other binary ops are in test_binary.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.oracle.tflm import run_tflm, run_tflm_isolated
from mcuforge.quant import gemmlowp as gl
from mcuforge.ref.binary import KERNELS
from mcuforge.ref.binary_arith import count_leading_sign_bits, prepare_div
from oracle_util import run_kernels
from ref.test_binary import PAIRS, SETTINGS, add_n_graph, binary_graph, check, random_inputs


# ------------------------------------------------------------------ ADD_N
@pytest.mark.parametrize("n", [2, 3, 7])
@pytest.mark.parametrize("qs", [((0.1, 0), (0.15, -2)), ((0.02, 0), (0.5, 127)), ((0.3, 0), (0.01, -128))])
def test_add_n_zero_point_zero_matches_tflm(n, qs):
    check(add_n_graph(n, (4, 64), *qs), np.random.default_rng(n))


@pytest.mark.parametrize("zp", [5, -100, 127])
def test_add_n_nonzero_zero_point_sums_from_zero(zp):
    """TF-Lite Micro starts its sum at the rescaled -zp (one spurious term); LiteRT has no int8
    ADD_N. Ours is the sum the kernel means: within one unit of the real-valued sum, and TF-Lite
    Micro's result equals ours plus the spurious term (checked by re-running it with one more
    all-zero-point input, which adds exactly that term)."""
    g = add_n_graph(3, (256,), (0.1, zp), (0.15, -2))
    rng = np.random.default_rng(zp & 0xFF)
    xs = random_inputs(g, rng)
    ours = run_kernels(g, xs, KERNELS)[0]
    real = sum((x.astype(np.float64) - zp) * 0.1 for x in xs) / np.float64(np.float32(0.15)) - 2
    assert np.abs(ours.astype(np.int64) - np.clip(np.round(real), -128, 127)).max() <= 1
    theirs = np.asarray(run_tflm(write(g), xs)[0])
    assert not np.array_equal(ours, theirs)
    g4 = add_n_graph(4, (256,), (0.1, zp), (0.15, -2))
    ours4 = run_kernels(g4, [*xs, np.full(256, 0, np.int8)], KERNELS)[0]
    assert np.array_equal(ours4, theirs)


def test_add_n_needs_one_quantisation():
    b = GraphBuilder()
    x1, x2 = b.input((4,), "int8", 0.1, 0), b.input((4,), "int8", 0.2, 0)
    b.output(b.op(Op.ADD_N, [x1, x2], (4,), q=quant(0.3, 0)))
    g = b.graph
    with pytest.raises(UnsupportedError, match="quantised differently"):
        KERNELS[Op.ADD_N](g, g.nodes[0], [np.zeros(4, np.int8)] * 2)
    assert not run_tflm_isolated(write(g), [np.zeros(4, np.int8)] * 2).ok


# ------------------------------------------------------------------ DIV
DIV_QUANTS = [
    ((0.1, 3), (0.05, -7), (0.07, 10)),
    ((0.02, -128), (0.5, 127), (0.001, 0)),
    ((0.3, 0), (0.01, 5), (0.9, -3)),
    ((0.01, 0), (0.1, 0), (1.0, 0)),
    ((0.5, -20), (0.002, 60), (200.0, -50)),
]


def div_shift_exceeds_31(g) -> np.ndarray:
    """Where DivElementwise's final RoundingDivideByPOT exponent exceeds 31 (every int8 pair)."""
    p = prepare_div(g, g.nodes[0])
    v1 = PAIRS[0].astype(np.int64) + p.input1_offset + np.zeros((1, 256), np.int64)
    v2 = PAIRS[1].astype(np.int64) + p.input2_offset + np.zeros((256, 1), np.int64)
    v1 = np.where(v2 < 0, -v1, v1)
    _, recip_shift = gl.get_reciprocal(np.abs(v2), 31)
    return recip_shift + count_leading_sign_bits(v1) - p.output_shift > 31


@pytest.mark.parametrize("quants", DIV_QUANTS)
@pytest.mark.parametrize("act", list(O.Act))
def test_div_every_pair(quants, act):
    """Bit-exact with TF-Lite Micro wherever its arithmetic is defined; where its final shift
    exceeds 31 (undefined in C) ours rounds correctly to the output zero point, and both
    oracles (which agree there, on x86) give other values, e.g. 127 for 1/128."""
    g = binary_graph(Op.DIV, (256, 1), (1, 256), (256, 256), *quants, attrs=O.DivAttrs(act))
    ours = run_kernels(g, PAIRS, KERNELS)[0]
    theirs = np.asarray(run_tflm(write(g), PAIRS)[0]).reshape(ours.shape)
    undefined = div_shift_exceeds_31(g)
    assert np.array_equal(ours[~undefined], theirs[~undefined])
    p = prepare_div(g, g.nodes[0])
    assert np.all(ours[undefined] == np.clip(p.output_offset, p.act_min, p.act_max))
    if act == O.Act.NONE and undefined.any():
        assert np.any(ours[undefined] != theirs[undefined])  # noticed when TF-Lite Micro changes


def test_div_output_multiplier_is_computed_in_double():
    # s1 / (s2 * s_out) is exactly 1.25 in float32 (as some div.cc sources compute it) but just
    # below in double; the exact-half quotients (v1 / v2 = 2) then round the other way.
    q = ((0.5, -20), (0.002, 60), (200.0, -50))
    s1, s2, so = (np.float32(v[0]) for v in q)
    assert float(s1 / (s2 * so)) == 1.25 and float(s1) / (float(s2) * float(so)) < 1.25
    g = binary_graph(Op.DIV, (256, 1), (1, 256), (256, 256), *q)
    ours = run_kernels(g, PAIRS, KERNELS)[0]
    theirs = np.asarray(run_tflm(write(g), PAIRS)[0]).reshape(ours.shape)
    undefined = div_shift_exceeds_31(g)
    assert np.array_equal(ours[~undefined], theirs[~undefined])
    assert ours[0, 134] == -48  # x1 = -128, x2 = 6: v1 / v2 = -108 / -54 = 2, times 1.25 just below 2.5


def test_div_huge_multiplier_is_unsupported():
    g = binary_graph(Op.DIV, (4,), (4,), (4,), (1.0, 0), (1e-4, 0), (1e-4, 0))
    with pytest.raises(UnsupportedError, match="2\\^22"):
        KERNELS[Op.DIV](g, g.nodes[0], [np.ones(4, np.int8)] * 2)


@SETTINGS
@given(
    op=st.sampled_from((Op.GREATER, Op.EQUAL, Op.PRELU, Op.DIV)),
    log_scales=st.tuples(*[st.floats(-4.0, 0.5)] * 3),
    zps=st.tuples(*[st.integers(-128, 127)] * 3),
    act=st.sampled_from(list(O.Act)),
)
def test_random_quantisation(op, log_scales, zps, act):
    """Comparisons, PRELU and DIV over every pair for random scales and zero points (DIV's
    fused activation too); refused exactly where TF-Lite Micro refuses."""
    q = [(float(np.float32(10.0**v)), z) for v, z in zip(log_scales, zps)]
    g = binary_graph(op, (256, 1), (1, 256), (256, 256), *q, attrs=O.DivAttrs(act) if op == Op.DIV else None)
    try:
        ours = run_kernels(g, PAIRS, KERNELS)[0]
    except UnsupportedError:
        if op != Op.DIV:  # DIV's refusal (a multiplier of 2^22 or more) is ours: TF-Lite Micro's shifts go wrong
            assert not run_tflm_isolated(write(g), PAIRS).ok
        return
    theirs = np.asarray(run_tflm(write(g), PAIRS)[0]).reshape(ours.shape)
    keep = ~div_shift_exceeds_31(g) if op == Op.DIV else np.ones(ours.shape, bool)
    assert np.array_equal(ours[keep], theirs[keep])
