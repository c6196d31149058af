"""Detection post-processing (apps/yolo.py, kernels/portable/mf_detect.c): a box worked
out by hand, NMS and ordering rules, the C kernel equal to the Python reference on
random heads (many candidates, the candidate cap, several classes and heads)."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.apps.yolo import YoloHead, attach, lookup_tables, overlaps
from mcuforge.errors import InputError, UnsupportedError
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import run_c


def heads_graph(image_hw, heads, qs, name="heads") -> Graph:
    """A graph whose outputs are the heads themselves (inputs copied through RESHAPE)."""
    from mcuforge.ir.ops import Op, ReshapeAttrs

    b = GraphBuilder(name)
    outs = []
    for i, (head, (s, zp)) in enumerate(zip(heads, qs)):
        shape = (1, image_hw[0] // head.stride, image_hw[1] // head.stride, head.channels)
        x = b.input(shape, "int8", s, zp, name=f"head{i}_in")
        shp = b.const(np.array(shape, np.int32))
        outs.append(b.op(Op.RESHAPE, [x, shp], shape, "int8", quant(s, zp), ReshapeAttrs(), name=f"head{i}"))
    b.output(*outs)
    return b.graph


def test_one_box_by_hand():
    # One head, stride 8 on a 16x16 image: a 2x2 grid, one anchor 4x6 px, one class.
    head = YoloHead(8, ((4, 6),), 1)
    g = attach(heads_graph((16, 16), [head], [(0.1, 0)]), [head], image_hw=(16, 16), score_threshold=0.5, max_boxes=3)
    x = np.full((1, 2, 2, 6), -128, np.int8)  # sigmoid(-12.8) * 2^15 rounds to 0: no score
    x[0, 1, 0] = [0, 0, 0, 0, 127, 127]  # cell gy=1, gx=0: centre offsets 0.5, exp(0) = 1, score ~1
    rows = run(g, [x[:, :, :, :]])[0]
    # centre x = (0.5 + 0) * 8 = 4 px, y = (0.5 + 1) * 8 = 12 px; width 4, height 6 px; Q8.
    sig127 = int(lookup_tables(quant(0.1, 0))[0][127 + 128])
    assert sig127 == 32768  # sigmoid(12.7) * 2^15 = 32767.9..
    assert rows[0].tolist() == [2 * 256, 9 * 256, 6 * 256, 15 * 256, 1 << 30, 0]
    assert rows[1].tolist() == [0, 0, 0, 0, 0, -1] and rows[2].tolist() == [0, 0, 0, 0, 0, -1]
    assert (run_c(g, [x])[0] == rows).all()


def test_box_is_clipped_to_the_image():
    head = YoloHead(8, ((40, 40),), 1)
    g = attach(heads_graph((16, 16), [head], [(0.1, 0)]), [head], image_hw=(16, 16), score_threshold=0.5, max_boxes=1)
    x = np.full((1, 2, 2, 6), -128, np.int8)
    x[0, 0, 0] = [0, 0, 0, 0, 127, 127]  # centre (4, 4), 40x40: clipped to (0, 0, 16, 16)
    assert run(g, [x])[0][0].tolist() == [0, 0, 16 * 256, 16 * 256, 1 << 30, 0]


def test_overlap_rule():
    a, b = [0, 0, 100, 100], [50, 0, 150, 100]  # IoU = 5000 / 15000 = 1/3
    assert overlaps(a, b, int(0.33 * 65536)) and not overlaps(a, b, int(0.34 * 65536))
    assert not overlaps(a, [100, 0, 200, 100], 0)  # touching edges do not intersect


def test_nms_keeps_the_best_per_class_and_other_classes():
    head = YoloHead(8, ((8, 8),), 2)
    g = attach(heads_graph((16, 16), [head], [(0.1, 0)]), [head], image_hw=(16, 16), score_threshold=0.3, nms_threshold=0.3)
    x = np.full((1, 2, 2, 7), -128, np.int8)
    x[0, 0, 0] = [0, 0, 0, 0, 127, 20, -128]  # class 0, score sigmoid(2.0) ~0.88 at (4, 4)
    x[0, 0, 1] = [-40, 0, 0, 0, 127, 30, -128]  # class 0, better (~0.95), centre x 8 + 8*sig(-4) ~8.1: IoU ~0.32
    x[0, 1, 1] = [-40, 0, 0, 0, 127, -128, 10]  # class 1 (~0.73), no class-1 competitor
    rows = run(g, [x])[0]
    kept = [r for r in rows.tolist() if r[5] >= 0]
    assert [r[5] for r in kept] == [0, 1]  # the weaker class-0 box overlaps the better one by IoU > 0.3
    assert kept[0][4] > kept[1][4]
    assert (run_c(g, [x])[0] == rows).all()


def test_ties_keep_scan_order():
    head = YoloHead(8, ((4, 4),), 1)
    g = attach(heads_graph((16, 16), [head], [(0.1, 0)]), [head], image_hw=(16, 16), score_threshold=0.5, max_boxes=4)
    x = np.full((1, 2, 2, 6), -128, np.int8)
    x[0, :, :] = [0, 0, 0, 0, 127, 127]  # four equal scores, far apart
    rows = run(g, [x])[0]
    assert [r[:2] for r in rows.tolist()] == [[512, 512], [2560, 512], [512, 2560], [2560, 2560]]
    assert (run_c(g, [x])[0] == rows).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_c_equals_reference_on_random_heads(seed):
    rng = np.random.default_rng(seed)
    heads = [YoloHead(16, ((20, 30), (40, 20), (60, 70)), 2), YoloHead(8, ((8, 10), (12, 6), (16, 16)), 2)]
    qs = [(float(rng.uniform(0.03, 0.2)), int(rng.integers(-30, 30))) for _ in heads]
    g = attach(heads_graph((64, 96), heads, qs), heads, image_hw=(64, 96), score_threshold=0.05, nms_threshold=0.5,
               max_boxes=15, max_candidates=40)  # fmt: skip
    xs = [rng.integers(-128, 128, g.tensors[n].shape).astype(np.int8) for n in g.inputs]
    ref = run(g, xs)[0]
    assert (ref[:, 5] >= 0).sum() == 15  # enough candidates to fill the table through the cap
    assert (run_c(g, xs)[0] == ref).all()


def test_bad_settings_are_one_sentence():
    head = YoloHead(8, ((4, 6),), 1)
    g = heads_graph((16, 16), [head], [(0.1, 0)])
    with pytest.raises(InputError, match="score threshold"):
        attach(g, [head], score_threshold=0.0, image_hw=(16, 16))
    with pytest.raises(InputError, match="grid"):
        attach(g, [YoloHead(4, ((4, 6),), 1)], score_threshold=0.5, image_hw=(16, 16))
    g.tensors[g.outputs[0]].dtype = "int16"
    with pytest.raises(UnsupportedError, match="int8 heads"):
        attach(g, [head], image_hw=(16, 16))
