"""TFLite's 16x8 scheme (int16 activations, zero point 0; int8 weights; int32 or int64
bias) in the reference kernels, against TF-Lite Micro bit for bit: FULLY_CONNECTED,
ADD, SUB, MUL, CONV_2D and DEPTHWISE_CONV_2D. The other int16 operators are in
test_int16_ops.py; QUANTIZE / DEQUANTIZE with int16 in test_quantize.py."""

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
    attrs = O.ElementwiseAttrs(act) if op in (Op.ADD, Op.SUB, Op.MUL) else None
    b.output(b.op(op, [x1, x2], out_shape, "int16", quant(so, zps[2]), attrs))
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
