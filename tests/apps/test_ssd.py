"""TFLite_Detection_PostProcess (apps/ssd.py, Op.DETECTION_POSTPROCESS): read and written as
TF-Lite Micro's custom operator, the reference equal to TF-Lite Micro output for output and
bit for bit (selection, classes, order and the float boxes and scores; its std::exp and our
exp table, both glibc's exp here, give the same doubles, so no ulp is lost anywhere), the C
kernel equal to the reference bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from ssd_graphs import anchor_grid, random_heads, ssd_graph
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.apps import ssd
from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir.ops import DetectionPostprocessAttrs, Op
from mcuforge.oracle.tflm import run_tflm
from mcuforge.ref.interpreter import run

F = lambda v: float(np.float32(v))  # noqa: E731 - options hold float32 values, as TF-Lite Micro reads them


def attrs(**kw) -> DetectionPostprocessAttrs:
    base = dict(max_detections=10, nms_score_threshold=F(0.3), nms_iou_threshold=F(0.5), num_classes=3,
                detections_per_class=5, y_scale=10.0, x_scale=10.0, h_scale=5.0, w_scale=5.0)  # fmt: skip
    base.update({k: F(v) if isinstance(v, float) else v for k, v in kw.items()})
    return DetectionPostprocessAttrs(**base)


def bits_equal(ours: list[np.ndarray], theirs: list[np.ndarray], rows: int | None = None) -> None:
    """Every output identical to the bit (the first `rows` rows of the per-row outputs)."""
    assert len(ours) == len(theirs) == 4
    for k, (a, b) in enumerate(zip(ours, theirs)):
        b = np.asarray(b).reshape(a.shape)
        if rows is not None and k < 3:
            a, b = a[:, :rows], b[:, :rows]
        assert a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes(), (k, a, b)


SMALL = anchor_grid([(6, 6), (3, 3)], 3)  # 135 anchors
IMAGE = anchor_grid([(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)], 3)  # 1,500 anchors, SSD-300-like


def test_read_write_round_trip():
    """The writer writes the custom op (custom code, flexbuffer options) after DEQUANTIZE
    nodes; the reader folds them back: the node takes the int8 tensors."""
    a = attrs(use_regular_nms=True, max_classes_per_detection=2, detections_per_class=7, y_scale=9.5, h_scale=4.25)
    g = ssd_graph(SMALL, 4, a, int8_anchors=(1 / 128, -128))
    data = write(g)
    m = fb.ModelT.InitFromPackedBuf(data, 0)
    codes = [(c.builtinCode, c.customCode) for c in m.operatorCodes]
    assert (fb.BuiltinOperator.CUSTOM, b"TFLite_Detection_PostProcess") in codes
    kinds = [codes[op.opcodeIndex][0] for op in m.subgraphs[0].operators]
    assert kinds == [fb.BuiltinOperator.DEQUANTIZE] * 3 + [fb.BuiltinOperator.CUSTOM]
    assert ssd.attrs_from_flexbuffer(m.subgraphs[0].operators[3].customOptions, "node") == a
    h = read(data)
    assert [n.op for n in h.nodes] == [Op.DETECTION_POSTPROCESS] and h.nodes[0].attrs == a
    assert h.nodes[0].inputs == ["boxes", "scores", "anchors"] and h.tensors["anchors"].dtype == "int8"
    assert [h.tensors[o].dtype for o in h.outputs] == ["float32"] * 4


def test_absent_options_read_as_tflm_reads_them():
    """detections_per_class defaults to 100 and use_regular_nms to false; other keys to 0."""
    got = ssd.attrs_from_flexbuffer(ssd.flexbuffer_from_attrs(attrs()), "node")
    assert got == attrs()
    from flatbuffers import flexbuffers

    fbb = flexbuffers.Builder()
    with fbb.Map():
        fbb.Int("max_detections", 3)
    a = ssd.attrs_from_flexbuffer(np.frombuffer(bytes(fbb.Finish()), np.uint8), "node")
    assert (a.max_detections, a.detections_per_class, a.use_regular_nms, a.num_classes) == (3, 100, False, 0)


CASES = {
    # name: (anchors, classes with background, attrs, graph options, score levels)
    "fast": (SMALL, 4, attrs(), {}, None),
    "fast_ties": (SMALL, 4, attrs(), {}, 3),
    "fast_no_background": (SMALL, 3, attrs(nms_score_threshold=0.1), {}, 5),
    "regular": (SMALL, 4, attrs(use_regular_nms=True), {}, None),
    "regular_ties": (SMALL, 4, attrs(use_regular_nms=True, detections_per_class=8), {}, 3),
    "regular_many_classes": (SMALL, 7, attrs(use_regular_nms=True, num_classes=6, max_detections=12), {}, 4),
    "int8_anchors_wide_encodings": (SMALL, 4, attrs(nms_iou_threshold=0.3),
                                    dict(int8_anchors=(1 / 128, -128), box_width=6, box_q=(0.2, -5)), 6),
    "regular_all_candidates": (SMALL, 2, attrs(use_regular_nms=True, num_classes=1, nms_score_threshold=0.0,
                                               nms_iou_threshold=1.0, max_detections=20, detections_per_class=30),
                               {}, 2),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tflm(case):
    anchors, classes, a, opts, levels = CASES[case]
    g = ssd_graph(anchors, classes, a, **opts)
    rng = np.random.default_rng(sorted(CASES).index(case))
    for _ in range(3):
        xs = random_heads(g, rng, levels)
        ours = run(g, xs)
        bits_equal(ours, run_tflm(write(g), xs))
        assert ours[3][0] == a.max_detections  # more candidates than detections: the cut is tested too


def test_ties_follow_box_and_class_order():
    """Every score equal, boxes far apart: TF-Lite Micro keeps box order (its stable sort), and
    with several best classes per box (LiteRT's layout) class order."""
    anchors = np.array([[0.1 + 0.2 * i, 0.5, 0.05, 0.05] for i in range(5)], np.float32)
    for regular in (False, True):
        a = attrs(use_regular_nms=regular, max_detections=3, num_classes=2)
        g = ssd_graph(anchors, 3, a)
        xs = [np.zeros((1, 5, 4), np.int8), np.full((1, 5, 3), 100, np.int8)]
        ours = run(g, xs)
        bits_equal(ours, run_tflm(write(g), xs))
        boxes = ours[0][0, :, 0]
        # fast: boxes 0, 1, 2 of class 0; regular: the top 3 of (class 0: 0..4, class 1: 0..4) by score,
        # ties keeping class 0's first.
        assert np.all(np.diff(boxes) > 0) and ours[1][0].tolist() == [0, 0, 0]


@pytest.mark.parametrize("regular", [False, True])
def test_image_sized_grid_matches_tflm(regular):
    a = attrs(use_regular_nms=regular, max_detections=20, detections_per_class=10, nms_score_threshold=1e-8,
              nms_iou_threshold=0.6)  # fmt: skip
    g = ssd_graph(IMAGE, 4, a, box_q=(0.03, 0))
    xs = random_heads(g, np.random.default_rng(7), 16)
    ours = run(g, xs)
    bits_equal(ours, run_tflm(write(g), xs))
    assert ours[3][0] == 20


def test_several_classes_per_box_follow_litert():
    """max_classes_per_detection > 1 (fast NMS): LiteRT writes box i's k classes at rows
    k*i.. and counts boxes; TF-Lite Micro's row arithmetic skips rows and counts rows.
    The scores of a box are distinct here: LiteRT's partial sort of a box's classes has no
    tie-break (its order on equal scores is libstdc++'s), TF-Lite Micro's comparator, which
    we follow, puts equal scores in class order (test_ties_follow_box_and_class_order)."""
    from oracle_util import run_litert

    from mcuforge.oracle.tflm import run_tflm_isolated

    a = attrs(max_detections=4, max_classes_per_detection=2, num_classes=3)
    g = ssd_graph(SMALL, 4, a)
    rng = np.random.default_rng(3)
    xs = random_heads(g, rng)
    xs[1] = np.stack([rng.choice(np.arange(-128, 128), 4, replace=False) for _ in range(len(SMALL))])[None]
    xs[1] = xs[1].astype(np.int8)
    ours = run(g, xs)
    bits_equal(ours, run_litert(g, xs))
    assert ours[3][0] == 4 and np.all(ours[1][0, 0::2] != ours[1][0, 1::2])
    tflm = run_tflm_isolated(write(g), xs)
    assert not tflm.ok or tflm.outputs[3][0] != ours[3][0]


@pytest.mark.parametrize(
    "kw, opts, words",
    [
        (dict(nms_iou_threshold=0.0), {}, "nms_iou_threshold"),
        (dict(num_classes=1), {}, "num_classes"),
        (dict(max_detections=0), {}, "at least 1"),
        (dict(h_scale=0.0), {}, "must not be zero"),
        (dict(y_scale=float("inf")), {}, "finite"),
        ({}, dict(box_q=None), "int8"),
    ],
)
def test_unsupported_settings_are_one_sentence(kw, opts, words):
    from mcuforge.ir.verify import verify

    box_q = opts.pop("box_q", (0.05, 3))
    g = ssd_graph(SMALL, 4, attrs(**kw), box_q=box_q if box_q else (None, 0))
    if box_q is None:
        g.tensors["boxes"] = g.tensors["boxes"].__class__("boxes", g.tensors["boxes"].shape, "float32", None)
    with pytest.raises(UnsupportedError, match=words) as e:
        verify(g)
        from mcuforge.ir.shapes import infer_shapes

        infer_shapes(g, g.nodes[0], "node 0")
    assert "\n" not in str(e.value)


def test_empty_anchor_is_refused():
    anchors = SMALL.copy()
    anchors[5, 2] = 0.0
    with pytest.raises(UnsupportedError, match="positive height"):
        read(write(ssd_graph(anchors, 4, attrs())))


@pytest.mark.parametrize("raw", [b"\x01\x02\x03", b"\x05\x04\x01", b"max_detections"])
def test_damaged_custom_options_are_a_format_error(raw):
    from mcuforge.errors import ModelFormatError

    g = ssd_graph(SMALL, 4, attrs())
    m = fb.ModelT.InitFromPackedBuf(write(g), 0)
    m.subgraphs[0].operators[-1].customOptions = np.frombuffer(raw, np.uint8)
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(ModelFormatError, match="custom options"):
        read(bytes(b.Output()))


def test_empty_decoded_box_runs_where_tflm_fails():
    """A box whose half height rounds to 0 (exp(-128) here) is empty: TF-Lite Micro's
    ValidateBoxes then fails the whole invoke; we go on, the empty box overlapping nothing
    (IoU 0), so it can still be selected. The C kernel computes the same."""
    from mcuforge.oracle.tflm import run_tflm_isolated
    from mcuforge.targets.host import run_c

    a = attrs(h_scale=1.0, max_detections=4)
    g = ssd_graph(SMALL[:8], 4, a, box_q=(1.0, 0))
    boxes = np.zeros((1, 8, 4), np.int8)
    boxes[0, 2, 2] = -128  # box 2: half height 0.5 * exp(-128) * 0.3 -> ymin == ymax in float
    scores = np.full((1, 8, 4), -128, np.int8)
    scores[0, 2, 1] = 127
    xs = [boxes, scores]
    assert not run_tflm_isolated(write(g), xs).ok
    ours = run(g, xs)
    assert ours[3][0] == 1 and ours[0][0, 0, 0] == ours[0][0, 0, 2]
    bits_equal(run_c(g, xs), ours)


def test_dequantize_that_is_also_an_output_stays():
    """The raw box encodings dequantised as a graph output of their own: that DEQUANTIZE stays,
    the one the writer puts in front of the custom op is folded back."""
    from mcuforge.ir.graph import Node, Tensor
    from mcuforge.ir.ops import NoAttrs

    g = ssd_graph(SMALL, 4, attrs())
    f = g.add_tensor(Tensor("raw_boxes", g.tensors["boxes"].shape, "float32", None))
    g.nodes.insert(0, Node(Op.DEQUANTIZE, ["boxes"], [f.name], NoAttrs(), name=f.name))
    g.outputs.append(f.name)
    h = read(write(g))
    assert [n.op for n in h.nodes] == [Op.DEQUANTIZE, Op.DETECTION_POSTPROCESS]
    assert h.nodes[1].inputs[0] == "boxes" and h.outputs[-1] == "raw_boxes"
    xs = random_heads(g, np.random.default_rng(1))
    ours = run(h, xs)
    theirs = run_tflm(write(h), xs)
    bits_equal(ours[:4], theirs[:4])
    assert ours[4].tobytes() == theirs[4].tobytes()


@pytest.mark.parametrize("box_q, h_scale", [((0.05, 3), 5.0), ((0.4, -128), 2.0)])  # exp up to e^51
def test_every_code_decodes_as_tflm(box_q, h_scale):
    """256 boxes, box i with codes (i, 7i, i, 255-i) and the i-th score, nothing suppressed
    (IoU > 1 never holds): every decoded box of every int8 code, and so every entry of the
    exp tables, equals TF-Lite Micro's (its std::exp) to the bit, large exponents included;
    no ulp differs, so the test asserts identity, not a tolerance."""
    codes = np.arange(256)
    anchors = np.stack([codes / 256, (codes * 7 % 256) / 256, 0.05 + codes / 512, 0.3 - codes / 1024], 1)
    a = attrs(max_detections=256, num_classes=1, nms_score_threshold=0.0, nms_iou_threshold=1.0, h_scale=h_scale)
    g = ssd_graph(anchors.astype(np.float32), 2, a, box_q=box_q)
    boxes = np.stack([codes, codes * 7 % 256, codes, 255 - codes], 1) - 128
    scores = np.stack([np.zeros(256), codes - 128], 1)
    xs = [boxes[None].astype(np.int8), scores[None].astype(np.int8)]
    ours = run(g, xs)
    assert ours[3][0] == 256
    bits_equal(ours, run_tflm(write(g), xs))
    from mcuforge.targets.host import run_c

    bits_equal(run_c(g, xs), ours)  # the C kernel's tables (doubles as bit patterns) likewise
