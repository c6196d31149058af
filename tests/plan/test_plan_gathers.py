"""Gathers: a CONCATENATION or PACK whose every input is one contiguous run of its
output's bytes lets each input's producer write straight into its part of the output's
buffer (plan/lifetimes.gathered), and the node has no code (codegen/generate.py). The
arena with and without, on small hand-built graphs; which nodes must not become one; and
a tensor-level replay of every plan (independent of the planner's buffer bookkeeping)
that checks each node reads the bytes its inputs' producers wrote."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.generate import generate
from mcuforge.codegen.sizing import scratch_sizes
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import ALIAS_OPS
from mcuforge.ir.shapes_slicing import gathers, views
from mcuforge.plan import lifetimes, plan
from mcuforge.plan.lifetimes import buffer_requests, gathered
from mcuforge.plan.verify import verify

Q = (0.05, -3)


def conv(b: GraphBuilder, rng, x: str, cout: int, k: int = 1, q=Q, attrs=None, depthwise: bool = False) -> str:
    """A SAME convolution (stride 1) with seeded random int8 weights and int32 bias."""
    n, h, w, cin = b.graph.tensors[x].shape
    shape = (1, k, k, cout) if depthwise else (cout, k, k, cin)
    scales = rng.uniform(0.002, 0.01, cout).astype(np.float32)
    wt = b.const(rng.integers(-127, 128, shape).astype(np.int8), q=quant(scales, 0, 3 if depthwise else 0))
    bias = b.const(rng.integers(-500, 500, cout).astype(np.int32), q=quant(np.float32(0.05) * scales, 0))
    op = Op.DEPTHWISE_CONV_2D if depthwise else Op.CONV_2D
    attrs = attrs or (O.DepthwiseAttrs() if depthwise else O.ConvAttrs())
    return b.op(op, [x, wt, bias], (n, h, w, cout), q=quant(*q), attrs=attrs)


def fire(axis: int = 1, hw: int = 8, c: int = 8, seed: int = 0, k: int = 3, head: bool = True, sq: int = 0) -> Graph:
    """SqueezeNet's fire module with its two expansions joined along H (axis 1) of a
    batch-1 image, or along channels (axis -1) where H = W = 1: x -> squeeze s ->
    (1x1 e1, k x k e3) -> concat -> 1x1 conv (or without `head` a RELU) -> output."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("fire")
    x = b.input((1, hw, hw, 4), "int8", *Q)
    s = conv(b, rng, x, sq or c)
    e1 = conv(b, rng, s, c)
    e3 = conv(b, rng, s, c, k=k)
    shape = (1, 2 * hw, hw, c) if axis == 1 else (1, hw, hw, 2 * c)
    y = b.op(Op.CONCATENATION, [e1, e3], shape, q=quant(*Q), attrs=O.ConcatAttrs(axis))
    b.output(conv(b, rng, y, 4) if head else b.op(Op.RELU, [y], shape, q=quant(*Q)))
    return b.graph


def branches(seed: int = 1) -> Graph:
    """Three producers of different kinds joined along H: an in-place depthwise (after a
    1x1 conv), a 1x1 conv and a 3x3 conv, all reading one tensor a; then a 1x1 conv."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("branches")
    x = b.input((1, 8, 8, 8), "int8", *Q)
    a = conv(b, rng, x, 8)
    d = conv(b, rng, conv(b, rng, a, 8), 8, k=3, depthwise=True)
    p = conv(b, rng, a, 8)
    e = conv(b, rng, a, 8, k=3)
    y = b.op(Op.CONCATENATION, [d, p, e], (1, 24, 8, 8), q=quant(*Q), attrs=O.ConcatAttrs(1))
    b.output(conv(b, rng, y, 4))
    b.graph.nodes[2].inplace = True
    return b.graph


def heads(seed: int = 6) -> Graph:
    """SSD-style box heads: two convolutions, each reshaped to (1, boxes, 4), joined
    along the boxes axis (a graph output): the convolutions write through the reshapes."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("heads")
    x = b.input((1, 8, 8, 8), "int8", *Q)
    h = conv(b, rng, x, 8)
    a = b.op(Op.RESHAPE, [conv(b, rng, h, 8), b.const(np.array([1, 128, 4], np.int32))], (1, 128, 4), q=quant(*Q))
    c = b.op(Op.RESHAPE, [conv(b, rng, h, 4, k=3), b.const(np.array([1, 64, 4], np.int32))], (1, 64, 4), q=quant(*Q))
    b.output(b.op(Op.CONCATENATION, [a, c], (1, 192, 4), q=quant(*Q), attrs=O.ConcatAttrs(1)))
    return b.graph


