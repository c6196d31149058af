"""YOLO-style detection post-processing: decode the int8 heads into boxes, then NMS.

The Python here is the reference; kernels/portable/mf_detect.c computes the same boxes
bit for bit, because every step is integer arithmetic on tables made once from the
heads' quantisation (no float in the per-cell work, so no libm or FPU can differ):

- SIG[q] = round(sigmoid((q - zp) * scale) * 2^15) and EXP[q] = round(min(exp((q - zp)
  * scale), 1024) * 2^8), 256 entries each per head, indexed by q + 128.
- A cell (gy, gx) holds, per anchor a, 5 + C values (tx, ty, tw, th, objectness,
  class logits), anchor-major along the channels (TinyEngine's and YOLOv3's layout).
  score = SIG[obj] * SIG[cls] (Q30); centre x = (SIG[tx] + gx * 2^15) * stride >> 7 and
  width = EXP[tw] * anchor_w, both in 1/256 input pixels (Q8); the box is clipped to the
  input image.
- Candidates with score >= the threshold are kept, the `max_candidates` highest, ties
  in scan order (heads as given, then gy, gx, anchor, class); greedy NMS per class in
  that order drops a box whose intersection-over-union with a kept box of its class
  exceeds the NMS threshold (tested as inter * 2^16 > thr_q16 * union in 64 bits).
- Output: int32 (max_boxes, 6) rows x0, y0, x1, y1 (Q8 input pixels), score (Q30),
  label; unused rows are zero with label -1.

A head's configuration (stride, anchors in input pixels, classes) comes from a JSON
file in TinyEngine's layout ({"output1": {"num_class", "anchors": [w, h, ...], "stride"},
...}); heads are matched to model outputs by their grid size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcuforge.errors import InputError, UnsupportedError
from mcuforge.ir.graph import Graph, Node, Quant

SIG_BITS = 15
EXP_BITS = 8
EXP_CAP = 1024.0  # widest box: 1024 anchors; larger exp() values are noise on an MCU-sized input
MAX_HEADS = 4  # MF_DETECT_MAX_HEADS in mf_detect.h


@dataclass(frozen=True)
class YoloHead:
    stride: int
    anchors: tuple[tuple[int, int], ...]  # (w, h) in input pixels
    num_classes: int

    @property
    def channels(self) -> int:
        return len(self.anchors) * (5 + self.num_classes)


def load_config(path: str | Path) -> list[YoloHead]:
    """Heads from a TinyEngine-style detection config JSON."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"detection config {p} does not exist")
    try:
        raw = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"detection config {p} is not readable JSON ({e})") from None
    heads = []
    entries = raw.values() if isinstance(raw, dict) else raw
    for i, e in enumerate(entries):
        try:
            a = [int(v) for v in e["anchors"]]
            head = YoloHead(int(e["stride"]), tuple(zip(a[0::2], a[1::2])), int(e.get("num_class", 1)))
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"detection config {p}: head {i + 1} needs 'stride', 'anchors' ([w, h, ...]) and 'num_class'"
            ) from None
        if head.stride <= 0 or head.num_classes <= 0 or not head.anchors or len(a) % 2:
            raise InputError(f"detection config {p}: head {i + 1} has a bad stride, class count or anchor list")
        heads.append(head)
    if not heads:
        raise InputError(f"detection config {p} names no heads")
    return heads


