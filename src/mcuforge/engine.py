"""The engine pipeline: passes, boundary folding, planning and C generation, and the
host-side application of folded boundary nodes lives in ref/boundary.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mcuforge.codegen.generate import Project, for_board, generate
from mcuforge.ir.graph import Graph
from mcuforge.ir.verify import verify
from mcuforge.passes import PIPELINE, FoldedIO, fold_io

if TYPE_CHECKING:
    from mcuforge.hw.boards import Board
    from mcuforge.patch.plan import PatchPlan
    from mcuforge.patch.search import PatchChoice


@dataclass(frozen=True)
class Compiled:
    original: Graph  # the model as read
    io: FoldedIO  # boundary QUANTIZE/DEQUANTIZE moved out of the model (unless float_io)
    graph: Graph  # what the C code computes (with patches: project.graph is the patched program)
    project: Project
    patch: PatchChoice | None = None  # what --patch decided (None: not asked)

    def for_board(self, board: Board, kernels: str = "auto") -> Compiled:
        """The same model with the project's kernels and build files for `board`."""
        return replace(self, project=for_board(self.project, board, kernels))


def optimise(g: Graph) -> Graph:
    for p in PIPELINE:
        g = verify(p(g))
    return g


def compile_graph(
    g: Graph, float_io: bool = False, patch: str | PatchPlan = "none", max_mac_overhead: float = 0.2
) -> Compiled:
    """`patch`: "none" (per layer), "auto" (patch/choose.py: split and grid with the
    smallest peak under `max_mac_overhead`, or per layer) or a PatchPlan."""
    io = FoldedIO(g, g) if float_io else fold_io(g)
    h = optimise(io.graph)
    project = generate(h)
    if patch == "none":
        return Compiled(g, io, h, project)
    from mcuforge.patch.choose import choose_patch

    project, choice = choose_patch(h, project, patch, max_mac_overhead)
    return Compiled(g, io, h, project, choice)
