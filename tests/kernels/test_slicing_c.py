"""C kernels of the slicing family against the reference executor, bit for bit: SLICE and
BROADCAST_TO (mf_strided_copy), PACK (mf_concat), SPLIT / SPLIT_V / UNPACK (mf_split),
TILE (mf_tile); and multi-output nodes through the planner and code generator."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import generate
from mcuforge.codegen.table import emitter
from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ref.interpreter import random_inputs, run
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_slicing import (
    BROADCASTS,
    OTHER_Q,
    PACKS,
    SCALARS,
    SLICES,
    SPLIT_VS,
    SPLITS,
    TILES,
    UNPACKS,
    broadcast_graph,
    pack_graph,
    random_graphs,
    slice_graph,
    split_two_consumers,
    split_graph,
    split_v_graph,
    tile_graph,
    unpack_graph,
)


def all_graphs() -> list[Graph]:
    gs = [slice_graph(*c) for c in SLICES]
    gs += [slice_graph((2, 5, 7), [0, 2, 3], [2, 3, -1], "int32"), slice_graph((4, 3), [4, 0], [0, 3])]  # empty
    gs += [split_graph(*c) for c in SPLITS] + [split_graph((2, 6, 5), 1, 3, "int32", out_q=OTHER_Q)]
    gs += [split_v_graph(*c) for c in SPLIT_VS]
    gs += [split_v_graph((5, 3), [0, 5], 0), split_v_graph((3, 7), [2, -1, 1], 1, "int32")]
    gs += [unpack_graph(*c) for c in UNPACKS] + [unpack_graph((3, 4, 2), 1, "int32")]
    gs += [pack_graph(*c) for c in PACKS] + [pack_graph((2, 3), 3, 1, "int32")]
    gs += [tile_graph(*c) for c in TILES] + [tile_graph((2, 3), [3, 2], "int32", index_dtype="int64")]
    gs += [tile_graph((2, 1, 2, 1, 2, 1, 2), [2, 1, 1, 3, 1, 1, 2])]  # 7-D, unit dimensions dropped
    gs += [broadcast_graph(*c) for c in BROADCASTS] + [broadcast_graph((1, 3, 1), (2, 3, 4), "int32")]
    gs += [make() for _, make in SCALARS]
    return gs


def test_every_op_under_sanitizers():
    check_c(merge(all_graphs()), seed=141, sanitize=True)


def test_random_cases():
    check_c(merge([g for _, g in random_graphs(3, per_op=10)]), seed=152, sanitize=True)


def test_split_with_different_consumers():
    g = split_two_consumers()
    project = generate(g)
    check_c(g, seed=142, sanitize=True)
    offsets = project.memory.tensor_offsets
    outs = g.nodes[0].outputs
    spans = sorted((offsets[o], offsets[o] + g.tensors[o].nbytes) for o in outs)
    assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:])), "SPLIT's outputs overlap"
    assert "mf_split(" in project.files["model.c"]


def test_unpack_outputs_to_one_consumer_each():
    b = GraphBuilder()
    q = quant(0.1, 3)
    x = b.input((3, 2, 5), "int8", 0.1, 3)
    parts = b.op_multi(Op.UNPACK, [x], [(2, 5)] * 3, q=q, attrs=O.UnpackAttrs(3, 0))
    ys = [
        b.op(Op.TILE, [p, b.const(np.array([k + 1, 1], np.int32))], (2 * (k + 1), 5), q=q) for k, p in enumerate(parts)
    ]
    b.output(*ys)
    check_c(b.graph, seed=143, sanitize=True)


def test_split_unused_output():
    """An output nobody reads still gets bytes of its own: the kernel writes it."""
    b = GraphBuilder()
    q = quant(0.1, 3)
    x = b.input((4, 6), "int8", 0.1, 3)
    a, _unused = b.op_multi(Op.SPLIT, [b.const(np.array(0, np.int32)), x], [(2, 6)] * 2, q=q, attrs=O.SplitAttrs(2))
    b.output(b.op(Op.RELU, [a], (2, 6), q=q))
    check_c(b.graph, seed=144, sanitize=True)


def test_split_by_hand_placed_outputs():
    g = split_graph((2, 6, 5), 1, 3)
    x, outs = g.inputs[0], g.nodes[0].outputs
    xs = random_inputs(g, 145)
    layout = {x: 100, outs[0]: 0, outs[1]: 40, outs[2]: 20}  # outputs in another order than the pieces
    got = run_layout(g, layout, 160, xs)
    for a, b in zip(got, run(g, xs)):
        assert np.array_equal(a, b)


def fields(g: Graph) -> dict[str, str]:
    return dict(emitter(g.nodes[0].op)(g, g.nodes[0], EmitContext(g)).params)


def test_emitted_parameters():
    f = fields(slice_graph((1, 6, 6, 3), [0, 1, 2, 0], [1, 4, 3, 3]))  # rows of 9 bytes, 4 of them
    assert (f["shape"], f["stride"], f["offset"]) == ("{1, 1, 1, 1, 4, 9}", "{0, 0, 0, 0, 18, 1}", "24")
    f = fields(broadcast_graph((1, 3, 1), (4, 3, 5)))
    assert (f["shape"], f["stride"]) == ("{1, 1, 1, 4, 3, 5}", "{0, 0, 0, 0, 1, 0}")
    f = fields(tile_graph((2, 1, 3), [1, 5, 1]))
    assert (f["in_shape"], f["multiples"]) == ("{1, 1, 1, 2, 1, 3}", "{1, 1, 1, 1, 5, 1}")
    f = fields(tile_graph((2, 3), [1, 1]))  # one row copied once
    assert (f["in_shape"], f["multiples"]) == ("{1, 1, 1, 1, 1, 6}", "{1, 1, 1, 1, 1, 1}")
    f = fields(unpack_graph((3, 4, 2), 1))
    assert (f["num_outputs"], f["outer"]) == ("4", "3")


def test_tile_too_many_dimensions():
    g = tile_graph((2, 2, 2, 2, 2, 2, 2), [2, 1, 2, 1, 2, 1, 2])
    with pytest.raises(UnsupportedError, match="more than 6 dimensions"):
        fields(g)


def test_report_and_inspect_show_every_output():
    from mcuforge.engine import compile_graph
    from mcuforge.hw.boards import get_board
    from mcuforge.model_info import summary
    from mcuforge.report.report import build_report

    g = split_two_consumers()
    node = next(n for n in build_report(compile_graph(g), get_board("stm32f412"))["nodes"] if n["op"] == "SPLIT")
    assert node["outputs"] == g.nodes[0].outputs and node["output_bytes"] == 3 * 32
    info = summary(g)
    assert info["nodes"][0]["outputs"] == [[1, 4, 4, 2]] * 3


def test_planner_requests_of_a_split():
    """Every output of a multi-output node is a request of its own, live from the node's
    step to its last reader (a graph output: to the last step); no allowance lets one
    share the input's bytes."""
    from mcuforge.plan.lifetimes import buffer_requests

    b = GraphBuilder()
    q = quant(0.1, 3)
    x = b.input((4, 6), "int8", 0.1, 3)
    a, c = b.op_multi(Op.SPLIT, [b.const(np.array(0, np.int32)), x], [(2, 6)] * 2, q=q, attrs=O.SplitAttrs(2))
    r = b.op(Op.RELU, [a], (2, 6), q=q)
    s = b.op(Op.RELU, [r], (2, 6), q=q)
    b.output(s, c)
    bufs = buffer_requests(b.graph, [0, 1, 2])
    got = {req.name: (req.size, req.first, req.last) for req in bufs.requests}
    assert got == {x: (24, 0, 0), a: (12, 0, 1), c: (12, 0, 2), r: (12, 1, 2), s: (12, 2, 2)}
    assert not any(o.inp == x for o in bufs.overlaps)


