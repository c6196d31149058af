"""The engine pipeline: passes, boundary folding, planning and C generation, and the
host-side application of folded boundary nodes lives in ref/boundary.py."""

from __future__ import annotations

from dataclasses import dataclass

from mcuforge.codegen.generate import Project, generate
from mcuforge.ir.graph import Graph
from mcuforge.ir.verify import verify
from mcuforge.passes import PIPELINE, FoldedIO, fold_io


@dataclass(frozen=True)
class Compiled:
    original: Graph  # the model as read
    io: FoldedIO  # boundary QUANTIZE/DEQUANTIZE moved out of the model (unless float_io)
    graph: Graph  # what the C code computes
    project: Project


def optimise(g: Graph) -> Graph:
    for p in PIPELINE:
        g = verify(p(g))
    return g


def compile_graph(g: Graph, float_io: bool = False) -> Compiled:
    io = FoldedIO(g, g) if float_io else fold_io(g)
    h = optimise(io.graph)
    return Compiled(g, io, h, generate(h))
