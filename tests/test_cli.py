"""The command line: outputs, JSON keys, exit codes and one-sentence errors."""

import json

import numpy as np
import pytest

from mcuforge import cli
from toy_cnn import build_demo_graph
from mcuforge.frontend.tflite_write import save
from mcuforge.ir import Op
from mcuforge.ref import interpreter


@pytest.fixture
def demo(tmp_path):
    model = tmp_path / "demo.tflite"
    save(build_demo_graph(), model)
    x = np.random.default_rng(3).integers(-128, 128, (1, 32, 32, 3)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    return model, tmp_path / "x.npy"


def run_cli(args, capsys):
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_inspect_json(demo, capsys):
    rc, out, _ = run_cli(["inspect", demo[0], "--json"], capsys)
    assert rc == 0
    info = json.loads(out)
    for key in ("inputs", "outputs", "nodes", "macs", "weight_bytes", "ops"):
        assert key in info
    assert info["ops"]["CONV_2D"] == 2
    assert info["inputs"][0]["shape"] == [1, 32, 32, 3]
    # conv 3x3 s2 3->16 at 16x16, depthwise 3x3 at 16x16, pointwise 16->16, FC 16->10
    assert info["macs"] == 16 * 16 * 16 * 27 + 16 * 16 * 16 * 9 + 16 * 16 * 16 * 16 + 160
    assert info["nodes"][0]["weight_bytes"] == 16 * 27 + 16 * 4


def test_inspect_table(demo, capsys):
    rc, out, _ = run_cli(["inspect", demo[0]], capsys)
    assert rc == 0 and "DEPTHWISE_CONV_2D" in out and "MACs" in out


def test_run_and_compare(demo, tmp_path, capsys):
    model, x = demo
    rc, out, _ = run_cli(["run", model, "--input", x, "--output", tmp_path / "y.npy", "--compare", "tflm"], capsys)
    assert rc == 0, out
    assert "identical" in out
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (1, 10) and y.dtype == np.int8


def test_run_npz_for_several_outputs(demo, tmp_path, capsys):
    model, x = demo
    rc, _, _ = run_cli(["run", model, "--input", x, "--output", tmp_path / "y.npz"], capsys)
    assert rc == 0
    assert list(np.load(tmp_path / "y.npz").keys()) == ["out0"]


def test_compare_names_first_differing_node(demo, tmp_path, capsys, monkeypatch):
    """A deliberately wrong kernel must be caught and located."""
    model, x = demo
    real = interpreter.KERNELS[Op.DEPTHWISE_CONV_2D]

    def off_by_one(g, node, inputs):
        (y,) = real(g, node, inputs)
        return [np.clip(y.astype(np.int16) + 1, -128, 127).astype(np.int8)]

    monkeypatch.setitem(interpreter.KERNELS, Op.DEPTHWISE_CONV_2D, off_by_one)
    rc, out, _ = run_cli(["run", model, "--input", x, "--output", tmp_path / "y.npy", "--compare", "tflm"], capsys)
    assert rc == 1
    assert "node 1 (DEPTHWISE_CONV_2D" in out


@pytest.mark.parametrize(
    "make_args,words",
    [
        (lambda m, x, t: ["inspect", t / "missing.tflite"], "does not exist"),
        (lambda m, x, t: ["run", m, "--input", t / "nope.npy", "--output", t / "y.npy"], "does not exist"),
        (lambda m, x, t: ["run", m, "--input", x, "--input", x, "--output", t / "y.npy"], "2 were given"),
        (lambda m, x, t: ["run", m, "--input", x, "--output", t / "y.txt"], ".npy or .npz"),
    ],
)
def test_bad_input_exit_2(demo, tmp_path, capsys, make_args, words):
    model, x = demo
    rc, out, err = run_cli(make_args(model, x, tmp_path), capsys)
    assert rc == 2
    assert words in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_wrong_shape_and_dtype(demo, tmp_path, capsys):
    model, _ = demo
    np.save(tmp_path / "bad_shape.npy", np.zeros((1, 31, 32, 3), np.int8))
    np.save(tmp_path / "bad_dtype.npy", np.zeros((1, 32, 32, 3), np.int32))
    np.save(tmp_path / "float.npy", np.zeros((1, 32, 32, 3), np.float32))
    rc, _, err = run_cli(["run", model, "--input", tmp_path / "bad_shape.npy", "--output", tmp_path / "y.npy"], capsys)
    assert rc == 2 and "shape (1, 32, 32, 3)" in err
    rc, _, err = run_cli(["run", model, "--input", tmp_path / "bad_dtype.npy", "--output", tmp_path / "y.npy"], capsys)
    assert rc == 2 and "int8" in err and "int32" in err
    rc, out, _ = run_cli(["run", model, "--input", tmp_path / "float.npy", "--output", tmp_path / "y.npy"], capsys)
    assert rc == 0 and "float values quantised with scale" in out  # float input to an int8 model: TFLite's QUANTIZE


def test_not_a_model(tmp_path, capsys):
    p = tmp_path / "junk.tflite"
    p.write_bytes(b"this is not a flatbuffer at all" * 10)
    rc, _, err = run_cli(["inspect", p], capsys)
    assert rc == 2 and "Traceback" not in err


def test_output_not_overwritten(demo, tmp_path, capsys):
    model, x = demo
    (tmp_path / "y.npy").write_bytes(b"precious")
    rc, _, err = run_cli(["run", model, "--input", x, "--output", tmp_path / "y.npy"], capsys)
    assert rc == 2 and "--force" in err
    assert (tmp_path / "y.npy").read_bytes() == b"precious"


def test_inspect_numbers_each_operator_as_the_engine_does(capsys):
    """`inspect` shows, per operator of the file, the engine's node number (the one
    report.json, profile and --patch use); folded operators show none."""
    from shared_paths import require_models

    model = require_models() / "tinyengine_mcunet_vww1.tflite"
    rc, out, _ = run_cli(["inspect", model, "--json"], capsys)
    file_nodes = json.loads(out)["nodes"]
    rc2, out2, _ = run_cli(["inspect", model, "--engine", "--json"], capsys)
    engine_nodes = json.loads(out2)["nodes"]
    assert rc == rc2 == 0
    folded = [n["op"] for n in file_nodes if n["engine_index"] is None]
    assert sorted(set(folded)) == ["DEQUANTIZE", "PAD", "QUANTIZE"] and len(folded) == len(file_nodes) - len(engine_nodes)
    mapped = [n for n in file_nodes if n["engine_index"] is not None]
    assert [n["engine_index"] for n in mapped] == list(range(len(engine_nodes)))
    assert all(engine_nodes[n["engine_index"]]["name"] == n["name"] for n in mapped)
    rc, out, _ = run_cli(["inspect", model], capsys)
    assert "engine" in out.splitlines()[4] and "-: folded into a neighbour" in out
