"""TRANSPOSE_CONV and BATCH_MATMUL reference kernels against TF-Lite Micro, bit for bit
(and LiteRT's reference kernels, where both oracles agree)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.shapes import infer_shapes
from mcuforge.ir.shapes_matmul import matmul_dims
from mcuforge.oracle.tflm import run_tflm
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from mcuforge.ref.matmul import KERNELS, batch_matmul_multiplier, prepare_transpose_conv, scatter_range
from oracle_util import assert_matches_oracles, assert_matches_tflm, run_kernels, run_litert

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


# ---------------------------------------------------------------- TRANSPOSE_CONV
def tconv_graph(
    rng: np.random.Generator,
    in_shape: tuple[int, int, int, int],
    out_hw: tuple[int, int],
    out_c: int,
    k: tuple[int, int],
    stride=(1, 1),
    padding=O.Padding.SAME,
    act=O.Act.NONE,
    per_channel=True,
    bias: bool | None = True,  # None: a bias slot left empty (index -1)
    in_q=(0.05, 3),
    out_zp=-5,
    out_gain=1.0,
    biases=None,
):
    """One TRANSPOSE_CONV node with seeded random weights and an output scale that spreads
    typical accumulators over the int8 range (divided by out_gain)."""
    n, _, _, c_in = in_shape
    weights = rng.integers(-127, 128, (out_c, *k, c_in)).astype(np.int8)
    w_scales = np.exp(rng.uniform(np.log(0.002), np.log(0.02), out_c if per_channel else 1)).astype(np.float32)
    b = GraphBuilder()
    x = b.input(in_shape, "int8", *in_q)
    shape = b.const(np.array([n, *out_hw, out_c], np.int32))
    inputs = [shape, b.const(weights, q=quant(w_scales, 0, 0)), x]
    if bias:
        values = rng.integers(-3000, 3000, out_c) if biases is None else biases
        b_scales = (np.float32(in_q[0]) * np.broadcast_to(w_scales, (out_c,))).astype(np.float32)
        inputs.append(b.const(np.asarray(values, np.int32), q=quant(b_scales, 0, 0)))
    elif bias is None:
        inputs.append(None)
    taps = c_in * k[0] * k[1] / (stride[0] * stride[1])
    out_s = np.float32(in_q[0] * float(np.median(w_scales)) * 73.0 * 73.0 * np.sqrt(max(taps, 1.0)) / 40.0 / out_gain)
    attrs = O.TransposeConvAttrs(tuple(stride), padding, act)
    b.output(b.op(Op.TRANSPOSE_CONV, inputs, (n, *out_hw, out_c), q=quant(out_s, out_zp), attrs=attrs))
    return b.graph


def forward_size(size: int, k: int, stride: int, padding) -> int:
    """The output length whose forward convolution gives `size` (what the converter writes)."""
    return size * stride if padding == O.Padding.SAME else (size - 1) * stride + k


def check_tconv(rng, in_shape, out_c, k, stride=(1, 1), padding=O.Padding.SAME, out_hw=None, **kw) -> np.ndarray:
    if out_hw is None:
        out_hw = tuple(forward_size(in_shape[1 + i], k[i], stride[i], padding) for i in range(2))
    g = tconv_graph(rng, in_shape, out_hw, out_c, k, stride, padding, **kw)
    x = rng.integers(-128, 128, in_shape).astype(np.int8)
    return assert_matches_tflm(g, [x], KERNELS)[0]


TCONV_CASES = {
    "s1_same_3x3": dict(in_shape=(1, 5, 5, 3), out_c=4, k=(3, 3)),
    "s2_same_3x3": dict(in_shape=(1, 4, 4, 3), out_c=5, k=(3, 3), stride=(2, 2)),
    "s2_valid_3x3": dict(in_shape=(1, 4, 4, 3), out_c=5, k=(3, 3), stride=(2, 2), padding=O.Padding.VALID),
    "s2_same_2x2": dict(in_shape=(1, 4, 5, 2), out_c=3, k=(2, 2), stride=(2, 2)),  # no overlap, no padding
    "s2_same_4x4": dict(in_shape=(1, 3, 4, 3), out_c=2, k=(4, 4), stride=(2, 2)),  # odd total padding
    "s3x2_valid": dict(in_shape=(1, 3, 3, 3), out_c=2, k=(3, 3), stride=(3, 2), padding=O.Padding.VALID),
    "s1x3_same_asym": dict(in_shape=(1, 4, 3, 2), out_c=3, k=(2, 5), stride=(1, 3)),
    "k1_s2_gaps": dict(in_shape=(1, 4, 4, 4), out_c=3, k=(1, 1), stride=(2, 2)),  # outputs nothing reaches
    "k1_s1_pointwise": dict(in_shape=(1, 3, 3, 8), out_c=5, k=(1, 1)),
    "k5_s2_same": dict(in_shape=(1, 3, 3, 2), out_c=3, k=(5, 5), stride=(2, 2)),
    "kernel_wider_than_output": dict(in_shape=(1, 1, 1, 2), out_c=2, k=(5, 5), padding=O.Padding.SAME),
    "batch2": dict(in_shape=(2, 3, 4, 3), out_c=3, k=(3, 3), stride=(2, 2)),
    "one_channel": dict(in_shape=(1, 4, 4, 1), out_c=1, k=(3, 3), stride=(2, 2)),
    "many_channels": dict(in_shape=(1, 2, 2, 32), out_c=24, k=(3, 3), stride=(2, 2)),
    "per_tensor": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), per_channel=False),
    "no_bias": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), bias=False),
    "empty_bias_slot": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), bias=None),
    "relu": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), act=O.Act.RELU, out_zp=-20),
    "relu6": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), act=O.Act.RELU6, out_zp=-128, out_gain=4.0),
    "relu_n1_to_1": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), act=O.Act.RELU_N1_TO_1, out_gain=0.02),
    "zero_points_low": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), in_q=(0.02, -128), out_zp=-128),
    "zero_points_high": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), in_q=(0.02, 127), out_zp=127),
    "saturating": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), out_gain=50.0),
    "squeezed": dict(in_shape=(1, 4, 4, 3), out_c=4, k=(3, 3), stride=(2, 2), out_gain=0.001),
    # output shapes the forward convolution would not give: TF-Lite Micro scatters anyway
    "output_larger": dict(in_shape=(1, 3, 3, 2), out_c=2, k=(3, 3), stride=(2, 2), out_hw=(9, 8)),
    "output_smaller": dict(in_shape=(1, 4, 4, 2), out_c=2, k=(3, 3), stride=(2, 2), out_hw=(5, 3)),
    "output_smaller_valid": dict(in_shape=(1, 4, 4, 2), out_c=2, k=(3, 3), stride=(2, 2), out_hw=(4, 6),
                                 padding=O.Padding.VALID),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(TCONV_CASES))
def test_transpose_conv(case):
    out = check_tconv(np.random.default_rng(sorted(TCONV_CASES).index(case)), **TCONV_CASES[case])
    if case not in ("saturating", "squeezed", "relu_n1_to_1", "k1_s2_gaps"):
        assert np.unique(out).size > min(8, out.size // 3)  # the output scale spreads the values


def test_transpose_conv_litert_agrees():
    """LiteRT's reference kernels give the same bytes on the common cases."""
    rng = np.random.default_rng(5)
    for case in ("s2_same_3x3", "s2_valid_3x3", "s2_same_4x4", "batch2", "relu6"):
        c = TCONV_CASES[case]
        out_hw = tuple(forward_size(c["in_shape"][1 + i], c["k"][i], c.get("stride", (1, 1))[i],
                                    c.get("padding", O.Padding.SAME)) for i in range(2))  # fmt: skip
        args = {k: v for k, v in c.items() if k not in ("in_shape", "out_c", "k", "stride", "padding")}
        g = tconv_graph(rng, c["in_shape"], out_hw, c["out_c"], c["k"], c.get("stride", (1, 1)),
                        c.get("padding", O.Padding.SAME), **args)  # fmt: skip
        assert_matches_oracles(g, [rng.integers(-128, 128, c["in_shape"]).astype(np.int8)], kernels=KERNELS)


