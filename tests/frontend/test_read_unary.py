"""The unary family through the reader and writer: read(write(g)) gives back the same graph
for every op and option, and the reader refuses what TF-Lite Micro or mcuforge does not run."""

from __future__ import annotations

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from frontend.test_roundtrip import graph_difference
from frontend.tfl_models import TflBuilder, options
from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir import verify
from mcuforge.ir.builder import GraphBuilder, quant
from ref.test_unary import L2_NORM_Q, LOG_SOFTMAX_Q, fill_graph, unary_graph


def roundtrip(g):
    g = verify(g)
    g2 = read(write(g))
    assert graph_difference(g, g2) is None
    assert write(g2) == write(g)
    return g2


@pytest.mark.parametrize(
    "op, qo",
    [(Op.ABS, (0.1, 3)), (Op.NEG, (0.05, -7)), (Op.ELU, (0.02, 5)), (Op.RSQRT, (0.01, -128)),
     (Op.LOG_SOFTMAX, LOG_SOFTMAX_Q), (Op.L2_NORMALIZATION, L2_NORM_Q), (Op.ZEROS_LIKE, (0.05, -7))],
)  # fmt: skip
def test_elementwise_and_rows_roundtrip(op, qo):
    g2 = roundtrip(unary_graph(op, (0.05, -7), qo, (2, 3, 5)))
    assert g2.nodes[0].op == op


def test_l2_normalization_keeps_its_options():
    g = roundtrip(unary_graph(Op.L2_NORMALIZATION, (0.05, 0), L2_NORM_Q, (4, 8), O.L2NormAttrs(O.Act.NONE)))
    assert g.nodes[0].attrs == O.L2NormAttrs(O.Act.NONE)


@pytest.mark.parametrize("act", [O.Act.RELU, O.Act.RELU6, O.Act.RELU_N1_TO_1])
def test_l2_normalization_with_an_activation_is_refused(act):
    g = unary_graph(Op.L2_NORMALIZATION, (0.05, 0), L2_NORM_Q, (4, 8), O.L2NormAttrs(act))
    with pytest.raises(UnsupportedError, match="fused activation"):
        read(write(g))


def test_fill_roundtrip():
    g = roundtrip(fill_graph([2, 3, 4]))
    assert g.nodes[-1].op == Op.FILL and g.tensors[g.outputs[0]].shape == (2, 3, 4)
    roundtrip(fill_graph([5], const_value=-3))


@pytest.mark.parametrize("din, dout", [("int8", "int32"), ("int8", "float32"), ("int32", "int8"), ("float32", "int8")])
def test_cast_roundtrip(din, dout):
    b = GraphBuilder()
    x = b.input((3, 4), din, *((0.05, 3) if din == "int8" else (None, 0)))
    b.output(b.op(Op.CAST, [x], (3, 4), dout, quant(0.1, -5) if dout == "int8" else None))
    roundtrip(b.graph)


def _cast_file(din: str, dout: str, scale=0.05, with_options=True) -> bytes:
    t = TflBuilder()
    x = t.tensor((1, 4), din, scale=scale if din == "int8" else None)
    y = t.tensor((1, 4), dout, scale=scale if dout == "int8" else None)
    types = {"int8": fb.TensorType.INT8, "int32": fb.TensorType.INT32, "float32": fb.TensorType.FLOAT32,
             "int16": fb.TensorType.INT16, "bool": fb.TensorType.BOOL}  # fmt: skip
    opts = options("CastOptions", inDataType=types[din], outDataType=types[dout]) if with_options else None
    t.op("CAST", [x], [y], opts)
    return t.build([x], [y])


def test_cast_as_the_converter_writes_it():
    """CastOptions (the converter sets both types) are read, and int8 without quantisation is accepted."""
    g = read(_cast_file("int32", "int8", scale=None))
    assert g.nodes[0].op == Op.CAST and g.tensors[g.outputs[0]].quant is None
    read(_cast_file("int8", "float32", with_options=False))


@pytest.mark.parametrize("din, dout", [("int32", "float32"), ("float32", "int32"), ("int8", "int8")])
def test_other_casts_are_refused(din, dout):
    with pytest.raises(UnsupportedError, match=f"casting {din} to {dout}"):
        read(_cast_file(din, dout))


def _fill_file(dims_const=True, value_shape=(), value_dtype="int8") -> bytes:
    t = TflBuilder()
    if dims_const:
        d = t.const(np.array([2, 3], np.int32))
        inputs = []
    else:
        d = t.tensor((2,), "int32")
        inputs = [d]
    v = t.const(np.full(value_shape, 3, value_dtype), scale=0.05)
    y = t.tensor((2, 3), "int8", scale=0.05)
    t.op("FILL", [d, v], [y])
    x = t.tensor((1,), "int8", scale=0.05)
    return t.build(inputs + [x], [y])


def test_fill_needs_constant_dims_and_a_scalar():
    assert read(_fill_file()).nodes[0].op == Op.FILL
    with pytest.raises(UnsupportedError, match="not constant"):
        read(_fill_file(dims_const=False))
    with pytest.raises(ModelFormatError, match="scalar"):
        read(_fill_file(value_shape=(1,)))


def test_l2_normalization_rank_5_is_refused_at_read():
    g = unary_graph(Op.L2_NORMALIZATION, (0.05, 0), L2_NORM_Q, (1, 1, 1, 2, 8))
    with pytest.raises(UnsupportedError, match="rank 5"):
        read(write(g))


# TF-Lite Micro runs these only on float32 (checked here by running it), so mcuforge does not
# take them on int8; LiteRT has int8 kernels for SQRT, EXP and LOG, but TF-Lite Micro is the oracle.
FLOAT_ONLY_IN_TFLM = ["SQRT", "EXP", "LOG", "SIN", "COS", "SQUARE", "FLOOR", "CEIL", "ROUND"]


@pytest.mark.parametrize("kind", FLOAT_ONLY_IN_TFLM)
def test_float_only_operators_are_refused(kind):
    from mcuforge.oracle.tflm import run_tflm_isolated

    t = TflBuilder()
    x = t.tensor((1, 8), "int8", scale=0.05)
    y = t.tensor((1, 8), "int8", scale=0.05)
    t.op(kind, [x], [y])
    data = t.build([x], [y])
    assert not run_tflm_isolated(data, [np.arange(8, dtype=np.int8).reshape(1, 8)]).ok
    with pytest.raises(UnsupportedError, match=f"uses {kind}, which mcuforge does not support"):
        read(data)
