"""FULLY_CONNECTED reference kernel against TF-Lite Micro, bit for bit."""

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
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.ref.fc import KERNELS, fc_multiplier, prepare_fully_connected
from oracle_util import assert_matches_tflm

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def fc_graph(
    rng: np.random.Generator,
    in_shape: tuple[int, ...],
    units: int,
    keep_num_dims=False,
    act=O.Act.NONE,
    per_channel=False,
    bias=True,
    in_q=(0.05, 3),
    w_zp=0,
    out_zp=-3,
    out_gain=1.0,
    weights: np.ndarray | None = None,
    w_scales: np.ndarray | None = None,
    out_scale: float | None = None,
    biases: np.ndarray | None = None,
):
    """One-node FULLY_CONNECTED graph; the output scale makes typical sums span int8."""
    depth = in_shape[-1]
    if weights is None:
        weights = rng.integers(-127, 128, (units, depth)).astype(np.int8)
    if w_scales is None:
        n = units if per_channel else 1
        w_scales = np.exp(rng.uniform(np.log(0.002), np.log(0.02), n)).astype(np.float32)
    in_s, in_zp = in_q
    b = GraphBuilder()
    x = b.input(in_shape, "int8", in_s, in_zp)
    wt = b.const(weights, q=quant(w_scales, w_zp, 0))
    bt = None
    if bias:
        # GetQuantizedConvolutionMultipler rejects a bias scale far from input * filter.
        b_scales = (np.float32(in_s) * np.asarray(w_scales, np.float32)).astype(np.float32)
        if biases is None:
            biases = rng.integers(-3000, 3000, units)
        bt = b.const(np.asarray(biases, np.int32), q=quant(b_scales, 0, 0))
    if out_scale is None:
        out_scale = float(in_s) * float(np.median(w_scales)) * 73.0 * 73.0 * np.sqrt(depth) / 40.0 / out_gain
    batches = int(np.prod(in_shape[:-1]))
    out_shape = (*in_shape[:-1], units) if keep_num_dims else (batches, units)
    y = b.op(Op.FULLY_CONNECTED, [x, wt, bt], out_shape, q=quant(np.float32(out_scale), out_zp),
             attrs=O.FullyConnectedAttrs(act, keep_num_dims))
    b.output(y)
    return b.graph


def check(g, rng) -> np.ndarray:
    x = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    return assert_matches_tflm(g, [x], KERNELS)[0]