@pytest.mark.parametrize("case", ["output_larger", "output_smaller", "output_smaller_valid"])
def test_transpose_conv_inconsistent_output_shape(case):
    """An output shape whose forward convolution does not give the input's size: TF-Lite
    Micro scatters anyway (and we match it, test_transpose_conv), LiteRT refuses the file
    (transpose_conv.cc: computed_input_height != SizeOfDimension(input, 1)). mcuforge
    follows TF-Lite Micro; this notices if LiteRT starts to accept such files."""
    c = TCONV_CASES[case]
    rng = np.random.default_rng(2)
    g = tconv_graph(rng, c["in_shape"], c["out_hw"], c["out_c"], c["k"], c["stride"], c.get("padding", O.Padding.SAME))
    x = rng.integers(-128, 128, c["in_shape"]).astype(np.int8)
    assert_matches_tflm(g, [x], KERNELS)
    with pytest.raises(RuntimeError, match="computed_input_height"):
        run_litert(g, [x])


def test_transpose_conv_int32_wrap():
    """Biases near the int32 limits: the accumulator plus bias wraps as TF-Lite Micro's int32 does."""
    rng = np.random.default_rng(9)
    biases = [2**31 - 1, -(2**31), 2**31 - 40000, -(2**31) + 40000]
    check_tconv(rng, (1, 3, 3, 4), 4, (3, 3), (2, 2), biases=biases, out_gain=0.01)


