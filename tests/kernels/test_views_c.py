"""Gathers in the generated C: a CONCATENATION or PACK whose inputs their producers wrote
straight into its output's buffer has no code (plan/lifetimes.gathered), and the C
project's outputs equal the reference executor's bit for bit; so do the concatenations
that must copy (tests/plan/test_plan_gathers.not_gathers). Under the sanitizers."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.generate import generate
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.plan.lifetimes import gathered
from kernels.test_elementwise_c import check_c, merge
from plan.test_plan_gathers import Q, branches, conv, fire, heads, not_gathers, packed, random_graph, replay_project


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


def gather_graphs() -> list[Graph]:
    return [fire(1), fire(-1, hw=1, c=64, k=1, head=False, sq=8), branches(), packed(), round_trip(), heads()]


@pytest.mark.parametrize("k", range(6))
def test_gather_matches_the_reference(k):
    """Each graph alone: its one gather has no code (round_trip: nor its SPLIT, views
    of the gathered buffer; heads: nor its RESHAPEs), the plan replays, the C outputs
    equal the reference's."""
    g = gather_graphs()[k]
    project = generate(g)
    (at,) = gathered(g)[1]
    assert project.calls[at] is None
    if g.name == "round_trip":
        assert {g.nodes[i].op for i, c in project.calls.items() if c is None} == {Op.CONCATENATION, Op.SPLIT}
    replay_project(project)
    check_c(g, seed=170 + k, sanitize=True)


def test_merged_gathers_and_copies_match_the_reference():
    """Every graph side by side in one build: the gathers the planner keeps there (it
    drops those that would make the merged arena larger) and every copy, fire(1, sq=16)'s
    included (a legal gather the planner turns down: tests/plan/test_plan_gathers)."""
    g = merge(gather_graphs() + list(not_gathers().values()) + [fire(1, sq=16)])
    project = generate(g)
    ops = (Op.CONCATENATION, Op.PACK)
    kept = [g.nodes[i].name for i, c in project.calls.items() if c is None and g.nodes[i].op in ops]
    assert len(kept) >= 3 and all(int(name[1 : name.index("_")]) < 6 for name in kept)
    replay_project(project)
    check_c(g, seed=171, sanitize=True)


def test_random_gathers_match_the_reference():
    """The first three seeded random graphs (tests/plan/test_plan_gathers.random_graph)
    whose plan keeps the gather, each built alone."""
    rng = np.random.default_rng(7)
    done = 0
    while done < 3:
        g = random_graph(rng)
        (at,) = gathered(g)[1] or (None,)
        if at is None or generate(g).calls[at] is not None:
            continue
        check_c(g, seed=180 + done, sanitize=True)
        done += 1


def test_extreme_values():
    """Saturated inputs through the gathered fire module."""
    g = fire(1)
    for v in (-128, 127):
        check_c(g, [np.full((1, 8, 8, 4), v, np.int8)], sanitize=True)


def test_tile_and_broadcast_that_repeat_nothing_are_views():
    """TILE by ones and BROADCAST_TO its own shape (up to leading unit axes) hold their
    input's bytes: views at offset 0, no code; a TILE that repeats copies."""
    rng = np.random.default_rng(9)
    b = GraphBuilder("repeat_nothing")
    x = b.input((1, 4, 4, 8), "int8", *Q)
    h = conv(b, rng, x, 8)
    t = b.op(Op.TILE, [h, b.const(np.ones(4, np.int32))], (1, 4, 4, 8), q=quant(*Q))
    r = b.op(Op.BROADCAST_TO, [t, b.const(np.array([1, 1, 4, 4, 8], np.int32))], (1, 1, 4, 4, 8), q=quant(*Q))
    twice = b.op(Op.TILE, [h, b.const(np.array([1, 2, 1, 1], np.int32))], (1, 8, 4, 8), q=quant(*Q))
    b.output(b.op(Op.RELU, [r], (1, 1, 4, 4, 8), q=quant(*Q)), twice)
    g = b.graph
    project = generate(g)
    off = project.memory.tensor_offsets
    assert off[t] == off[h] == off[r]
    assert [i for i, c in project.calls.items() if c is None] == [1, 2]
    assert project.calls[3] is not None  # the TILE by (1, 2, 1, 1)
    replay_project(project)
    check_c(g, seed=190, sanitize=True)
