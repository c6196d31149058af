import numpy as np
import pytest

from mcuforge.errors import GraphError
from mcuforge.ir import Graph, Node, Op, Tensor, verify
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant


def small_graph() -> Graph:
    b = GraphBuilder()
    x = b.input((1, 4, 4, 2), "int8", 0.1, 0)
    y = b.op(Op.RELU, [x], (1, 4, 4, 2), q=quant(0.1, 0))
    z = b.op(Op.RELU6, [y], (1, 4, 4, 2), q=quant(0.1, 0))
    b.output(z)
    return b.graph


def test_verify_accepts_builder_graph():
    verify(small_graph())


def test_toposort_restores_order():
    g = small_graph()
    g.nodes.reverse()
    with pytest.raises(GraphError, match="before it is written"):
        verify(g)
    g.toposort()
    verify(g)
    assert [n.op for n in g.nodes] == [Op.RELU, Op.RELU6]


def test_toposort_detects_cycle():
    g = small_graph()
    g.nodes[0].inputs = [g.nodes[1].outputs[0]]
    with pytest.raises(ValueError, match="cycle"):
        g.toposort()


def test_verify_rejects_double_write_and_bad_attrs():
    g = small_graph()
    g.nodes[1].outputs = list(g.nodes[0].outputs)
    with pytest.raises(GraphError, match="already written"):
        verify(g)
    g = small_graph()
    g.nodes[0].attrs = O.ConvAttrs()
    with pytest.raises(GraphError, match="attributes are ConvAttrs"):
        verify(g)


def test_verify_rejects_per_channel_mismatch():
    g = small_graph()
    g.add_tensor(Tensor("w", (3, 1, 1, 2), "int8", quant([0.1, 0.2], 0), np.zeros((3, 1, 1, 2), np.int8)))
    with pytest.raises(GraphError, match="per-channel"):
        verify(g)


def test_copy_is_independent():
    g = small_graph()
    h = g.copy()
    h.nodes[0].inputs[0] = "other"
    h.tensors[h.inputs[0]].shape = (9,)
    assert g.nodes[0].inputs[0] != "other"
    assert g.tensors[g.inputs[0]].shape == (1, 4, 4, 2)


def test_remove_unused():
    g = small_graph()
    g.add_tensor(Tensor("orphan", (1,), "int8"))
    g.remove_unused()
    assert "orphan" not in g.tensors
    verify(g)


def test_node_requires_known_tensors():
    g = small_graph()
    g.nodes.append(Node(Op.RELU, ["missing"], [g.nodes[1].outputs[0] + "x"], O.NoAttrs()))
    with pytest.raises(GraphError):
        verify(g)
