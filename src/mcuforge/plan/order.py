"""Choose the execution order with the smallest planned arena.

A chain has one order. Branches (residual adds, concatenations, several detection
heads) leave a choice: which branch runs first decides what stays live while it runs.
Candidates, each scored by running the planner on its buffer requests:
  the given order; depth-first orders that finish one branch before starting the next
  (forward, each fork's consumers in index order; and backward from the outputs, each
  node's inputs in order and reversed); a greedy list schedule that runs the ready node
  freeing the most bytes; and, over the forks (nodes read by several nodes), every
  choice of which consumer goes first when the product of choices is at most
  EXHAUSTIVE_MAX, else a coordinate descent over them under an evaluation budget.
The smallest arena wins; ties go to the earlier candidate, so the result is deterministic.
Every order costs one planner run: a few ms for a hundred buffers. A graph whose node
list is its only order (each node reads the previous one's output) skips the search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterator, Sequence
from itertools import islice, permutations

from mcuforge.ir.graph import Graph
from mcuforge.plan.lifetimes import ALIAS_OPS, buffer_requests, no_scratch
from mcuforge.plan.planner import plan

EXHAUSTIVE_MAX = 64  # fork choice combinations tried exhaustively
MAX_EVALUATIONS = 48  # quick planner runs in all; the coordinate descent stops there
MAX_PERMUTATIONS = 6  # consumer orders tried per fork (all of them for up to 3 consumers)
FINALISTS = 3  # best orders under the greedy planners, re-planned with the full planner


def planned_arena(
    g: Graph,
    order: Sequence[int],
    scratch_bytes: Callable[[int], int] = no_scratch,
    quick: bool = False,
    gather: bool | Container[int] = True,
) -> int:
    """The arena the planner needs for this order (quick: greedy algorithms only;
    gather: lifetimes.buffer_requests's)."""
    b = buffer_requests(g, order, scratch_bytes, gather=gather)
    return plan(b.requests, b.overlaps, quick).arena_bytes


def best_order(
    g: Graph, scratch_bytes: Callable[[int], int] = no_scratch, gather: bool | Container[int] = True
) -> list[int]:
    """The execution order (node indices) whose plan needs the smallest arena.

    Candidates are scored with the greedy planners (a few ms each); the FINALISTS best
    are planned again with the full planner (local and exact search), which decides.
    `gather`: lifetimes.buffer_requests's.
    """
    n = len(g.nodes)
    if _only_order(g):
        return list(range(n))
    consumers = _consumers(g)
    forks = [k for k in range(-1, n) if len(consumers[k]) > 1]  # -1: the nodes ready at the start
    if not forks:
        return list(range(n))
    scores: dict[tuple[int, ...], int] = {}  # insertion order: the order of first evaluation

    def score(order: Sequence[int]) -> int:
        key = tuple(order)
        if key not in scores:
            scores[key] = planned_arena(g, key, scratch_bytes, quick=True, gather=gather)
        return scores[key]

    firsts = {k: tuple(consumers[k]) for k in forks}
    for order in (
        list(range(n)),
        _forward_dfs(g, consumers, firsts),
        _backward_dfs(g, reverse=False),
        _backward_dfs(g, reverse=True),
        _greedy_free(g, consumers, scratch_bytes),
    ):
        score(order)
    # islice: a fork with many consumers has far too many permutations to list.
    choices = {k: list(islice(permutations(consumers[k]), MAX_PERMUTATIONS)) for k in forks}
    if math.prod(len(c) for c in choices.values()) <= EXHAUSTIVE_MAX:
        for combo in _product(forks, choices):
            score(_forward_dfs(g, consumers, combo))
    else:  # one pass of coordinate descent from the index-order choice
        current, best = dict(firsts), score(_forward_dfs(g, consumers, firsts))
        for k in forks:
            for perm in choices[k][1:]:
                if len(scores) >= MAX_EVALUATIONS:
                    break
                trial = {**current, k: perm}
                if score(_forward_dfs(g, consumers, trial)) < best:
                    current, best = trial, score(_forward_dfs(g, consumers, trial))
    seen = list(scores)
    finalists = sorted(seen, key=lambda o: (scores[o], seen.index(o)))[:FINALISTS]
    return list(min(finalists, key=lambda o: (planned_arena(g, o, scratch_bytes, gather=gather), finalists.index(o))))


def _only_order(g: Graph) -> bool:
    """True when the given order is the graph's only execution order: each node reads an
    output of the node before it (a DAG has one topological order exactly when consecutive
    nodes of one are joined by an edge). Inverted residual blocks are such graphs: their
    fork (the block input, read by the expansion and the ADD) leaves no choice, and the
    search below would score the same order several times."""
    previous: set[str] = set()
    for i, node in enumerate(g.nodes):
        if i and not previous.intersection(node.inputs):
            return False
        previous = set(node.outputs)
    return True


def _consumers(g: Graph) -> dict[int, list[int]]:
    """Node index -> distinct nodes reading its outputs (index order); -1 -> nodes ready at the start."""
    prod = g.producers()
    out: dict[int, list[int]] = {k: [] for k in range(-1, len(g.nodes))}
    for i, node in enumerate(g.nodes):
        srcs = {prod[x] for x in node.inputs if x is not None and x in prod}
        for k in sorted(srcs) or [-1]:
            if i not in out[k]:
                out[k].append(i)
    return out


def _product(forks: list[int], choices: dict[int, list[tuple[int, ...]]]) -> Iterator[dict[int, tuple[int, ...]]]:
    if not forks:
        yield {}
        return
    for rest in _product(forks[1:], choices):
        for perm in choices[forks[0]]:
            yield {forks[0]: perm, **rest}


def _forward_dfs(g: Graph, consumers: dict[int, list[int]], first: dict[int, tuple[int, ...]]) -> list[int]:
    """Run the most recently readied node next (a stack), so a branch runs until it blocks
    on a join; `first[k]` is the order in which node k's consumers are tried."""
    prod = g.producers()
    need = {i: {prod[x] for x in node.inputs if x is not None and x in prod} for i, node in enumerate(g.nodes)}
    waiting = {i: len(need[i]) for i in need}
    stack = [i for i in reversed(first.get(-1, tuple(consumers[-1])))]
    order: list[int] = []
    while stack:
        i = stack.pop()
        order.append(i)
        readied = [c for c in first.get(i, tuple(consumers[i])) if _release(waiting, c)]
        stack.extend(reversed(readied))
    return order


def _release(waiting: dict[int, int], c: int) -> bool:
    waiting[c] -= 1
    return waiting[c] == 0


def _backward_dfs(g: Graph, reverse: bool) -> list[int]:
    """Post-order from the outputs: each node after all of its inputs' producers, one input's
    whole subgraph at a time; nodes no output depends on run last, in index order."""
    prod = g.producers()
    done: set[int] = set()
    order: list[int] = []
    roots = [prod[o] for o in g.outputs if o in prod] + list(range(len(g.nodes)))
    for root in roots:
        stack = [(root, False)]
        while stack:
            i, expanded = stack.pop()
            if i in done:
                continue
            if expanded:
                done.add(i)
                order.append(i)
                continue
            stack.append((i, True))
            srcs = [prod[x] for x in g.nodes[i].inputs if x is not None and x in prod]
            srcs = srcs[::-1] if reverse else srcs
            stack.extend((s, False) for s in reversed(srcs) if s not in done)
    return order


def _greedy_free(g: Graph, consumers: dict[int, list[int]], scratch_bytes: Callable[[int], int]) -> list[int]:
    """List schedule: run the ready node with the largest (bytes freed - bytes written)."""
    prod = g.producers()
    reads = {name: len(set(idx)) for name, idx in g.consumers().items()}
    keep = set(g.outputs) | set(g.variables())  # state lives for the whole program
    need = {i: {prod[x] for x in node.inputs if x is not None and x in prod} for i, node in enumerate(g.nodes)}
    waiting = {i: len(need[i]) for i in need}
    ready = set(consumers[-1])
    order: list[int] = []
    while ready:

        def gain(i: int) -> int:
            node = g.nodes[i]
            if node.op in ALIAS_OPS:
                return 0
            freed = sum(
                g.tensors[x].nbytes
                for x in set(node.inputs)
                if x is not None and not g.tensors[x].is_const and reads[x] == 1 and x not in keep
            )
            return freed - sum(g.tensors[y].nbytes for y in node.outputs) - scratch_bytes(i)

        i = min(ready, key=lambda i: (-gain(i), i))
        ready.remove(i)
        order.append(i)
        for x in set(g.nodes[i].inputs):
            if x is not None and x in reads:
                reads[x] -= 1
        ready.update(c for c in consumers[i] if _release(waiting, c))
    return order
