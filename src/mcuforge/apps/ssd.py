"""SSD-style detection post-processing: TF-Lite Micro's custom operator
`TFLite_Detection_PostProcess` (tensorflow/lite/micro/kernels/detection_postprocess.cc),
as Op.DETECTION_POSTPROCESS on the int8 heads.

In a .tflite file the operator takes float32 box encodings [1, N, >=4] and class scores
[1, N, C (+1 background)] from DEQUANTIZE nodes, and constant anchors [N, 4] (y, x, h, w;
float32, or int8 behind a DEQUANTIZE). The reader folds those DEQUANTIZE nodes in
(`fold_dequantize`), so the node takes the int8 tensors with their quantisation; the
writer puts them back (`with_dequantize_inputs`), so TF-Lite Micro runs what we run.
Outputs are float32: boxes [1, R, 4] (ymin, xmin, ymax, xmax), classes [1, R], scores
[1, R], num_detections [1], R = max_detections * max_classes_per_detection (LiteRT's size).

The arithmetic is TF-Lite Micro's, operation for operation, so the floats are its floats:
- dequantise: v = float(double(scale) * (q - zp)) (its DEQUANTIZE);
- decode (in double, then rounded to float): ycenter = y / y_scale * anchor_h + anchor_y,
  half_h = 0.5 * exp(h / h_scale) * anchor_h, ymin = ycenter - half_h (float), and so on.
  exp is the one libm call: `exp_table` makes 0.5 * exp(double(h(q)) / double(h_scale))
  once per int8 value with the host's libm (glibc, the one TF-Lite Micro's std::exp uses
  here), so the C kernel reads the same doubles and never calls exp;
- intersection over union in float, as ComputeIntersectionOverUnion; a box is suppressed
  when IoU > nms_iou_threshold; a score is a candidate when score >= nms_score_threshold.
Order, ties included, is deterministic in TF-Lite Micro and matched here: candidates by
score, equal scores in box order (its DecreasingArgSort is a stable merge sort); a box's
classes by score, equal scores in class order (DecreasingPartialArgSort's comparator breaks
ties by index); regular NMS merges each class's picks into the running top list by score,
equal scores keeping the earlier entry (earlier classes first).

Differences from TF-Lite Micro, on purpose: rows after num_detections are zero (its fast
NMS leaves them as they were); with max_classes_per_detection > 1 the fast NMS writes box
i's classes at rows k*i .. k*i+k-1 and num_detections counts boxes (LiteRT's layout; TF-Lite
Micro's index arithmetic skips rows, counts rows and writes past its outputs there; LiteRT's
order of a box's classes on equal scores is its partial_sort's, without a tie-break); where
a decoded box is empty (ymin >= ymax) TF-Lite Micro fails the whole invoke, we go on (IoU 0).

The C kernel (mf_ssd_detect) sorts with a stable counting sort on a per-code score rank
(`score_ranks`), which orders exactly as the float scores do, and needs no per-class score
copies: its scratch is 21 N + 8 D + 1 KiB bytes (N boxes, D detections).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
from flatbuffers import flexbuffers

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.raw_model import RawModel
from mcuforge.ir.graph import Graph, Node, Quant, Tensor
from mcuforge.ir.ops import DetectionPostprocessAttrs, NoAttrs, Op

CUSTOM_CODE = Op.DETECTION_POSTPROCESS.value
# flexbuffer key (= attribute name) -> type; a missing key reads as 0 (flexbuffers' null), but
# detections_per_class (100) and use_regular_nms (false), as TF-Lite Micro reads them.
OPTION_KEYS = {
    "max_detections": int, "max_classes_per_detection": int, "detections_per_class": int,
    "use_regular_nms": bool, "nms_score_threshold": float, "nms_iou_threshold": float,
    "num_classes": int, "y_scale": float, "x_scale": float, "h_scale": float, "w_scale": float,
}  # fmt: skip
DEFAULTS = {"detections_per_class": 100, "use_regular_nms": False}
# What flexbuffers.Loads raises on damaged bytes (UnicodeDecodeError is a ValueError; it
# asserts on some type codes).
FLEXBUFFER_ERRORS = (IndexError, KeyError, ValueError, TypeError, OverflowError, AssertionError, struct.error,
                     RecursionError)  # fmt: skip


# ------------------------------------------------------------ options
def attrs_from_flexbuffer(raw: Any, where: str) -> DetectionPostprocessAttrs:
    data = raw if isinstance(raw, bytes) else b"" if raw is None else np.asarray(raw, np.uint8).tobytes()
    try:
        m = flexbuffers.Loads(data) if data else {}
    except FLEXBUFFER_ERRORS as e:
        raise ModelFormatError(f"{where}: its custom options are not a flexbuffer map ({type(e).__name__})") from None
    if not isinstance(m, dict):
        raise ModelFormatError(f"{where}: its custom options are not a flexbuffer map")
    values = {}
    for key, kind in OPTION_KEYS.items():
        v = m.get(key, DEFAULTS.get(key, 0))
        try:
            values[key] = float(np.float32(v)) if kind is float else kind(v)
        except (TypeError, ValueError, OverflowError):
            raise ModelFormatError(f"{where}: custom option {key!r} holds {v!r}, not a number") from None
    return DetectionPostprocessAttrs(**values)


def flexbuffer_from_attrs(a: DetectionPostprocessAttrs) -> bytes:
    fbb = flexbuffers.Builder()
    with fbb.Map():
        for key, kind in OPTION_KEYS.items():
            v = getattr(a, key)
            if kind is bool:
                fbb.Bool(key, bool(v))
            elif kind is int:
                fbb.Int(key, int(v))
            else:
                fbb.Float(key, float(v))
    return bytes(fbb.Finish())


# ------------------------------------------------------------ reader and writer
def fold_dequantize(m: RawModel) -> None:
    """The node takes the int8 tensors its DEQUANTIZE inputs dequantise; a DEQUANTIZE that
    then feeds nothing else is removed."""
    producer = {o: op for op in m.ops for o in op.outputs}
    for op in m.ops:
        if op.kind != CUSTOM_CODE:
            continue
        for slot, name in enumerate(op.inputs):
            p = producer.get(name)
            if p is not None and p.kind == "DEQUANTIZE" and p.inputs and p.inputs[0] is not None:
                src = m.tensors[p.inputs[0]]
                if src.dtype == "int8" and src.quant is not None:
                    op.inputs[slot] = src.name
    used = set(m.outputs) | {x for op in m.ops for x in op.inputs}
    m.ops = [op for op in m.ops if not (op.kind == "DEQUANTIZE" and op.outputs and op.outputs[0] not in used)]


def with_dequantize_inputs(g: Graph) -> Graph:
    """A copy of g in which each detection node takes float32 inputs from DEQUANTIZE nodes
    (the form TF-Lite Micro runs); only tflite_write uses it."""
    h = g.copy()
    nodes = []
    for node in h.nodes:
        if node.op == Op.DETECTION_POSTPROCESS:
            inputs = []
            for name in node.inputs:
                t = h.tensors[name]
                if t.dtype == "int8":
                    f = h.add_tensor(Tensor(h.unique_name(f"{name}_float"), t.shape, "float32", None))
                    nodes.append(Node(Op.DEQUANTIZE, [name], [f.name], NoAttrs(), name=f.name))
                    name = f.name
                inputs.append(name)
            node = Node(node.op, inputs, list(node.outputs), node.attrs, name=node.name)
        nodes.append(node)
    h.nodes = nodes
    return h


# ------------------------------------------------------------ shapes
def check(g: Graph, node: Node, where: str) -> list[tuple[int, ...]]:
    """Output shapes; what TF-Lite Micro refuses at run time is refused here."""
    a: DetectionPostprocessAttrs = node.attrs
    if len(node.inputs) != 3 or None in node.inputs or len(node.outputs) != 4:
        raise ModelFormatError(
            f"{where}: takes 3 inputs and gives 4 outputs, not {len(node.inputs)} and {len(node.outputs)}"
        )
    boxes, scores, anchors = (g.tensors[n] for n in node.inputs)
    for t, what in ((boxes, "box encodings"), (scores, "class scores")):
        if t.dtype != "int8" or t.quant is None or t.quant.per_channel or len(t.shape) != 3 or t.shape[0] != 1:
            raise UnsupportedError(
                f"{where}: its {what} {t.name!r} must be int8 [1, N, ...] behind a DEQUANTIZE (got {t.dtype} {t.shape})"
            )
    n = boxes.shape[1]
    if boxes.shape[2] < 4 or scores.shape[1] != n:
        raise UnsupportedError(f"{where}: box encodings {boxes.shape} and class scores {scores.shape} do not fit")
    if not anchors.is_const or anchors.shape != (n, 4) or not (
        anchors.dtype == "float32" or (anchors.dtype == "int8" and anchors.quant is not None)
    ):
        raise UnsupportedError(f"{where}: its anchors must be a constant float32 or int8 [{n}, 4] tensor")
    if not 0 <= scores.shape[2] - a.num_classes <= 1 or a.num_classes < 1:
        raise UnsupportedError(
            f"{where}: num_classes {a.num_classes} does not fit class scores with {scores.shape[2]} columns"
        )
    if a.max_detections < 1 or (a.max_classes_per_detection < 1) or (a.use_regular_nms and a.detections_per_class < 1):
        raise UnsupportedError(
            f"{where}: max_detections, max_classes_per_detection and detections_per_class must be at least 1"
        )
    if not 0.0 < a.nms_iou_threshold <= 1.0:
        raise UnsupportedError(f"{where}: nms_iou_threshold {a.nms_iou_threshold} is outside (0, 1]")
    if 0.0 in (a.y_scale, a.x_scale, a.h_scale, a.w_scale):
        raise UnsupportedError(f"{where}: y_scale, x_scale, h_scale and w_scale must not be zero")
    floats = (a.nms_score_threshold, a.y_scale, a.x_scale, a.h_scale, a.w_scale)
    if not all(math.isfinite(v) for v in floats):
        raise UnsupportedError(f"{where}: its score threshold and box scales must be finite numbers")
    anc = anchor_values(g, node)
    if not np.all(np.isfinite(anc)) or np.any(anc[:, 2:] <= 0):
        raise UnsupportedError(
            f"{where}: every anchor needs a positive height and width (TF-Lite Micro refuses empty boxes)"
        )
    rows = a.max_detections * a.max_classes_per_detection
    want = [(1, rows, 4), (1, rows), (1, rows), (1,)]
    for name in node.outputs:
        if g.tensors[name].dtype != "float32":
            raise UnsupportedError(f"{where}: output {name!r} must be float32")
    return want


# ------------------------------------------------------------ tables (prepare)
def dequantize(q: np.ndarray, quant: Quant) -> np.ndarray:
    """TF-Lite Micro's DEQUANTIZE: float(double(scale) * (q - zp))."""
    return (np.float64(np.float32(quant.s)) * (np.asarray(q, np.int64) - quant.zp)).astype(np.float32)


