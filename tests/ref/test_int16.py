"""TFLite's 16x8 scheme (int16 activations, zero point 0; int8 weights; int32 or int64
bias) in the reference kernels, against TF-Lite Micro bit for bit: FULLY_CONNECTED,
ADD, SUB and MUL. (QUANTIZE / DEQUANTIZE with int16 are in test_quantize.py.)"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Tensor
from mcuforge.ref.interpreter import KERNELS
from oracle_util import assert_matches_tflm

I16 = np.iinfo(np.int16)


def x16(rng, shape, extreme=True) -> np.ndarray:
    """Random int16 data with the extremes -32768 and 32767 among it."""
    x = np.asarray(rng.integers(I16.min, I16.max + 1, shape), dtype=np.int16)
    if extreme and x.size >= 2:
        x.flat[0], x.flat[-1] = I16.min, I16.max
    return x


# ------------------------------------------------------------ FULLY_CONNECTED
def fc16_graph(rng, in_shape, units, bias="int64", per_channel=False, act=O.Act.NONE, keep_num_dims=False,
               in_scale=1 / 4096, out_gain=1.0, bias_limit=1 << 22):
    depth = in_shape[-1]
    w = rng.integers(-127, 128, (units, depth)).astype(np.int8)
    n = units if per_channel else 1
    w_scales = np.exp(rng.uniform(np.log(0.002), np.log(0.02), n)).astype(np.float32)
    b = GraphBuilder()
    x = b.input(in_shape, "int16", in_scale, 0)
    wt = b.const(w, q=quant(w_scales, 0, 0))
    bt = None
    if bias is not None:
        b_scales = (np.float32(in_scale) * w_scales).astype(np.float32)
        bt = b.const(rng.integers(-bias_limit, bias_limit, units).astype(bias), q=quant(b_scales, 0, 0))
    out_scale = in_scale * float(np.median(w_scales)) * 20000 * 73 * np.sqrt(depth) / 30000 / out_gain
    batches = int(np.prod(in_shape[:-1]))
    out_shape = (*in_shape[:-1], units) if keep_num_dims else (batches, units)
    y = b.op(Op.FULLY_CONNECTED, [x, wt, bt], out_shape, "int16", quant(np.float32(out_scale), 0),
             O.FullyConnectedAttrs(act, keep_num_dims))
    b.output(y)
    return b.graph


FC_CASES = {
    "int64_bias": dict(in_shape=(1, 20), units=10),
    "int32_bias": dict(in_shape=(3, 17), units=5, bias="int32"),
    "no_bias": dict(in_shape=(2, 16), units=6, bias=None),
    "per_channel_int64": dict(in_shape=(2, 24), units=8, per_channel=True),
    "per_channel_int32": dict(in_shape=(2, 24), units=8, per_channel=True, bias="int32"),
    "relu": dict(in_shape=(1, 24), units=12, act=O.Act.RELU),
    "relu6_saturating": dict(in_shape=(1, 32), units=9, act=O.Act.RELU6, in_scale=1 / 256, out_gain=40.0),
    "saturating": dict(in_shape=(2, 40), units=7, out_gain=30.0),
    "keep_num_dims_3d": dict(in_shape=(2, 3, 12), units=4, keep_num_dims=True),
    "long_row": dict(in_shape=(1, 600), units=3),
    # sums and biases beyond int32 (|acc| up to 2^40): only the int64 accumulator holds them
    "wide_acc": dict(in_shape=(2, 2000), units=5, bias_limit=1 << 40, out_gain=1 / 20000),
}


@pytest.mark.parametrize("name", list(FC_CASES))
def test_fully_connected_16x8(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = fc16_graph(rng, **FC_CASES[name])
    y = assert_matches_tflm(g, [x16(rng, g.tensors[g.inputs[0]].shape)], KERNELS)[0]
    assert y.dtype == np.int16
    if "saturating" not in name:
        assert len(np.unique(y)) > 2  # a case that exercises the range, not only the clamp


def test_fully_connected_16x8_bias_type_picks_the_accumulator():
    """The same values stored as an int32 or an int64 bias: TF-Lite Micro takes the int32
    requantisation for one and the Q15 (int64) one for the other, and so do we; the
    outputs differ, so both paths are exercised."""
    rng = np.random.default_rng(5)
    g = fc16_graph(rng, (8, 32), 16, bias="int64")
    x = x16(rng, (8, 32))
    y64 = assert_matches_tflm(g, [x], KERNELS)[0]
    bias = g.nodes[0].inputs[2]
    t = g.tensors[bias]
    t.data, t.dtype = t.data.astype(np.int32), "int32"
    y32 = assert_matches_tflm(g, [x], KERNELS)[0]
    assert not np.array_equal(y64, y32)


def test_fully_connected_16x8_refusals():
    rng = np.random.default_rng(1)
    g = fc16_graph(rng, (1, 8), 4)
    g.tensors[g.inputs[0]].quant = quant(1 / 4096, 3)
    with pytest.raises(UnsupportedError, match="zero point 0"):
        KERNELS[Op.FULLY_CONNECTED](g, g.nodes[0], [np.zeros((1, 8), np.int16), None, None])
    g = fc16_graph(rng, (1, 8), 4)
    g.tensors[g.outputs[0]].dtype = "int8"  # int16 in, int8 out: TF-Lite Micro has no such kernel
    with pytest.raises(UnsupportedError, match="int16 input and int8 output"):
        KERNELS[Op.FULLY_CONNECTED](g, g.nodes[0], [np.zeros((1, 8), np.int16), None, None])


# ------------------------------------------------------------ ADD, SUB, MUL
def binary16(op, shape1, shape2, out_shape, s1, s2, so, act=O.Act.NONE, zps=(0, 0, 0)):
    b = GraphBuilder()
    x1 = b.input(shape1, "int16", s1, zps[0])
    x2 = b.input(shape2, "int16", s2, zps[1])
    b.output(b.op(op, [x1, x2], out_shape, "int16", quant(so, zps[2]), O.ElementwiseAttrs(act)))
    return b.graph


EW_CASES = {
    "same_scales": dict(shape1=(2, 3, 4), shape2=(2, 3, 4), out_shape=(2, 3, 4), s1=1e-3, s2=1e-3, so=2e-3),
    "different_scales": dict(shape1=(5, 7), shape2=(5, 7), out_shape=(5, 7), s1=3e-4, s2=1.7e-3, so=1.1e-3),
    "broadcast_row": dict(shape1=(4, 6), shape2=(6,), out_shape=(4, 6), s1=2e-4, s2=5e-4, so=6e-4),
    "broadcast_both": dict(shape1=(3, 1, 5), shape2=(1, 4, 1), out_shape=(3, 4, 5), s1=1e-3, s2=2e-3, so=1.5e-3),
    "scalar": dict(shape1=(1, 2, 2, 3), shape2=(1,), out_shape=(1, 2, 2, 3), s1=1e-3, s2=4e-3, so=3e-3),
    "saturating": dict(shape1=(64,), shape2=(64,), out_shape=(64,), s1=1e-3, s2=1e-3, so=2e-4),
    "relu": dict(shape1=(40,), shape2=(40,), out_shape=(40,), s1=1e-3, s2=7e-4, so=1e-3, act=O.Act.RELU),
    "relu6": dict(shape1=(40,), shape2=(40,), out_shape=(40,), s1=1e-3, s2=7e-4, so=3e-4, act=O.Act.RELU6),
    "relu_n1_to_1": dict(shape1=(40,), shape2=(40,), out_shape=(40,), s1=1e-4, s2=7e-5, so=5e-5,
                         act=O.Act.RELU_N1_TO_1),
    "six_dims": dict(shape1=(2, 1, 2, 1, 2, 3), shape2=(1, 2, 1, 2, 1, 3), out_shape=(2, 2, 2, 2, 2, 3),
                     s1=1e-3, s2=1e-3, so=1e-3),
}


def _ew_inputs(g, rng):
    return [x16(rng, g.tensors[n].shape) for n in g.inputs]


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB])
@pytest.mark.parametrize("name", list(EW_CASES))
def test_add_sub_int16(op, name):
    rng = np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode()))
    g = binary16(op, **EW_CASES[name])
    y = assert_matches_tflm(g, _ew_inputs(g, rng), KERNELS)[0]
    assert y.dtype == np.int16


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB])
def test_add_sub_int16_nonzero_zero_points(op):
    # TF-Lite Micro's int16 ADD / SUB take any zero point (the converter writes 0).
    rng = np.random.default_rng(2)
    g = binary16(op, (50,), (50,), (50,), 1e-3, 2e-3, 2.5e-3, zps=(100, -2000, 37))
    assert_matches_tflm(g, _ew_inputs(g, rng), KERNELS)


MUL_CASES = {
    "unit_scales": dict(shape1=(2, 3, 4), shape2=(2, 3, 4), out_shape=(2, 3, 4), s1=1 / 32768, s2=1 / 32768,
                        so=1 / 32768),
    "different_scales": dict(shape1=(5, 7), shape2=(5, 7), out_shape=(5, 7), s1=3e-4, s2=1.7e-3, so=1.1e-3),
    "large_multiplier": dict(shape1=(30,), shape2=(30,), out_shape=(30,), s1=1e-2, s2=1e-2, so=1e-6),
    "broadcast": dict(shape1=(3, 1, 5), shape2=(1, 4, 1), out_shape=(3, 4, 5), s1=1e-3, s2=2e-3, so=1e-3),
    "scalar": dict(shape1=(4, 3), shape2=(1,), out_shape=(4, 3), s1=1e-3, s2=4e-3, so=3e-3),
    "relu": dict(shape1=(40,), shape2=(40,), out_shape=(40,), s1=1e-2, s2=1e-2, so=1e-2, act=O.Act.RELU),
    "relu6": dict(shape1=(40,), shape2=(40,), out_shape=(40,), s1=1e-2, s2=1e-2, so=1e-3, act=O.Act.RELU6),
}


@pytest.mark.parametrize("name", list(MUL_CASES))
def test_mul_int16(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = binary16(Op.MUL, **MUL_CASES[name])
    y = assert_matches_tflm(g, _ew_inputs(g, rng), KERNELS)[0]
    assert y.dtype == np.int16


def test_int16_refusals():
    g = binary16(Op.MUL, (4,), (4,), (4,), 1e-3, 1e-3, 1e-3, zps=(0, 0, 5))
    with pytest.raises(UnsupportedError, match="nonzero zero point"):
        KERNELS[Op.MUL](g, g.nodes[0], [np.zeros(4, np.int16)] * 2)
    g = binary16(Op.ADD, (4,), (4,), (4,), 1e-3, 1e-3, 1e-3)
    g.tensors[g.inputs[1]].dtype = "int8"  # mixed int16 / int8
    with pytest.raises(UnsupportedError, match="all-int16"):
        KERNELS[Op.ADD](g, g.nodes[0], [np.zeros(4, np.int16), np.zeros(4, np.int8)])


# ------------------------------------------------------------ CONV_2D, DEPTHWISE_CONV_2D
def conv16_graph(rng, op, in_shape, out_c, k, stride=(1, 1), dilation=(1, 1), padding=O.Padding.SAME,
                 act=O.Act.NONE, per_channel=True, bias="int64", groups=1, out_gain=1.0, bias_limit=1 << 22):
    from mcuforge.ref.conv import conv_output_size

    n, h, w, c_in = in_shape
    depthwise = op == Op.DEPTHWISE_CONV_2D
    w_shape, axis = ((1, *k, out_c), 3) if depthwise else ((out_c, *k, c_in // groups), 0)
    taps = k[0] * k[1] * (1 if depthwise else c_in // groups)
    n_scales = out_c if per_channel else 1
    w_scales = np.exp(rng.uniform(np.log(0.002), np.log(0.02), n_scales)).astype(np.float32)
    in_s = 1 / 4096
    b = GraphBuilder()
    x = b.input(in_shape, "int16", in_s, 0)
    wt = b.const(rng.integers(-127, 128, w_shape).astype(np.int8), q=quant(w_scales, 0, axis))
    bt = None
    if bias is not None:
        b_scales = (np.float32(in_s) * np.broadcast_to(w_scales, (out_c,))).astype(np.float32)
        bt = b.const(rng.integers(-bias_limit, bias_limit, out_c).astype(bias), q=quant(b_scales, 0, 0))
    out_s = np.float32(in_s * float(np.median(w_scales)) * 20000 * 73 * np.sqrt(taps) / 30000 / out_gain)
    oh, _ = conv_output_size(h, k[0], stride[0], dilation[0], padding)
    ow, _ = conv_output_size(w, k[1], stride[1], dilation[1], padding)
    if depthwise:
        attrs = O.DepthwiseAttrs(stride, dilation, padding, act, out_c // c_in)
    else:
        attrs = O.ConvAttrs(stride, dilation, padding, act)
    b.output(b.op(op, [x, wt, bt], (n, oh, ow, out_c), "int16", quant(out_s, 0), attrs))
    return b.graph


CONV_CASES = {
    "3x3_same_int64": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3)),
    "3x3_same_int32": dict(in_shape=(1, 6, 6, 3), out_c=4, k=(3, 3), bias="int32"),
    "no_bias": dict(in_shape=(1, 5, 5, 2), out_c=3, k=(3, 3), bias=None),
    "valid_stride2": dict(in_shape=(2, 7, 8, 3), out_c=5, k=(3, 2), stride=(2, 2), padding=O.Padding.VALID),
    "dilated": dict(in_shape=(1, 9, 9, 2), out_c=3, k=(3, 3), dilation=(2, 2)),
    "pointwise": dict(in_shape=(1, 4, 4, 8), out_c=6, k=(1, 1)),
    "per_tensor": dict(in_shape=(1, 5, 5, 3), out_c=4, k=(3, 3), per_channel=False),
    "groups": dict(in_shape=(1, 5, 5, 4), out_c=6, k=(3, 3), groups=2),
    "relu6": dict(in_shape=(1, 5, 5, 3), out_c=4, k=(3, 3), act=O.Act.RELU6, out_gain=3.0),
    "saturating": dict(in_shape=(1, 5, 5, 3), out_c=4, k=(3, 3), out_gain=30.0),
    "wide_acc": dict(in_shape=(1, 4, 4, 64), out_c=3, k=(3, 3), bias_limit=1 << 40, out_gain=1 / 20000),
}
DW_CASES = {
    "3x3_same": dict(in_shape=(1, 6, 6, 3), out_c=3, k=(3, 3)),
    "multiplier_2": dict(in_shape=(1, 5, 5, 2), out_c=4, k=(3, 3)),
    "no_bias": dict(in_shape=(1, 5, 5, 3), out_c=3, k=(3, 3), bias=None),
    "valid_stride2": dict(in_shape=(2, 7, 8, 3), out_c=3, k=(3, 2), stride=(2, 2), padding=O.Padding.VALID),
    "dilated": dict(in_shape=(1, 9, 9, 2), out_c=2, k=(3, 3), dilation=(2, 2)),
    "per_tensor": dict(in_shape=(1, 5, 5, 3), out_c=3, k=(3, 3), per_channel=False),
    "relu": dict(in_shape=(1, 5, 5, 3), out_c=3, k=(3, 3), act=O.Act.RELU),
    "wide_acc": dict(in_shape=(1, 4, 4, 3), out_c=3, k=(3, 3), bias_limit=1 << 36, out_gain=1 / 20000),
}


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv2d_16x8(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = conv16_graph(rng, Op.CONV_2D, **CONV_CASES[name])
    y = assert_matches_tflm(g, [x16(rng, g.tensors[g.inputs[0]].shape)], KERNELS)[0]
    assert y.dtype == np.int16 and len(np.unique(y)) > 2


@pytest.mark.parametrize("name", list(DW_CASES))
def test_depthwise_conv2d_16x8(name):
    rng = np.random.default_rng(zlib.crc32(f"dw{name}".encode()))
    g = conv16_graph(rng, Op.DEPTHWISE_CONV_2D, **DW_CASES[name])
    x = x16(rng, g.tensors[g.inputs[0]].shape)
    if DW_CASES[name].get("bias", "int64") is None:
        # TF-Lite Micro's DepthwiseConvPrepare segfaults without a bias (tests/ref/test_conv.py
        # check_depthwise_without_bias): the oracle is the same node with an all-zero int64 bias.
        y = KERNELS[Op.DEPTHWISE_CONV_2D](g, g.nodes[0], [x, g.tensors[g.nodes[0].inputs[1]].data, None])[0]
        zero = g.copy()
        w = zero.tensors[zero.nodes[0].inputs[1]]
        zb = zero.add_tensor(Tensor("zero_bias", (w.shape[3],), "int64", quant(w.quant.scale, 0, 0),
                                    np.zeros(w.shape[3], np.int64)))
        zero.nodes[0].inputs = [*zero.nodes[0].inputs[:2], zb.name]
        assert np.array_equal(y, assert_matches_tflm(zero, [x], KERNELS)[0])
    else:
        y = assert_matches_tflm(g, [x], KERNELS)[0]
    assert y.dtype == np.int16 and len(np.unique(y)) > 2


def test_depthwise_16x8_int32_bias_is_refused():
    """TF-Lite Micro reads a 16x8 depthwise bias as int64 whatever its type: with an int32
    bias it pairs two int32 values into one int64 bias (and reads past the end), so its
    output is far from the right one, computed here with the same values as an int64 bias."""
    from mcuforge.frontend.tflite_write import write
    from mcuforge.oracle.tflm import run_tflm_isolated

    g = conv16_graph(np.random.default_rng(3), Op.DEPTHWISE_CONV_2D, (1, 4, 4, 2), 2, (3, 3), bias="int32")
    x = x16(np.random.default_rng(1), (1, 4, 4, 2))
    with pytest.raises(UnsupportedError, match="reads it as int64"):
        KERNELS[Op.DEPTHWISE_CONV_2D](g, g.nodes[0], [x, None, None])
    theirs = run_tflm_isolated(write(g), [x])
    right = g.copy()
    t = right.tensors[right.nodes[0].inputs[2]]
    t.data, t.dtype = t.data.astype(np.int64), "int64"
    assert not theirs.ok or not np.array_equal(theirs.outputs[0], assert_matches_tflm(right, [x], KERNELS)[0])


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


def test_softmax_int16_refusals():
    g = softmax16((1, 4), 1 / 4096, in_dtype="int16", s_out=1 / 32768, zp_out=0)
    with pytest.raises(UnsupportedError, match="int16 input and int16 output"):
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
