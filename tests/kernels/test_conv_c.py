"""C kernels of the convolution family and pooling (mf_conv, mf_depthwise, mf_fc, mf_pool)
against the reference executor, bit for bit.

gcc is the cost here, so each test merges many one-node graphs (built with the
reference tests' graph builders) into one graph with many inputs and outputs and
builds it once. The layout tests place buffers by hand to exercise the memory
contracts: pointwise output overlapping its input at the minimum distance, and
depthwise in place.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import project_files
from mcuforge.codegen.ops_conv import EMITTERS, depthwise_plane_bytes
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import quant
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.conv import conv_output_size, prepare_depthwise_conv2d
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets.host import build, execute, run_c
from ref.test_conv import CONV_CASES, DW_CASES, conv_graph
from ref.test_fc import CASES as FC_CASES
from ref.test_fc import fc_graph
from ref.test_pool import CASES as POOL_CASES
from ref.test_pool import POOLS, pool_graph


# ----------------------------------------------------------------- helpers
def merge(graphs: list[Graph]) -> Graph:
    """One graph holding every graph's nodes side by side (names prefixed g<i>_)."""
    m = Graph(name="merged")
    for i, g in enumerate(graphs):
        pre = f"g{i}_"

        def ren(name: str | None, pre: str = pre) -> str | None:
            return None if name is None else pre + name

        for t in g.tensors.values():
            m.add_tensor(Tensor(pre + t.name, t.shape, t.dtype, t.quant, t.data))
        for n in g.nodes:
            ins = [ren(x) for x in n.inputs]
            m.add_node(Node(n.op, ins, [pre + y for y in n.outputs], n.attrs, pre + n.name, n.inplace))
        m.inputs += [pre + x for x in g.inputs]
        m.outputs += [pre + y for y in g.outputs]
    return m


def assert_c_matches_ref(g: Graph, seed: int = 0, sanitize: bool = False) -> None:
    xs = random_inputs(g, seed)
    ours = run_c(g, xs, sanitize=sanitize)
    ref = run(g, xs)
    for name, a, b in zip(g.outputs, ours, ref):
        assert np.array_equal(a, b), f"{name}: {int(np.sum(a != b))} of {a.size} values differ"


def with_padding(g: Graph, pads: tuple[int, int, int, int]) -> Graph:
    """The one-node conv graph g with explicit (top, bottom, left, right) padding."""
    node = g.nodes[0]
    node.attrs = replace(node.attrs, padding=pads)
    x, w = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]]
    out = [conv_output_size(x.shape[1 + a], w.shape[1 + a], node.attrs.stride[a], node.attrs.dilation[a],
                            O.axis_padding(pads, a))[0] for a in range(2)]
    y = g.tensors[node.outputs[0]]
    y.shape = (y.shape[0], *out, y.shape[3])
    return g


def with_bias(g: Graph, value: int) -> Graph:
    """Set every bias to `value` (near INT32_MAX: the int32 accumulator wraps)."""
    b = g.tensors[g.nodes[0].inputs[2]]
    b.data = np.full(b.shape, value, np.int32)
    return g


def with_out_scale(g: Graph, scale: float, zp: int = 0) -> Graph:
    g.tensors[g.outputs[0]].quant = quant(np.float32(scale), zp)
    return g


# ------------------------------------------------------------ whole graphs
def conv_extras(rng: np.random.Generator) -> list[Graph]:
    c = Op.CONV_2D
    return [
        with_padding(conv_graph(rng, c, (1, 6, 7, 3), 4, (3, 3)), (2, 0, 1, 3)),
        with_padding(conv_graph(rng, c, (1, 8, 8, 4), 4, (3, 3), stride=(2, 2), groups=2), (0, 1, 1, 0)),
        conv_graph(rng, c, (1, 5, 6, 12), 8, (1, 1), groups=4),  # grouped pointwise
        conv_graph(rng, c, (2, 4, 3, 8), 24, (1, 1), in_q=(0.03, -128)),  # pointwise, batches
        conv_graph(rng, c, (1, 3, 3, 5), 7, (5, 5), dilation=(2, 2)),  # every window mostly padding
        with_bias(conv_graph(rng, c, (1, 5, 5, 4), 3, (3, 3), in_q=(0.05, 127)), 2**31 - 1000),  # wraps
        with_bias(conv_graph(rng, c, (1, 4, 4, 8), 3, (1, 1), in_q=(0.05, -128)), -(2**31) + 7),
        # real multiplier above one: a left shift of the (wrapping) accumulator first
        with_out_scale(conv_graph(rng, c, (1, 5, 5, 2), 3, (1, 1), in_q=(1.0, 0), w_scale=(200.0, 210.0)), 60.0),
        with_out_scale(conv_graph(rng, c, (1, 4, 4, 2), 3, (3, 3), in_q=(1e-5, 0), w_scale=(1e-5, 1e-5)), 100.0, 7),
    ]


