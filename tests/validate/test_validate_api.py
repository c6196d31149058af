"""validate(): accuracy and agreement computed independently (the reference executor
image by image), classes matched by name, the JSON keys, float-I/O models, and each
user error as one sentence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from validate_fixtures import CLASSES, npz_test_split, ref_predictions, tiny_graph, write_model, write_npz

from mcuforge.errors import MCUForgeError
from mcuforge.frontend.tflite_write import save
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Tensor
from mcuforge.ir.ops import Op
from mcuforge.validate import validate

KEYS = {"model", "data", "split", "samples", "classes", "accuracy", "identical", "mismatches", "prediction_mismatches",
        "per_class", "confusion", "images_per_s", "seconds"}  # fmt: skip


def test_ref_and_c_agree_with_accuracy_by_hand(model, data):
    r = validate(model, data, backends=("ref", "c"), limit=10, progress=False)
    images, labels, names = npz_test_split(data, 10)
    preds = ref_predictions(model, images)
    assert len(set(preds.tolist())) > 1  # the check below means something
    want = float((preds == labels).mean())
    assert r.samples == 10 and r.classes == CLASSES == names
    assert r.accuracy == {"ref": want, "c": want}
    assert r.identical and r.mismatches == 0 and r.prediction_mismatches == 0
    conf = np.zeros((3, 3), int)
    np.add.at(conf, (labels, preds), 1)
    assert np.array_equal(np.array(r.confusion), conf)
    for c, name in enumerate(CLASSES):
        assert r.per_class["c"][name] == float((preds[labels == c] == c).mean())
    assert set(r.images_per_s) == {"ref", "c"} and all(v > 0 for v in r.images_per_s.values())


def test_tflm_equals_ref(model, data):
    r = validate(model, data, backends="ref,tflm", progress=False)
    assert r.identical and r.samples == 24 and r.accuracy["ref"] == r.accuracy["tflm"]


def test_classes_are_matched_by_name(tmp_path, data):
    """The same network with its outputs named in another order than the data's classes."""
    order = ("owl", "cat", "dog")
    m = write_model(tmp_path / "renamed.tflite", tiny_graph(), order)
    r = validate(m, data, backends=("ref",), progress=False)
    images, labels, names = npz_test_split(data)
    preds = ref_predictions(m, images)
    want = float(np.mean([order[p] == names[y] for p, y in zip(preds, labels)]))
    assert r.classes == order and r.accuracy["ref"] == want
    unmapped = float((preds == labels).mean())
    assert want != unmapped  # a validate that ignored the names would be caught
    truth = np.array([order.index(names[y]) for y in labels])
    assert np.array(r.confusion)[0].sum() == (truth == 0).sum()  # rows follow the model's order: owl first


def test_without_names_the_data_order_is_used(tmp_path):
    m = write_model(tmp_path / "plain.tflite", tiny_graph(), None)
    spec = f"npz:{write_npz(tmp_path / 'plain.npz', classes=None)}"
    r = validate(m, spec, limit=9, progress=False)
    images, labels, _ = npz_test_split(spec, 9)
    assert r.classes == ("0", "1", "2")
    assert r.accuracy["ref"] == float((ref_predictions(m, images) == labels).mean())
    m4 = write_model(tmp_path / "four.tflite", tiny_graph(classes=4), None)
    with pytest.raises(MCUForgeError, match="4 outputs but .* has 3 classes"):
        validate(m4, spec, progress=False)


def test_json_keys_and_top5(tmp_path):
    seven = tuple(f"c{i}" for i in range(7))
    m = write_model(tmp_path / "seven.tflite", tiny_graph(classes=7), seven)
    spec = f"npz:{write_npz(tmp_path / 'seven.npz', n_test=21, classes=seven)}"
    d = validate(m, spec, backends=("ref", "c"), progress=False).as_dict()
    assert KEYS | {"top5"} <= set(d)
    assert json.loads(json.dumps(d)) == d
    assert set(d["top5"]) == {"ref", "c"} and d["top5"]["ref"] >= d["accuracy"]["ref"]
    assert len(d["confusion"]) == 7 and sum(map(sum, d["confusion"])) == 21
    assert (
        "top5"
        not in validate(
            write_model(tmp_path / "t.tflite", tiny_graph(), CLASSES),
            f"npz:{write_npz(tmp_path / 't.npz')}",
            progress=False,
        ).as_dict()
    )


def test_split_seed_comes_from_the_model(tmp_path, data):
    from mcuforge.data import load_dataset

    m = write_model(tmp_path / "seeded.tflite", tiny_graph(), CLASSES, split_seed=5)
    r = validate(m, data, split="val", progress=False)
    val = load_dataset(data, 12, 1, split_seed=5, splits=("val",)).val
    assert r.split_seed == 5 and r.samples == len(val)
    assert r.accuracy["ref"] == float((ref_predictions(m, val.images) == val.labels).mean())
    assert validate(m, data, split="val", split_seed=3, progress=False).split_seed == 3