def test_transpose_conv_filter_zero_point_is_ignored():
    """reference_integer_ops::TransposeConv never reads the filter zero point (int8 weights
    are symmetric); a file that stores one gets the same result as with 0."""
    rng = np.random.default_rng(3)
    g = tconv_graph(rng, (1, 3, 3, 3), (6, 6), 4, (3, 3), (2, 2))
    w = g.tensors[g.nodes[0].inputs[1]]
    w.quant = quant(w.quant.scale, [5, -3, 0, 17], 0)
    x = rng.integers(-128, 128, (1, 3, 3, 3)).astype(np.int8)
    ours = assert_matches_tflm(g, [x], KERNELS)[0]
    w.quant = quant(w.quant.scale, 0, 0)
    assert np.array_equal(ours, run_kernels(g, [x], KERNELS)[0])


def test_transpose_conv_padding_uses_the_output_size():
    rng = np.random.default_rng(0)
    g = tconv_graph(rng, (1, 4, 4, 2), (8, 7), 2, (4, 3), (2, 2))
    p = prepare_transpose_conv(g, g.nodes[0])
    # SAME on the 8 x 7 output with stride 2: totals (4-1)*2+4-8 = 2 and 3*2+3-7 = 2
    assert p.padding == (1, 1)


@pytest.mark.parametrize(
    "n_in, n_out, stride, offset", [(4, 8, 2, -1), (4, 9, 2, 0), (3, 5, 3, 1), (2, 2, 1, 5), (5, 3, 2, -4)]
)
def test_scatter_range(n_in, n_out, stride, offset):
    lo, hi = scatter_range(n_in, n_out, stride, offset)
    assert [i for i in range(lo, hi)] == [i for i in range(n_in) if 0 <= i * stride + offset < n_out]


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    hw=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(list(O.Padding)),
    channels=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    act=st.sampled_from(list(O.Act)),
    per_channel=st.booleans(),
    bias=st.booleans(),
    in_zp=st.integers(-128, 127),
    out_zp=st.integers(-128, 127),
    out_gain=st.floats(0.05, 20.0),
)
def test_transpose_conv_random(seed, hw, k, stride, padding, channels, act, per_channel, bias, in_zp, out_zp, out_gain):
    rng = np.random.default_rng(seed)
    check_tconv(rng, (1, *hw, channels[0]), channels[1], k, stride, padding, act=act, per_channel=per_channel,
                bias=bias, in_q=(0.04, in_zp), out_zp=out_zp, out_gain=out_gain)  # fmt: skip


