"""CONV_2D and DEPTHWISE_CONV_2D reference kernels against TF-Lite Micro, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Tensor
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from mcuforge.ref.conv import KERNELS, conv_output_size, per_channel_multipliers, prepare_conv2d
from oracle_util import assert_matches_tflm

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def conv_graph(
    rng: np.random.Generator,
    op: Op,
    in_shape: tuple[int, int, int, int],
    out_c: int,
    k: tuple[int, int],
    stride=(1, 1),
    dilation=(1, 1),
    padding=O.Padding.SAME,
    act=O.Act.NONE,
    per_channel=True,
    bias=True,
    groups=1,
    in_q=(0.05, 3),
    out_zp=-5,
    out_gain=1.0,
    w_scale=(0.002, 0.02),
):
    """One-node conv graph with seeded random weights, bias and a sensible output scale.

    The output scale is chosen so that typical accumulators span the int8 range, then
    divided by `out_gain` (> 1 saturates, < 1 squeezes towards the zero point).
    """
    n, h, w, c_in = in_shape
    depthwise = op == Op.DEPTHWISE_CONV_2D
    if depthwise:
        w_shape, axis = (1, *k, out_c), 3
        taps = k[0] * k[1]
    else:
        w_shape, axis = (out_c, *k, c_in // groups), 0
        taps = k[0] * k[1] * (c_in // groups)
    weights = rng.integers(-127, 128, w_shape).astype(np.int8)
    n_scales = out_c if per_channel else 1
    w_scales = np.exp(rng.uniform(np.log(w_scale[0]), np.log(w_scale[1]), n_scales)).astype(np.float32)
    in_s, in_zp = in_q
    b = GraphBuilder()
    x = b.input(in_shape, "int8", in_s, in_zp)
    wt = b.const(weights, q=quant(w_scales, 0, axis))
    bt = None
    if bias:
        bias_scales = (np.float32(in_s) * np.broadcast_to(w_scales, (out_c,))).astype(np.float32)
        bt = b.const(rng.integers(-3000, 3000, out_c).astype(np.int32), q=quant(bias_scales, 0, 0))
    typical = float(in_s) * float(np.median(w_scales)) * 73.0 * 73.0 * np.sqrt(taps)
    out_s = np.float32(typical / 40.0 / out_gain)
    oh, _ = conv_output_size(h, k[0], stride[0], dilation[0], padding)
    ow, _ = conv_output_size(w, k[1], stride[1], dilation[1], padding)
    if depthwise:
        attrs = O.DepthwiseAttrs(stride, dilation, padding, act, out_c // c_in)
    else:
        attrs = O.ConvAttrs(stride, dilation, padding, act)
    y = b.op(op, [x, wt, bt], (n, oh, ow, out_c), q=quant(out_s, out_zp), attrs=attrs)
    b.output(y)
    return b.graph


def check(g, rng) -> np.ndarray:
    x = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    node = g.nodes[0]
    if node.op == Op.DEPTHWISE_CONV_2D and (len(node.inputs) < 3 or node.inputs[2] is None):
        return check_depthwise_without_bias(g, x)
    return assert_matches_tflm(g, [x], KERNELS)[0]


def check_depthwise_without_bias(g, x: np.ndarray) -> np.ndarray:
    """TF-Lite Micro's DepthwiseConvPrepare crashes (segfault) on a node without bias: it
    releases the absent bias tensor unconditionally. The reference kernel only adds a
    bias when there is one, so the oracle here is the same node with an all-zero bias.
    """
    node = g.nodes[0]
    ours = KERNELS[node.op](g, node, [x, g.tensors[node.inputs[1]].data, None])[0]
    zero = g.copy()
    w = zero.tensors[node.inputs[1]]
    bias = zero.add_tensor(Tensor("zero_bias", (w.shape[3],), "int32", quant(w.quant.scale, 0, 0), np.zeros(w.shape[3], np.int32)))
    zero.nodes[0].inputs = [node.inputs[0], node.inputs[1], bias.name]
    theirs = assert_matches_tflm(zero, [x], KERNELS)[0]
    assert np.array_equal(ours, theirs)
    return ours


# -------------------------------------------------------------------- geometry
@pytest.mark.parametrize(
    "args, expected",
    [
        ((7, 3, 2, 1, "SAME"), (4, 1)),  # total padding 2: one each side
        ((8, 3, 2, 1, "SAME"), (4, 0)),  # total 1: the odd row goes after
        ((6, 4, 1, 1, "SAME"), (6, 1)),  # even kernel: total 3, 1 before, 2 after
        ((7, 3, 1, 2, "VALID"), (3, 0)),  # effective kernel 5
        ((9, 3, 2, 3, "SAME"), (5, 3)),  # effective kernel 7, total 6
        ((5, 1, 3, 1, "SAME"), (2, 0)),  # negative total clamps to 0
        ((2, 3, 1, 1, "VALID"), (0, 0)),  # window larger than the input
    ],
)
def test_conv_output_size(args, expected):
    assert conv_output_size(*args) == expected


# ---------------------------------------------------------------------- CONV_2D
CONV_CASES = {
    "same_s1": dict(in_shape=(1, 8, 8, 3), out_c=5, k=(3, 3)),
    "same_s2_odd": dict(in_shape=(1, 9, 7, 4), out_c=6, k=(3, 3), stride=(2, 2)),
    "valid_s2": dict(in_shape=(1, 10, 9, 3), out_c=4, k=(3, 3), stride=(2, 2), padding=O.Padding.VALID),
    "valid_asym_stride": dict(in_shape=(1, 11, 8, 2), out_c=3, k=(3, 2), stride=(3, 1), padding=O.Padding.VALID),
    "dilated_same": dict(in_shape=(1, 9, 9, 3), out_c=4, k=(3, 3), dilation=(2, 2)),
    "dilated_valid_asym": dict(in_shape=(1, 12, 10, 2), out_c=4, k=(3, 3), dilation=(2, 3), padding=O.Padding.VALID),
    "dilated_strided": dict(in_shape=(1, 13, 11, 2), out_c=3, k=(3, 3), stride=(2, 2), dilation=(2, 2)),
    "even_kernel": dict(in_shape=(1, 7, 6, 3), out_c=4, k=(4, 2)),
    "pointwise": dict(in_shape=(1, 6, 5, 16), out_c=8, k=(1, 1)),
    "pointwise_strided": dict(in_shape=(1, 7, 7, 8), out_c=4, k=(1, 1), stride=(2, 2)),
    "batch2": dict(in_shape=(2, 5, 5, 3), out_c=3, k=(3, 3)),
    "relu": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), act=O.Act.RELU, out_zp=-20),
    "relu6": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), act=O.Act.RELU6, out_zp=-128, out_gain=4.0),
    "relu_n1_to_1": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), act=O.Act.RELU_N1_TO_1, out_gain=0.02),
    "per_tensor": dict(in_shape=(1, 7, 7, 4), out_c=5, k=(3, 3), per_channel=False),
    "no_bias": dict(in_shape=(1, 7, 7, 4), out_c=5, k=(3, 3), bias=False),
    "zero_points_low": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), in_q=(0.02, -128), out_zp=-128),
    "zero_points_high": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), in_q=(0.02, 127), out_zp=127),
    "saturating": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), out_gain=50.0),
    "squeezed": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), out_gain=0.001),
    "grouped": dict(in_shape=(1, 6, 6, 8), out_c=6, k=(3, 3), groups=2),
    "grouped_4_valid": dict(in_shape=(1, 7, 6, 8), out_c=8, k=(3, 3), groups=4, padding=O.Padding.VALID),
    "deep": dict(in_shape=(1, 4, 4, 64), out_c=16, k=(3, 3)),
}


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv2d(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    check(conv_graph(rng, Op.CONV_2D, **CONV_CASES[name]), rng)


def test_conv2d_multiplier_above_one():
    # input scale * filter scale > output scale (here 200 / 60): QuantizeMultiplier gives
    # a positive (left) shift, applied to the int32 accumulator before the high multiply.
    rng = np.random.default_rng(1)
    g = conv_graph(rng, Op.CONV_2D, (1, 5, 5, 2), 3, (1, 1), in_q=(1.0, 0), w_scale=(200.0, 210.0))
    g.tensors[g.outputs[0]].quant = quant(np.float32(60.0), 0)
    assert all(s > 0 for s in prepare_conv2d(g, g.nodes[0]).shifts)
    x = rng.integers(-3, 4, (1, 5, 5, 2)).astype(np.int8)
    assert_matches_tflm(g, [x], KERNELS)


def test_conv2d_tiny_multiplier_flushes_to_zero():
    # A real multiplier below 2^-32 gives shift < -31: QuantizeMultiplier returns (0, 0)
    # and every output is the zero point (then clamped).
    rng = np.random.default_rng(2)
    g = conv_graph(rng, Op.CONV_2D, (1, 4, 4, 2), 3, (3, 3), in_q=(1e-5, 0), w_scale=(1e-5, 1e-5), bias=False)
    g.tensors[g.outputs[0]].quant = quant(np.float32(100.0), 7)
    y = check(g, rng)
    assert np.all(y == 7)


def _discriminating_bias(m_a: int, s_a: int, m_b: int, s_b: int, lo: int, hi: int, zp: int) -> int | None:
    """An int32 accumulator that two (multiplier, shift) pairs requantise differently.

    Looks next to the accumulators where the first pair's exact product crosses a
    rounding boundary (out + 0.5); the second pair crosses a little way off.
    """
    for out in range(lo - zp, hi - zp):
        centre = int((out + 0.5) * 2.0 ** (31 - s_a) / m_a)
        if not 0 < abs(centre) < (1 << 31) - 1024:
            continue
        acc = np.arange(centre - 512, centre + 512, dtype=np.int64)
        ya = multiply_by_quantized_multiplier(acc, m_a, s_a) + zp
        yb = multiply_by_quantized_multiplier(acc, m_b, s_b) + zp
        hit = np.flatnonzero((ya != yb) & (ya >= lo) & (ya <= hi) & (yb >= lo) & (yb <= hi))
        if hit.size:
            return int(acc[hit[0]])
    return None


@pytest.mark.parametrize("op", [Op.CONV_2D, Op.DEPTHWISE_CONV_2D])
def test_multiplier_is_derived_in_double(op):
    """PopulateConvolutionQuantizationParams multiplies the scales in double.

    Scales are picked so that a float32 product gives a different Q31 multiplier, and
    each channel's bias (all weights zero) is an accumulator the two multipliers round
    to different outputs, so a float32 derivation would fail this test. Per-tensor
    weights go through the same double path in conv (unlike FULLY_CONNECTED).
    """
    rng = np.random.default_rng(3)
    s_in = np.float32(0.0123)
    s_out = np.float32(0.0123 * 5e-4 * 2.0**24.5)  # multipliers near 2^-24.5: outputs 45..90
    channels, scales, biases = 4, [], []
    while len(scales) < channels:
        s_w = np.float32(float(s_out) / float(s_in) / 2.0**24.5 * rng.uniform(0.8, 1.2))
        (m_d,), (sh_d,) = per_channel_multipliers(s_in, np.array([s_w]), s_out, 1)
        m_f, sh_f = quantize_multiplier(float(s_in * s_w) / float(s_out))  # float32 product
        if (m_d, sh_d) == (m_f, sh_f):
            continue
        acc = _discriminating_bias(m_d, sh_d, m_f, sh_f, -128, 127, 0)
        if acc is not None:
            scales.append(s_w)
            biases.append(acc)
    depthwise = op == Op.DEPTHWISE_CONV_2D
    b = GraphBuilder()
    x = b.input((1, 2, 2, channels), "int8", s_in, 0)
    w_shape = (1, 1, 1, channels) if depthwise else (channels, 1, 1, channels)
    wt = b.const(np.zeros(w_shape, np.int8), q=quant(np.array(scales, np.float32), 0, 3 if depthwise else 0))
    bt = b.const(np.array(biases, np.int32), q=quant((s_in * np.array(scales, np.float32)).astype(np.float32), 0, 0))
    attrs = O.DepthwiseAttrs() if depthwise else O.ConvAttrs()
    y = b.op(op, [x, wt, bt], (1, 2, 2, channels), q=quant(s_out, 0), attrs=attrs)
    b.output(y)
    check(b.graph, rng)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    c_in=st.sampled_from([1, 2, 3, 4, 6, 8]),
    out_c=st.integers(1, 6),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.sampled_from(list(O.Padding)),
    act=st.sampled_from(list(O.Act)),
    per_channel=st.booleans(),
    bias=st.booleans(),
    in_zp=st.integers(-128, 127),
    out_zp=st.integers(-128, 127),
    out_gain=st.floats(0.01, 100.0),
    groups=st.sampled_from([1, 2]),
)
def test_conv2d_random(seed, hw, c_in, out_c, k, stride, dilation, padding, act, per_channel, bias, in_zp, out_zp, out_gain, groups):
    if c_in % groups or out_c % groups:
        groups = 1
    eff = [(k[i] - 1) * dilation[i] + 1 for i in range(2)]
    if padding == O.Padding.VALID and (eff[0] > hw[0] or eff[1] > hw[1]):
        padding = O.Padding.SAME
    rng = np.random.default_rng(seed)
    g = conv_graph(
        rng, Op.CONV_2D, (1, *hw, c_in), out_c, k, stride, dilation, padding, act, per_channel, bias, groups,
        in_q=(float(rng.uniform(0.001, 0.5)), in_zp), out_zp=out_zp, out_gain=out_gain,
    )
    check(g, rng)


# ------------------------------------------------------------ DEPTHWISE_CONV_2D
DW_CASES = {
    "same_s1": dict(in_shape=(1, 8, 8, 4), out_c=4, k=(3, 3)),
    "same_s2_odd": dict(in_shape=(1, 9, 7, 3), out_c=3, k=(3, 3), stride=(2, 2)),
    "valid_s2": dict(in_shape=(1, 10, 9, 5), out_c=5, k=(3, 3), stride=(2, 2), padding=O.Padding.VALID),
    "multiplier_2": dict(in_shape=(1, 6, 6, 3), out_c=6, k=(3, 3)),
    "multiplier_3_valid": dict(in_shape=(1, 7, 6, 2), out_c=6, k=(2, 3), padding=O.Padding.VALID),
    "dilated": dict(in_shape=(1, 9, 9, 4), out_c=4, k=(3, 3), dilation=(2, 2)),
    "dilated_asym_strided": dict(in_shape=(1, 12, 11, 2), out_c=4, k=(3, 3), stride=(2, 1), dilation=(1, 3)),
    "5x5": dict(in_shape=(1, 7, 7, 8), out_c=8, k=(5, 5), stride=(2, 2)),
    "batch2": dict(in_shape=(2, 5, 5, 3), out_c=3, k=(3, 3)),
    "relu6": dict(in_shape=(1, 6, 6, 4), out_c=4, k=(3, 3), act=O.Act.RELU6, out_zp=-128, out_gain=4.0),
    "relu": dict(in_shape=(1, 6, 6, 4), out_c=4, k=(3, 3), act=O.Act.RELU, out_zp=10),
    "per_tensor": dict(in_shape=(1, 6, 6, 4), out_c=4, k=(3, 3), per_channel=False),
    "no_bias": dict(in_shape=(1, 6, 6, 4), out_c=8, k=(3, 3), bias=False),
    "zero_points_edges": dict(in_shape=(1, 6, 6, 4), out_c=4, k=(3, 3), in_q=(0.02, 127), out_zp=-128),
    "saturating": dict(in_shape=(1, 6, 6, 4), out_c=4, k=(3, 3), out_gain=50.0),
}


@pytest.mark.parametrize("name", list(DW_CASES))
def test_depthwise_conv2d(name):
    rng = np.random.default_rng(sum(map(ord, name)) + 1)
    check(conv_graph(rng, Op.DEPTHWISE_CONV_2D, **DW_CASES[name]), rng)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    c_in=st.integers(1, 6),
    mult=st.integers(1, 3),
    k=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(list(O.Padding)),
    act=st.sampled_from(list(O.Act)),
    per_channel=st.booleans(),
    bias=st.booleans(),
    in_zp=st.integers(-128, 127),
    out_zp=st.integers(-128, 127),
    out_gain=st.floats(0.01, 100.0),
)
def test_depthwise_conv2d_random(seed, hw, c_in, mult, k, stride, dilation, padding, act, per_channel, bias, in_zp, out_zp, out_gain):
    eff = [(k[i] - 1) * dilation[i] + 1 for i in range(2)]
    if padding == O.Padding.VALID and (eff[0] > hw[0] or eff[1] > hw[1]):
        padding = O.Padding.SAME
    rng = np.random.default_rng(seed)
    g = conv_graph(
        rng, Op.DEPTHWISE_CONV_2D, (1, *hw, c_in), c_in * mult, k, stride, dilation, padding, act, per_channel, bias,
        in_q=(float(rng.uniform(0.001, 0.5)), in_zp), out_zp=out_zp, out_gain=out_gain,
    )
    check(g, rng)


# ------------------------------------------------------------------ unsupported
def test_int16_input_is_unsupported():
    rng = np.random.default_rng(4)
    g = conv_graph(rng, Op.CONV_2D, (1, 4, 4, 2), 2, (3, 3))
    g.tensors[g.inputs[0]].dtype = "int16"
    x = np.zeros((1, 4, 4, 2), np.int16)
    with pytest.raises(UnsupportedError, match="int16"):
        KERNELS[Op.CONV_2D](g, g.nodes[0], [x, g.tensors[g.nodes[0].inputs[1]].data, None])


def test_mismatched_groups_are_unsupported():
    rng = np.random.default_rng(5)
    g = conv_graph(rng, Op.CONV_2D, (1, 4, 4, 6), 2, (3, 3), groups=2)
    g.tensors[g.inputs[0]].shape = (1, 4, 4, 5)  # 5 channels, filter takes 3
    with pytest.raises(UnsupportedError, match="multiple"):
        KERNELS[Op.CONV_2D](g, g.nodes[0], [np.zeros((1, 4, 4, 5), np.int8), None, None])
