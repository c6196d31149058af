"""The C kernel of UNIDIRECTIONAL_SEQUENCE_LSTM (mf_lstm.c) against the reference executor, bit
for bit, under the sanitizers: every case of tests/ref/test_lstm.py in one build with a
hand-placed arena (each tensor and scratch in a place of its own; the arena starts zeroed
and no reset runs, so the state starts at zero, and the reference runs from the same
state), and planned builds over several invocations (mf_reset's zero points, the state
carried between mf_invoke() calls)."""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import project_files
from mcuforge.codegen.table import emitter
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.targets.host import build, execute
from mcuforge.ref.interpreter import run_sequence
from mcuforge.targets.qemu import missing_tools
from mcuforge.targets.sequence import run_c_sequence
from ref.test_lstm import ALL_CASES, SEQUENCE_CASES, lstm_graph, run_ref, x_for


def merge(graphs: list[Graph]) -> Graph:
    """One graph holding every graph's nodes side by side (names prefixed g<i>_), variable
    tensors kept."""
    m = Graph(name="merged")
    for i, g in enumerate(graphs):
        pre = f"g{i}_"
        for t in g.tensors.values():
            m.add_tensor(Tensor(pre + t.name, t.shape, t.dtype, t.quant, t.data, t.variable))
        for n in g.nodes:
            ins = [None if x is None else pre + x for x in n.inputs]
            m.add_node(Node(n.op, ins, [pre + y for y in n.outputs], n.attrs, pre + n.name, n.inplace))
        m.inputs += [pre + x for x in g.inputs]
        m.outputs += [pre + y for y in g.outputs]
    return m


def run_c_layout(g: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Every activation, state and scratch buffer at an 8-aligned offset of its own."""
    ctx = EmitContext(g)
    sizing = {i: emitter(n.op)(g, n, ctx) for i, n in enumerate(g.nodes)}
    offsets, scratch, top = {}, {}, 0
    for name, t in g.tensors.items():
        if not t.is_const:
            offsets[name], top = top, top + (t.nbytes + 7) // 8 * 8
    for i, call in sizing.items():
        scratch[i], top = top, top + (call.scratch_bytes + 7) // 8 * 8
    ctx = EmitContext(g, offsets=offsets, scratch_offsets=scratch)
    calls = {}
    for i, node in enumerate(g.nodes):
        ctx.node_index = i
        calls[i] = emitter(node.op)(g, node, ctx)
    files = project_files(g, list(range(len(g.nodes))), calls, ctx, top)
    with tempfile.TemporaryDirectory(prefix="mcuforge-lstm-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        return execute(build(d, sanitize=True), g, inputs, d)


def test_lstm_c_matches_ref():
    graphs, inputs = [], []
    for name, kw in ALL_CASES.items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        g = lstm_graph(rng, **kw)
        graphs.append(g)
        inputs.append(x_for(rng, g))
    ours = run_c_layout(merge(graphs), inputs)
    for name, g, x, y in zip(ALL_CASES, graphs, inputs, ours):
        zeros = {n: np.zeros(t.shape, t.dtype) for n, t in g.tensors.items() if t.variable}
        ref = run_ref(g, [x], zeros)[0]
        assert y.dtype == ref.dtype and y.shape == ref.shape, name
        assert y.tobytes() == ref.tobytes(), f"{name}: {int(np.sum(y != ref))} of {y.size} values differ"
        assert len(np.unique(ref)) > 3, name


def test_lstm_c_sequence_matches_ref():
    graphs = [lstm_graph(np.random.default_rng(zlib.crc32(n.encode()) + 2), **ALL_CASES[n]) for n in SEQUENCE_CASES]
    rng = np.random.default_rng(7)
    steps = [[x_for(rng, sub) for sub in graphs] for _ in range(3)]
    g = merge(graphs)
    ours = run_c_sequence(g, steps, sanitize=True)
    for k, (a_step, b_step) in enumerate(zip(ours, run_sequence(g, steps))):
        for name, a, b in zip(g.outputs, a_step, b_step):
            assert a.tobytes() == b.tobytes(), f"step {k}, {name}: {int(np.sum(a != b))} values differ"


@pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")
def test_lstm_qemu_sequence_matches_ref():
    """The same kernels for Cortex-M4 under QEMU: 8x8 and 16x8 cases, state carried."""
    from mcuforge.codegen.generate import generate
    from mcuforge.hw.boards import get_board
    from mcuforge.targets.sequence import run_qemu_sequence

    names = ["hidden_zp_neg4", "time_major", "s16_zero_points", "s16_time_major"]
    graphs = [lstm_graph(np.random.default_rng(zlib.crc32(n.encode()) + 3), **ALL_CASES[n]) for n in names]
    rng = np.random.default_rng(8)
    steps = [[x_for(rng, sub) for sub in graphs] for _ in range(3)]
    g = merge(graphs)
    ours = run_qemu_sequence(generate(g), get_board("STM32F412"), steps)
    for k, (a_step, b_step) in enumerate(zip(ours, run_sequence(g, steps))):
        for name, a, b in zip(g.outputs, a_step, b_step):
            assert a.tobytes() == b.tobytes(), f"step {k}, {name}: {int(np.sum(a != b))} values differ"