def test_transpose_conv_shape_rule():
    rng = np.random.default_rng(0)
    g = tconv_graph(rng, (2, 3, 4, 3), (6, 8), 5, (3, 3), (2, 2))
    assert infer_shapes(g, g.nodes[0]) == [(2, 6, 8, 5)]
    g.tensors[g.nodes[0].inputs[0]].data[:] = [1, 6, 8, 5]  # batch 1 for an input of 2
    with pytest.raises(ModelFormatError, match="batch"):
        infer_shapes(g, g.nodes[0])
    g.tensors[g.nodes[0].inputs[0]].data[:] = [2, 6, 8, 4]  # 4 channels for a filter of 5
    with pytest.raises(ModelFormatError, match="output channels"):
        infer_shapes(g, g.nodes[0])
    g = tconv_graph(rng, (1, 3, 4, 3), (6, 8), 5, (3, 3), (2, 2))
    g.nodes[0].attrs = O.TransposeConvAttrs((2, 2), (1, 1, 1, 1))
    with pytest.raises(UnsupportedError, match="explicit padding"):
        infer_shapes(g, g.nodes[0])


def test_transpose_conv_filter_axis():
    """Per-channel filter scales along an axis other than 0 are refused (TF-Lite Micro requires 0)."""
    rng = np.random.default_rng(0)
    g = tconv_graph(rng, (1, 3, 3, 3), (3, 3), 3, (3, 3))
    w = g.tensors[g.nodes[0].inputs[1]]
    w.quant = quant(w.quant.scale, 0, 3)
    with pytest.raises(UnsupportedError, match="axis 3"):
        run_kernels(g, [np.zeros((1, 3, 3, 3), np.int8)], KERNELS)


# ------------------------------------------------------------------ BATCH_MATMUL
def bmm_graph(xs, ys, adj_x=False, adj_y=False, qx=(0.05, 3), qy=(0.04, -7), qo=None, const=None) -> tuple:
    """One BATCH_MATMUL node; `const` (0 or 1) makes that input a seeded constant.
    Returns the graph and its inputs."""
    a = O.BatchMatMulAttrs(adj_x, adj_y)
    batch, m, k, n = matmul_dims(xs, ys, a)
    rng = np.random.default_rng(abs(hash((xs, ys, adj_x, adj_y))) % 2**32)
    data = [rng.integers(-128, 128, s).astype(np.int8) for s in (xs, ys)]
    b = GraphBuilder()
    names = [b.const(d, q=quant(*q)) if i == const else b.input(s, "int8", *q)
             for i, (d, s, q) in enumerate(zip(data, (xs, ys), (qx, qy)))]  # fmt: skip
    if qo is None:
        qo = (qx[0] * qy[0] * 90.0 * np.sqrt(k) / 40.0, 2)
    b.output(b.op(Op.BATCH_MATMUL, names, (*batch, m, n), q=quant(*qo), attrs=a))
    return b.graph, [d for i, d in enumerate(data) if i != const]


BMM_SHAPES = [
    ((3, 4), (4, 5)), ((1, 1), (1, 1)), ((7, 1), (1, 6)), ((1, 33), (33, 1)),
    ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (1, 4, 5)), ((1, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (1, 3, 4, 5)), ((2, 3, 3, 4), (2, 1, 4, 5)), ((2, 3, 4), (3, 1, 4, 5)),
    ((1, 2, 3, 2, 4), (2, 1, 3, 4, 2)), ((2, 2, 1, 3, 4), (4, 5)),
]  # fmt: skip


def _adjusted(xs, ys, adj_x, adj_y):
    sw = lambda s: (*s[:-2], s[-1], s[-2])  # noqa: E731
    return (sw(xs) if adj_x else xs), (sw(ys) if adj_y else ys)