def dw_extras(rng: np.random.Generator) -> list[Graph]:
    d = Op.DEPTHWISE_CONV_2D
    return [
        with_padding(conv_graph(rng, d, (1, 6, 7, 3), 3, (3, 3)), (1, 2, 0, 3)),
        with_padding(conv_graph(rng, d, (1, 9, 9, 2), 4, (3, 3), stride=(2, 2)), (0, 0, 1, 1)),
        with_bias(conv_graph(rng, d, (1, 5, 5, 3), 3, (3, 3), in_q=(0.05, 127)), 2**31 - 500),
        conv_graph(rng, d, (1, 4, 4, 2), 2, (7, 7)),  # kernel larger than the image
        with_out_scale(conv_graph(rng, d, (1, 5, 5, 2), 2, (3, 3), in_q=(1.0, 0), w_scale=(200.0, 210.0)), 60.0),
    ]


def fc_extras(rng: np.random.Generator) -> list[Graph]:
    g = fc_graph(rng, (2, 12), 5, w_zp=-7, in_q=(0.05, 127))
    return [
        with_bias(g, 2**31 - 3000),
        fc_graph(rng, (1, 6), 3, w_zp=127, in_q=(0.05, -128), out_gain=20.0),
        with_out_scale(fc_graph(rng, (1, 4), 3, in_q=(1.0, 0), w_scales=np.array([2.0], np.float32)), 0.3),
    ]


def test_conv2d():
    rng = np.random.default_rng(10)
    graphs = [conv_graph(rng, Op.CONV_2D, **kw) for kw in CONV_CASES.values()] + conv_extras(rng)
    assert_c_matches_ref(merge(graphs), seed=1, sanitize=True)


def test_depthwise_conv2d():
    rng = np.random.default_rng(11)
    graphs = [conv_graph(rng, Op.DEPTHWISE_CONV_2D, **kw) for kw in DW_CASES.values()] + dw_extras(rng)
    assert_c_matches_ref(merge(graphs), seed=2, sanitize=True)


def test_depthwise_conv2d_flagged_inplace():
    """Multiplier-1 cases with the in-place flag: the channel-plane kernel, wherever the
    planner puts the output."""
    rng = np.random.default_rng(12)
    graphs = []
    for kw in DW_CASES.values():
        if kw["out_c"] == kw["in_shape"][3]:
            g = conv_graph(rng, Op.DEPTHWISE_CONV_2D, **kw)
            g.nodes[0].inplace = True
            graphs.append(g)
    g = merge(graphs)
    planes = {"mf_depthwise_plane_s8", "mf_depthwise_plane_large_s8"}  # the latter for 5x5 and 7x7
    assert all(EMITTERS[n.op](g, n, EmitContext(g)).kernel in planes for n in g.nodes)
    assert_c_matches_ref(g, seed=3)


def test_fully_connected_and_pools():
    rng = np.random.default_rng(13)
    graphs = [fc_graph(rng, **kw) for kw in FC_CASES.values()] + fc_extras(rng)
    graphs += [pool_graph(op, **kw) for op in POOLS for kw in POOL_CASES.values()]
    assert_c_matches_ref(merge(graphs), seed=4, sanitize=True)