def int8_values(quant: Quant) -> np.ndarray:
    """The dequantised value of each int8 code, indexed by q + 128."""
    return dequantize(np.arange(-128, 128), quant)


def exp_table(quant: Quant, scale: float) -> np.ndarray:
    """0.5 * exp(double(v) / double(scale)) per int8 code q + 128 (float64, the host's libm exp)."""
    out = []
    for v in int8_values(quant):
        try:
            out.append(0.5 * math.exp(float(v) / float(scale)))
        except OverflowError:  # std::exp gives inf there
            out.append(math.inf)
    return np.array(out, np.float64)


def score_ranks(quant: Quant, threshold: float) -> tuple[np.ndarray, int]:
    """(rank per int8 code: 0 for the highest score, equal scores equal ranks; how many ranks
    pass the threshold). Scores are monotonic in q, so the passing ranks are 0 .. kept-1."""
    v = int8_values(quant)
    distinct = np.unique(v)[::-1]
    rank = np.searchsorted(-distinct, -v).astype(np.uint8)
    return rank, int(np.count_nonzero(distinct >= np.float32(threshold)))


def anchor_values(g: Graph, node: Node) -> np.ndarray:
    t = g.tensors[node.inputs[2]]
    return dequantize(t.data, t.quant) if t.dtype == "int8" else np.asarray(t.data, np.float32)