@pytest.mark.parametrize("adj", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("shapes", BMM_SHAPES, ids=str)
def test_batch_matmul(shapes, adj):
    g, xs = bmm_graph(*_adjusted(*shapes, *adj), *adj)
    assert_matches_tflm(g, xs, KERNELS)


@pytest.mark.parametrize("const", [0, 1])
@pytest.mark.parametrize("adj", [(False, False), (True, True), (False, True)])
@pytest.mark.parametrize(
    "shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))], ids=str
)
def test_batch_matmul_constant_input(shapes, adj, const):
    """A constant second input (weights) or first input: TF-Lite Micro transposes a
    constant right-hand side once and caches it, which changes nothing."""
    g, xs = bmm_graph(*_adjusted(*shapes, *adj), *adj, const=const)
    assert_matches_tflm(g, xs, KERNELS)


@pytest.mark.parametrize("qx, qy, qo", [
    ((0.02, -128), (0.03, -128), (0.5, -128)), ((0.02, 127), (0.03, 127), (0.5, 127)),
    ((0.02, 0), (0.03, 0), (0.01, 0)),  # saturating
    ((0.1, -3), (0.1, 60), (300.0, 5)),  # squeezed to the zero point
    ((0.0123, 17), (0.77, -90), (0.9, -40)),
])  # fmt: skip
def test_batch_matmul_quantisation(qx, qy, qo):
    g, xs = bmm_graph((2, 5, 16), (2, 16, 3), qx=qx, qy=qy, qo=qo)
    assert_matches_tflm(g, xs, KERNELS)


def test_batch_matmul_extreme_values():
    """All inputs at -128 or 127 with zero points at the other end: the largest products."""
    for v, zp in ((-128, 127), (127, -128)):
        g, _ = bmm_graph((2, 4, 64), (64, 3), qx=(0.01, zp), qy=(0.01, zp), qo=(40.0, 0))
        assert_matches_tflm(g, [np.full((2, 4, 64), v, np.int8), np.full((64, 3), v, np.int8)], KERNELS)


def test_batch_matmul_of_one_tensor_with_itself():
    """x @ x^T (attention scores): both inputs are one tensor."""
    b = GraphBuilder()
    x = b.input((2, 5, 8), "int8", 0.05, -4)
    b.output(b.op(Op.BATCH_MATMUL, [x, x], (2, 5, 5), q=quant(0.2, 1), attrs=O.BatchMatMulAttrs(adj_y=True)))
    assert_matches_tflm(b.graph, [np.random.default_rng(0).integers(-128, 128, (2, 5, 8)).astype(np.int8)], KERNELS)


def test_batch_matmul_litert_agrees():
    """LiteRT's reference kernels give the same bytes on every shape and adjoint case."""
    for shapes in BMM_SHAPES:
        for adj in ((False, False), (True, False), (False, True), (True, True)):
            g, xs = bmm_graph(*_adjusted(*shapes, *adj), *adj, const=1 if adj[0] else None)
            assert_matches_oracles(g, xs, kernels=KERNELS)


def test_multiplier_derivation():
    """The oracle wheel multiplies the two scales in double (batch_matmul_multiplier).

    For scales where a float32 product gives another Q31 multiplier, row i of the left
    input makes the accumulator 255 * a + c that the two multipliers round to different
    outputs (the right input's column is (255, 1) after its zero point)."""
    rng = np.random.default_rng(1)
    accs = np.arange(0, 255 * 256, dtype=np.int64)
    found = 0
    while found < 4:
        sx, sy = np.float32(rng.uniform(0.001, 0.1)), np.float32(rng.uniform(0.001, 0.1))
        so = np.float32(float(sx) * float(sy) * 65280.0 / 250.0 * rng.uniform(0.9, 1.1))
        m_f = quantize_multiplier(float(sx * sy) / float(so))
        m_d = batch_matmul_multiplier(sx, sy, so)
        r_f, r_d = (multiply_by_quantized_multiplier(accs, *m) - 128 for m in (m_f, m_d))
        acc = accs[(r_f != r_d) & (np.maximum(r_f, r_d) <= 127)]
        if acc.size == 0:
            continue
        found += 1
        lhs = np.stack([acc // 255 - 128, acc % 255 - 128], axis=1).astype(np.int8)
        b = GraphBuilder()
        x = b.input(lhs.shape, "int8", float(sx), -128)
        y = b.const(np.array([[127], [-127]], np.int8), q=quant(float(sy), -128))
        b.output(b.op(Op.BATCH_MATMUL, [x, y], (lhs.shape[0], 1), q=quant(float(so), -128)))
        theirs = run_tflm(write(b.graph), [lhs])[0].reshape(-1)
        assert np.array_equal(theirs, r_d[acc]) and not np.array_equal(theirs, r_f[acc])
        assert_matches_tflm(b.graph, [lhs], KERNELS)


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    mkn=st.tuples(st.integers(1, 6), st.integers(1, 40), st.integers(1, 6)),
    batch=st.sampled_from([((), ()), ((2,), (2,)), ((2,), ()), ((), (3,)), ((1, 3), (2, 1)), ((2, 1, 2), (3, 1))]),
    adj=st.tuples(st.booleans(), st.booleans()),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127), st.integers(-128, 127)),
    gain=st.floats(0.05, 20.0),
    const=st.sampled_from([None, 1]),
)
def test_batch_matmul_random(seed, mkn, batch, adj, zps, gain, const):
    m, k, n = mkn
    xs, ys = _adjusted((*batch[0], m, k), (*batch[1], k, n), *adj)
    qo = (0.05 * 0.04 * 90.0 * np.sqrt(k) / 40.0 / gain, zps[2])
    g, ins = bmm_graph(xs, ys, *adj, qx=(0.05, zps[0]), qy=(0.04, zps[1]), qo=qo, const=const)
    assert_matches_tflm(g, ins, KERNELS)


