"""Graph + order -> buffer requests, aliases, scratch and allowances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder
from mcuforge.ir.ops import Op
from mcuforge.plan import BufferRequest, Overlap, buffer_requests, lower_bound, plan
from mcuforge.plan.memory import plan_graph

R = BufferRequest


def conv1x1(b: GraphBuilder, x: str, cin: int, cout: int, hw: int, **attrs) -> str:
    w = b.const(np.zeros((cout, 1, 1, cin), np.int8))
    stride = attrs.get("stride", (1, 1))
    out_hw = (hw + stride[0] - 1) // stride[0]
    return b.op(Op.CONV_2D, [x, w, None], (1, out_hw, out_hw, cout), attrs=O.ConvAttrs(**attrs))


def residual_graph():
    """x -dw(in place)-> d -pw-> p -pw-> q; s = q + d; r = reshape(s); o = fc(r)."""
    b = GraphBuilder()
    x = b.input((1, 8, 8, 4), name="x")
    d = b.op(Op.DEPTHWISE_CONV_2D, [x, b.const(np.zeros((1, 3, 3, 4), np.int8)), None], (1, 8, 8, 4), name="d")
    p = conv1x1(b, d, 4, 16, 8)
    q = conv1x1(b, p, 16, 4, 8)
    s = b.op(Op.ADD, [q, d], (1, 8, 8, 4), name="s")
    r = b.op(Op.RESHAPE, [s, b.const(np.array([1, 256], np.int32))], (1, 256), name="r")
    o = b.op(Op.FULLY_CONNECTED, [r, b.const(np.zeros((10, 256), np.int8)), None], (1, 10), name="o")
    b.output(o)
    b.graph.nodes[0].inplace = True
    return b.graph, p, q


def test_residual_graph_requests():
    g, p, q = residual_graph()
    scratch = {0: 100, 1: 4}
    bufs = buffer_requests(g, range(6), lambda i: scratch.get(i, 0))
    assert bufs.requests == (
        R("x", 256, 0, 0),
        R("d", 256, 0, 3),
        R("scratch:0", 100, 0, 0),
        R(p, 1024, 1, 2),
        R("scratch:1", 4, 1, 1),
        R(q, 256, 2, 3),
        R("s", 256, 3, 5),  # the reshape's output r is the same buffer, read at step 5
        R("o", 10, 5, 5),
    )
    assert dict(bufs.buffer_of) == {"x": "x", "d": "d", p: p, q: q, "s": "s", "r": "s", "o": "o"}
    assert dict(bufs.scratch_of) == {0: "scratch:0", 1: "scratch:1"}
    # d is read again by the ADD, so the first pointwise conv gets no allowance on it;
    # the 16 -> 4 conv may start anywhere at or below its input (max(0, 64 * (4 - 16)) = 0).
    assert set(bufs.overlaps) == {
        Overlap("d", "x", 0, 0),
        Overlap(q, p, 0, None),
        Overlap("s", q, 0, None),
        Overlap("s", "d", 0, None),
    }
    # Step 1 (d, p and the scratch) is the peak: 256 + 1024 + 4.
    assert plan(bufs.requests, bufs.overlaps).arena_bytes == lower_bound(bufs.requests, bufs.overlaps) == 1284


def test_inplace_depthwise_shares_the_address():
    b = GraphBuilder()
    x = b.input((1, 16, 16, 8), name="x")
    d = b.op(Op.DEPTHWISE_CONV_2D, [x, b.const(np.zeros((1, 3, 3, 8), np.int8)), None], (1, 16, 16, 8), name="d")
    b.output(conv1x1(b, d, 8, 1, 16))
    b.graph.nodes[0].inplace = True
    plane = 18 * 18  # one zero-point-padded channel
    bufs = buffer_requests(b.graph, [0, 1], lambda i: plane if i == 0 else 8)
    result = plan(bufs.requests, bufs.overlaps)
    assert result.offsets["d"] == result.offsets["x"]
    assert result.arena_bytes == 2048 + plane
    b.graph.nodes[0].inplace = False
    bufs = buffer_requests(b.graph, [0, 1], lambda i: plane if i == 0 else 8)
    assert plan(bufs.requests, bufs.overlaps).arena_bytes == 2 * 2048 + plane


def test_pointwise_expansion_graph_8_to_48():
    b = GraphBuilder()
    x = b.input((1, 40, 40, 8), name="x")
    y = conv1x1(b, x, 8, 48, 40)
    b.output(y)
    bufs = buffer_requests(b.graph, [0])
    assert bufs.requests == (R("x", 12_800, 0, 0), R(y, 76_800, 0, 0))
    assert bufs.overlaps == (Overlap(y, "x", 64_000, None),)
    assert plan(bufs.requests, bufs.overlaps).arena_bytes == 76_800
    assert plan(bufs.requests).arena_bytes == 89_600


@pytest.mark.parametrize(
    "attrs",
    [dict(stride=(2, 2)), dict(padding=(0, 1, 0, 0))],
)
def test_not_pointwise_gets_window_allowance(attrs):
    """A strided or padded 1x1 conv runs through the windowed kernel: its allowance comes
    from plan/windows.py. By hand: 8 -> 8 channels, every later window starts at or after
    the current pixel's, so the output may start at the input (distance 0)."""
    b = GraphBuilder()
    x = b.input((1, 4, 4, 8), name="x")
    y = conv1x1(b, x, 8, 8, 4, **attrs)
    b.output(y)
    assert buffer_requests(b.graph, [0]).overlaps == (Overlap(y, "x", 0, None),)
    # A node running a kernel without that order promise (a wide variant) gets none.
    assert buffer_requests(b.graph, [0], unordered={0}).overlaps == ()


