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


def _ours(g: Graph, inputs: list[np.ndarray], kernels: dict | None) -> list[np.ndarray]:
    """Our outputs: the reference interpreter, or the given kernel table."""
    if kernels is None:
        from mcuforge.ref.interpreter import run

        return run(g, inputs)
    return run_kernels(g, inputs, kernels)


def assert_matches_tflm(g: Graph, inputs: list[np.ndarray], kernels: dict | None = None) -> list[np.ndarray]:
    """Run g with TF-Lite Micro and with our kernels; assert every output is identical."""
    verify(g)
    theirs = run_tflm(write(g), inputs)
    ours = _ours(g, inputs, kernels)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        d = _diff(a, b)
        assert d is None, d
    return ours


def run_litert(g_or_model: Graph | bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of LiteRT's reference kernels (the second oracle), in the model's output order."""
    import pytest

    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is not installed")
    model = g_or_model if isinstance(g_or_model, bytes) else write(g_or_model)
    it = litert.Interpreter(model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], np.ascontiguousarray(x))
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]


def _diff(a: np.ndarray, b: np.ndarray) -> str | None:
    b = np.asarray(b).reshape(a.shape)
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} vs {b.dtype}"
    if not np.array_equal(a, b):
        return f"{int(np.sum(a != b))} of {a.size} values differ:\nours   {a.ravel()[:16]}\ntheirs {b.ravel()[:16]}"
    return None


def assert_matches_litert(g: Graph, inputs: list[np.ndarray], kernels: dict | None = None) -> list[np.ndarray]:
    """Run g with LiteRT's reference kernels and with ours; assert every output is identical."""
    verify(g)
    theirs = run_litert(g, inputs)
    ours = _ours(g, inputs, kernels)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        d = _diff(a, b)
        assert d is None, d
    return ours


# Where the two oracles disagree, mcuforge follows one of them; each case is stated where a
# test calls assert_matches_oracles(follows=...), and the other oracle's difference is
# asserted, so a case that stops disagreeing is noticed.
def assert_matches_oracles(
    g: Graph, inputs: list[np.ndarray], follows: str = "both", why: str = "", kernels: dict | None = None
) -> list[np.ndarray]:
    """Compare ours with TF-Lite Micro and LiteRT. follows="both": all three agree; "tflm" or
    "litert": ours equals that one and the other oracle is known to differ (why says how)."""
    assert follows in ("both", "tflm", "litert")
    verify(g)
    ours = _ours(g, inputs, kernels)
    results = {"tflm": run_tflm(write(g), inputs), "litert": run_litert(g, inputs)}
    for name, theirs in results.items():
        assert len(ours) == len(theirs), name
        diffs = [_diff(a, b) for a, b in zip(ours, theirs)]
        if follows in ("both", name):
            assert all(d is None for d in diffs), f"{name}: {next(d for d in diffs if d)}"
        else:
            assert any(d is not None for d in diffs), f"{name} now agrees with ours ({why}): update the test"
    return ours
