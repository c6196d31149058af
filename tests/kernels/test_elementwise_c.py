"""C kernels for ADD, SUB and MUL (mf_elementwise) against the reference executor, bit
for bit; and the helpers the other C tests of the non-convolution families share.

gcc is the cost, so each test merges many one-node graphs (built with the reference
tests' graph builders) into one graph and builds it once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import project_files
from mcuforge.codegen.ops_elementwise import broadcast_dims
from mcuforge.codegen.table import emitter
from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.elementwise import prepare_add_sub
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets.host import build, execute, run_c
from ref.test_elementwise import ALL_INT8, BROADCASTS, MUL_DOUBLE_CASES, OPS, SUB_DOUBLE_CASES, binary_graph


# ------------------------------------------------------------------ helpers
def merge(graphs: list[Graph]) -> Graph:
    """One graph holding every graph's nodes side by side (names prefixed g<i>_)."""
    m = Graph(name="merged")
    for i, g in enumerate(graphs):
        pre = f"g{i}_"
        for t in g.tensors.values():
            m.add_tensor(Tensor(pre + t.name, t.shape, t.dtype, t.quant, t.data))
        for n in g.nodes:
            ins = [None if x is None else pre + x for x in n.inputs]
            m.add_node(Node(n.op, ins, [pre + y for y in n.outputs], n.attrs, pre + n.name, n.inplace))
        m.inputs += [pre + x for x in g.inputs]
        m.outputs += [pre + y for y in g.outputs]
    return m


def check_c(
    g: Graph, inputs: list[np.ndarray] | None = None, seed: int = 0, sanitize: bool = False
) -> list[np.ndarray]:
    """Run g through the generated C and through the reference executor; assert equal bytes."""
    xs = random_inputs(g, seed) if inputs is None else inputs
    ours = run_c(g, xs, sanitize=sanitize)
    ref = run(g, xs)
    for name, a, b in zip(g.outputs, ours, ref):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), f"{name}: {int(np.sum(a != b))} of {a.size} values differ"
    return ours


