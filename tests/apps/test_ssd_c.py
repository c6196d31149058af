"""The C kernel mf_ssd_detect (kernels/portable/mf_detect.c) equals the reference
(apps/ssd.py) bit for bit: one host build holding many detection nodes on shared heads
(fast and regular NMS, several classes per box, ties, float and int8 anchors, a
1,500-anchor grid), so gcc runs once per grid; the small one under
-fsanitize=address,undefined."""

from __future__ import annotations

import numpy as np
from ssd_graphs import anchor_grid
from test_ssd import attrs

from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes import infer_shapes
from mcuforge.ir.verify import verify
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import run_c

VARIANTS = [
    attrs(),
    attrs(nms_score_threshold=0.0, max_detections=25),
    attrs(max_classes_per_detection=2, max_detections=6),
    attrs(max_classes_per_detection=5, max_detections=4),  # more than the classes: rows left zero
    attrs(use_regular_nms=True),
    attrs(use_regular_nms=True, detections_per_class=40, max_detections=30, nms_iou_threshold=0.3),
    attrs(use_regular_nms=True, nms_score_threshold=0.9, nms_iou_threshold=1.0),
    attrs(num_classes=4, use_regular_nms=True, h_scale=2.5, y_scale=7.0),  # no background column
]


def many_nodes(anchors: np.ndarray, width: int, classes_in: int, name: str):
    n = len(anchors)
    b = GraphBuilder(name)
    boxes = b.input((1, n, width), "int8", 0.07, -9, name="boxes")
    ties = b.input((1, n, classes_in), "int8", 1 / 256, -128, name="ties")  # few score values
    spread = b.input((1, n, classes_in), "int8", 0.02, 20, name="spread")
    float_anchors = b.const(anchors, name="anchors")
    q = np.clip(np.round(anchors * 128) - 128, -128, 127).astype(np.int8)
    int8_anchors = b.const(q, q=quant(1 / 128, -128), name="anchors_q")
    outs = []
    for i, a in enumerate(VARIANTS):
        rows = a.max_detections * a.max_classes_per_detection
        for scores, anc in ((ties, float_anchors), (spread, int8_anchors)):
            shapes = [(1, rows, 4), (1, rows), (1, rows), (1,)]
            outs += b.op_multi(Op.DETECTION_POSTPROCESS, [boxes, scores, anc], shapes, "float32", None, a,
                               name=f"det{i}_{scores}")  # fmt: skip
    b.output(*outs)
    for node in b.graph.nodes:  # the shape rule accepts every variant
        assert infer_shapes(b.graph, node, node.name) == [b.graph.tensors[o].shape for o in node.outputs]
    return b.graph


def inputs(g, rng: np.random.Generator) -> list[np.ndarray]:
    shapes = [g.tensors[n].shape for n in g.inputs]
    boxes = rng.integers(-128, 128, shapes[0])
    ties = rng.choice(np.array([-128, -40, 0, 60, 127]), shapes[1])
    spread = rng.integers(-128, 128, shapes[2])
    return [x.astype(np.int8) for x in (boxes, ties, spread)]


def test_c_equals_reference():
    small = anchor_grid([(6, 6), (3, 3)], 3)
    image = anchor_grid([(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)], 3)
    for anchors, width, name, sanitize in ((small, 6, "small", True), (image, 4, "image", False)):
        g = verify(many_nodes(anchors, width, 4, name))
        xs = inputs(g, np.random.default_rng(len(anchors)))
        ours, c = run(g, xs), run_c(g, xs, sanitize=sanitize)
        assert len(ours) == len(c) == 4 * 2 * len(VARIANTS)
        for k, (a, b) in enumerate(zip(ours, c)):
            assert a.tobytes() == b.tobytes(), (g.outputs[k], a, b)
        counts = [float(x[0]) for x in ours[3::4]]
        assert max(counts) >= 25 and min(counts) >= 1  # the cut at max_detections, and few-candidate cases
