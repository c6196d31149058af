"""Every pass keeps every output bit, on real models and on small graphs built here."""

import numpy as np
import pytest

from mcuforge.frontend.tflite_read import load
from mcuforge.ir import Op, verify
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.passes import PIPELINE, fold_io, fold_pad, fuse_activation, inplace_depthwise
from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
from mcuforge.ref.interpreter import run
from real_models import SUPPORTED, make_input


def apply_all(g):
    for p in PIPELINE:
        g = verify(p(g))
    return g


def run_folded(folded, xs):
    """Boundary QUANTIZE/DEQUANTIZE applied outside the folded graph, with the ref kernels."""
    return from_model_outputs(folded, run(folded.graph, to_model_inputs(folded, xs)))


@pytest.mark.parametrize("model", list(SUPPORTED))
def test_pipeline_keeps_outputs(models_dir, model):
    g = load(models_dir / f"{model}.tflite")
    xs = make_input(models_dir, g, SUPPORTED[model][0])
    before = run(g, xs)
    h = apply_all(g)
    after = run(h, xs)
    for a, b in zip(before, after):
        assert a.tobytes() == b.tobytes()


def test_fold_pad_real_model(models_dir):
    g = load(models_dir / "tinyengine_mcunet_vww1.tflite")
    assert g.op_counts()["PAD"] == 4
    h = verify(fold_pad(g))
    assert "PAD" not in h.op_counts()


def pad_conv_graph(fill_zp: bool, depthwise: bool):
    rng = np.random.default_rng(5)
    b = GraphBuilder()
    x = b.input((1, 7, 6, 4), "int8", 0.05, -3)
    pads = b.const(np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))
    pq = quant(0.05, -3 if fill_zp else 4)
    p = b.op(Op.PAD, [x, pads], (1, 10, 7, 4), q=pq)
    if depthwise:
        w = b.const(rng.integers(-127, 128, (1, 3, 3, 4)).astype(np.int8), q=quant([0.01, 0.02, 0.03, 0.01], 0, axis=3))
        attrs, out_c, op = O.DepthwiseAttrs(stride=(2, 1), padding=O.Padding.SAME), 4, Op.DEPTHWISE_CONV_2D
    else:
        w = b.const(rng.integers(-127, 128, (5, 3, 3, 4)).astype(np.int8), q=quant(0.01, 0))
        attrs, out_c, op = O.ConvAttrs(stride=(2, 1), padding=O.Padding.SAME), 5, Op.CONV_2D
    y = b.op(op, [p, w, None], (1, 5, 7, out_c), q=quant(0.1, 2), attrs=attrs)
    b.output(y)
    return verify(b.graph)


@pytest.mark.parametrize("depthwise", [False, True])
def test_fold_pad_small(depthwise):
    g = pad_conv_graph(True, depthwise)
    h = verify(fold_pad(g))
    assert [n.op for n in h.nodes] == [Op.DEPTHWISE_CONV_2D if depthwise else Op.CONV_2D]
    assert h.nodes[0].attrs.padding == (1 + 0, 2 + 1, 0 + 1, 1 + 1)
    x = np.random.default_rng(1).integers(-128, 128, (1, 7, 6, 4)).astype(np.int8)
    assert run(g, [x])[0].tobytes() == run(h, [x])[0].tobytes()


def test_fold_pad_refuses_other_fill():
    g = pad_conv_graph(False, False)
    assert [n.op for n in fold_pad(g).nodes] == [Op.PAD, Op.CONV_2D]


@pytest.mark.parametrize("first,second", [(O.Act.NONE, Op.RELU), (O.Act.NONE, Op.RELU6), (O.Act.RELU, Op.RELU6)])
def test_fuse_activation(first, second):
    rng = np.random.default_rng(2)
    b = GraphBuilder()
    x = b.input((1, 5, 5, 3), "int8", 0.05, -3)
    w = b.const(rng.integers(-127, 128, (4, 1, 1, 3)).astype(np.int8), q=quant(0.02, 0))
    c = b.op(Op.CONV_2D, [x, w, None], (1, 5, 5, 4), q=quant(0.03, -20), attrs=O.ConvAttrs(activation=first))
    y = b.op(second, [c], (1, 5, 5, 4), q=quant(0.03, -20))
    b.output(y)
    g = verify(b.graph)
    h = verify(fuse_activation(g))
    assert len(h.nodes) == 1 and h.outputs == g.outputs
    xs = [rng.integers(-128, 128, (1, 5, 5, 3)).astype(np.int8)]
    assert run(g, xs)[0].tobytes() == run(h, xs)[0].tobytes()


def test_inplace_marks_only_safe_depthwise(models_dir):
    g = inplace_depthwise(load(models_dir / "mlperf_vww_mbv1_96_int8.tflite"))
    dws = [n for n in g.nodes if n.op == Op.DEPTHWISE_CONV_2D]
    assert dws and all(n.inplace for n in dws)
    assert not any(n.inplace for n in g.nodes if n.op != Op.DEPTHWISE_CONV_2D)


@pytest.mark.parametrize("model", ["tinyengine_mcunet_vww1", "mlperf_ad_toycar_quant_fullint_micro", "tinyengine_person_detection_yolo"])
def test_fold_io(models_dir, model):
    g = load(models_dir / f"{model}.tflite")
    folded = fold_io(g)
    h = verify(folded.graph)
    assert all(h.tensors[n].dtype == "int8" for n in h.inputs + h.outputs)
    assert "QUANTIZE" not in h.op_counts() and "DEQUANTIZE" not in h.op_counts()
    xs = make_input(models_dir, g, None)
    for a, b in zip(run(g, xs), run_folded(folded, xs)):
        assert a.tobytes() == b.tobytes()