def test_batch_matmul_per_channel_input_is_refused():
    """TF-Lite Micro runs a per-channel quantised input but uses its first scale for every
    channel (the result equals the per-tensor graph's), which is not what the scales say:
    mcuforge refuses it (so does the reader)."""
    g, xs = bmm_graph((3, 4), (4, 5), const=1)
    first = g.copy()
    first.tensors[first.nodes[0].inputs[1]].quant = quant(0.01, 0)
    g.tensors[g.nodes[0].inputs[1]].quant = quant(np.linspace(0.01, 0.05, 5).astype(np.float32), 0, 1)
    assert np.array_equal(run_tflm(write(g), xs)[0], run_kernels(first, xs, KERNELS)[0])
    with pytest.raises(UnsupportedError, match="per channel"):
        run_kernels(g, xs, KERNELS)


def test_batch_matmul_shape_rule():
    g, _ = bmm_graph((2, 1, 3, 4), (5, 4, 6))
    assert infer_shapes(g, g.nodes[0]) == [(2, 5, 3, 6)]
    g.nodes[0].attrs = O.BatchMatMulAttrs(adj_y=True)
    with pytest.raises(ModelFormatError, match="depth"):
        infer_shapes(g, g.nodes[0])
    g, _ = bmm_graph((2, 3, 4), (2, 4, 5))
    g.tensors[g.nodes[0].inputs[1]].shape = (3, 4, 5)
    with pytest.raises(ModelFormatError, match="broadcast"):
        infer_shapes(g, g.nodes[0])
    g, _ = bmm_graph((3, 4), (4, 5))
    g.tensors[g.nodes[0].inputs[0]].shape = (1, 1, 1, 1, 3, 4)  # TF-Lite Micro refuses rank 6 too
    with pytest.raises(UnsupportedError, match="rank 6"):
        infer_shapes(g, g.nodes[0])
    g.tensors[g.nodes[0].inputs[0]].shape = (4,)
    with pytest.raises(ModelFormatError, match="rank at least 2"):
        infer_shapes(g, g.nodes[0])
