"""int16 operators other than the 16x8 weighted and arithmetic ones (test_int16.py) in
the reference kernels, against TF-Lite Micro bit for bit: LOGISTIC, TANH, SOFTMAX
(int8 -> int16), RELU, RELU6, the pools, data movement, MEAN and SUM."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ref.interpreter import KERNELS
from oracle_util import assert_matches_tflm
from ref.test_int16 import I16, binary16, x16


# ------------------------------------------------------------ LOGISTIC, TANH
def test_sigmoid_table_is_tflite_micro_s():
    """Read the table back out of TF-Lite Micro: at input scale 2 / 12288 the int16 TANH
    rescales x to 2x, and x = 128 i lands on entry i with no interpolation, where the
    output is exactly table[i] - 32768."""
    from mcuforge.ir.builder import quant as q
    from mcuforge.oracle.tflm import run_tflm
    from mcuforge.frontend.tflite_write import write
    from mcuforge.ref.activations16 import SIGMOID_TABLE

    b = GraphBuilder()
    x = b.input((256,), "int16", 2 / 12288, 0)
    b.output(b.op(Op.TANH, [x], (256,), "int16", q(2.0**-15, 0)))
    xs = (128 * np.arange(256)).astype(np.int16)
    theirs = np.asarray(run_tflm(write(b.graph), [xs])[0]).astype(np.int64).reshape(-1)
    assert (theirs + 32768).tolist() == SIGMOID_TABLE.tolist()


def unary16(op, shape, s_in, s_out=2.0**-15):
    b = GraphBuilder()
    x = b.input(shape, "int16", s_in, 0)
    b.output(b.op(op, [x], shape, "int16", quant(s_out, 0)))
    return b.graph


ALL_INT16 = np.arange(I16.min, I16.max + 1, dtype=np.int16)


@pytest.mark.parametrize("op", [Op.LOGISTIC, Op.TANH])
@pytest.mark.parametrize("s_in", [2.0**-12, 2.0**-11, 2.0**-10, 2.0**-13, 1 / 3000, 0.0007, 3e-5, 0.01])
def test_logistic_tanh_int16_every_input(op, s_in):
    g = unary16(op, (ALL_INT16.size,), s_in)
    assert_matches_tflm(g, [ALL_INT16], KERNELS)


@pytest.mark.parametrize("op", [Op.LOGISTIC, Op.TANH])
def test_logistic_tanh_int16_refusals(op):
    g = unary16(op, (4,), 2.0**-12, 2.0**-14)
    with pytest.raises(UnsupportedError, match="output scale 2\\^-15"):
        KERNELS[op](g, g.nodes[0], [np.zeros(4, np.int16)])
    g = unary16(op, (4,), 2.0**-12)
    g.tensors[g.inputs[0]].quant = quant(2.0**-12, 4)
    with pytest.raises(UnsupportedError, match="zero point 0"):
        KERNELS[op](g, g.nodes[0], [np.zeros(4, np.int16)])


# ------------------------------------------------------------ SOFTMAX
def softmax16(shape, s_in, zp_in=0, beta=1.0, s_out=1 / 65536, zp_out=-32768, in_dtype="int8"):
    b = GraphBuilder()
    x = b.input(shape, in_dtype, s_in, zp_in)
    b.output(b.op(Op.SOFTMAX, [x], shape, "int16", quant(s_out, zp_out), O.SoftmaxAttrs(beta)))
    return b.graph


SOFTMAX_CASES = {
    "keyword_row": dict(shape=(1, 4), s_in=0.1, zp_in=-10),
    "rows": dict(shape=(3, 5, 12), s_in=0.05, zp_in=3),
    "sharp": dict(shape=(2, 10), s_in=0.02, zp_in=0, beta=2.0),
    "flat": dict(shape=(1, 700), s_in=0.001, zp_in=0),
    "beta_small": dict(shape=(4, 9), s_in=0.2, zp_in=-128, beta=0.3),
}


@pytest.mark.parametrize("name", list(SOFTMAX_CASES))
def test_softmax_int8_to_int16(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = softmax16(**SOFTMAX_CASES[name])
    x = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    x.flat[0] = 127
    y = assert_matches_tflm(g, [x], KERNELS)[0]
    assert y.dtype == np.int16 and len(np.unique(y)) > 2


SOFTMAX16_CASES = {
    "q12": dict(shape=(4, 10), s_in=1 / 4096),
    "long_rows": dict(shape=(2, 300), s_in=3e-4),
    "fine": dict(shape=(64, 5), s_in=1e-4),
    "coarse": dict(shape=(16, 64), s_in=0.01),
    "beta": dict(shape=(8, 7), s_in=1e-3, beta=0.4),
}


@pytest.mark.parametrize("name", list(SOFTMAX16_CASES))
def test_softmax_int16_to_int16(name):
    """SoftmaxInt16 with its two float-built tables (ref/softmax16.py)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = softmax16(**SOFTMAX16_CASES[name], in_dtype="int16", s_out=1 / 32768, zp_out=0)
    y = assert_matches_tflm(g, [x16(rng, g.tensors[g.inputs[0]].shape)], KERNELS)[0]
    assert y.dtype == np.int16 and len(np.unique(y)) > 2


