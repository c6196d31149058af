"""Test helper: one-node graphs of DETECTION_POSTPROCESS (apps/ssd.py) on random int8 heads."""

from __future__ import annotations

import numpy as np

from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import DetectionPostprocessAttrs, Op


def anchor_grid(sizes: list[tuple[int, int]], per_cell: int) -> np.ndarray:
    """SSD-style anchors (y, x, h, w in [0, 1]): per feature map of (rows, cols), per_cell
    boxes of growing size at each cell centre."""
    out = []
    for rows, cols in sizes:
        for r in range(rows):
            for c in range(cols):
                for k in range(per_cell):
                    s = 0.1 + 0.8 * (k + 1) / (per_cell + 1) * (10 / max(rows, cols)) ** 0.5
                    out.append(((r + 0.5) / rows, (c + 0.5) / cols, min(s, 1.0), min(s * (0.5 + 0.5 * k), 1.0)))
    return np.array(out, np.float32)


def ssd_graph(
    anchors: np.ndarray,
    classes_in: int,
    attrs: DetectionPostprocessAttrs,
    box_q=(0.05, 3),
    score_q=(1 / 256, -128),
    int8_anchors: tuple[float, int] | None = None,
    box_width: int = 4,
    name: str = "ssd",
) -> Graph:
    n = len(anchors)
    b = GraphBuilder(name)
    boxes = b.input((1, n, box_width), "int8", *box_q, name="boxes")
    scores = b.input((1, n, classes_in), "int8", *score_q, name="scores")
    if int8_anchors is None:
        anc = b.const(np.asarray(anchors, np.float32), name="anchors")
    else:
        s, zp = int8_anchors
        q = np.clip(np.round(anchors / s) + zp, -128, 127).astype(np.int8)
        anc = b.const(q, q=quant(s, zp), name="anchors")
    rows = attrs.max_detections * attrs.max_classes_per_detection
    outs = b.op_multi(Op.DETECTION_POSTPROCESS, [boxes, scores, anc], [(1, rows, 4), (1, rows), (1, rows), (1,)],
                      "float32", None, attrs, name="detections")  # fmt: skip
    b.output(*outs)
    return b.graph


def random_heads(g: Graph, rng: np.random.Generator, score_levels: int | None = None) -> list[np.ndarray]:
    """Random int8 box encodings and scores; with score_levels, scores take that many values (ties)."""
    boxes = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    shape = g.tensors[g.inputs[1]].shape
    if score_levels is None:
        scores = rng.integers(-128, 128, shape)
    else:
        scores = rng.choice(np.linspace(-128, 127, score_levels).astype(np.int64), shape)
    return [boxes, scores.astype(np.int8)]
