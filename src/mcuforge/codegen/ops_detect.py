"""Emitter of mcuforge's detection step (kernels/*/mf_detect.c): per head its grid,
anchors and the SIG / EXP tables of apps/yolo.py, made here once from the head's
quantisation; the candidate list lives in the node's scratch."""

from __future__ import annotations

import numpy as np

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


EMITTERS = {Op.MF_YOLO_DETECT: emit_yolo_detect}
