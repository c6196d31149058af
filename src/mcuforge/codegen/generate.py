"""Graph -> C project: order, plan, emit, write.

Emission runs twice: a sizing pass (every emitter reports its scratch need, with
placeholder addresses) and, once the plan exists, the real pass with fixed offsets.
Emitters are pure functions of the graph, so both passes agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mcuforge.codegen import cwriter
from mcuforge.codegen.call import Call, EmitContext
from mcuforge.codegen.kernels import kernel_files, optimised
from mcuforge.codegen.sizing import Sizing, const_bytes, emit_all, plan_memory, scratch_sizes, size_graph
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import ALIAS_OPS
from mcuforge.ir.shapes_slicing import gathers, views
from mcuforge.patch.codegen import patched_parts
from mcuforge.plan.memory import MemoryPlan

__all__ = [
    "Project",
    "Sizing",
    "const_bytes",
    "for_board",
    "generate",
    "plan_memory",
    "planned_calls",
    "project_files",
    "scratch_sizes",
    "size_graph",
]

if TYPE_CHECKING:
    from mcuforge.hw.boards import Board
    from mcuforge.patch.plan import PatchPlan


@dataclass(frozen=True)
class Project:
    """A generated C project: file name -> text, plus the figures the report needs."""

    files: dict[str, str]
    graph: Graph
    memory: MemoryPlan
    calls: dict[int, Call | None]
    flash_bytes: int  # constants (weights.c); code is measured apart (targets/codesize.py)
    kernels: str = "portable"  # the kernel set its files carry (codegen/kernels.py)
    board: Board | None = None  # the board its build files are for (for_board), None: host only

    @property
    def families(self) -> list[str]:
        """The kernel families (mf_conv, mf_fc, ...) the calls use."""
        return sorted({s for c in self.calls.values() if c is not None for s in c.sources})

    @property
    def optimised(self) -> tuple[str, ...]:
        """Kernel files that carry the ARMv7E-M implementation."""
        return optimised(self.families, self.kernels)


def project_files(
    g: Graph,
    order: list[int],
    calls: dict[int, Call | None],
    ctx: EmitContext,
    arena_bytes: int,
    scratch_bytes: int = 0,
) -> dict[str, str]:
    """The project's files (name -> text) for emitted calls: model, weights, host runner,
    the kernel families the calls use (portable; for_board chooses the board's), Makefile."""
    families = sorted({s for c in calls.values() if c is not None for s in c.sources})
    files = {
        "model.h": cwriter.model_h(g, arena_bytes, ctx.offsets, {"scratch_bytes": scratch_bytes}),
        "model.c": cwriter.model_c(g, order, calls, families, arena_bytes, ctx.offsets),
        "weights.h": cwriter.weights_h(ctx.arrays),
        "weights.c": cwriter.weights_c(ctx.arrays),
        "main_host.c": cwriter.MAIN_HOST,
        **kernel_files(families, "portable"),
    }
    files["Makefile"] = cwriter.makefile([f"{fam}.c" for fam in families])
    return files


def for_board(project: Project, board: Board, kernels: str = "auto") -> Project:
    """`project` with the kernel files `kernels` chooses for `board` (codegen/kernels.py)
    and the board's build files: a Makefile and CMakeLists.txt with its core, FPU and
    float ABI, a CMake toolchain file, and for `make firmware` a startup file, a linker
    script from its memory map and a bare-metal main (codegen/buildfiles.py)."""
    from mcuforge.codegen import buildfiles
    from mcuforge.codegen.kernels import choose

    chosen = choose(board, kernels)
    families = project.families
    files = {n: t for n, t in project.files.items() if n not in buildfiles.BOARD_FILES and not n.startswith("mf_")}
    files.update(kernel_files(families, chosen))
    files.update(buildfiles.board_files(board, [f"{fam}.c" for fam in families], project.memory.arena_bytes))
    return replace(project, files=files, kernels=chosen, board=board)


def planned_calls(g: Graph, memory: MemoryPlan) -> tuple[EmitContext, dict[int, Call | None]]:
    """The kernel calls of g's per-layer program under `memory` (plan_memory's): each
    node's kernel, wide variants where the plan grants them; an alias whose output the
    planner put on its input, a view inside its input and a gather whose inputs were
    written inside its output have no call (None). nas/latency.py predicts from these."""
    ctx = EmitContext(
        g, offsets=dict(memory.tensor_offsets), scratch_offsets=dict(memory.scratch_offsets), wide=memory.wide
    )
    calls: dict[int, Call | None] = dict(emit_all(g, memory.order, ctx))
    _drop_aliases(g, memory, ctx, calls)
    return ctx, calls


def _drop_aliases(g: Graph, memory: MemoryPlan, ctx: EmitContext, calls: dict[int, Call | None]) -> None:
    for i in memory.order:
        node = g.nodes[i]
        if node.op in ALIAS_OPS and ctx.offsets.get(node.inputs[0]) == ctx.offsets.get(node.outputs[0]):
            calls[i] = None  # the planner gave output and input one buffer: nothing to copy
        elif (view := views(g, node)) is not None and node.inputs and all(
            ctx.offsets.get(y) == ctx.offsets.get(view[0], -1) + v for y, v in zip(node.outputs, view[1])
        ):
            calls[i] = None  # every output is a view where its bytes already are
        elif (parts := gathers(g, node)) is not None and node.outputs[0] in ctx.offsets and all(
            ctx.offsets.get(x) == ctx.offsets[node.outputs[0]] + v for x, v in zip(node.inputs, parts)
        ):
            calls[i] = None  # every input's producer wrote it where it belongs in the output


def generate(g: Graph, patch: PatchPlan | None = None, order: list[int] | None = None) -> Project:
    """The C project for g; with `patch`, g's patch stage runs patch by patch (the
    project's graph is then the patched program, patch/program.py; `order` is g's
    per-layer execution order, default the planner's)."""
    if patch is not None:
        g, memory, ctx, patched = patched_parts(g, patch, order)
        calls: dict[int, Call | None] = dict(patched)
        _drop_aliases(g, memory, ctx, calls)
    else:
        memory = plan_memory(g)
        ctx, calls = planned_calls(g, memory)
        for i, c in calls.items():
            assert c is None or c.scratch_bytes == memory.scratch_sizes.get(i, 0), (
                f"node {i}: scratch differs from the plan's"
            )
    files = project_files(g, memory.order, calls, ctx, memory.arena_bytes, memory.scratch_bytes)
    return Project(files, g, memory, calls, const_bytes(ctx))