def test_softmax_every_table_entry():
    """Rows of two values whose difference walks every exp-table position (the second
    value fixed at the maximum), at input scale 10 / 65535 (multiplier 1: the rescaled
    difference is the difference)."""
    low = np.arange(-32768, 32767, 7, dtype=np.int16)
    x = np.stack([low, np.full(low.size, 32767, np.int16)], axis=1)
    g = softmax16(x.shape, 10 / 65535, in_dtype="int16", s_out=1 / 32768, zp_out=0)
    assert_matches_tflm(g, [x], KERNELS)


def test_softmax_int16_refusals():
    g = softmax16((1, 4), 1 / 4096, in_dtype="int16", s_out=1 / 65536, zp_out=0)
    with pytest.raises(UnsupportedError, match="output scale 1/32768"):
        KERNELS[Op.SOFTMAX](g, g.nodes[0], [np.zeros((1, 4), np.int16)])
    g = softmax16((1, 4), 0.1, zp_out=0)  # TF-Lite Micro needs zero point -32768 for int8 -> int16
    with pytest.raises(UnsupportedError, match="zero point -32768"):
        KERNELS[Op.SOFTMAX](g, g.nodes[0], [np.zeros((1, 4), np.int8)])


# ------------------------------------------------------------ RELU, RELU6
RELU_SCALES = [(1e-3, 1e-3), (1e-3, 2.5e-3), (3e-4, 1e-4), (2.0**-12, 2.0**-12), (0.05, 0.07)]


@pytest.mark.parametrize("op", [Op.RELU, Op.RELU6])
@pytest.mark.parametrize("scales", RELU_SCALES)
def test_relu_int16_every_input(op, scales):
    g = unary16(op, (ALL_INT16.size,), *scales)
    assert_matches_tflm(g, [ALL_INT16], KERNELS)


LEAKY_CASES = [(0.2, 1e-3, 1e-3, 0, 0), (0.01, 3e-4, 2e-4, 0, 0), (-0.5, 1e-3, 7e-4, 0, 0), (1.7, 1e-3, 2e-3, 0, 0),
               (0.3, 1e-3, 1e-3, 120, -40)]


@pytest.mark.parametrize("alpha,s_in,s_out,zp_in,zp_out", LEAKY_CASES)
def test_leaky_relu_int16_every_input(alpha, s_in, s_out, zp_in, zp_out):
    assert_matches_tflm(leaky16(alpha, s_in, s_out, zp_in, zp_out), [ALL_INT16], KERNELS)


def leaky16(alpha, s_in, s_out, zp_in, zp_out):
    b = GraphBuilder()
    x = b.input((ALL_INT16.size,), "int16", s_in, zp_in)
    b.output(b.op(Op.LEAKY_RELU, [x], (ALL_INT16.size,), "int16", quant(s_out, zp_out), O.LeakyReluAttrs(alpha)))
    return b.graph


