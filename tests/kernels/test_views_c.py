"""Gathers in the generated C: a CONCATENATION or PACK whose inputs their producers wrote
straight into its output's buffer has no code (plan/lifetimes.gathered), and the C
project's outputs equal the reference executor's bit for bit; so do the concatenations
that must copy (tests/plan/test_plan_gathers.not_gathers). One build, under the sanitizers."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.generate import generate
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from kernels.test_elementwise_c import check_c, merge
from plan.test_plan_gathers import Q, branches, conv, fire, not_gathers, packed, replay_project


def round_trip(seed: int = 4) -> Graph:
    """A gather read back through views: concat along H, SPLIT along H (each piece a view
    of the gathered buffer), a RELU6 on each piece."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("round_trip")
    x = b.input((1, 4, 4, 8), "int8", *Q)
    e1, e3 = conv(b, rng, x, 8), conv(b, rng, x, 8, k=3)
    y = b.op(Op.CONCATENATION, [e1, e3], (1, 8, 4, 8), q=quant(*Q), attrs=O.ConcatAttrs(-3))
    top, bottom = b.op_multi(Op.SPLIT, [b.const(np.array(1, np.int32)), y], [(1, 4, 4, 8)] * 2, q=quant(*Q),
                             attrs=O.SplitAttrs(2))  # fmt: skip
    b.output(*(b.op(Op.RELU6, [t], (1, 4, 4, 8), q=quant(*Q)) for t in (top, bottom)))
    return b.graph


def graphs() -> list[Graph]:
    return [
        fire(1), fire(-1, hw=1, c=64, k=1, head=False, sq=8), fire(1, sq=16), branches(), packed(), round_trip(),
        *not_gathers().values(),
    ]  # fmt: skip


def test_gathers_and_copies_match_the_reference():
    gs = graphs()
    g = merge(gs)
    project = generate(g)
    silent = {g.nodes[i].name for i, c in project.calls.items() if c is None}
    gathers = {n.name for n in g.nodes if n.op in (Op.CONCATENATION, Op.PACK) and n.name in silent}
    # every gather of the first six graphs (one each), no concatenation of the others
    assert sorted(name.split("_", 1)[0] for name in gathers) == [f"g{k}" for k in range(6)]
    assert replay_project(project) == {i for i, c in project.calls.items() if c is None}
    split = next(i for i, n in enumerate(g.nodes) if n.op == Op.SPLIT)
    assert project.calls[split] is None  # round_trip: views of the gathered buffer
    check_c(g, seed=171, sanitize=True)


def test_extreme_values():
    """Saturated inputs through the gathered fire module."""
    g = fire(1)
    for v in (-128, 127):
        check_c(g, [np.full((1, 8, 8, 4), v, np.int8)], sanitize=True)
