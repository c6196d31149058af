"""A whole SSD-style int8 model ending in TFLite_Detection_PostProcess, as the converter lays
it out (float input -> QUANTIZE -> int8 heads -> LOGISTIC scores -> DEQUANTIZE -> the custom
op): the reference equals TF-Lite Micro on the written file, and the compiled C (boundary
QUANTIZE folded into the int8 API, float box table out) equals the reference on the host
and on Cortex-M4 and M7 under QEMU (the M4's FPU is single precision: the decode's doubles
run in libgcc's soft float, IEEE-exact, and still give TF-Lite Micro's boxes)."""

from __future__ import annotations

import numpy as np
import pytest
from ssd_graphs import anchor_grid
from test_ssd import attrs, bits_equal

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.ops import Op
from mcuforge.oracle.tflm import run_tflm
from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import run_c

ANCHORS = anchor_grid([(8, 8), (4, 4), (2, 2)], 3)  # 252 anchors
A = attrs(use_regular_nms=True, max_detections=8, detections_per_class=4, nms_score_threshold=0.4)


def model() -> bytes:
    n = len(ANCHORS)
    b = GraphBuilder("ssd_model")
    xb = b.input((1, n, 4), "float32", name="box_in")
    xs = b.input((1, n, 4), "float32", name="score_in")
    qb = b.op(Op.QUANTIZE, [xb], (1, n, 4), "int8", quant(0.04, -2), name="box_q")
    qs = b.op(Op.QUANTIZE, [xs], (1, n, 4), "int8", quant(0.05, 0), name="score_q")
    sig = b.op(Op.LOGISTIC, [qs], (1, n, 4), "int8", quant(1 / 256, -128), name="scores")
    anc = b.const(ANCHORS, name="anchors")
    rows = A.max_detections
    outs = b.op_multi(Op.DETECTION_POSTPROCESS, [qb, sig, anc], [(1, rows, 4), (1, rows), (1, rows), (1,)],
                      "float32", None, A, name="detections")  # fmt: skip
    b.output(*outs)
    return write(b.graph)


def inputs(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(ANCHORS)
    return [rng.uniform(-5, 5, (1, n, 4)).astype(np.float32), rng.uniform(-6, 6, (1, n, 4)).astype(np.float32)]


def test_reference_and_c_equal_tflm():
    data = model()
    g = read(data)
    assert [n.op for n in g.nodes] == [Op.QUANTIZE, Op.QUANTIZE, Op.LOGISTIC, Op.DETECTION_POSTPROCESS]
    compiled = compile_graph(g)
    for seed in range(2):
        xs = inputs(seed)
        ours = run(g, xs)
        bits_equal(ours, run_tflm(data, xs))
        assert ours[3][0] == A.max_detections
        c = run_c(compiled.graph, to_model_inputs(compiled.io, xs), project=compiled.project)
        bits_equal(from_model_outputs(compiled.io, c), ours)


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7"])
def test_c_on_cortex_m_equals_reference(board):
    from mcuforge.targets.qemu import backend_board, missing_tools, run_qemu

    if missing_tools():
        pytest.skip(f"QEMU backend unavailable: {missing_tools()}")
    g = read(model())
    compiled = compile_graph(g)
    xs = inputs(5)
    q = run_qemu(compiled.project, backend_board(board), to_model_inputs(compiled.io, xs))
    bits_equal(from_model_outputs(compiled.io, q), run(g, xs))