def test_relu6_int16_nonzero_zero_point():
    # Relu6Prepare takes any int16 zero point (the clamp is in the input's quantisation)
    b = GraphBuilder()
    x = b.input((ALL_INT16.size,), "int16", 1e-3, 100)
    b.output(b.op(Op.RELU6, [x], (ALL_INT16.size,), "int16", quant(1e-3, 100)))
    assert_matches_tflm(b.graph, [ALL_INT16], KERNELS)


def test_relu_int16_zero_point_is_refused():
    b = GraphBuilder()
    x = b.input((4,), "int16", 1e-3, 5)
    b.output(b.op(Op.RELU, [x], (4,), "int16", quant(1e-3, 5)))
    g = b.graph
    with pytest.raises(UnsupportedError, match="zero point 0"):
        KERNELS[Op.RELU](g, g.nodes[0], [np.zeros(4, np.int16)])


# ------------------------------------------------------------ AVERAGE_POOL_2D, MAX_POOL_2D
def pool16(op, in_shape, filt, stride, padding, act=O.Act.NONE, scale=1e-3, zp=0):
    from mcuforge.ref.conv import conv_output_size

    n, h, w, c = in_shape
    oh, _ = conv_output_size(h, filt[0], stride[0], 1, padding)
    ow, _ = conv_output_size(w, filt[1], stride[1], 1, padding)
    b = GraphBuilder()
    x = b.input(in_shape, "int16", scale, zp)
    b.output(b.op(op, [x], (n, oh, ow, c), "int16", quant(scale, zp), O.PoolAttrs(filt, stride, padding, act)))
    return b.graph


POOL_CASES = {
    "2x2_valid": dict(in_shape=(1, 6, 6, 3), filt=(2, 2), stride=(2, 2), padding=O.Padding.VALID),
    "3x3_same_stride1": dict(in_shape=(2, 5, 7, 2), filt=(3, 3), stride=(1, 1), padding=O.Padding.SAME),
    "3x2_same_stride2": dict(in_shape=(1, 7, 6, 4), filt=(3, 2), stride=(2, 2), padding=O.Padding.SAME),
    "global": dict(in_shape=(1, 5, 5, 3), filt=(5, 5), stride=(1, 1), padding=O.Padding.VALID),
    "relu6": dict(in_shape=(1, 6, 6, 3), filt=(2, 2), stride=(2, 2), padding=O.Padding.VALID, act=O.Act.RELU6),
    "relu_zero_point": dict(in_shape=(1, 6, 6, 3), filt=(3, 3), stride=(1, 1), padding=O.Padding.SAME,
                            act=O.Act.RELU, zp=-300),
}


@pytest.mark.parametrize("op", [Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D])
@pytest.mark.parametrize("name", list(POOL_CASES))
def test_pools_int16(op, name):
    rng = np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode()))
    g = pool16(op, **POOL_CASES[name])
    y = assert_matches_tflm(g, [x16(rng, g.tensors[g.inputs[0]].shape)], KERNELS)[0]
    assert y.dtype == np.int16


# ------------------------------------------------------------ data movement
def movement_graph(zp_pad=0):
    """RESHAPE -> TRANSPOSE -> CONCATENATION -> PAD -> PADV2 -> STRIDED_SLICE -> SQUEEZE on int16."""
    q = quant(1e-3, 0)
    b = GraphBuilder()
    x = b.input((1, 4, 6), "int16", 1e-3, 0)
    r = b.op(Op.RESHAPE, [x, b.const(np.array([1, 6, 4], np.int32))], (1, 6, 4), "int16", q)
    t = b.op(Op.TRANSPOSE, [r, b.const(np.array([0, 2, 1], np.int32))], (1, 4, 6), "int16", q)
    c = b.op(Op.CONCATENATION, [x, t], (1, 8, 6), "int16", q, O.ConcatAttrs(-2))
    p = b.op(Op.PAD, [c, b.const(np.array([[0, 0], [1, 2], [0, 1]], np.int32))], (1, 11, 7), "int16",
             quant(1e-3, zp_pad))
    v = b.const(np.array([-1234], np.int16), q=quant(1e-3, zp_pad))
    p2 = b.op(Op.PADV2, [p, b.const(np.array([[0, 0], [0, 1], [2, 0]], np.int32)), v], (1, 12, 9), "int16",
              quant(1e-3, zp_pad))
    s = b.op(Op.STRIDED_SLICE, [p2, b.const(np.array([0, 1, 0], np.int32)), b.const(np.array([1, 12, 9], np.int32)),
                                b.const(np.array([1, 2, 3], np.int32))], (1, 6, 3), "int16", quant(1e-3, zp_pad),
             O.StridedSliceAttrs())
    b.output(b.op(Op.SQUEEZE, [s], (6, 3), "int16", quant(1e-3, zp_pad), O.SqueezeAttrs((0,))))
    return b.graph


