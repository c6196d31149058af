"""read(write(g)) gives back the same graph, and the written model runs the same."""

import numpy as np
import pytest

from toy_cnn import build_demo_graph
from mcuforge.frontend.tflite_read import load, read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import verify
from mcuforge.ir.graph import Graph
from mcuforge.oracle.tflm import run_tflm_isolated
from real_models import SUPPORTED, make_input


def graph_difference(a: Graph, b: Graph) -> str | None:
    """The first difference between two graphs, or None if they are the same."""
    if (a.inputs, a.outputs) != (b.inputs, b.outputs):
        return f"boundaries differ: {a.inputs, a.outputs} vs {b.inputs, b.outputs}"
    if list(a.tensors) != list(b.tensors):
        return f"tensor names differ: {sorted(set(a.tensors) ^ set(b.tensors))[:5]}"
    for name, t in a.tensors.items():
        u = b.tensors[name]
        if (t.shape, t.dtype, t.quant) != (u.shape, u.dtype, u.quant):
            return f"tensor {name}: {(t.shape, t.dtype, t.quant)} vs {(u.shape, u.dtype, u.quant)}"
        if (t.data is None) != (u.data is None) or (t.data is not None and not np.array_equal(t.data, u.data)):
            return f"tensor {name}: constant data differs"
    if len(a.nodes) != len(b.nodes):
        return f"{len(a.nodes)} vs {len(b.nodes)} nodes"
    for i, (n, m) in enumerate(zip(a.nodes, b.nodes)):
        if (n.op, n.inputs, n.outputs, n.attrs) != (m.op, m.inputs, m.outputs, m.attrs):
            return f"node {i}: {n} vs {m}"
    return None


def test_demo_roundtrip():
    g = verify(build_demo_graph())
    assert graph_difference(g, read(write(g))) is None


@pytest.mark.parametrize("model", list(SUPPORTED))
def test_real_model_roundtrip(models_dir, model):
    g = verify(load(models_dir / f"{model}.tflite"))
    data = write(g)
    g2 = verify(read(data))
    assert graph_difference(g, g2) is None
    assert write(g2) == data  # deterministic bytes
    # The rewritten model runs in TF-Lite Micro exactly as the original does.
    xs = make_input(models_dir, g, SUPPORTED[model][0])
    original = run_tflm_isolated((models_dir / f"{model}.tflite").read_bytes(), xs)
    rewritten = run_tflm_isolated(data, xs)
    assert original.ok and rewritten.ok, (original.message, rewritten.message)
    for a, b in zip(original.outputs, rewritten.outputs):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
