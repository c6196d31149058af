"""Structural verifier for graphs; tests run it after every transformation."""

from __future__ import annotations

import numpy as np

from mcuforge.errors import GraphError
from mcuforge.ir.graph import DTYPES, Graph
from mcuforge.ir.ops import ATTRS, Op, arity


def verify(g: Graph) -> Graph:
    """Check the graph's invariants; raise GraphError naming the first violation.

    Returns the graph so that it can be chained: `verify(pass_(g))`.
    """
    problems = list(_problems(g))
    if problems:
        raise GraphError(f"graph {g.name!r} is invalid: {problems[0]}")
    return g


def _problems(g: Graph):
    for name, t in g.tensors.items():
        if name != t.name:
            yield f"tensor key {name!r} holds tensor named {t.name!r}"
        if t.dtype not in DTYPES:
            yield f"tensor {name!r} has unknown dtype {t.dtype!r}"
        if any(d < 0 for d in t.shape):
            yield f"tensor {name!r} has a negative dimension {t.shape}"
        if t.data is not None and tuple(t.data.shape) != t.shape:
            yield f"tensor {name!r} data shape {t.data.shape} differs from {t.shape}"
        q = t.quant
        if q is not None:
            if q.scale.size != q.zero_point.size:
                yield f"tensor {name!r} has {q.scale.size} scales but {q.zero_point.size} zero points"
            if q.per_channel and not (0 <= q.axis < len(t.shape) and t.shape[q.axis] == q.scale.size):
                yield f"tensor {name!r}: {q.scale.size} per-channel scales do not match axis {q.axis} of {t.shape}"
            if not np.all(np.isfinite(q.scale)) or np.any(q.scale < 0):
                yield f"tensor {name!r} has a non-finite or negative scale"
        if t.variable and t.is_const:
            yield f"variable tensor {name!r} has constant data"

    for name in g.inputs + g.outputs:
        if name not in g.tensors:
            yield f"graph boundary names unknown tensor {name!r}"
    for name in g.inputs:
        if name in g.tensors and g.tensors[name].is_const:
            yield f"graph input {name!r} is a constant"
        if name in g.tensors and g.tensors[name].variable:
            yield f"graph input {name!r} is a variable tensor"

    written: dict[str, int] = {}
    ready = g.available()  # variable tensors are read before written: they hold the last state
    for i, node in enumerate(g.nodes):
        where = f"node {i} ({node.op})"
        if not isinstance(node.op, Op):
            yield f"{where}: op is not an Op"
            continue
        if type(node.attrs) is not ATTRS[node.op]:
            yield f"{where}: attributes are {type(node.attrs).__name__}, expected {ATTRS[node.op].__name__}"
        lo, hi = arity(node.op)
        if not lo <= len(node.inputs) <= hi:
            yield f"{where}: has {len(node.inputs)} inputs, expected {lo}..{hi}"
        if not node.outputs:
            yield f"{where}: has no outputs"
        for x in node.inputs:
            if x is None:
                continue
            if x not in g.tensors:
                yield f"{where}: reads unknown tensor {x!r}"
            elif x not in ready:
                yield f"{where}: reads {x!r} before it is written"
        for o in node.outputs:
            if o not in g.tensors:
                yield f"{where}: writes unknown tensor {o!r}"
            elif g.tensors[o].is_const:
                yield f"{where}: writes constant tensor {o!r}"
            elif o in written:
                yield f"{where}: writes {o!r}, already written by node {written[o]}"
            elif o in g.inputs:
                yield f"{where}: writes graph input {o!r}"
            elif g.tensors[o].variable:
                yield f"{where}: writes variable tensor {o!r} as an output (stateful ops update their state input)"
            written[o] = i
            ready.add(o)
    for name in g.outputs:
        if name in g.tensors and name not in ready:
            yield f"graph output {name!r} is never written"