@pytest.mark.parametrize("zp_pad", [0, 77])
def test_data_movement_int16(zp_pad):
    """An int16 PAD without a value fills with 0, not with its zero point (pad.cc)."""
    rng = np.random.default_rng(zp_pad)
    g = movement_graph(zp_pad)
    assert_matches_tflm(g, [x16(rng, (1, 4, 6))], KERNELS)


# ------------------------------------------------------------ MEAN, SUM
def mean16(op, shape, axes, keep_dims, s_in=1e-3, s_out=1e-3, zps=(0, 0)):
    out = tuple(1 if i in [a % len(shape) for a in axes] else d for i, d in enumerate(shape))
    if not keep_dims:
        out = tuple(d for i, d in enumerate(shape) if i not in [a % len(shape) for a in axes])
    b = GraphBuilder()
    x = b.input(shape, "int16", s_in, zps[0])
    ax = b.const(np.array(axes, np.int32))
    b.output(b.op(op, [x, ax], out, "int16", quant(s_out, zps[1]), O.ReduceAttrs(keep_dims)))
    return b.graph


MEAN_CASES = {
    "spatial_keep": dict(shape=(1, 4, 5, 3), axes=[1, 2], keep_dims=True),
    "last_axis": dict(shape=(2, 3, 7), axes=[-1], keep_dims=False),
    "rescale": dict(shape=(3, 6), axes=[0], keep_dims=False, s_in=2e-3, s_out=7e-4),
    "zero_points": dict(shape=(2, 9), axes=[1], keep_dims=True, zps=(-100, 40)),
    "all_axes": dict(shape=(2, 3, 4), axes=[0, 1, 2], keep_dims=False, s_out=5e-4),
}


@pytest.mark.parametrize("op", [Op.MEAN, Op.SUM])
@pytest.mark.parametrize("name", list(MEAN_CASES))
def test_mean_sum_int16(op, name):
    rng = np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode()))
    kw = dict(MEAN_CASES[name])
    if op == Op.SUM:
        kw["s_out"] = kw.get("s_out", 1e-3) * 8
    g = mean16(op, **kw)
    y = assert_matches_tflm(g, [x16(rng, g.tensors[g.inputs[0]].shape)], KERNELS)[0]
    assert y.dtype == np.int16


def test_reduce_max_int16_is_refused():
    g = mean16(Op.REDUCE_MAX, (2, 3), [1], False)
    with pytest.raises(UnsupportedError, match="int16"):
        KERNELS[Op.REDUCE_MAX](g, g.nodes[0], [np.zeros((2, 3), np.int16), None])


def test_keyword_spotting_head_and_tail():
    """tflm_keyword_scrambled's int16 ends, with its quantisation: QUANTIZE int16 -> int8 in
    front, SOFTMAX int8 -> int16 (scale 1.5259022e-05, near 1/65536) and QUANTIZE int16 ->
    int32 behind."""
    b = GraphBuilder()
    x = b.input((1, 96), "int16", 0.000625, 0)
    q = b.op(Op.QUANTIZE, [x], (1, 96), "int8", quant(0.059208333, -128))
    logits = b.input((1, 2), "int8", 0.06996273, 2)
    s = b.op(Op.SOFTMAX, [logits], (1, 2), "int16", quant(1.5259022e-05, -32768), O.SoftmaxAttrs(1.0))
    b.output(q, b.op(Op.QUANTIZE, [s], (1, 2), "int32", quant(3.051851e-05, 0)))
    rng = np.random.default_rng(7)
    xs = [x16(rng, (1, 96)), rng.integers(-128, 128, (1, 2)).astype(np.int8)]
    assert_matches_tflm(b.graph, xs, KERNELS)