def test_input_range(model, data):
    from mcuforge.data.convention import quantize_images
    from mcuforge.frontend.tflite_read import load
    from mcuforge.ref.interpreter import run

    r = validate(model, data, input_range=(-1.0, 1.0), limit=8, progress=False)
    images, labels, _ = npz_test_split(data, 8)
    g = load(model)
    t = g.tensors[g.inputs[0]]
    x = quantize_images(images, t.quant.s, t.quant.zp, (-1.0, 1.0))
    preds = np.array([np.argmax(run(g, [x[i : i + 1]])[0]) for i in range(8)])
    assert r.accuracy["ref"] == float((preds == labels).mean())


def float_io_model(path):
    """The tiny network with a float32 input (QUANTIZE) and a float32 output (DEQUANTIZE)."""
    g = tiny_graph()
    q_in, q_out = g.inputs[0], g.outputs[0]
    g.add_tensor(Tensor("image_f", g.tensors[q_in].shape, "float32"))
    g.add_tensor(Tensor("scores_f", g.tensors[q_out].shape, "float32"))
    g.nodes.insert(0, type(g.nodes[0])(Op.QUANTIZE, ["image_f"], [q_in], O.NoAttrs(), "quantize"))
    g.nodes.append(type(g.nodes[0])(Op.DEQUANTIZE, [q_out], ["scores_f"], O.NoAttrs(), "dequantize"))
    g.inputs, g.outputs = ["image_f"], ["scores_f"]
    save(g, path)
    return path


def test_float_io_model(tmp_path, model, data):
    m = float_io_model(tmp_path / "float.tflite")
    r = validate(m, data, backends=("ref", "c"), progress=False)
    assert r.identical
    assert r.accuracy["c"] == validate(model, data, progress=False).accuracy["ref"]


def _odd_models(tmp_path):
    b = GraphBuilder("wide")
    x = b.input((1, 12, 10, 1), "int8", 0.05, 0)
    b.output(b.op(Op.RESHAPE, [x, b.const(np.array([1, 120], np.int32))], (1, 120), q=quant(0.05, 0)))
    save(b.graph, tmp_path / "wide.tflite")
    b = GraphBuilder("map")
    x = b.input((1, 12, 12, 1), "int8", 0.05, 0)
    w = b.const(np.ones((3, 1, 1, 1), np.int8), q=quant([0.01] * 3, 0))
    b.output(b.op(Op.CONV_2D, [x, w, None], (1, 12, 12, 3), q=quant(0.1, 0), attrs=O.ConvAttrs()))
    save(b.graph, tmp_path / "map.tflite")
    g = tiny_graph()
    g.outputs.append(g.nodes[0].outputs[0])
    save(g, tmp_path / "two.tflite")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backends": "ref,gpu"}, r"unknown backend 'gpu'; choose from ref, c, tflm, qemu-m7, qemu-m4"),
        ({"limit": 0}, r"--limit must be at least 1"),
        ({"split": "train"}, r"unknown split 'train'"),
        ({"model": "missing.tflite"}, r"model file .*missing.tflite does not exist"),
        ({"model": "wide.tflite"}, r"takes 12x10 images; validate needs square images"),
        ({"model": "map.tflite"}, r"is not a class vector"),
        (
            {"model": "two.tflite"},
            r"has 1 inputs and 2 outputs; validate supports models with one image input and one class output",
        ),
        ({"model": "other.tflite"}, r"differ: 'bird' only in the model; 'owl' only in npz:"),
        (
            {"backends": "qemu-m4", "board": "STM32F746"},
            r"STM32F746 has a cortex-m7, not the cortex-m4 of backend qemu-m4; use --backend qemu-m7",
        ),
        ({"board": "NoSuchBoard"}, r"unknown board 'NoSuchBoard'"),
        ({"data": "npz:nowhere.npz"}, r"nowhere.npz does not exist"),
    ],
)
def test_errors_are_one_sentence(tmp_path, model, data, kwargs, message):
    _odd_models(tmp_path)
    write_model(tmp_path / "other.tflite", tiny_graph(), ("cat", "dog", "bird"))
    args = {"model": model, "data": data, **kwargs}
    if not str(args["model"]).startswith("/"):
        args["model"] = tmp_path / args["model"]
    with pytest.raises(MCUForgeError, match=message) as e:
        validate(args.pop("model"), args.pop("data"), progress=False, **args)
    assert "\n" not in str(e.value) and e.value.exit_code == 2


def test_missing_qemu_tools_name_the_package(monkeypatch, model, data):
    from mcuforge.targets import qemu

    monkeypatch.setattr(
        qemu, "missing_tools", lambda: "qemu-system-arm is not installed (Debian package qemu-system-arm)"
    )
    with pytest.raises(
        MCUForgeError, match=r"backend qemu-m7 needs the Arm toolchain and QEMU: .*Debian package qemu-system-arm"
    ) as e:
        validate(model, data, backends=("ref", "qemu-m7"), progress=False)
    assert e.value.exit_code == 2