def _random_graph(rng: np.random.Generator) -> Graph:
    """One random conv, depthwise, FC or pool node, options as in the reference tests."""
    kind = int(rng.integers(4))
    hw = tuple(int(v) for v in rng.integers(1, 10, 2))
    act = O.Act(rng.choice(list(O.Act)))
    in_q = (float(rng.uniform(0.001, 0.5)), int(rng.integers(-128, 128)))
    if kind == 2:
        return fc_graph(rng, (int(rng.integers(1, 4)), int(rng.integers(1, 40))), int(rng.integers(1, 9)), act=act,
                        per_channel=bool(rng.integers(2)), bias=bool(rng.integers(2)), in_q=in_q,
                        w_zp=int(rng.integers(-5, 6)) * int(rng.integers(2)), out_zp=int(rng.integers(-128, 128)),
                        out_gain=float(rng.uniform(0.01, 100.0)))
    if kind == 3:
        filt = tuple(int(v) for v in rng.integers(1, 5, 2))
        filt = (min(filt[0], hw[0]), min(filt[1], hw[1]))
        return pool_graph(POOLS[int(rng.integers(2))], (1, *hw, int(rng.integers(1, 6))), filt,
                          tuple(int(v) for v in rng.integers(1, 4, 2)), O.Padding(rng.choice(list(O.Padding))),
                          act, in_q)
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    stride = tuple(int(v) for v in rng.integers(1, 4, 2))
    dil = tuple(int(v) for v in rng.integers(1, 3, 2))
    padding = O.Padding(rng.choice(list(O.Padding)))
    if any((k[i] - 1) * dil[i] + 1 > hw[i] for i in range(2)):
        padding = O.Padding.SAME
    common = dict(stride=stride, dilation=dil, padding=padding, act=act, per_channel=bool(rng.integers(2)),
                  bias=bool(rng.integers(2)), in_q=in_q, out_zp=int(rng.integers(-128, 128)),
                  out_gain=float(rng.uniform(0.01, 100.0)))
    if kind == 0:
        groups = int(rng.choice([1, 2]))
        c_in, out_c = groups * int(rng.integers(1, 5)), groups * int(rng.integers(1, 4))
        return conv_graph(rng, Op.CONV_2D, (int(rng.integers(1, 3)), *hw, c_in), out_c, k, groups=groups, **common)
    c_in = int(rng.integers(1, 6))
    return conv_graph(rng, Op.DEPTHWISE_CONV_2D, (1, *hw, c_in), c_in * int(rng.integers(1, 4)), k, **common)


def test_random_nodes():
    rng = np.random.default_rng(14)
    assert_c_matches_ref(merge([_random_graph(rng) for _ in range(60)]), seed=5)