def packed(seed: int = 2) -> Graph:
    """PACK along axis 0 of two 1x1-conv outputs (1, 4, 4, 8), a graph output itself."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("packed")
    x = b.input((1, 4, 4, 8), "int8", *Q)
    h = conv(b, rng, x, 8)
    b.output(b.op(Op.PACK, [conv(b, rng, h, 8), conv(b, rng, h, 8)], (2, 1, 4, 4, 8), q=quant(*Q),
                  attrs=O.PackAttrs(2, 0)))  # fmt: skip
    return b.graph


def not_gathers() -> dict[str, Graph]:
    """Concatenations that must copy: a misaligned part, an input read twice, an input
    read by another node, a graph input, a constant, a graph output, a strided layout, a
    reshape whose source another node reads, a reshape of the graph input."""
    out = {}
    rng = np.random.default_rng(3)

    def two(name: str, shape=(1, 4, 4, 8), axis: int = 1):
        b = GraphBuilder(name)
        x = b.input(shape, "int8", *Q)
        return b, x, conv(b, rng, x, shape[-1]), conv(b, rng, x, shape[-1], k=3), axis

    def cat(b, xs, axis):
        shapes = [b.graph.tensors[t].shape for t in xs]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        return b.op(Op.CONCATENATION, xs, tuple(shape), q=quant(*Q), attrs=O.ConcatAttrs(axis))

    b, x, e1, e3, ax = two("misaligned", (1, 1, 3, 3))  # 9-byte parts: the second would start at byte 9
    b.output(cat(b, [e1, e3], ax))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("twice")
    b.output(cat(b, [e1, e3, e1], ax))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("shared")
    b.output(cat(b, [e1, e3], ax), b.op(Op.RELU, [e1], (1, 4, 4, 8), q=quant(*Q)))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("graph_input")
    b.output(cat(b, [e1, x, e3], ax))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("constant")
    k = b.const(rng.integers(-128, 128, (1, 4, 4, 8)).astype(np.int8), q=quant(*Q))
    b.output(cat(b, [e1, k, e3], ax))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("graph_output")
    b.output(cat(b, [e1, e3], ax), e3)
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("strided", axis=3)  # channels of a 4x4 image: every part is 16 runs
    b.output(cat(b, [e1, e3], ax))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("alias_source_shared")  # e1 reshaped into the concat, e1 also read by a RELU
    r = b.op(Op.RESHAPE, [e1, b.const(np.array([1, 4, 4, 8], np.int32))], (1, 4, 4, 8), q=quant(*Q))
    b.output(cat(b, [r, e3], ax), b.op(Op.RELU, [e1], (1, 4, 4, 8), q=quant(*Q)))
    out[b.graph.name] = b.graph
    b, x, e1, e3, ax = two("alias_of_input")  # a reshape of the graph input
    r = b.op(Op.RESHAPE, [x, b.const(np.array([1, 4, 4, 8], np.int32))], (1, 4, 4, 8), q=quant(*Q))
    b.output(cat(b, [e1, r, e3], ax))
    out[b.graph.name] = b.graph
    return out


def random_graph(rng) -> Graph:
    """Branches of 1-3 random nodes (3x3 depthwise, RELU, 1x1 or 3x3 conv) from one or two
    graph inputs or earlier branch tensors, joined along H, sometimes followed by a conv;
    depthwise convolutions flagged in place where the pass allows it."""
    from mcuforge.passes import inplace_depthwise

    b = GraphBuilder("random")
    ins = [b.input((1, 4, 4, int(rng.choice([8, 16]))), "int8", *Q) for _ in range(rng.integers(1, 3))]
    pool, parts = list(ins), []
    for _ in range(rng.integers(2, 4)):
        t = pool[rng.integers(len(pool))]
        for _ in range(rng.integers(1, 4)):
            r, c = rng.random(), b.graph.tensors[t].shape[-1]
            if r < 0.25:
                t = conv(b, rng, t, c, k=3, depthwise=True)
            elif r < 0.4:
                t = b.op(Op.RELU, [t], b.graph.tensors[t].shape, q=quant(*Q))
            else:
                t = conv(b, rng, t, int(rng.choice([8, 16, 64])), k=int(rng.choice([1, 3])))
            if rng.random() < 0.3:
                pool.append(t)
        parts.append(t if b.graph.tensors[t].shape[-1] == 8 else conv(b, rng, t, 8))
    y = b.op(Op.CONCATENATION, parts, (1, 4 * len(parts), 4, 8), q=quant(*Q), attrs=O.ConcatAttrs(1))
    if rng.random() < 0.5:
        y = conv(b, rng, y, 8, k=int(rng.choice([1, 3])))
    consumers = b.graph.consumers()
    b.output(y, *(t for t in pool if t not in ins and not consumers.get(t)))
    return inplace_depthwise(b.graph)


def without_gathers(monkeypatch, g: Graph):
    """g's project with no gathers at all (what the planner did before them)."""
    with monkeypatch.context() as m:
        m.setattr(lifetimes, "gathered", lambda g, align=8: ({}, frozenset()))
        return generate(g)