def match_heads(
    outputs: list[str], g: Graph, heads: list[YoloHead], image_hw: tuple[int, int]
) -> list[tuple[str, YoloHead]]:
    """Each head with the model output whose grid is the image's size / its stride."""
    in_h, in_w = image_hw
    pairs = []
    free = list(outputs)
    for head in heads:
        want = (in_h // head.stride, in_w // head.stride, head.channels)
        name = next((n for n in free if g.tensors[n].shape[1:] == want), None)
        if name is None:
            shapes = ", ".join("x".join(map(str, g.tensors[n].shape)) for n in outputs)
            raise InputError(
                f"no model output has the {want[0]}x{want[1]}x{want[2]} grid that a head with stride {head.stride} "
                f"and {len(head.anchors)} anchors of {head.num_classes} classes gives (outputs: {shapes})"
            )
        free.remove(name)
        pairs.append((name, head))
    return pairs


def lookup_tables(q: Quant) -> tuple[np.ndarray, np.ndarray]:
    """(SIG, EXP) int32 tables of one head, indexed by q + 128 (float64, then rounded)."""
    v = (np.arange(-128, 128, dtype=np.float64) - q.zp) * float(q.s)
    sig = np.round(1.0 / (1.0 + np.exp(-v)) * (1 << SIG_BITS))
    exp = np.round(np.minimum(np.exp(np.minimum(v, 30.0)), EXP_CAP) * (1 << EXP_BITS))
    return sig.astype(np.int32), exp.astype(np.int32)


def thresholds(score: float, nms: float) -> tuple[int, int]:
    """The score threshold in Q30 and the NMS IoU threshold in Q16."""
    return int(round(score * (1 << 30))), int(round(nms * (1 << 16)))


def _candidates(g: Graph, node: Node, heads_q: list[np.ndarray]) -> list[tuple[int, int, list[int]]]:
    a = node.attrs
    in_h, in_w = a.image
    thr, _ = thresholds(a.score_threshold, a.nms_threshold)
    found = []  # (score, scan index, row)
    scan = 0
    for name, x, head in zip(node.inputs, heads_q, a.heads):
        sig, exp = lookup_tables(g.tensors[name].quant)
        _, gh, gw, _ = x.shape
        v = x.reshape(gh, gw, len(head.anchors), 5 + head.num_classes).astype(np.int64) + 128
        for gy in range(gh):
            for gx in range(gw):
                for ai, (aw, ah) in enumerate(head.anchors):
                    p = v[gy, gx, ai]
                    obj = int(sig[p[4]])
                    for c in range(head.num_classes):
                        score = obj * int(sig[p[5 + c]])
                        if score >= thr:
                            cx = ((int(sig[p[0]]) + (gx << SIG_BITS)) * head.stride) >> (SIG_BITS - 8)
                            cy = ((int(sig[p[1]]) + (gy << SIG_BITS)) * head.stride) >> (SIG_BITS - 8)
                            w, h = int(exp[p[2]]) * aw, int(exp[p[3]]) * ah
                            x0, y0 = cx - (w >> 1), cy - (h >> 1)
                            box = [max(x0, 0), max(y0, 0), min(x0 + w, in_w << 8), min(y0 + h, in_h << 8)]
                            found.append((score, scan, [*box, score, c]))
                        scan += 1
    found.sort(key=lambda f: (-f[0], f[1]))
    return found[: a.max_candidates]


def _area(b: list[int]) -> int:
    return max(b[2] - b[0], 0) * max(b[3] - b[1], 0)


def overlaps(a: list[int], b: list[int], thr_q16: int) -> bool:
    """IoU(a, b) > thr, in integers: inter * 2^16 > thr * union."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return False
    inter = iw * ih
    union = _area(a) + _area(b) - inter
    return (inter << 16) > thr_q16 * union


def eval_yolo_detect(g: Graph, node: Node, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The reference post-processing (see the module docstring)."""
    a = node.attrs
    _, nms = thresholds(a.score_threshold, a.nms_threshold)
    kept: list[list[int]] = []
    for _, _, row in _candidates(g, node, [np.asarray(x) for x in inputs]):
        if len(kept) == a.max_boxes:
            break
        if not any(k[5] == row[5] and overlaps(k, row, nms) for k in kept):
            kept.append(row)
    out = np.zeros((a.max_boxes, 6), np.int32)
    out[:, 5] = -1
    if kept:
        out[: len(kept)] = np.asarray(kept, np.int64).astype(np.int32)
    return [out]


def check_heads(g: Graph, node: Node, where: str) -> tuple[int, int]:
    """Shape check for ir/shapes.py: every head is an int8 (1, H/stride, W/stride, A*(5+C))."""
    a = node.attrs
    if not 1 <= len(a.heads) <= MAX_HEADS or len(node.inputs) != len(a.heads):
        raise UnsupportedError(f"{where}: detection takes 1 to {MAX_HEADS} heads, one input each")
    in_h, in_w = a.image
    for name, head in zip(node.inputs, a.heads):
        t = g.tensors[name]
        want = (1, in_h // head.stride, in_w // head.stride, head.channels)
        if t.shape != want or t.dtype != "int8" or t.quant is None:
            raise UnsupportedError(f"{where}: head {name!r} is {t.dtype} {t.shape}, expected int8 {want}")
    if a.max_boxes < 1 or a.max_candidates < a.max_boxes:
        raise UnsupportedError(f"{where}: max_boxes must be >= 1 and max_candidates >= max_boxes")
    return a.max_boxes, 6


def boxes_in_pixels(rows: np.ndarray, model_hw: tuple[int, int], image_wh: tuple[int, int]) -> list[dict]:
    """The output rows as {x0, y0, x1, y1, score, label} in the original image's pixels."""
    mh, mw = model_hw
    iw, ih = image_wh
    sx, sy = iw / mw / 256.0, ih / mh / 256.0
    boxes = []
    for x0, y0, x1, y1, score, label in np.asarray(rows, np.int64).tolist():
        if label < 0:
            continue
        boxes.append({
            "x0": round(x0 * sx, 2), "y0": round(y0 * sy, 2), "x1": round(x1 * sx, 2), "y1": round(y1 * sy, 2),
            "score": round(score / float(1 << 30), 4), "label": int(label),
        })  # fmt: skip
    return boxes


def attach(
    g: Graph,
    heads: list[YoloHead],
    score_threshold: float = 0.3,
    nms_threshold: float = 0.45,
    max_boxes: int = 20,
    max_candidates: int = 100,
    image_hw: tuple[int, int] | None = None,
) -> Graph:
    """g (int8 outputs, boundary DEQUANTIZE folded away) with the detection step after its
    heads: its one output is then the int32 (max_boxes, 6) box table. `image_hw`: the
    input image's size the strides refer to (default: g's NHWC input 0)."""
    from mcuforge.ir.graph import Tensor
    from mcuforge.ir.ops import DetectAttrs, Op

    if not 0.0 < score_threshold <= 1.0 or not 0.0 <= nms_threshold <= 1.0:
        raise InputError("the score threshold must be in (0, 1] and the NMS threshold in [0, 1]")
    if max_boxes < 1 or max_candidates < max_boxes:
        raise InputError("max boxes must be at least 1 and max candidates at least max boxes")
    if image_hw is None:
        x = g.tensors[g.inputs[0]]
        if len(x.shape) != 4:
            raise InputError(f"detection needs an NHWC image input; the model's input has shape {x.shape}")
        image_hw = (x.shape[1], x.shape[2])
    for n in g.outputs:
        t = g.tensors[n]
        if t.dtype != "int8" or t.quant is None:
            raise UnsupportedError(f"detection decodes int8 heads; output {n!r} is {t.dtype}")
    pairs = match_heads(list(g.outputs), g, heads, image_hw)
    h = g.copy()
    out = h.add_tensor(Tensor(h.unique_name("detections"), (max_boxes, 6), "int32", None))
    attrs = DetectAttrs(tuple(hd for _, hd in pairs), tuple(image_hw), float(score_threshold),
                        float(nms_threshold), int(max_boxes), int(max_candidates))  # fmt: skip
    h.add_node(Node(Op.MF_YOLO_DETECT, [n for n, _ in pairs], [out.name], attrs, name=out.name))
    h.outputs = [out.name]
    return h