CASES = {
    "vector": dict(in_shape=(1, 20), units=10),
    "batches": dict(in_shape=(3, 17), units=5),
    "after_pool_4d": dict(in_shape=(1, 1, 1, 32), units=7),
    "keep_num_dims_3d": dict(in_shape=(2, 3, 12), units=4, keep_num_dims=True),
    "flatten_3d": dict(in_shape=(2, 3, 12), units=4, keep_num_dims=False),
    "no_bias": dict(in_shape=(2, 16), units=6, bias=False),
    "relu": dict(in_shape=(1, 24), units=12, act=O.Act.RELU, out_zp=-30),
    "relu6": dict(in_shape=(1, 24), units=12, act=O.Act.RELU6, out_zp=-128, out_gain=4.0),
    "relu_n1_to_1": dict(in_shape=(1, 24), units=12, act=O.Act.RELU_N1_TO_1, out_gain=0.02),
    "zero_points_low": dict(in_shape=(2, 16), units=8, in_q=(0.02, -128), out_zp=-128),
    "zero_points_high": dict(in_shape=(2, 16), units=8, in_q=(0.02, 127), out_zp=127),
    "saturating": dict(in_shape=(2, 16), units=8, out_gain=50.0),
    "squeezed": dict(in_shape=(2, 16), units=8, out_gain=0.001),
    "long": dict(in_shape=(1, 1000), units=3),
    "filter_zero_point": dict(in_shape=(2, 10), units=5, w_zp=5),  # per-tensor kernel applies it
    "per_channel": dict(in_shape=(2, 16), units=6, per_channel=True),
    "per_channel_no_bias_relu": dict(in_shape=(1, 16), units=6, per_channel=True, bias=False, act=O.Act.RELU),
    "per_channel_keep_num_dims": dict(in_shape=(2, 3, 8), units=5, per_channel=True, keep_num_dims=True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fully_connected(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    check(fc_graph(rng, **CASES[name]), rng)


def test_multiplier_above_one():
    rng = np.random.default_rng(1)
    g = fc_graph(rng, (1, 4), 3, in_q=(1.0, 0), w_scales=np.array([2.0], np.float32), out_scale=0.3)
    assert prepare_fully_connected(g, g.nodes[0]).shifts[0] > 0
    x = rng.integers(-2, 3, (1, 4)).astype(np.int8)
    assert_matches_tflm(g, [x], KERNELS)


def _discriminating_bias(m_a: int, s_a: int, m_b: int, s_b: int, lo: int, hi: int) -> int | None:
    """An accumulator that two (multiplier, shift) pairs requantise to different outputs in [lo, hi]."""
    for out in range(lo, hi):
        centre = int((out + 0.5) * 2.0 ** (31 - s_a) / m_a)
        if not 0 < abs(centre) < (1 << 31) - 1024:
            continue
        acc = np.arange(centre - 512, centre + 512, dtype=np.int64)
        ya = multiply_by_quantized_multiplier(acc, m_a, s_a)
        yb = multiply_by_quantized_multiplier(acc, m_b, s_b)
        hit = np.flatnonzero((ya != yb) & (ya >= lo) & (ya <= hi) & (yb >= lo) & (yb <= hi))
        if hit.size:
            return int(acc[hit[0]])
    return None


def _scale_pairs(rng, s_in: np.float32, s_out: np.float32, count: int):
    """Filter scales whose float32-product and double-product multipliers differ, with a
    bias for each that the two round to different outputs (weights are all zero)."""
    scales, biases = [], []
    while len(scales) < count:
        s_w = np.float32(float(s_out) / float(s_in) / 2.0**24.5 * rng.uniform(0.8, 1.2))
        m_f, sh_f = quantize_multiplier(float(s_in * s_w) / float(s_out))  # float32 product
        m_d, sh_d = fc_multiplier(s_in, s_w, s_out)
        if (m_f, sh_f) == (m_d, sh_d):
            continue
        acc = _discriminating_bias(m_d, sh_d, m_f, sh_f, -128, 127)
        if acc is not None:
            scales.append(s_w)
            biases.append(acc)
    return np.array(scales, np.float32), np.array(biases, np.int32)


@pytest.mark.parametrize("per_channel", [False, True])
def test_multiplier_derivation(per_channel):
    """The oracle wheel derives both per-tensor and per-channel multipliers in double.

    TF-Lite Micro's source (GetQuantizedConvolutionMultipler) suggests a float32
    product of the scales for per-tensor weights; these scales make the two
    derivations give different Q31 multipliers, and each bias (weights all zero) is
    an accumulator they round to different outputs, so the float32 one fails here.
    """
    rng = np.random.default_rng(11)
    s_in = np.float32(0.0123)
    s_out = np.float32(0.0123 * 5e-4 * 2.0**24.5)  # multipliers near 2^-24.5
    units = 4 if per_channel else 1
    scales, biases = _scale_pairs(rng, s_in, s_out, units)
    g = fc_graph(rng, (1, 8), units, per_channel=per_channel, weights=np.zeros((units, 8), np.int8),
                 w_scales=scales, out_scale=float(s_out), biases=biases, in_q=(float(s_in), 0), out_zp=0)
    check(g, rng)


def test_fc_multiplier_is_the_one_channel_conv_multiplier():
    s_in, s_w, s_out = np.float32(0.1), np.float32(0.3), np.float32(0.7)
    assert fc_multiplier(s_in, s_w, s_out) == quantize_multiplier(float(s_in) * float(s_w) / float(s_out))
    assert fc_multiplier(s_in, s_w, s_out) != quantize_multiplier(float(s_in * s_w) / float(s_out))


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    lead=st.sampled_from([(1,), (2,), (1, 1, 1), (2, 3), (3, 1)]),
    depth=st.integers(1, 64),
    units=st.integers(1, 16),
    keep_num_dims=st.booleans(),
    act=st.sampled_from(list(O.Act)),
    per_channel=st.booleans(),
    bias=st.booleans(),
    in_zp=st.integers(-128, 127),
    out_zp=st.integers(-128, 127),
    out_gain=st.floats(0.01, 100.0),
)
def test_fully_connected_random(seed, lead, depth, units, keep_num_dims, act, per_channel, bias, in_zp, out_zp, out_gain):
    rng = np.random.default_rng(seed)
    g = fc_graph(rng, (*lead, depth), units, keep_num_dims, act, per_channel, bias,
                 in_q=(float(rng.uniform(0.001, 0.5)), in_zp), out_zp=out_zp, out_gain=out_gain)
    check(g, rng)


def test_int16_is_unsupported():
    rng = np.random.default_rng(4)
    g = fc_graph(rng, (1, 8), 2)
    g.tensors[g.inputs[0]].dtype = "int16"
    with pytest.raises(UnsupportedError, match="int16"):
        prepare_fully_connected(g, g.nodes[0])


def test_bias_scale_mismatch_is_rejected_like_tflm():
    rng = np.random.default_rng(6)
    g = fc_graph(rng, (1, 8), 2, in_q=(0.05, 0), w_scales=np.array([0.01], np.float32))
    g.tensors[g.nodes[0].inputs[2]].quant = quant(0.05, 0)  # should be 0.0005
    assert not run_tflm_isolated(write(g), [np.zeros((1, 8), np.int8)]).ok
    with pytest.raises(UnsupportedError, match="bias scale"):
        prepare_fully_connected(g, g.nodes[0])


def test_shape_mismatch_is_unsupported():
    rng = np.random.default_rng(5)
    g = fc_graph(rng, (1, 8), 2)
    g.tensors[g.inputs[0]].shape = (1, 9)
    with pytest.raises(UnsupportedError, match="output shape"):
        prepare_fully_connected(g, g.nodes[0])
