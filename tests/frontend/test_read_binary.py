"""read(write(g)) gives back the binary family's graphs: every op, DIV's fused activation,
bool tensors where the ops take or give them; and the reader refuses bool elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op, verify
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from frontend.test_roundtrip import graph_difference
from ref.test_binary import CMP, add_n_graph, binary_graph, prelu_graph, select_graph

TWO_INPUT = (Op.MAXIMUM, Op.MINIMUM, *CMP, Op.SQUARED_DIFFERENCE, Op.LOGICAL_AND, Op.LOGICAL_OR)


def roundtrip(g):
    g = verify(g)
    g2 = verify(read(write(g)))
    assert graph_difference(g, g2) is None
    assert write(g2) == write(g)
    return g2


@pytest.mark.parametrize("op", TWO_INPUT)
def test_two_input_ops(op):
    g2 = roundtrip(binary_graph(op, (2, 1, 4), (3, 1), (2, 3, 4)))
    assert g2.nodes[0].op == op


@pytest.mark.parametrize("act", list(O.Act))
def test_div_keeps_its_activation(act):
    g2 = roundtrip(binary_graph(Op.DIV, (1, 4), (4,), (1, 4), attrs=O.DivAttrs(act)))
    assert g2.nodes[0].attrs == O.DivAttrs(act)


def test_select_v2_prelu_add_n_logical_not():
    roundtrip(select_graph((2, 1, 4), (3, 1), (1,), (2, 3, 4)))
    roundtrip(prelu_graph((1, 4, 5, 3), np.arange(3) - 1))
    roundtrip(add_n_graph(4, (2, 3)))
    b = GraphBuilder()
    b.output(b.op(Op.LOGICAL_NOT, [b.input((3,), "bool")], (3,), "bool"))
    g2 = roundtrip(b.graph)
    assert g2.tensors[g2.outputs[0]].dtype == "bool"


def test_constant_bool_condition():
    b = GraphBuilder()
    c = b.const(np.array([True, False, True]))
    x, y = b.input((3,), "int8", 0.1, 0), b.input((3,), "int8", 0.1, 0)
    b.output(b.op(Op.SELECT_V2, [c, x, y], (3,), q=quant(0.1, 0)))
    g2 = roundtrip(b.graph)
    assert g2.tensors[g2.nodes[0].inputs[0]].data.tolist() == [True, False, True]


def test_bool_is_refused_where_int8_data_is_expected():
    b = GraphBuilder()
    x1, x2 = b.input((4,), "bool"), b.input((4,), "int8", 0.1, 0)
    b.output(b.op(Op.MAXIMUM, [x1, x2], (4,), q=quant(0.1, 0)))
    with pytest.raises(UnsupportedError, match="bool"):
        read(write(b.graph))
    b = GraphBuilder()  # a comparison's int8 output
    x1, x2 = b.input((4,), "int8", 0.1, 0), b.input((4,), "int8", 0.1, 0)
    b.output(b.op(Op.GREATER, [x1, x2], (4,), "int8"))
    with pytest.raises(ModelFormatError, match="no quantisation"):
        read(write(b.graph))
    b = GraphBuilder()  # SELECT_V2's x slot
    c, x, y = b.input((4,), "bool"), b.input((4,), "bool"), b.input((4,), "int8", 0.1, 0)
    b.output(b.op(Op.SELECT_V2, [c, x, y], (4,), q=quant(0.1, 0)))
    with pytest.raises(UnsupportedError, match="bool"):
        read(write(b.graph))


def test_shapes_are_checked():
    g = select_graph((2, 4), (3, 1), (1,), (2, 3, 4))
    with pytest.raises(ModelFormatError, match="do not broadcast"):
        read(write(g))
    b = GraphBuilder()
    x1, x2 = b.input((4,), "int8", 0.1, 0), b.input((1,), "int8", 0.1, 0)
    b.output(b.op(Op.ADD_N, [x1, x2], (4,), q=quant(0.1, 0)))
    with pytest.raises(ModelFormatError, match="first's shape"):
        read(write(b.graph))
    g = binary_graph(Op.PRELU, (1, 4), (4,), (1, 5))
    with pytest.raises(ModelFormatError, match="inputs give"):
        read(write(g))


def test_bool_is_required_where_tflite_requires_it():
    """A comparison's output, SELECT_V2's condition and a logical op's tensors must be bool
    (TF-Lite Micro's Prepare checks them); quantised int8 there is a malformed file."""
    b = GraphBuilder()
    x1, x2 = b.input((4,), "int8", 0.1, 0), b.input((4,), "int8", 0.1, 0)
    b.output(b.op(Op.LESS, [x1, x2], (4,), q=quant(0.1, 0)))
    with pytest.raises(ModelFormatError, match="requires bool"):
        read(write(b.graph))
    b = GraphBuilder()
    c, x, y = (b.input((4,), "int8", 0.1, 0) for _ in range(3))
    b.output(b.op(Op.SELECT_V2, [c, x, y], (4,), q=quant(0.1, 0)))
    with pytest.raises(ModelFormatError, match="condition"):
        read(write(b.graph))
