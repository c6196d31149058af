"""Execution order: the planner-scored search picks a better order on branchy graphs."""

from __future__ import annotations

import numpy as np

from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder
from mcuforge.ir.ops import Op
from mcuforge.plan import best_order, buffer_requests, plan, planned_arena, verify


def conv1x1(b: GraphBuilder, x: str, cin: int, cout: int, hw: int = 4) -> str:
    w = b.const(np.zeros((cout, 1, 1, cin), np.int8))
    return b.op(Op.CONV_2D, [x, w, None], (1, hw, hw, cout), attrs=O.ConvAttrs())


def two_branches():
    """x (32 B) feeds two branches that each expand to 1,024 B and shrink back; then ADD.
    Nodes are listed interleaved (both expansions first), the worst order."""
    b = GraphBuilder()
    x = b.input((1, 4, 4, 2), name="x")
    a1 = conv1x1(b, x, 2, 64)
    b1 = conv1x1(b, x, 2, 64)
    a2 = conv1x1(b, a1, 64, 2)
    b2 = conv1x1(b, b1, 64, 2)
    b.output(b.op(Op.ADD, [a2, b2], (1, 4, 4, 2), name="y"))
    return b.graph


def test_branch_finished_before_the_next():
    g = two_branches()
    given = planned_arena(g, range(5))
    order = best_order(g)
    assert order == [0, 2, 1, 3, 4]  # branch a to its end, then branch b
    # Given order: a1 and b1 live together (x, read last by b's expansion, hides inside b1:
    # 2048). Chosen: each shrinking conv's output may sit on its input and x inside b1, so
    # every step holds one 1,024 B tensor and two 32 B ones: 1056.
    assert given == 2048 and planned_arena(g, order) == 1056


def test_many_forks_use_the_bounded_search():
    """Eight two-branch blocks in a row: 2**8 fork choices, more than EXHAUSTIVE_MAX, so the
    coordinate descent runs; every block must still run one branch at a time."""
    b = GraphBuilder()
    x = b.input((1, 4, 4, 2), name="x")
    for _ in range(8):
        a1, b1 = conv1x1(b, x, 2, 64), conv1x1(b, x, 2, 64)
        x = b.op(Op.ADD, [conv1x1(b, a1, 64, 2), conv1x1(b, b1, 64, 2)], (1, 4, 4, 2))
    b.output(x)
    g = b.graph
    scratch = lambda i: 16 if g.nodes[i].op == Op.CONV_2D else 0  # noqa: E731
    order = best_order(g, scratch)
    bufs = buffer_requests(g, order, scratch)
    verify(bufs.requests, bufs.overlaps, plan(bufs.requests, bufs.overlaps))
    assert planned_arena(g, range(len(g.nodes)), scratch) == 2048 + 16
    assert planned_arena(g, order, scratch) == 1056 + 16


def test_chain_keeps_the_given_order():
    b = GraphBuilder()
    x = b.input((1, 4, 4, 2))
    b.output(conv1x1(b, conv1x1(b, x, 2, 8), 8, 2))
    assert best_order(b.graph) == [0, 1]


def test_detection_heads_deterministic():
    """Three heads off one trunk, each a graph output: outputs live to the end, so the
    order decides how long each head's intermediate stays; the result is repeatable."""
    b = GraphBuilder()
    x = b.input((1, 4, 4, 4), name="x")
    t = conv1x1(b, x, 4, 16)
    outs = []
    for k in range(3):
        h = conv1x1(b, t, 16, 32 * (k + 1))
        outs.append(conv1x1(b, h, 32 * (k + 1), 1))
    b.output(*outs)
    g = b.graph
    order = best_order(g)
    assert order == best_order(g)
    assert sorted(order) == list(range(len(g.nodes)))
    assert planned_arena(g, order) <= planned_arena(g, range(len(g.nodes)))
    # The three heads run one at a time: each big intermediate dies before the next starts.
    pos = {n: s for s, n in enumerate(order)}
    for k in range(3):
        assert pos[2 + 2 * k] == pos[1 + 2 * k] + 1