def run_layout(g: Graph, offsets: dict[str, int], arena: int, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Emit and build g with hand-placed arena offsets (nodes in graph order), under the sanitizers."""
    ctx = EmitContext(g, offsets=offsets)
    calls = {}
    for i, node in enumerate(g.nodes):
        ctx.node_index = i
        calls[i] = emitter(node.op)(g, node, ctx)
    files = project_files(g, list(range(len(g.nodes))), calls, ctx, arena)
    with tempfile.TemporaryDirectory(prefix="mcuforge-layout-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        return execute(build(d, sanitize=True), g, inputs, d)


def exhaustive_graph(op, q1, q2, qo, act=O.Act.NONE) -> tuple[Graph, list[np.ndarray]]:
    """Every pair of int8 inputs: a (256, 1) column against a (1, 256) row."""
    g = binary_graph(op, (256, 1), (1, 256), (256, 256), q1, q2, qo, act)
    return g, [ALL_INT8.reshape(256, 1), ALL_INT8.reshape(1, 256)]


def merge_with_inputs(cases: list[tuple[Graph, list[np.ndarray]]]) -> tuple[Graph, list[np.ndarray]]:
    return merge([g for g, _ in cases]), [x for _, xs in cases for x in xs]


# -------------------------------------------------------------------- tests
def test_broadcasts():
    graphs = []
    for op in OPS:
        for case in sorted(BROADCASTS):
            s1, s2, so = BROADCASTS[case]
            qo = (0.09 if op != Op.MUL else 0.01, 11)
            graphs.append(binary_graph(op, s1, s2, so, (0.03, 5), (0.07, -20), qo))
            graphs.append(binary_graph(op, s2, s1, so, (0.05, -7), (0.02, 100), qo, O.Act.RELU6))
    check_c(merge(graphs), seed=1, sanitize=True)


def test_all_input_pairs():
    """Fused activations, zero points at the edges, equal scales, and the scales where
    double and float32 multipliers differ: every int8 pair for each."""
    cases = []
    for op in OPS:
        qo = (0.004, -3) if op == Op.MUL else (0.04, -3)
        cases += [exhaustive_graph(op, (0.04, 17), (0.025, -60), qo, act) for act in O.Act]
        for zps in [(-128, -128, -128), (127, 127, 127), (-128, 127, 0), (0, 0, 127)]:
            qo = (0.05 if op != Op.MUL else 0.001, zps[2])
            cases.append(exhaustive_graph(op, (0.02, zps[0]), (0.03, zps[1]), qo))
        cases.append(exhaustive_graph(op, (0.1, 0), (0.1, 0), (0.02 if op != Op.MUL else 0.05, 0)))
    cases += [exhaustive_graph(Op.SUB, *q) for q in SUB_DOUBLE_CASES]
    cases += [exhaustive_graph(Op.MUL, *q) for q in MUL_DOUBLE_CASES]
    check_c(*merge_with_inputs(cases))


def test_random_quantisation():
    rng = np.random.default_rng(3)
    graphs = []
    while len(graphs) < 40:
        op = OPS[int(rng.integers(3))]
        s1, s2, so = (float(np.float32(10.0 ** rng.uniform(-4.0, 1.0))) for _ in range(3))
        zps = [int(v) for v in rng.integers(-128, 128, 3)]
        act = list(O.Act)[int(rng.integers(4))]
        g = binary_graph(op, (3, 1, 7), (1, 5, 7), (3, 5, 7), (s1, zps[0]), (s2, zps[1]), (so, zps[2]), act)
        if op != Op.MUL and 2 * max(s1, s2) >= (1 << 20) * so:
            with pytest.raises(UnsupportedError):  # the emitter refuses what the ref refuses
                emitter(op)(g, g.nodes[0], EmitContext(g))
            continue
        graphs.append(g)
    check_c(merge(graphs), seed=4)


@pytest.mark.parametrize("gap", [0, 5])
def test_output_overlapping_a_full_size_input(gap):
    """The element-wise contract: each output starts `gap` bytes below its full-size input
    (and overlaps it); the broadcast input lives elsewhere. One node per op, one build."""
    gs = [binary_graph(op, (2, 5, 6), (6,), (2, 5, 6), (0.05, 3), (0.04, -9), (0.06 if op != Op.MUL else 0.005, 1))
          for op in OPS]  # fmt: skip
    g = merge(gs)
    offsets = {}
    for k, node in enumerate(g.nodes):
        base = 80 * k
        offsets.update({node.outputs[0]: base, node.inputs[0]: base + gap, node.inputs[1]: base + gap + 60})
    xs = random_inputs(g, 5)
    for a, b in zip(run_layout(g, offsets, 80 * len(gs), xs), run(g, xs)):
        assert np.array_equal(a, b)


def test_broadcast_dims_merge():
    assert broadcast_dims((1, 4, 5, 3), (1, 4, 5, 3)) == ([1] * 5 + [60], [0] * 5 + [1], [0] * 5 + [1])
    assert broadcast_dims((1, 4, 5, 3), (3,)) == ([1, 1, 1, 1, 20, 3], [0, 0, 0, 0, 3, 1], [0, 0, 0, 0, 0, 1])
    assert broadcast_dims((2, 1, 4, 1), (1, 3, 1, 5)) == ([1, 1, 2, 3, 4, 5], [0, 0, 4, 0, 1, 0], [0, 0, 0, 5, 0, 1])
    assert broadcast_dims((), ()) == ([1] * 6, [0] * 6, [0] * 6)


def test_emitter_takes_the_ref_parameters():
    g = binary_graph(Op.SUB, (4,), (4,), (4,), (0.03, 5), (0.07, -20), (0.09, 11), O.Act.RELU)
    p = prepare_add_sub(g, g.nodes[0])
    call = emitter(Op.SUB)(g, g.nodes[0], EmitContext(g))
    fields = dict(call.params)
    assert call.kernel == "mf_sub_s8" and call.scratch_bytes == 0
    assert fields["output_multiplier"] == str(p.output_multiplier) and fields["act_min"] == str(p.act_min)