# ---------------------------------------------------------- hand-placed buffers
def run_layout(g: Graph, offsets: dict[str, int], scratch_offset: int, arena: int) -> list[np.ndarray]:
    """Emit and build g (one node) with the given arena offsets, under the sanitizers."""
    ctx = EmitContext(g, offsets=offsets, scratch_offsets={0: scratch_offset})
    call = EMITTERS[g.nodes[0].op](g, g.nodes[0], ctx)
    assert scratch_offset + call.scratch_bytes <= arena
    files = project_files(g, [0], {0: call}, ctx, arena)
    with tempfile.TemporaryDirectory(prefix="mcuforge-layout-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        return execute(build(d, sanitize=True), g, random_inputs(g, 6), d)


@pytest.mark.parametrize(
    "c_in, c_out, groups", [(8, 48, 1), (16, 8, 1), (12, 12, 3)], ids=["expand", "project", "grouped"]
)
def test_pointwise_output_overlapping_input(c_in, c_out, groups):
    """The output starts exactly P * max(0, Cout - Cin) bytes below the input (the tightest
    placement the contract allows), so any early write would corrupt an unread pixel."""
    rng = np.random.default_rng(c_in * c_out)
    g = conv_graph(rng, Op.CONV_2D, (1, 7, 6, c_in), c_out, (1, 1), groups=groups)
    x, y = g.inputs[0], g.outputs[0]
    gap = 7 * 6 * max(0, c_out - c_in)
    top = max(gap + 7 * 6 * c_in, 7 * 6 * c_out)
    scratch = EMITTERS[Op.CONV_2D](g, g.nodes[0], EmitContext(g)).scratch_bytes
    out = run_layout(g, {y: 0, x: gap}, top, top + scratch)
    assert np.array_equal(out[0], run(g, random_inputs(g, 6))[0])


@pytest.mark.parametrize("name", ["same_s1", "same_s2_odd", "valid_s2", "dilated", "5x5", "batch2"])
def test_depthwise_in_place(name):
    """Output and input start at the same address; the scratch holds one padded plane."""
    rng = np.random.default_rng(sum(map(ord, name)))
    g = conv_graph(rng, Op.DEPTHWISE_CONV_2D, **DW_CASES[name])
    g.nodes[0].inplace = True
    x, y = g.inputs[0], g.outputs[0]
    size = g.tensors[x].nbytes
    out = run_layout(g, {x: 0, y: 0}, size, size + depthwise_plane_bytes(prepare_depthwise_conv2d(g, g.nodes[0])))
    assert np.array_equal(out[0], run(g, random_inputs(g, 6))[0])


# ------------------------------------------------------- kernel choice, scratch
def test_kernel_choice_and_scratch_bytes():
    rng = np.random.default_rng(15)

    def call(g: Graph, wide: bool = False):
        return EMITTERS[g.nodes[0].op](g, g.nodes[0], EmitContext(g, wide=frozenset({0} if wide else ())))

    # Scratch serves the portable kernels (one pixel, one patch) and the armv7em ones
    # (4 pixels' patches as int16, 8 bytes per 4 elements, plus an int8 patch).
    pw = call(conv_graph(rng, Op.CONV_2D, (1, 4, 4, 16), 8, (1, 1)))
    assert (pw.kernel, pw.scratch_bytes) == ("mf_conv2d_1x1_s8", 8 * 16)
    strided = call(conv_graph(rng, Op.CONV_2D, (1, 7, 7, 8), 4, (1, 1), stride=(2, 2)))
    assert (strided.kernel, strided.scratch_bytes) == ("mf_conv2d_s8", 8 * 8 + 8)
    odd = call(conv_graph(rng, Op.CONV_2D, (1, 7, 7, 3), 4, (3, 3)))
    assert (odd.kernel, odd.scratch_bytes) == ("mf_conv2d_s8", 8 * 28 + 28)  # 27 taps, rounded to 28
    grouped = call(conv_graph(rng, Op.CONV_2D, (1, 6, 6, 8), 6, (3, 3), groups=2))
    assert (grouped.kernel, grouped.scratch_bytes) == ("mf_conv2d_s8", 3 * 3 * 4)  # one group's patch
    g = conv_graph(rng, Op.DEPTHWISE_CONV_2D, (1, 9, 7, 3), 3, (3, 3), stride=(2, 2))
    assert (call(g).kernel, call(g).scratch_bytes) == ("mf_depthwise_s8", 0)
    g.nodes[0].inplace = True
    # SAME, 9x7 -> 5x4: rows (5-1)*2+3 = 11, columns (4-1)*2+3 = 9
    assert (call(g).kernel, call(g).scratch_bytes) == ("mf_depthwise_plane_s8", 11 * 9)
    assert call(g, wide=True).scratch_bytes == 11 * 9  # three channels: one plane only
    g4 = conv_graph(rng, Op.DEPTHWISE_CONV_2D, (1, 9, 7, 8), 8, (3, 3), stride=(2, 2))
    g4.nodes[0].inplace = True
    assert call(g4, wide=True).scratch_bytes == 4 * 11 * 9  # wide: four channel planes
    assert ("planes", "4") in call(g4, wide=True).params
    assert call(fc_graph(rng, (1, 20), 4)).scratch_bytes == 2 * 32  # armv7em: one int16 row, 16-padded
    assert call(fc_graph(rng, (1, 1100), 4)).scratch_bytes == 0  # a long row: the C path ...
    assert call(fc_graph(rng, (1, 1100), 4), wide=True).scratch_bytes == 2 * 1104  # ... unless widened
    assert call(pool_graph(Op.MAX_POOL_2D, (1, 4, 4, 2), (2, 2))).scratch_bytes == 0
