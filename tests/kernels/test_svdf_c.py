"""The SVDF C kernels (mf_svdf_s16, mf_svdf_s8) against the reference executor over a
sequence of invocations, state carried in the arena; every case in one merged build,
under the sanitizers."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.generate import generate
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.interpreter import run_sequence
from mcuforge.targets.sequence import run_c_sequence
from ref.test_svdf import CASES, steps_for, svdf_graph


def merge(graphs: list[Graph]) -> Graph:
    """One graph holding every graph's nodes side by side (names prefixed g<i>_), variables kept."""
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


def _graphs() -> list[Graph]:
    graphs = [svdf_graph(k, d, r, a, b) for k, (d, r, a, b) in enumerate(CASES)]
    graphs.append(svdf_graph(50, "int8", e1=0.05, state_zp=-100))  # the int8 state wraps
    graphs.append(svdf_graph(53, "int16", e1=4.0, state_zp=-3000))  # the int16 state wraps
    graphs.append(svdf_graph(51, "int16", rank=3, size=7, units=70, memory=3))  # more units than one pass
    graphs.append(svdf_graph(52, "int8", size=1, units=1, memory=1))  # a state of one element
    return graphs


def test_svdf_c_sequence_matches_ref():
    g = merge(_graphs())
    rng = np.random.default_rng(0)
    steps = [[rng.integers(-128, 128, g.tensors[n].shape).astype(np.int8) for n in g.inputs] for _ in range(9)]
    ref = run_sequence(g, steps)
    ours = run_c_sequence(g, steps, sanitize=True)
    for k, (a, b) in enumerate(zip(ours, ref)):
        for name, x, y in zip(g.outputs, a, b):
            assert x.tobytes() == y.tobytes(), f"step {k}, {name}: {x.ravel()} vs {y.ravel()}"
    assert not all(np.array_equal(ours[0][i], ours[-1][i]) for i in range(len(g.outputs)))


def test_reset_and_state_in_model_h():
    g = svdf_graph(1, "int8", state_zp=-37)
    project = generate(g)
    assert f"#define MF_STATE_BYTES {g.state_bytes()}" in project.files["model.h"]
    assert "void mf_reset(void);" in project.files["model.h"]
    assert f", {(-37) & 0xFF}, {g.state_bytes()});" in project.files["model.c"]  # memset to the zero point's byte
    (state,) = g.variables()
    offset = project.memory.tensor_offsets[state]
    others = [(o, project.graph.tensors[t].nbytes) for t, o in project.memory.tensor_offsets.items() if t != state]
    assert all(o + n <= offset or o >= offset + g.state_bytes() for o, n in others)  # nothing shares the state


def test_stateless_model_unchanged_invoke():
    from mcuforge.ir.builder import GraphBuilder, quant
    from mcuforge.ir.ops import Op

    b = GraphBuilder()
    x = b.input((1, 4), "int8", 0.1, 0)
    b.output(b.op(Op.RELU, [x], (1, 4), "int8", quant(0.1, 0)))
    files = generate(b.graph).files
    assert "mf_state_ready" not in files["model.c"] and "void mf_reset(void) {}" in files["model.c"]
    assert "#define MF_STATE_BYTES 0" in files["model.h"]


def test_float_free_and_activation_ignored():
    """RELU is stored but the integer kernel does not apply it: negative outputs appear."""
    g = svdf_graph(9, "int16", act=O.Act.RELU)
    steps = steps_for(g, 6, 2)
    outs = run_c_sequence(g, steps)
    assert any(np.any(o[0] < g.tensors[g.outputs[0]].quant.zp) for o in outs)


def test_reset_every_runs_independent_streams():
    """batch_host's RESET_EVERY: 3 streams of 4 steps in one run equal 3 separate runs
    (and differ from one stream of 12 steps, where the state carries on)."""
    g = svdf_graph(2, "int8")
    rng = np.random.default_rng(1)
    steps = [[rng.integers(-128, 128, g.tensors[n].shape).astype(np.int8) for n in g.inputs] for _ in range(12)]
    ours = run_c_sequence(g, steps, reset_every=4)
    separate = [y for k in range(3) for y in run_sequence(g, steps[4 * k : 4 * k + 4])]
    assert all(a[0].tobytes() == b[0].tobytes() for a, b in zip(ours, separate))
    carried = run_sequence(g, steps)
    assert any(a[0].tobytes() != b[0].tobytes() for a, b in zip(ours[4:], carried[4:]))
