"""read(write(g)) of TRANSPOSE_CONV and BATCH_MATMUL with their options, and the reader's
checks of their operands."""

from __future__ import annotations

import numpy as np
import pytest

from frontend.test_roundtrip import graph_difference
from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Tensor
from ref.test_matmul import bmm_graph, tconv_graph


def roundtrip(g):
    g2 = read(write(g))
    assert graph_difference(g, g2) is None
    assert write(g2) == write(g)
    return g2


@pytest.mark.parametrize(
    "attrs",
    [
        O.TransposeConvAttrs(),
        O.TransposeConvAttrs((2, 3), O.Padding.VALID, O.Act.RELU6),
        O.TransposeConvAttrs((3, 1), O.Padding.SAME, O.Act.RELU_N1_TO_1),
        O.TransposeConvAttrs((2, 2), O.Padding.SAME, O.Act.RELU),
    ],
)
@pytest.mark.parametrize("bias", [True, False, None])
def test_transpose_conv_roundtrip(attrs, bias):
    rng = np.random.default_rng(0)
    n, h, w = 1, 3, 4
    k = (3, 3)
    out_hw = tuple(
        s * st if attrs.padding == O.Padding.SAME else (s - 1) * st + kk for s, st, kk in zip((h, w), attrs.stride, k)
    )
    g = tconv_graph(rng, (n, h, w, 2), out_hw, 3, k, attrs.stride, attrs.padding, attrs.activation, bias=bias)
    g2 = roundtrip(g)
    assert g2.nodes[0].attrs == attrs
    if bias is None:
        assert len(g2.nodes[0].inputs) == 4 and g2.nodes[0].inputs[3] is None
    assert g2.tensors[g2.nodes[0].inputs[1]].quant.per_channel


@pytest.mark.parametrize("adj", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("const", [None, 1])
def test_batch_matmul_roundtrip(adj, const):
    xs, ys = ((2, 4, 3) if adj[0] else (2, 3, 4)), ((5, 4) if adj[1] else (4, 5))
    g, _ = bmm_graph(xs, ys, *adj, const=const)
    assert roundtrip(g).nodes[0].attrs == O.BatchMatMulAttrs(*adj)


def _tconv():
    return tconv_graph(np.random.default_rng(1), (1, 3, 3, 2), (6, 6), 3, (3, 3), (2, 2))


def test_transpose_conv_weights_must_be_constant():
    g = _tconv()
    w = g.tensors[g.nodes[0].inputs[1]]
    w.data = None
    g.inputs.append(w.name)
    with pytest.raises(UnsupportedError, match="weights .* are not constant"):
        read(write(g))


def test_transpose_conv_output_shape_must_be_constant():
    g = _tconv()
    s = g.tensors[g.nodes[0].inputs[0]]
    s.data = None
    g.inputs.insert(0, s.name)
    with pytest.raises(UnsupportedError, match="output shape tensor .* is not constant"):
        read(write(g))


def test_transpose_conv_output_shape_must_be_int32():
    g = _tconv()
    name = g.nodes[0].inputs[0]
    g.tensors[name] = Tensor(name, (4,), "int8", quant(1.0, 0), np.array([1, 6, 6, 3], np.int8))
    with pytest.raises(ModelFormatError, match="expected int32"):
        read(write(g))


def test_transpose_conv_bias_must_be_int32():
    g = _tconv()
    name = g.nodes[0].inputs[3]
    g.tensors[name] = Tensor(name, (3,), "int8", quant(0.1, 0), np.zeros(3, np.int8))
    with pytest.raises(UnsupportedError, match="bias .* int32 bias"):
        read(write(g))


def test_transpose_conv_stored_shape_is_checked():
    g = _tconv()
    g.tensors[g.nodes[0].inputs[0]].data[:] = [1, 7, 6, 3]
    with pytest.raises(ModelFormatError, match="has shape .* in the file, but its inputs give"):
        read(write(g))


def test_float_transpose_conv_is_refused():
    b = GraphBuilder()
    x = b.input((1, 2, 2, 1), "float32")
    ins = [b.const(np.array([1, 4, 4, 1], np.int32)), b.const(np.ones((1, 3, 3, 1), np.float32)), x]
    b.output(b.op(Op.TRANSPOSE_CONV, ins, (1, 4, 4, 1), "float32", attrs=O.TransposeConvAttrs((2, 2))))
    with pytest.raises(UnsupportedError, match="float32 TRANSPOSE_CONV"):
        read(write(b.graph))


def test_batch_matmul_per_channel_input_is_refused():
    g, _ = bmm_graph((3, 4), (4, 5), const=1)
    g.tensors[g.nodes[0].inputs[1]].quant = quant(np.full(5, 0.04, np.float32), 0, 1)
    with pytest.raises(UnsupportedError, match="per channel"):
        read(write(g))


def test_batch_matmul_stored_shape_is_checked():
    g, _ = bmm_graph((2, 3, 4), (4, 5))
    g.tensors[g.outputs[0]].shape = (2, 5, 3)
    with pytest.raises(ModelFormatError, match="in the file, but its inputs give"):
        read(write(g))