# ------------------------------------------------------------------ views
def _views_graph() -> Graph:
    """Contiguous pieces at 8-byte-aligned offsets: SPLIT along H of a batch-1 image,
    UNPACK of rows of 16, a SLICE of one row of a view, a RESHAPE of a view; consumers on
    every piece and pieces that are graph outputs."""
    b = GraphBuilder()
    q = quant(0.1, 3)
    x = b.input((1, 4, 4, 8), "int8", 0.1, 3)
    h = b.op(Op.RELU, [x], (1, 4, 4, 8), q=q)
    top, bottom = b.op_multi(Op.SPLIT, [b.const(np.array(1, np.int32)), h], [(1, 2, 4, 8)] * 2, q=q,
                             attrs=O.SplitAttrs(2))  # fmt: skip
    row = b.op(Op.SLICE, [bottom, b.const(np.array([0, 1, 0, 0], np.int32)), b.const(np.array([1, 1, 4, 8], np.int32))],
               (1, 1, 4, 8), q=q)  # fmt: skip
    flat = b.op(Op.RESHAPE, [top, b.const(np.array([4, 16], np.int32))], (4, 16), q=q)
    parts = b.op_multi(Op.UNPACK, [flat], [(16,)] * 4, q=q, attrs=O.UnpackAttrs(4, 0))
    r = b.op(Op.RELU6, [parts[3]], (16,), q=q)
    b.output(row, r, parts[0], bottom)
    return b.graph