def decode(g: Graph, node: Node, boxes_q: np.ndarray) -> np.ndarray:
    """[N, 4] float32 (ymin, xmin, ymax, xmax), as DecodeCenterSizeBoxes."""
    a: DetectionPostprocessAttrs = node.attrs
    quant = g.tensors[node.inputs[0]].quant
    q = np.asarray(boxes_q, np.int64).reshape(boxes_q.shape[1], -1)[:, :4] + 128
    v = int8_values(quant).astype(np.float64)
    anc = anchor_values(g, node).astype(np.float64)
    ay, ax, ah, aw = anc.T
    yc = (v[q[:, 0]] / np.float64(a.y_scale) * ah + ay).astype(np.float32)
    xc = (v[q[:, 1]] / np.float64(a.x_scale) * aw + ax).astype(np.float32)
    hh = (exp_table(quant, a.h_scale)[q[:, 2]] * ah).astype(np.float32)
    hw = (exp_table(quant, a.w_scale)[q[:, 3]] * aw).astype(np.float32)
    return np.stack([yc - hh, xc - hw, yc + hh, xc + hw], axis=1)


# ------------------------------------------------------------ reference
def _std_max(a, b):
    return np.where(a < b, b, a)


def _std_min(a, b):
    return np.where(b < a, b, a)


