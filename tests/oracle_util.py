"""Test helper: run one graph with TF-Lite Micro and with a reference kernel table."""

from __future__ import annotations

import numpy as np

from mcuforge.frontend.tflite_write import write
from mcuforge.ir import verify
from mcuforge.ir.graph import Graph
from mcuforge.oracle.tflm import run_tflm


def run_kernels(g: Graph, inputs: list[np.ndarray], kernels: dict) -> list[np.ndarray]:
    """Execute a graph with the given kernel table (the interpreter's loop, without its imports)."""
    values = {n: t.data for n, t in g.tensors.items() if t.is_const}
    values.update(zip(g.inputs, inputs))
    for node in g.nodes:
        outs = kernels[node.op](g, node, [None if n is None else values[n] for n in node.inputs])
        for name, y in zip(node.outputs, outs):
            values[name] = np.asarray(y).reshape(g.tensors[name].shape)
    return [values[n] for n in g.outputs]


def assert_matches_tflm(g: Graph, inputs: list[np.ndarray], kernels: dict | None = None) -> list[np.ndarray]:
    """Run g with TF-Lite Micro and with our kernels; assert every output is identical."""
    verify(g)
    theirs = run_tflm(write(g), inputs)
    if kernels is None:
        from mcuforge.ref.interpreter import run

        ours = run(g, inputs)
    else:
        ours = run_kernels(g, inputs, kernels)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        b = np.asarray(b).reshape(a.shape)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        assert np.array_equal(a, b), f"{int(np.sum(a != b))} of {a.size} values differ:\nours   {a.ravel()[:16]}\ntheirs {b.ravel()[:16]}"
    return ours
