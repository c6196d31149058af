"""The engine's figures for a config: equal to what the compiler itself reports.

The profiler joins cached, already optimised pieces (nas/profile.py EngineProfiler);
these tests hold it to the slow path: export the whole network, write it as .tflite,
read it back, compile_graph. Also the planner shortcuts the profiler relies on (the
only-order check and the planner's stop at the lower bound) give the full search's result.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from mcuforge.codegen.generate import size_graph
from mcuforge.engine import compile_graph, optimise
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Op
from mcuforge.nas import zoo
from mcuforge.nas.export import export_graph
from mcuforge.nas.profile import EngineProfiler, compiled_memory, profile
from mcuforge.nas.space import BlockSpace, BlockSpec, ConvSpec, NetConfig, sample
from mcuforge.passes import fold_io
from mcuforge.plan import best_order, buffer_requests, plan, plan_all
from mcuforge.plan.order import _only_order


def sampled(n: int, seed: int = 0, widths=(0.3, 0.5), resolutions=(48, 64, 96)) -> list[NetConfig]:
    rng = np.random.default_rng(seed)
    return [sample(BlockSpace(width=float(rng.choice(widths)), resolution=int(rng.choice(resolutions))), rng) for _ in range(n)]


def with_feature_mix() -> NetConfig:
    """Feature-mix conv, an expand-1 block with a shortcut, and two identical blocks in a row."""
    return NetConfig(
        "mix", 36, ConvSpec(3, 8, 3, 2),
        (BlockSpec(8, 8, 3, 1, 1, residual=True), BlockSpec(8, 16, 5, 2, 3),
         BlockSpec(16, 16, 7, 1, 6, 96, True), BlockSpec(16, 16, 7, 1, 6, 96, True)),
        ConvSpec(16, 64, 1, 1), num_classes=10,
    )  # fmt: skip


def structure(g: Graph) -> list[tuple]:
    """The graph with names replaced by positions: per node its op, attributes, in-place
    flag, and per input/output where it comes from (graph input, constant, or the
    output of node k) with shape, dtype and quantisation (for constants: the number of
    scales and the axis, and the values of small operands such as MEAN's axes)."""
    prod = g.producers()
    out = []
    for n in g.nodes:
        ports = []
        for x in list(n.inputs) + list(n.outputs):
            t = g.tensors[x]
            src = "input" if x in g.inputs else "const" if t.is_const else prod[x]
            q = None if t.quant is None else (tuple(t.quant.scale.tolist()), tuple(t.quant.zero_point.tolist()), t.quant.axis)
            if t.is_const:  # seeded random values differ between the two; their layout may not
                q = None if t.quant is None else (t.quant.scale.size, t.quant.axis)
                q = (q, t.data.tolist() if t.dtype == "int32" and t.data.size <= 8 and q is None else None)
            ports.append((src, t.shape, t.dtype, q, x in g.outputs))
        out.append((n.op, n.attrs, n.inplace, tuple(ports)))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_joined_pieces_are_the_optimised_export(seed: int):
    """Node for node, the profiler's graph is engine.optimise of the whole export, and its
    scratch and Flash are the code generator's for that graph."""
    profiler = EngineProfiler()
    for cfg in sampled(6, seed) + [with_feature_mix()]:
        whole = optimise(fold_io(export_graph(cfg)).graph)
        joined, scratch, flash = profiler.graph(cfg)
        assert structure(joined) == structure(whole)
        want = size_graph(whole)
        assert {i: s for i, s in scratch.items()} == want.scratch
        assert flash == want.flash_bytes


def test_engine_figures_equal_compile_graph():
    profiler = EngineProfiler()
    for cfg in sampled(3, 9) + [with_feature_mix(), zoo.get("mcunet-in0")]:
        assert profiler.memory(cfg) == compiled_memory(cfg)


def test_equal_to_compile_of_the_written_tflite():
    """`mcuforge compile` on the exported .tflite reports the profiler's peak SRAM and Flash."""
    for cfg in (zoo.get("mcunet-in0"), zoo.get("proxyless-w0.3", resolution=64)):
        g = read(write(export_graph(cfg, seed=3)))
        c = compile_graph(g)
        p = profile(cfg)
        assert (c.project.memory.arena_bytes, c.project.flash_bytes) == (p.peak_sram_bytes, p.flash_bytes)


def test_fits_decides_like_the_full_plan():
    profiler = EngineProfiler()
    for cfg in sampled(12, 4, widths=(0.3, 0.4), resolutions=(64, 96, 128)):
        m = profiler.memory(cfg)
        for sram in (m.peak_sram_bytes - 1, m.peak_sram_bytes, m.lower_bound_bytes - 1):
            for flash in (m.flash_bytes - 1, m.flash_bytes):
                want = m.peak_sram_bytes <= sram and m.flash_bytes <= flash
                assert profiler.fits(cfg, sram, flash) == want


def test_inverted_residuals_have_one_order():
    g = optimise(export_graph(zoo.get("mcunet-in0")))
    assert _only_order(g) and best_order(g) == list(range(len(g.nodes)))
    b = GraphBuilder()  # two branches off one input: two orders, the search must run
    x = b.input((1, 4, 4, 2), name="x")
    w = b.const(np.zeros((2, 1, 1, 2), np.int8))
    y1 = b.op(Op.CONV_2D, [x, w, None], (1, 4, 4, 2), attrs=O.ConvAttrs())
    y2 = b.op(Op.CONV_2D, [x, w, None], (1, 4, 4, 2), attrs=O.ConvAttrs())
    b.output(b.op(Op.ADD, [y1, y2], (1, 4, 4, 2), attrs=O.ElementwiseAttrs()))
    assert not _only_order(b.graph)


def test_plan_stops_at_the_bound_with_plan_alls_answer():
    """plan() returns plan_all's smallest (first on ties) plan, offsets included."""
    profiler = EngineProfiler()
    for cfg in sampled(5, 2):
        g, scratch, _ = profiler.graph(cfg)
        b = buffer_requests(g, range(len(g.nodes)), lambda i: scratch.get(i, 0))
        full = min(plan_all(b.requests, b.overlaps), key=lambda q: q.arena_bytes)
        fast = plan(b.requests, b.overlaps)
        assert (fast.algorithm, fast.arena_bytes, dict(fast.offsets)) == (full.algorithm, full.arena_bytes, dict(full.offsets))


def _cpu_seconds(cfgs: list[NetConfig]) -> float:
    """CPU time (not wall time: the machine may be shared) to profile cfgs from cold."""
    profiler = EngineProfiler()
    start = time.process_time()
    for cfg in cfgs:
        profile(cfg, profiler=profiler)
    return time.process_time() - start


def test_profile_speed():
    """Cheap enough to search with: 100 configs of one space, pieces built from cold, in
    well under 3 s (the target, 1,000 in under 10 s: test_thousand_configs)."""
    assert _cpu_seconds(sampled(100, 11, widths=(0.4,), resolutions=(112,))) < 3.0


@pytest.mark.slow
def test_thousand_configs():
    assert _cpu_seconds(sampled(1000, 12, widths=(0.3, 0.5), resolutions=(96, 144))) < 10.0
