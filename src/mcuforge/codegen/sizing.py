"""The sizing pass of code generation, below both the per-layer generator (generate.py)
and the patch-program one (patch/codegen.py): every emitter once with placeholder
addresses, which gives each node's scratch need and the constants' bytes before any
memory plan exists, and the memory plan of the per-layer program built from them."""

from __future__ import annotations

from dataclasses import dataclass

from mcuforge.codegen.call import Call, EmitContext
from mcuforge.codegen.table import emitter
from mcuforge.ir.graph import Graph
from mcuforge.plan.memory import MemoryPlan, plan_graph


def emit_all(g: Graph, order: list[int], ctx: EmitContext) -> dict[int, Call]:
    calls = {}
    for i in order:
        ctx.node_index = i
        calls[i] = emitter(g.nodes[i].op)(g, g.nodes[i], ctx)
    return calls


@dataclass(frozen=True)
class Sizing:
    """What the sizing pass learns before any plan exists."""

    scratch: dict[int, int]  # node index -> scratch bytes its kernel needs
    flash_bytes: int  # bytes of every constant array the C will hold (weights.c)


def const_bytes(ctx: EmitContext) -> int:
    return sum(a.data.size * a.data.itemsize for a in ctx.arrays)


def size_graph(g: Graph, wide: bool = False) -> Sizing:
    """The sizing pass: every emitter once, with placeholder addresses. Constants do not
    depend on the plan, so its Flash figure is the generated project's. With `wide`,
    every node's wide variant (EmitContext.wide)."""
    ctx = EmitContext(g, wide=frozenset(range(len(g.nodes))) if wide else frozenset())
    calls = emit_all(g, list(range(len(g.nodes))), ctx)
    return Sizing({i: c.scratch_bytes for i, c in calls.items()}, const_bytes(ctx))


def plan_memory(g: Graph) -> MemoryPlan:
    """The memory plan of g's per-layer program: placed with each kernel's narrow scratch,
    then wide variants granted where their scratch fits (the arena stays the same)."""
    narrow = scratch_sizes(g)
    wide = {i: s for i, s in size_graph(g, wide=True).scratch.items() if s > narrow.get(i, 0)}
    return plan_graph(g, narrow, wide)


def scratch_sizes(g: Graph) -> dict[int, int]:
    """Scratch bytes each node's kernel needs (see size_graph)."""
    return size_graph(g).scratch