# ------------------------------------------------------------------ the replay
def _layout_of(g: Graph, node, off: dict[str, int]) -> list[tuple[str, list[str], list[int]]] | None:
    """For an alias, view or gather whose tensors sit where that needs no code:
    [(tensor, source tensors, byte offsets)] describing each output's expected bytes."""
    if node.op in ALIAS_OPS and off.get(node.outputs[0]) == off.get(node.inputs[0]):
        return [(node.outputs[0], [node.inputs[0]], [0])]
    view = views(g, node)
    if view is not None and all(off.get(y) == off[view[0]] + v for y, v in zip(node.outputs, view[1])):
        return [(y, [view[0]], [v]) for y, v in zip(node.outputs, view[1])]
    parts = gathers(g, node)
    if parts is not None and all(off.get(x) == off[node.outputs[0]] + v for x, v in zip(node.inputs, parts)):
        return [(node.outputs[0], list(node.inputs), parts)]
    return None


def replay(g: Graph, order, off: dict[str, int], scratch: dict[int, tuple[int, int]], arena: int) -> set[int]:
    """Run the plan on tags instead of values: every write puts fresh tags on its bytes,
    every node first checks that each input's bytes still hold what its producer wrote
    (a kernel's own in/out allowance only matters inside its step). Nodes needing no code
    (_layout_of) write nothing; their outputs must already hold the expected bytes.
    Returns the nodes without code. Uses only the tensor offsets, not the planner's buffers."""
    mem = np.full(arena, -1, np.int64)
    expected: dict[str, np.ndarray] = {}
    fresh = iter(range(1 << 62))

    def write(lo: int, n: int) -> np.ndarray:
        tags = np.fromiter((next(fresh) for _ in range(n)), np.int64, n)
        mem[lo : lo + n] = tags
        return tags

    def intact(t: str, when: str) -> None:
        n = g.tensors[t].nbytes
        assert (mem[off[t] : off[t] + n] == expected[t]).all(), f"{t} overwritten {when}"

    for x in g.inputs:
        expected[x] = write(off[x], g.tensors[x].nbytes)
    for x in g.inputs:
        intact(x, "by another graph input")
    silent = set()
    for i in order:
        node = g.nodes[i]
        ins = [x for x in node.inputs if x is not None and not g.tensors[x].is_const]
        for x in ins:
            intact(x, f"before node {i} reads it")
        layout = _layout_of(g, node, off)
        if layout is not None:
            silent.add(i)
            for y, srcs, at in layout:
                n = g.tensors[y].nbytes
                if len(srcs) == 1:
                    expected[y] = expected[srcs[0]][at[0] : at[0] + n]
                else:
                    expected[y] = np.concatenate([expected[x] for x in srcs])
                intact(y, f"as node {i} (no code) expects")
            continue
        if i in scratch:
            lo, n = scratch[i]
            tags = write(lo, n)
            for x in ins:
                intact(x, f"by node {i}'s scratch")
        for y in node.outputs:
            expected[y] = write(off[y], g.tensors[y].nbytes)
        for y in node.outputs:
            intact(y, f"by another output of node {i}")
        if i in scratch:
            assert (mem[lo : lo + n] == tags).all(), f"node {i}'s outputs overwrite its scratch"
    for y in g.outputs:
        if y in off:
            intact(y, "at the end")
    return silent


def replay_project(project) -> set[int]:
    m = project.memory
    scratch = {i: (m.scratch_offsets[i], m.scratch_sizes[i]) for i in m.scratch_offsets}
    silent = replay(project.graph, m.order, m.tensor_offsets, scratch, m.arena_bytes)
    assert silent == {i for i, c in project.calls.items() if c is None}
    return silent


