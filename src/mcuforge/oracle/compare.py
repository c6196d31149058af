"""Compare our executor with TF-Lite Micro, and find the first node that differs."""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass

import numpy as np

from mcuforge.frontend.tflite_write import write
from mcuforge.ir.graph import Graph
from mcuforge.oracle.tflm import run_tflm_isolated, run_tflm_tensors
from mcuforge.ref.interpreter import run_all


@dataclass(frozen=True)
class Comparison:
    identical: bool
    per_output: list[bool]
    message: str


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit equality (float outputs too), ignoring unit-dimension differences."""
    b = np.asarray(b)
    return a.dtype == b.dtype and a.size == b.size and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def compare_outputs(ours: list[np.ndarray], theirs: list[np.ndarray]) -> list[bool]:
    return [_same(a, b) for a, b in zip(ours, theirs)]


def _tensors_child(conn, model: bytes, inputs, indices) -> None:
    try:
        conn.send(("ok", run_tflm_tensors(model, inputs, indices)))
    except Exception as e:  # noqa: BLE001 - reported to the parent as text
        conn.send(("error", str(e)))
    finally:
        conn.close()


def first_difference(g: Graph, inputs: list[np.ndarray]) -> str:
    """Name the first node (in execution order) whose output differs from TF-Lite Micro's.

    TF-Lite Micro runs our own serialisation of `g` with every tensor preserved, so
    tensor i of the written model is the i-th tensor of the graph.
    """
    model = write(g)
    names = list(g.tensors)
    wanted = [names.index(o) for n in g.nodes for o in n.outputs]
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_tensors_child, args=(child, model, inputs, wanted))
    proc.start()
    child.close()
    status, theirs = parent.recv() if parent.poll(300) else ("error", "timeout")
    proc.join()
    if status != "ok":
        return f"could not read TF-Lite Micro's intermediate tensors ({theirs})"
    ours = run_all(g, inputs)
    for i, node in enumerate(g.nodes):
        for o in node.outputs:
            a, b = ours[o], np.asarray(theirs[names.index(o)])
            if not _same(a, b):
                count = int(np.sum(a.reshape(-1) != b.reshape(-1))) if a.size == b.size else a.size
                return f"first difference at node {i} ({node.op}, output {o!r}): {count} of {a.size} values differ"
    return "every node output matches when TF-Lite Micro runs mcuforge's own serialisation of the graph"


def compare_with_tflm(model_bytes: bytes, g: Graph, inputs: list[np.ndarray], ours: list[np.ndarray]) -> Comparison:
    result = run_tflm_isolated(model_bytes, inputs)
    if not result.ok:
        return Comparison(False, [], f"TF-Lite Micro could not run the model: {result.message}")
    same = compare_outputs(ours, result.outputs)
    if len(result.outputs) == len(ours) and all(same):
        return Comparison(True, same, f"identical: all {len(ours)} output(s) equal TF-Lite Micro's bit for bit")
    bad = [i for i, s in enumerate(same) if not s]
    return Comparison(False, same, f"outputs {bad} differ from TF-Lite Micro; {first_difference(g, inputs)}")