def test_contiguous_pieces_are_views():
    g = _views_graph()
    project = generate(g)
    off = project.memory.tensor_offsets
    split, sl, _reshape, unpack = (g.nodes[i] for i in (1, 2, 3, 4))
    h, (top, bottom) = split.inputs[1], split.outputs
    assert (off[top], off[bottom]) == (off[h], off[h] + 64)
    assert off[sl.outputs[0]] == off[bottom] + 32
    assert [off[p] - off[h] for p in unpack.outputs] == [0, 16, 32, 48]
    assert all(project.calls[i] is None for i in (1, 2, 3, 4))
    # The RELU over the input (128 B, in place) holds every piece; the RELU6's 16 B are the only other bytes.
    assert project.memory.arena_bytes == 144 and project.memory.live_bytes == [128] * 5 + [144]
    assert project.files["model.c"].count("view of its input, no code") == 3
    check_c(g, seed=146, sanitize=True)


def test_pieces_that_would_be_unaligned_or_strided_are_copies():
    g = split_graph((2, 6, 5), 0, 2)  # 30-byte pieces: a view would start unaligned
    project = generate(g)
    assert project.calls[0] is not None and project.calls[0].kernel == "mf_split"
    g = slice_graph((1, 6, 6, 3), [0, 1, 2, 0], [1, 4, 3, 3])  # rows of a box: not one run
    assert generate(g).calls[0] is not None
    g = slice_graph((4, 8), [2, 0], [2, 8])  # one run at byte 16: a view of the graph input
    project = generate(g)
    assert project.calls[0] is None
    assert project.memory.tensor_offsets[g.outputs[0]] == project.memory.tensor_offsets[g.inputs[0]] + 16
    check_c(g, seed=147, sanitize=True)


def test_allowances_of_a_view_at_an_offset():
    """An element-wise consumer of a view at byte 32 may still share its buffer (the real
    distance is 32 more than the buffers'); an in-place depthwise on it may not."""
    from mcuforge.plan.lifetimes import buffer_requests

    b = GraphBuilder()
    q = quant(0.1, 3)
    x = b.input((1, 2, 4, 8), "int8", 0.1, 3)
    h = b.op(Op.RELU, [x], (1, 2, 4, 8), q=q)
    first, second = b.op_multi(Op.SPLIT, [b.const(np.array(1, np.int32)), h], [(1, 1, 4, 8)] * 2, q=q,
                               attrs=O.SplitAttrs(2))  # fmt: skip
    w = b.const(np.arange(72).reshape(1, 3, 3, 8) % 7 - 3, "int8", q=quant(0.02))
    bias = b.const(np.arange(8) * 5, "int32", q=quant(0.002))
    dw = b.op(Op.DEPTHWISE_CONV_2D, [second, w, bias], (1, 1, 4, 8), q=q)
    r = b.op(Op.RELU6, [first], (1, 1, 4, 8), q=q)
    b.output(dw, r)
    g = b.graph
    bufs = buffer_requests(g, [0, 1, 3, 2])  # the depthwise reads last
    assert dict(bufs.within) == {second: 32}
    assert [o.out for o in bufs.overlaps if o.inp == h] == [dw]  # the depthwise's sliding-window allowance
    g.nodes[2].inplace = True
    assert not [o for o in buffer_requests(g, [0, 1, 3, 2]).overlaps if o.inp == h]  # no (0, 0) at byte 32
    check_c(g, seed=148, sanitize=True)
    b2 = GraphBuilder()
    x = b2.input((1, 2, 4, 8), "int8", 0.1, 3)
    h = b2.op(Op.RELU, [x], (1, 2, 4, 8), q=q)
    first, second = b2.op_multi(Op.UNPACK, [h], [(1, 4, 8)] * 2, q=q, attrs=O.UnpackAttrs(2, 1))
    b2.output(b2.op(Op.RELU6, [first], (1, 4, 8), q=q), b2.op(Op.RELU, [second], (1, 4, 8), q=q))
    bufs = buffer_requests(b2.graph, [0, 1, 2, 3])
    assert [(o.min_distance, o.max_distance) for o in bufs.overlaps if o.inp == h] == [(0, None)]
    check_c(b2.graph, seed=149, sanitize=True)


def test_on_cortex_m_under_qemu():
    from mcuforge.hw.boards import get_board
    from mcuforge.targets.qemu import missing_tools, run_qemu

    if missing_tools() is not None:
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    g = merge(all_graphs() + [split_two_consumers(), _views_graph()])
    xs = random_inputs(g, 150)
    ref = run(g, xs)
    out = run_qemu(generate(g), get_board("STM32F412"), xs)
    assert all(a.tobytes() == r.tobytes() for a, r in zip(out, ref))


def test_gathers_beyond_six_dimensions_are_refused():
    g = broadcast_graph((2, 1, 2, 1, 2, 1, 2), (2, 3, 2, 3, 2, 3, 2))
    with pytest.raises(UnsupportedError, match="more than 6 dimensions"):
        fields(g)
    g = broadcast_graph((2, 1, 2, 1, 2, 1), (2, 3, 2, 3, 2, 3))  # six: fits
    check_c(g, seed=151)