def replay_order(g: Graph, order, scratch_of=lambda i: 0) -> tuple[set[int], int]:
    """Plan g in this order (buffer requests -> planner, verified) and replay it."""
    bufs = buffer_requests(g, order, scratch_of)
    p = plan(bufs.requests, bufs.overlaps)
    off = {t: p.offsets[b] + bufs.within.get(t, 0) for t, b in bufs.buffer_of.items()}
    scratch = {i: (p.offsets[name], scratch_of(i)) for i, name in bufs.scratch_of.items()}
    return replay(g, order, off, scratch, p.arena_bytes), p.arena_bytes


def topological_orders(g: Graph):
    prod = g.producers()
    need = {i: {prod[x] for x in n.inputs if x is not None and x in prod} for i, n in enumerate(g.nodes)}

    def extend(done: list[int]):
        if len(done) == len(g.nodes):
            yield list(done)
            return
        for i in range(len(g.nodes)):
            if i not in done and need[i] <= set(done):
                yield from extend([*done, i])

    yield from extend([])


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize(
    ("make", "arena", "before", "gathered_at"),
    [
        (lambda: fire(1), 1672, 2048, 3),  # along H: 512 + 512 B parts
        (lambda: fire(-1, hw=1, c=64, k=1, head=False, sq=8), 192, 256, 3),  # channels of 1x1 images
        (branches, 2184, 3072, 5),  # three producers: in-place depthwise, 1x1, 3x3
        (packed, 320, 512, 3),  # PACK along axis 0, a graph output
        (heads, 1416, 1536, 5),  # through RESHAPEs
    ],
    ids=["fire_h", "fire_channels_1x1", "branches", "pack", "heads"],
)
def test_gathers_save_arena(monkeypatch, make, arena, before, gathered_at):
    """The node has no code, each input lies at its byte offset inside the output, the
    arena shrinks to the figure given (before: the same graph planned without gathers),
    and the tag replay of both plans holds."""
    g = make()
    project = generate(g)
    off, node = project.memory.tensor_offsets, g.nodes[gathered_at]
    assert project.calls[gathered_at] is None
    assert [off[x] - off[node.outputs[0]] for x in node.inputs] == gathers(g, node)
    assert [i for i, c in project.calls.items() if c is None and g.nodes[i].op not in ALIAS_OPS] == [gathered_at]
    assert project.files["model.c"].count("inputs written in place, no code") == 1
    old = without_gathers(monkeypatch, g)
    assert (project.memory.arena_bytes, old.memory.arena_bytes) == (arena, before)
    assert old.calls[gathered_at] is not None
    aliases = {i for i, n in enumerate(g.nodes) if n.op in ALIAS_OPS}
    assert replay_project(project) == {gathered_at} | aliases
    assert replay_project(old) == aliases


def test_requests_of_a_gather():
    """The output's one request is live from its first input's producer; each input is
    that buffer at its offset. A producer's own allowance is shifted by its offset: e3's
    sliding window (72 B below its input) becomes 512 + 72 between the buffers' starts;
    e1, run after e3 filled bytes 512.. of the buffer, keeps only distance 0 (its input
    may not reach into e3's part)."""
    g = fire(1)
    s, e1, e3, y = (g.nodes[i].outputs[0] for i in (0, 1, 2, 3))
    into, nodes = gathered(g)
    assert (into, nodes) == ({e1: (y, 0), e3: (y, 512)}, frozenset({3}))
    for order, allowance in (([0, 1, 2, 3, 4], (584, None)), ([0, 2, 1, 3, 4], (0, 0))):
        bufs = buffer_requests(g, order)
        req = {r.name: (r.size, r.first, r.last) for r in bufs.requests}
        assert req[y] == (1024, 1, 4) and e1 not in req and e3 not in req
        assert (bufs.buffer_of[e1], bufs.buffer_of[e3], dict(bufs.within)) == (y, y, {e3: 512})
        (ov,) = [o for o in bufs.overlaps if o.inp == s]
        assert (ov.out, ov.min_distance, ov.max_distance) == (y, *allowance)
        p = plan(bufs.requests, bufs.overlaps)  # verified inside
        verify(bufs.requests, bufs.overlaps, p)


@pytest.mark.parametrize(
    "make",
    [lambda: fire(1), lambda: fire(1, sq=16), branches, packed],
    ids=["fire", "fire_wide_squeeze", "branches", "pack"],
)
def test_every_order_replays(make):
    """Every execution order of the graph, with the kernels' real scratch: the planner's
    plan (verified) passes the tag replay and the gather has no code. (With a squeeze of
    16 channels, e1's input is twice its part: run after e3 it may not share e1's bytes.)"""
    g = make()
    need = scratch_sizes(g)
    orders = list(topological_orders(g))
    assert len(orders) > 1
    (at,) = gathered(g)[1]
    for order in orders:
        silent, _ = replay_order(g, order, lambda i: need.get(i, 0))
        assert at in silent, order


