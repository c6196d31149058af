"""Patch plans: the --patch syntax, grid cells, which nodes form a stage, the regions."""

from __future__ import annotations

import pytest
from nets import mobilenet_like, windows_zoo

from mcuforge.engine import optimise
from mcuforge.errors import InputError
from mcuforge.ir import Op
from mcuforge.passes import fold_io
from mcuforge.patch.plan import PatchPlan, grid_cells, parse_patch
from mcuforge.patch.regions import patch_geometry
from mcuforge.patch.stage import NotPatchable, candidate_splits, find_stage


def test_parse_patch():
    assert parse_patch("auto") == "auto"
    assert parse_patch(" None ") == "none"
    assert parse_patch("8:4") == PatchPlan(8, (4, 4))
    assert parse_patch("8:3x4") == PatchPlan(8, (3, 4))
    assert PatchPlan(8, (3, 4)).label == "8:3x4"
    for bad in ("", "8", "8:", "x:4", "8:0", "8:3x0", "8:3x4x5", "-1:2"):
        with pytest.raises(InputError):
            parse_patch(bad)


def test_grid_cells_cover_the_plane_once():
    cells = grid_cells((7, 10), (3, 4))
    assert len(cells) == 12
    assert cells[0] == (0, 2, 0, 2) and cells[-1] == (4, 7, 7, 10)
    covered = sorted((r, c) for r0, r1, c0, c1 in cells for r in range(r0, r1) for c in range(c0, c1))
    assert covered == [(r, c) for r in range(7) for c in range(10)]
    with pytest.raises(InputError):
        grid_cells((3, 10), (4, 1))


def _opt(g):
    return optimise(fold_io(g).graph)


def test_stage_ends_at_global_ops_and_keeps_residuals_whole():
    h = _opt(mobilenet_like())
    ops = [n.op for n in h.nodes]
    mean = ops.index(Op.MEAN)
    assert candidate_splits(h) == list(range(mean))
    # The residual ADD (node 4) reads node 0's output: a stage ending at 3 cannot hold node 0.
    s = find_stage(h, 3)
    assert (s.start, s.source) == (1, h.nodes[0].outputs[0])
    s = find_stage(h, 4)
    assert (s.start, s.source, s.sink) == (0, h.inputs[0], h.nodes[4].outputs[0])
    with pytest.raises(NotPatchable, match="cannot run patch by patch"):
        find_stage(h, mean)
    with pytest.raises(NotPatchable, match="not a node index"):
        find_stage(h, len(h.nodes))
    with pytest.raises(NotPatchable, match="do not form a patch stage"):
        find_stage(h, 3, start=0)


def test_regions_have_halos_and_padding_only_at_the_edge():
    h = _opt(mobilenet_like())
    stage = find_stage(h, 4)
    # 12 x 10 sink, 2 x 2 grid: top-left cell rows 0..6, columns 0..5.
    geo = patch_geometry(h, stage, grid_cells((12, 10), (2, 2))[0])
    stem, dw = h.nodes[0], h.nodes[2]
    # Depthwise 3x3 SAME: output rows [0, 6) need rows [-1, 7): one row of top padding.
    assert geo.pads[2] == (1, 0, 1, 0)
    assert geo.boxes[dw.inputs[0]] == (0, 7, 0, 6)
    # The block input is read by the expansion (with halo) and by the ADD (without).
    x = stem.outputs[0]
    assert geo.boxes[x] == (0, 7, 0, 6) and geo.needs[(4, 0)] == (0, 6, 0, 5)
    # Stride-2 3x3 stem with SAME on 23 x 19: 12 x 10 outputs, total padding 2 per axis,
    # 1 before; output rows [0, 7) read rows [-1, 14): one row and column of padding.
    assert geo.pads[0] == (1, 0, 1, 0) and geo.needs[(0, 0)] == (0, 14, 0, 12)
    last = patch_geometry(h, stage, grid_cells((12, 10), (2, 2))[3])
    assert last.pads[2] == (0, 1, 0, 1)  # bottom-right: padding below and right only
    assert last.boxes[h.nodes[4].outputs[0]] == (6, 12, 5, 10)


def test_pools_and_pads_are_window_local():
    h = _opt(windows_zoo())
    ops = [n.op for n in h.nodes]
    assert Op.AVERAGE_POOL_2D in ops and Op.PAD in ops and Op.CONCATENATION in ops
    assert candidate_splits(h) == list(range(ops.index(Op.MEAN)))
