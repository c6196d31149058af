"""Emitter of mcuforge's detection step (kernels/*/mf_detect.c): per head its grid,
anchors and the SIG / EXP tables of apps/yolo.py, made here once from the head's
quantisation; the candidate list lives in the node's scratch. TFLite_Detection_PostProcess
(apps/ssd.py) likewise, with its tables made here from the heads' quantisation."""

from __future__ import annotations

import numpy as np

from mcuforge.apps import ssd
from mcuforge.apps.yolo import lookup_tables, thresholds
from mcuforge.codegen.call import Call, EmitContext
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op

SOURCES = ("mf_detect",)
CANDIDATE_BYTES = 7 * 4  # one row of ROW int32 in mf_detect.c


def emit_yolo_detect(g: Graph, node: Node, ctx: EmitContext) -> Call:
    a = node.attrs
    heads = []
    for i, (name, head) in enumerate(zip(node.inputs, a.heads)):
        t = g.tensors[name]
        sig, exp = lookup_tables(t.quant)
        anchors = np.asarray(head.anchors, np.int32).reshape(-1)
        fields = (
            t.shape[1], t.shape[2], len(head.anchors), head.num_classes, head.stride,
            ctx.const_array(f"{node.name}_anchors{i}", anchors),
            ctx.const_array(f"{node.name}_sig{i}", sig),
            ctx.const_array(f"{node.name}_exp{i}", exp),
        )  # fmt: skip
        heads.append("{" + ", ".join(str(f) for f in fields) + "}")
    score_q30, nms_q16 = thresholds(a.score_threshold, a.nms_threshold)
    params = (
        ("num_heads", str(len(heads))),
        ("heads", "(const mf_yolo_head[]){" + ", ".join(heads) + "}"),
        ("image_h", str(a.image[0])),
        ("image_w", str(a.image[1])),
        ("score_q30", str(score_q30)),
        ("nms_q16", str(nms_q16)),
        ("max_boxes", str(a.max_boxes)),
        ("max_candidates", str(a.max_candidates)),
    )
    inputs = "(const int8_t *const[]){" + ", ".join(ctx.ptr(n) for n in node.inputs) + "}"
    return Call(
        "mf_yolo_detect", "mf_yolo_params", params, (inputs, ctx.ptr(node.outputs[0]), ctx.scratch), SOURCES,
        scratch_bytes=a.max_candidates * CANDIDATE_BYTES,
    )  # fmt: skip


def _f32(v: float) -> str:
    return f"{float(np.float32(v))!r}f"


def emit_detection_postprocess(g: Graph, node: Node, ctx: EmitContext) -> Call:
    """TFLite_Detection_PostProcess (apps/ssd.py): the anchors as floats, the exp tables as
    the bit patterns of their doubles (weights.c holds integer and float arrays only), the
    score and score-rank tables per int8 code."""
    a = node.attrs
    bq, sq = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]]
    n, stride = bq.shape[1], bq.shape[2]
    rank, kept = ssd.score_ranks(sq.quant, a.nms_score_threshold)
    arr = ctx.const_array
    params = (
        ("num_boxes", str(n)), ("box_stride", str(stride)),
        ("num_classes", str(a.num_classes)), ("score_stride", str(sq.shape[2])),
        ("label_offset", str(sq.shape[2] - a.num_classes)),
        ("max_detections", str(a.max_detections)), ("max_classes_per_detection", str(a.max_classes_per_detection)),
        # more detections per class than boxes select what N does (and the count stays an int32)
        ("detections_per_class", str(min(a.detections_per_class, n))),
        ("use_regular_nms", str(int(a.use_regular_nms))),
        ("box_scale", _f32(bq.quant.s)), ("box_zero_point", str(bq.quant.zp)),
        ("y_scale", _f32(a.y_scale)), ("x_scale", _f32(a.x_scale)),
        ("exp_h", arr(f"{node.name}_exp_h", ssd.exp_table(bq.quant, a.h_scale).view(np.int64))),
        ("exp_w", arr(f"{node.name}_exp_w", ssd.exp_table(bq.quant, a.w_scale).view(np.int64))),
        ("anchors", arr(f"{node.name}_anchors", ssd.anchor_values(g, node).reshape(-1))),
        ("score", arr(f"{node.name}_score", ssd.int8_values(sq.quant))),
        ("rank", arr(f"{node.name}_rank", rank)),
        ("ranks_kept", str(kept)),
        ("iou_threshold", _f32(a.nms_iou_threshold)),
    )  # fmt: skip
    args = (ctx.ptr(node.inputs[0]), ctx.ptr(node.inputs[1]), *(ctx.ptr(o) for o in node.outputs), ctx.scratch)
    scratch = 16 * n + 4 * n + 4 * 257 + 8 * a.max_detections + (n + 3) // 4 * 4  # MF_SSD_SCRATCH_BYTES
    return Call("mf_ssd_detect", "mf_ssd_params", params, args, SOURCES, scratch_bytes=scratch)


EMITTERS = {Op.MF_YOLO_DETECT: emit_yolo_detect, Op.DETECTION_POSTPROCESS: emit_detection_postprocess}