def test_one_channel_plane_kernel_may_overlap_anywhere():
    """A one-channel depthwise on the plane kernels (its wide variant) copies the whole
    input before it writes: the output may sit anywhere over the input."""
    b = GraphBuilder()
    x = b.input((1, 8, 8, 1), name="x")
    w = b.const(np.zeros((1, 3, 3, 4), np.int8))
    y = b.op(Op.DEPTHWISE_CONV_2D, [x, w, None], (1, 4, 4, 4), attrs=O.DepthwiseAttrs(stride=(2, 2), depth_multiplier=4))
    b.output(y)
    assert buffer_requests(b.graph, [0], unordered={0}).overlaps == (Overlap(y, "x", -64, None),)


def test_elementwise_allowances_and_protected_outputs():
    b = GraphBuilder()
    x = b.input((1, 16), name="x")
    y = b.op(Op.RELU, [x], (1, 16), name="y")
    z = b.op(Op.QUANTIZE, [y], (1, 16), name="z")  # int8 -> int8
    f = b.op(Op.DEQUANTIZE, [z], (1, 16), "float32", name="f")  # 4 bytes per element: no allowance
    m = b.op(Op.MUL, [f, f], (1, 16), "float32", name="m")  # f and m equal in size
    t = b.op(Op.TANH, [m], (1, 16), name="t")  # m is a graph output: never overwritten
    b.output(m, t)
    bufs = buffer_requests(b.graph, range(5))
    assert set(bufs.overlaps) == {Overlap("y", "x", 0, None), Overlap("z", "y", 0, None), Overlap("m", "f", 0, None)}
    assert [(r.name, r.first, r.last) for r in bufs.requests if r.name in ("m", "t")] == [("m", 3, 4), ("t", 4, 4)]


def test_broadcast_input_gets_no_allowance():
    b = GraphBuilder()
    x = b.input((1, 4, 4, 8), name="x")
    s = b.input((1, 1, 1, 8), name="s")
    b.output(b.op(Op.MUL, [x, s], (1, 4, 4, 8), name="y"))
    assert buffer_requests(b.graph, [0]).overlaps == (Overlap("y", "x", 0, None),)