def iou(boxes: np.ndarray, i: int, js: np.ndarray) -> np.ndarray:
    """ComputeIntersectionOverUnion(i, j) for each j, in float32."""
    bi, bj = boxes[i], boxes[js]
    area_i = (bi[2] - bi[0]) * (bi[3] - bi[1])
    area_j = (bj[:, 2] - bj[:, 0]) * (bj[:, 3] - bj[:, 1])
    ih = _std_max(_std_min(bi[2], bj[:, 2]) - _std_max(bi[0], bj[:, 0]), np.float32(0))
    iw = _std_max(_std_min(bi[3], bj[:, 3]) - _std_max(bi[1], bj[:, 1]), np.float32(0))
    inter = ih * iw
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = inter / (area_i + area_j - inter)
    return np.where((area_i <= 0) | (area_j <= 0), np.float32(0), out).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, a: DetectionPostprocessAttrs, limit: int) -> list[int]:
    """NonMaxSuppressionSingleClassHelper: box indices kept, best first."""
    thr = np.float32(a.nms_score_threshold)
    keep = sorted((i for i in range(len(scores)) if scores[i] >= thr), key=lambda i: -scores[i])  # stable
    cand = np.array(keep, np.int64)
    active = np.ones(len(cand), bool)
    selected: list[int] = []
    for i in range(len(cand)):
        if len(selected) >= min(len(cand), limit):
            break
        if not active[i]:
            continue
        selected.append(int(cand[i]))
        rest = np.nonzero(active[i + 1 :])[0] + i + 1
        active[rest[iou(boxes, int(cand[i]), cand[rest]) > np.float32(a.nms_iou_threshold)]] = False
    return selected


def eval_detection_postprocess(g: Graph, node: Node, inputs: list[np.ndarray]) -> list[np.ndarray]:
    a: DetectionPostprocessAttrs = node.attrs
    boxes = decode(g, node, np.asarray(inputs[0]))
    sq = g.tensors[node.inputs[1]]
    scores = dequantize(np.asarray(inputs[1]), sq.quant)[0]  # [N, C']
    off = sq.shape[2] - a.num_classes
    rows: list = []  # (box, class, score) per output row, None for a row left zero
    if a.use_regular_nms:
        top: list[tuple[int, int, np.float32]] = []
        for c in range(a.num_classes):
            col = scores[:, c + off]
            merged = top + [(i, c, col[i]) for i in nms(boxes, col, a, a.detections_per_class)]
            order = sorted(range(len(merged)), key=lambda p: (-merged[p][2], p))
            top = [merged[p] for p in order[: a.max_detections]]
        rows, count = top, len(top)
    else:
        k = min(a.max_classes_per_detection, a.num_classes)
        cls = scores[:, off:]
        best = [sorted(range(a.num_classes), key=lambda c: (-cls[i, c], c))[:k] for i in range(len(cls))]
        best_score = np.array([cls[i, b[0]] for i, b in enumerate(best)], np.float32)
        selected = nms(boxes, best_score, a, a.max_detections)
        for i in selected:
            rows += [(i, c, cls[i, c]) for c in best[i]] + [None] * (a.max_classes_per_detection - k)
        count = len(selected)  # boxes, not rows (LiteRT's count)
    n_rows = a.max_detections * a.max_classes_per_detection
    out_boxes = np.zeros((1, n_rows, 4), np.float32)
    out_cls, out_scores = np.zeros((1, n_rows), np.float32), np.zeros((1, n_rows), np.float32)
    for r, row in enumerate(rows):
        if row is not None:
            out_boxes[0, r], out_cls[0, r], out_scores[0, r] = boxes[row[0]], row[1], row[2]
    return [out_boxes, out_cls, out_scores, np.array([count], np.float32)]
