"""C kernel of RESIZE_BILINEAR (mf_resize) against the reference executor, bit for bit."""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.table import emitter
from kernels.test_elementwise_c import check_c, merge
from ref.test_resize import OPTIONS, SIZES, resize_graph


def test_sizes_and_options_under_sanitizers():
    gs = []
    for case in sorted(SIZES):
        shape, size = SIZES[case]
        gs += [resize_graph(shape, size, *options) for options in OPTIONS]
    g = merge(gs)
    check_c(g, seed=51, sanitize=True)
    extremes = [np.full(g.tensors[n].shape, v, np.int8) for n, v in zip(g.inputs, [127, -128] * len(g.inputs))]
    check_c(g, extremes)


def test_all_sizes_up_to_12():
    gs = []
    for options in OPTIONS:
        for h_in in range(1, 13):
            for h_out in range(1, 13):
                gs.append(resize_graph((1, h_in, 13 - h_in, 2), (h_out, 13 - h_out), *options))
    check_c(merge(gs), seed=52)


def test_tables_hold_element_offsets():
    g = resize_graph((1, 3, 5, 2), (7, 11), half_pixel_centers=True)
    ctx = EmitContext(g)
    call = emitter(g.nodes[0].op)(g, g.nodes[0], ctx)
    rows = next(a.data for a in ctx.arrays if a.name == dict(call.params)["rows"])
    assert rows.size == 3 * 7 and rows[0] == rows[1] == 0 and rows[2] < 0  # the first row sits above row 0
    assert set(rows[0::3].tolist()) <= {0, 10, 20} and call.scratch_bytes == 0