def test_bad_orders_are_rejected():
    g, _, _ = residual_graph()
    with pytest.raises(ValueError, match="permutation"):
        buffer_requests(g, [0, 1, 2])
    with pytest.raises(ValueError, match="before"):
        buffer_requests(g, [1, 0, 2, 3, 4, 5])


def test_unused_input_and_dead_output():
    b = GraphBuilder()
    x = b.input((1, 8), name="x")
    b.input((1, 24), name="unused")
    b.op(Op.RELU, [x], (1, 8), name="dead")  # never read, not an output: live at its own step
    b.output(b.op(Op.RELU6, [x], (1, 8), name="y"))
    bufs = buffer_requests(b.graph, [0, 1])
    assert bufs.requests == (R("x", 8, 0, 1), R("unused", 24, 0, 0), R("dead", 8, 0, 0), R("y", 8, 1, 1))
    assert bufs.overlaps == (Overlap("y", "x", 0, None),)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 12), st.integers(1, 9), st.integers(1, 9), st.integers(0, 24))
def test_pointwise_contract_simulated(pixels, cin, cout, slack):
    """Run the pointwise kernel's memory pattern (copy pixel p's input to scratch, then write
    pixel p's output) in one byte arena with the output `slack` bytes beyond the minimum
    distance below the input: the result equals the one computed with separate buffers."""
    b = GraphBuilder()
    x = b.input((1, 1, pixels, cin), name="x")
    y = conv1x1(b, x, cin, cout, 1)
    b.graph.tensors[y].shape = (1, 1, pixels, cout)
    b.output(y)
    (ov,) = buffer_requests(b.graph, [0]).overlaps
    assert ov.min_distance == max(0, pixels * (cout - cin))
    rng = np.random.default_rng(pixels * 100 + cin * 10 + cout)
    data = rng.integers(0, 256, pixels * cin, dtype=np.uint8)
    mix = rng.integers(1, 7, (cin, cout))
    expect = (data.reshape(pixels, cin).astype(np.int64) @ mix % 251).reshape(-1)
    dist = ov.min_distance + slack
    arena = np.zeros(dist + pixels * cin + pixels * cout, np.int64)
    out_at, in_at = 0, dist
    arena[in_at : in_at + pixels * cin] = data
    for p in range(pixels):
        pixel = arena[in_at + p * cin : in_at + (p + 1) * cin].copy()  # the Cin-byte scratch
        arena[out_at + p * cout : out_at + (p + 1) * cout] = pixel @ mix % 251
    assert np.array_equal(arena[out_at : out_at + pixels * cout], expect)


def test_wide_variants_granted_only_in_free_bytes():
    """plan_graph gives a node its wide (larger) scratch only where that fits in bytes
    free at its step: the arena stays the narrow plan's, and the widened scratch shares
    no byte with a buffer live then."""
    g, p, q = residual_graph()
    narrow = {0: 100, 1: 4}
    wide = {0: 400, 1: 8, 5: 50}  # node 5 (the FC) has scratch only in its wide variant
    base = plan_graph(g, narrow)
    m = plan_graph(g, narrow, wide)
    assert m.arena_bytes == base.arena_bytes == 1284 and m.order == base.order
    # Step 1 (d, p, the pointwise scratch) fills the arena: node 1 keeps its narrow scratch.
    assert m.wide == {0, 5}
    assert m.scratch_sizes == {0: 400, 1: 4, 5: 50}
    assert base.wide == frozenset() and base.scratch_sizes == narrow
    sizes = {"x": 256, "d": 256, p: 1024, q: 256, "s": 256, "o": 10}
    live = {0: ["x", "d"], 5: ["s", "o"]}  # tensors live at the widened nodes' steps
    for i, names in live.items():
        lo, hi = m.scratch_offsets[i], m.scratch_offsets[i] + m.scratch_sizes[i]
        assert hi <= m.arena_bytes
        for t in names:
            t_lo = m.tensor_offsets[t]
            assert hi <= t_lo or t_lo + sizes[t] <= lo, f"node {i}'s scratch overlaps {t}"