def slicing_graph():
    """SLICE -> SPLIT -> PACK, SPLIT_V and UNPACK on int16 (TF-Lite Micro's int16 copies)."""
    q = quant(1e-3, 0)
    b = GraphBuilder()
    x = b.input((3, 8, 5), "int16", 1e-3, 0)
    s = b.op(Op.SLICE, [x, b.const(np.array([1, 0, 1], np.int32)), b.const(np.array([2, 8, 4], np.int32))],
             (2, 8, 4), "int16", q)
    halves = b.op_multi(Op.SPLIT, [b.const(np.array(1, np.int32)), s], [(2, 4, 4)] * 2, "int16", q, O.SplitAttrs(2))
    packed = b.op(Op.PACK, halves, (2, 2, 4, 4), "int16", q, O.PackAttrs(2, 1))
    parts = b.op_multi(Op.SPLIT_V, [x, b.const(np.array([3, -1], np.int32)), b.const(np.array(1, np.int32))],
                       [(3, 3, 5), (3, 5, 5)], "int16", q, O.SplitAttrs(2))
    rows = b.op_multi(Op.UNPACK, [parts[0]], [(3, 5)] * 3, "int16", q, O.UnpackAttrs(3, 1))
    b.output(packed, parts[1], *rows)
    return b.graph


def test_slicing_int16():
    assert_matches_tflm(slicing_graph(), [x16(np.random.default_rng(3), (3, 8, 5))], KERNELS)


@pytest.mark.parametrize("op", [Op.MAXIMUM, Op.MINIMUM])
def test_maximum_minimum_int16(op):
    g = binary16(op, (3, 1, 5), (1, 4, 1), (3, 4, 5), 1e-3, 1e-3, 1e-3)
    rng = np.random.default_rng(11)
    assert_matches_tflm(g, [x16(rng, (3, 1, 5)), x16(rng, (1, 4, 1))], KERNELS)


# ------------------------------------------------------------ BATCH_MATMUL
def bmm16(lhs_shape, rhs_shape, out_shape, adj_x=False, adj_y=False, const_rhs=None, scales=(1e-3, 2e-3, 0.2)):
    b = GraphBuilder()
    x = b.input(lhs_shape, "int16", scales[0], 0)
    if const_rhs is None:
        y = b.input(rhs_shape, "int16", scales[1], 0)
    else:
        y = b.const(const_rhs.astype(np.int16), q=quant(scales[1], 0))
    b.output(b.op(Op.BATCH_MATMUL, [x, y], out_shape, "int16", quant(scales[2], 0), O.BatchMatMulAttrs(adj_x, adj_y)))
    return b.graph


BMM_CASES = {
    "plain": dict(lhs_shape=(2, 3, 8), rhs_shape=(2, 8, 4), out_shape=(2, 3, 4)),
    "adj": dict(lhs_shape=(1, 8, 3), rhs_shape=(1, 5, 8), out_shape=(1, 3, 5), adj_x=True, adj_y=True),
    "broadcast": dict(lhs_shape=(2, 1, 3, 6), rhs_shape=(1, 3, 6, 2), out_shape=(2, 3, 3, 2)),
    "const_rhs": dict(lhs_shape=(4, 16), rhs_shape=(16, 3), out_shape=(4, 3), const="rhs", scales=(1e-3, 1e-3, 3e-1)),
}


def bmm16_case(name):
    kw = dict(BMM_CASES[name])
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    const = kw.pop("const", None)
    g = bmm16(**kw, const_rhs=x16(rng, kw["rhs_shape"]) if const else None)
    return g, [x16(rng, g.tensors[n].shape) for n in g.inputs]


@pytest.mark.parametrize("name", list(BMM_CASES))
def test_batch_matmul_int16(name):
    g, xs = bmm16_case(name)
    y = assert_matches_tflm(g, xs, KERNELS)[0]
    assert y.dtype == np.int16 and len(np.unique(y)) > 2
