"""read(write(g)) gives back 16x8 graphs (int16 activations) for the operators that have
int16 kernels, and the reader refuses int16 tensors everywhere else in one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op, verify
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from frontend.test_roundtrip import graph_difference
from ref.test_int16 import binary16, conv16_graph, fc16_graph


def roundtrip(g):
    g = verify(g)
    g2 = verify(read(write(g)))
    assert graph_difference(g, g2) is None
    assert write(g2) == write(g)
    return g2


@pytest.mark.parametrize("bias", ["int64", "int32", None])
def test_fully_connected_16x8(bias):
    g2 = roundtrip(fc16_graph(np.random.default_rng(0), (2, 12), 5, bias=bias, act=O.Act.RELU))
    assert g2.tensors[g2.outputs[0]].dtype == "int16"
    if bias is not None:
        assert g2.tensors[g2.nodes[0].inputs[2]].dtype == bias


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB, Op.MUL])
def test_elementwise_int16(op):
    g2 = roundtrip(binary16(op, (2, 1, 4), (3, 1), (2, 3, 4), 1e-3, 2e-3, 3e-3, act=O.Act.RELU6))
    assert g2.nodes[0].attrs == O.ElementwiseAttrs(O.Act.RELU6)


def test_quantize_chain_int16():
    """float -> int16 -> int8 -> int16 -> int32 and int16 -> float, as keyword spotting's I/O."""
    b = GraphBuilder()
    x = b.input((1, 6), "float32")
    a = b.op(Op.QUANTIZE, [x], (1, 6), "int16", quant(1 / 4096, 0))
    c = b.op(Op.QUANTIZE, [a], (1, 6), "int8", quant(0.02, -3))
    d = b.op(Op.QUANTIZE, [c], (1, 6), "int16", quant(1 / 8192, 0))
    e = b.op(Op.QUANTIZE, [d], (1, 6), "int32", quant(1e-5, 0))
    f = b.op(Op.DEQUANTIZE, [d], (1, 6), "float32")
    b.output(e, f)
    g2 = roundtrip(b.graph)
    assert [g2.tensors[n].dtype for n in g2.outputs] == ["int32", "float32"]


def test_int16_refused_elsewhere():
    b = GraphBuilder()
    x = b.input((1, 4, 4, 2), "int16", 1 / 4096, 0)
    b.output(b.op(Op.HARD_SWISH, [x], (1, 4, 4, 2), "int16", quant(1 / 4096, 0)))  # TF-Lite Micro: int8 only
    with pytest.raises(UnsupportedError) as info:
        read(write(b.graph))
    msg = str(info.value)
    assert "node 0 (HARD_SWISH) has the int16 tensor" in msg and "\n" not in msg


def test_int16_fc_with_int8_output_is_refused():
    """TF-Lite Micro has no int16-in, int8-out FULLY_CONNECTED: the ref refuses it in one sentence."""
    from mcuforge.ref.interpreter import run

    g = fc16_graph(np.random.default_rng(1), (1, 8), 4)
    y = g.tensors[g.outputs[0]]
    y.dtype, y.quant = "int8", quant(0.1, 0)
    g2 = read(write(g))
    with pytest.raises(UnsupportedError, match="int16 input and int8 output"):
        run(g2, [np.zeros((1, 8), np.int16)])


@pytest.mark.parametrize("op,bias", [(Op.CONV_2D, "int64"), (Op.CONV_2D, "int32"), (Op.DEPTHWISE_CONV_2D, "int64")])
def test_convolutions_16x8(op, bias):
    g = conv16_graph(np.random.default_rng(0), op, (1, 5, 5, 2), 4, (3, 3), stride=(2, 2), bias=bias,
                     act=O.Act.RELU6)
    g2 = roundtrip(g)
    assert g2.tensors[g2.nodes[0].inputs[2]].dtype == bias


def test_data_movement_int16():
    """RESHAPE, TRANSPOSE, CONCATENATION, PAD on int16 read back (their kernels move bytes)."""
    b = GraphBuilder()
    x = b.input((1, 4, 6), "int16", 1e-3, 0)
    r = b.op(Op.RESHAPE, [x, b.const(np.array([1, 6, 4], np.int32))], (1, 6, 4), "int16", quant(1e-3, 0))
    t = b.op(Op.TRANSPOSE, [r, b.const(np.array([0, 2, 1], np.int32))], (1, 4, 6), "int16", quant(1e-3, 0))
    c = b.op(Op.CONCATENATION, [x, t], (1, 8, 6), "int16", quant(1e-3, 0), O.ConcatAttrs(1))
    p = b.op(Op.PAD, [c, b.const(np.array([[0, 0], [1, 2], [0, 1]], np.int32))], (1, 11, 7), "int16",
             quant(1e-3, 0))
    b.output(p)
    roundtrip(b.graph)


def test_int16_zero_point_refused_where_tflite_needs_0():
    g = binary16(Op.MUL, (4,), (4,), (4,), 1e-3, 1e-3, 1e-3, zps=(0, 3, 0))
    with pytest.raises(UnsupportedError, match=r"node 0 \(MUL\): int16 tensor '.*' has zero point 3"):
        read(write(g))


def test_slicing_int16_reads():
    from ref.test_int16_ops import slicing_graph

    roundtrip(slicing_graph())
