"""C kernels for TRANSPOSE_CONV and BATCH_MATMUL (mf_matmul) against the reference
executor, bit for bit. Many one-node graphs (the reference tests' builders) are merged
into one build, since gcc is the cost."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import project_files
from mcuforge.codegen.ops_matmul import batch_strides, tconv_scratch_bytes
from mcuforge.codegen.sizing import plan_memory
from mcuforge.codegen.table import emitter
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.stats import node_macs, node_weight_bytes, total_weight_bytes
from mcuforge.plan.lifetimes import buffer_requests
from mcuforge.plan.requests import Overlap
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets.host import build, execute
from kernels.test_elementwise_c import check_c, merge
from ref.test_matmul import BMM_SHAPES, TCONV_CASES, _adjusted, bmm_graph, forward_size, tconv_graph


def _tconv_case(rng, c):
    stride, padding = c.get("stride", (1, 1)), c.get("padding", O.Padding.SAME)
    sizes = (forward_size(c["in_shape"][1 + i], c["k"][i], stride[i], padding) for i in range(2))
    out_hw = c.get("out_hw") or tuple(sizes)
    rest = {k: v for k, v in c.items() if k not in ("in_shape", "out_c", "k", "stride", "padding", "out_hw")}
    return tconv_graph(rng, c["in_shape"], out_hw, c["out_c"], c["k"], stride, padding, **rest)


def test_transpose_conv_cases():
    rng = np.random.default_rng(0)
    graphs = [_tconv_case(rng, TCONV_CASES[name]) for name in sorted(TCONV_CASES)]
    graphs.append(tconv_graph(rng, (1, 3, 3, 4), (6, 6), 4, (3, 3), (2, 2), biases=[2**31 - 1, -(2**31), 7, -7]))
    check_c(merge(graphs), seed=1, sanitize=True)


def test_transpose_conv_random():
    rng = np.random.default_rng(7)
    graphs = []
    for _ in range(30):
        hw = tuple(int(v) for v in rng.integers(1, 6, 2))
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = list(O.Padding)[int(rng.integers(2))]
        out_hw = tuple(forward_size(hw[i], k[i], stride[i], padding) + int(rng.integers(-1, 2)) for i in range(2))
        out_hw = tuple(max(1, v) for v in out_hw)
        graphs.append(tconv_graph(
            rng, (int(rng.integers(1, 3)), *hw, int(rng.integers(1, 7))), out_hw, int(rng.integers(1, 7)), k,
            stride, padding, list(O.Act)[int(rng.integers(4))], per_channel=bool(rng.integers(2)),
            bias=[True, False, None][int(rng.integers(3))], in_q=(0.04, int(rng.integers(-128, 128))),
            out_zp=int(rng.integers(-128, 128)), out_gain=float(np.exp(rng.uniform(-2, 2))),
        ))  # fmt: skip
    check_c(merge(graphs), seed=2)


def test_batch_matmul_cases():
    graphs = []
    for shapes in BMM_SHAPES:
        for adj in ((False, False), (True, False), (False, True), (True, True)):
            for const in (None, 0, 1):
                graphs.append(bmm_graph(*_adjusted(*shapes, *adj), *adj, const=const)[0])
    qs = [((0.02, -128), (0.03, -128), (0.5, -128)), ((0.02, 127), (0.03, 127), (0.5, 127)),
          ((0.02, 0), (0.03, 0), (0.01, 0)), ((0.1, -3), (0.1, 60), (300.0, 5))]  # fmt: skip
    graphs += [bmm_graph((2, 5, 16), (2, 16, 3), qx=qx, qy=qy, qo=qo)[0] for qx, qy, qo in qs]
    b = GraphBuilder()  # x @ x^T: one tensor as both inputs
    x = b.input((2, 5, 8), "int8", 0.05, -4)
    b.output(b.op(Op.BATCH_MATMUL, [x, x], (2, 5, 5), q=quant(0.2, 1), attrs=O.BatchMatMulAttrs(adj_y=True)))
    graphs.append(b.graph)
    g = merge(graphs)
    check_c(g, seed=3, sanitize=True)
    # extreme inputs: every value at one end
    xs = [np.full(g.tensors[n].shape, v, np.int8) for n, v in zip(g.inputs, [-128, 127] * len(g.inputs))]
    check_c(g, xs)


def test_batch_strides():
    assert batch_strides((2, 3, 4), 1) == [12]
    assert batch_strides((3, 4), 2) == [0, 0]  # broadcast over both batch dimensions
    assert batch_strides((2, 1, 3, 4), 2) == [12, 0]
    assert batch_strides((5, 1, 4, 6), 3) == [0, 24, 0]


def test_macs():
    rng = np.random.default_rng(0)
    g = tconv_graph(rng, (1, 3, 4, 2), (6, 8), 5, (3, 3), (2, 2))
    assert node_macs(g, g.nodes[0]) == 3 * 4 * 2 * 3 * 3 * 5
    # weights and bias, not the 16-byte output-shape operand
    assert node_weight_bytes(g, g.nodes[0]) == total_weight_bytes(g) == 5 * 3 * 3 * 2 + 4 * 5
    g, _ = bmm_graph((2, 4, 3), (4, 5), adj_x=True)
    assert node_macs(g, g.nodes[0]) == 2 * 3 * 5 * 4
    assert node_weight_bytes(g, g.nodes[0]) == 0
    g, _ = bmm_graph((2, 4, 3), (4, 5), adj_x=True, const=1)
    assert node_weight_bytes(g, g.nodes[0]) == total_weight_bytes(g) == 20


def _run_placed(g, offsets: dict[str, int], scratch: int, arena: int, inputs):
    """Emit and build g (one node) with hand-placed tensors and scratch, under the sanitizers."""
    ctx = EmitContext(g, offsets=offsets, scratch_offsets={0: scratch})
    calls = {0: emitter(g.nodes[0].op)(g, g.nodes[0], ctx)}
    files = project_files(g, [0], calls, ctx, arena)
    with tempfile.TemporaryDirectory(prefix="mcuforge-layout-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        return execute(build(d, sanitize=True), g, inputs, d)


def test_transpose_conv_output_on_its_input():
    """The kernel reads all of its input into scratch before writing: the output may lie
    on the input at any distance (the planner allows output at or below the input), also
    for several batches."""
    rng = np.random.default_rng(4)
    for shape in ((2, 4, 4, 3), (1, 6, 6, 4)):
        g = tconv_graph(rng, shape, shape[1:3], shape[3], (3, 3))
        x_name, y_name = g.inputs[0], g.outputs[0]
        xs = random_inputs(g, 5)
        size = g.tensors[y_name].nbytes
        need = tconv_scratch_bytes(g.tensors[y_name].shape)
        for x_at, y_at in ((0, 0), (5, 0), (size // 2, 0), (0, 7), (0, size - 1)):
            end = (max(x_at, y_at) + size + 15) // 8 * 8  # scratch 8-byte aligned, as the planner
            got = _run_placed(g, {x_name: x_at, y_name: y_at}, scratch=end, arena=end + need, inputs=xs)
            assert got[0].tobytes() == run(g, xs)[0].tobytes(), (x_at, y_at)


def test_transpose_conv_planner_puts_output_on_input():
    """In a chain, a same-size TRANSPOSE_CONV may write its output over its input."""
    rng = np.random.default_rng(6)
    b = GraphBuilder()
    t = b.input((1, 5, 5, 4), "int8", 0.05, 3)
    for _ in range(3):
        w = b.const(rng.integers(-127, 128, (4, 3, 3, 4)).astype(np.int8), q=quant(np.full(4, 0.01, np.float32), 0, 0))
        shape = b.const(np.array([1, 5, 5, 4], np.int32))
        t = b.op(Op.TRANSPOSE_CONV, [shape, w, t], (1, 5, 5, 4), q=quant(0.2, -1), attrs=O.TransposeConvAttrs())
    b.output(t)
    g = b.graph
    reqs = buffer_requests(g, [0, 1, 2])
    assert Overlap(g.nodes[1].outputs[0], g.nodes[1].inputs[2], 0, None) in reqs.overlaps
    plan = plan_memory(g)
    offsets = plan.tensor_offsets
    assert offsets[g.nodes[1].outputs[0]] <= offsets[g.nodes[1].inputs[2]] < offsets[g.nodes[1].outputs[0]] + 100
    check_c(g, seed=8, sanitize=True)


def test_cortex_m_under_qemu():
    """The same bytes on a Cortex-M4 and a Cortex-M7 under QEMU (mf_matmul is portable C on both)."""
    from mcuforge.engine import compile_graph
    from mcuforge.hw.boards import get_board
    from mcuforge.targets.qemu import missing_tools, run_qemu

    if missing_tools() is not None:
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    rng = np.random.default_rng(11)
    graphs = [_tconv_case(rng, TCONV_CASES[name]) for name in ("s2_same_4x4", "batch2", "relu6", "output_smaller")]
    graphs += [bmm_graph((2, 3, 4), (4, 5), const=1)[0], bmm_graph((2, 1, 5, 3), (3, 6, 5), True, True)[0]]
    c = compile_graph(merge(graphs))
    xs = random_inputs(c.graph, 3)
    for board in ("STM32F412", "STM32F746"):
        ours = run_qemu(c.project, get_board(board), xs)
        assert [y.tobytes() for y in ours] == [y.tobytes() for y in run(c.graph, xs)], board