def test_a_gather_that_would_cost_bytes_is_a_copy(monkeypatch):
    """With a 16-channel squeeze, the 3x3 expansion's 1296 B of scratch is live with the
    whole gathered buffer: the best plan with the gather needs 2904 B, the copy's 2832 B.
    plan_graph keeps the copy (memory._choose_gathers)."""
    from mcuforge.plan.memory import _place

    g = fire(1, sq=16)
    assert gathered(g)[1] == frozenset({3})
    sizes = {i: n for i, n in scratch_sizes(g).items() if n}
    assert _place(g, sizes, frozenset(), gather=True)[2].arena_bytes == 2904
    project = generate(g)
    assert project.calls[3] is not None
    assert project.memory.arena_bytes == without_gathers(monkeypatch, g).memory.arena_bytes == 2832
    replay_project(project)


def test_gathers_are_chosen_one_by_one():
    """Two legal gathers side by side, one that saves bytes (branches') and one that costs
    them (fire(1, sq=16)'s): all gathers 3672 B, none 3584 B, the first alone 3344 B,
    which plan_graph finds by toggling each gather after the all-or-none choice."""
    from mcuforge.plan.memory import _place
    from kernels.test_elementwise_c import merge

    g = merge([branches(), fire(1, sq=16)])
    assert gathered(g)[1] == frozenset({5, 10})
    sizes = {i: n for i, n in scratch_sizes(g).items() if n}
    arena = {k: _place(g, sizes, frozenset(), gather=frozenset(k))[2].arena_bytes for k in ((5, 10), (), (5,), (10,))}
    assert arena == {(5, 10): 3672, (): 3584, (5,): 3344, (10,): 3856}
    project = generate(g)
    assert project.memory.arena_bytes == 3344
    assert [i for i, c in project.calls.items() if c is None] == [5]
    replay_project(project)


def test_in_place_depthwise_into_a_gather():
    """The depthwise flagged in place writes part 0 of the gather: its (0, 0) allowance
    becomes (0, 0) between the buffers' starts; in an order where a later part was written
    first it still holds (its input is exactly its part's size)."""
    g = branches()
    d, y = g.nodes[2].outputs[0], g.nodes[5].outputs[0]
    src = g.nodes[2].inputs[0]
    for order in ([0, 1, 2, 3, 4, 5, 6], [0, 3, 4, 1, 2, 5, 6]):
        bufs = buffer_requests(g, order)
        assert bufs.buffer_of[d] == y
        assert [(o.out, o.min_distance, o.max_distance) for o in bufs.overlaps if o.inp == src] == [(y, 0, 0)]


@pytest.mark.parametrize("name", sorted(not_gathers()))
def test_not_gathers(monkeypatch, name):
    """Each of not_gathers: the node copies, the plan is unchanged."""
    g = not_gathers()[name]
    assert gathered(g) == ({}, frozenset())
    project = generate(g)
    (at,) = [i for i, n in enumerate(g.nodes) if n.op == Op.CONCATENATION]
    assert project.calls[at] is not None
    assert project.memory.arena_bytes == without_gathers(monkeypatch, g).memory.arena_bytes
    assert replay_project(project) == {i for i, n in enumerate(g.nodes) if n.op in ALIAS_OPS}


def test_requantising_or_activated_concatenation_is_no_gather():
    """Different quantisation or a fused activation would not be a copy."""
    g = fire(1)
    node = g.nodes[3]
    y = g.tensors[node.outputs[0]]
    y.quant = quant(0.07, -3)
    assert gathers(g, node) is None
    y.quant = quant(*Q)
    node.attrs = O.ConcatAttrs(1, O.Act.RELU)
    assert gathers(g, node) is None


def test_deterministic():
    a, b = generate(branches()), generate(branches())
    assert (a.memory.tensor_offsets, a.memory.order) == (b.memory.tensor_offsets, b.memory.order)


def test_random_graphs_replay(monkeypatch):
    """Seeded random branchy graphs: the planner's plan replays, is never larger than
    the copies' plan, and keeps the gather in some of them."""
    rng = np.random.default_rng(1)
    kept = 0
    for _ in range(30):
        g = random_graph(rng)
        project = generate(g)
        kept += bool(replay_project(project) & gathered(g)[1])
        assert project.memory.arena_bytes <= without_gathers(monkeypatch, g).memory.arena_bytes
    assert kept >= 3
