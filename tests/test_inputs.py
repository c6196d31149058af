"""Inputs `run` and `quantize-input` accept: images, float arrays (quantised as TFLite
does), batches; and the bytes the C runner reads."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from mcuforge.cli import main as cli
from mcuforge.data.images import decode
from mcuforge.frontend.tflite_read import load
from mcuforge.inputs import load_input
from mcuforge.ref.interpreter import run


def test_float_values_round_half_away_from_zero(models_dir, tmp_path):
    g = load(models_dir / "mlperf_kws_dscnn_int8.tflite")
    t = g.tensors[g.inputs[0]]
    s, zp = float(t.quant.s), int(t.quant.zp)
    halves = (np.arange(-20, 20) + 0.5).astype(np.float32) * np.float32(s)  # exactly between two steps
    x = np.resize(halves, t.shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    q, how = load_input(g, 0, tmp_path / "x.npy")
    r = (x.astype(np.float32) / np.float32(s)).astype(np.float64)
    want = np.clip(np.sign(r) * np.floor(np.abs(r) + 0.5) + zp, -128, 127).astype(np.int8)
    assert q.shape == (1, *t.shape) and np.array_equal(q[0], want) and "quantised" in how
    assert not np.array_equal(want, np.clip(np.round(r) + zp, -128, 127).astype(np.int8))  # np.round differs here


def test_image_and_batch_inputs(models_dir, tmp_path, capsys):
    model = models_dir / "mlperf_vww_mbv1_96_int8.tflite"
    g = load(model)
    rng = np.random.default_rng(0)
    img = tmp_path / "p.png"
    Image.fromarray(rng.integers(0, 256, (120, 160, 3)).astype(np.uint8)).save(img)
    x, _ = load_input(g, 0, img)
    assert np.array_equal(x[0], (decode(img, 96, 3).astype(np.int16) - 128).astype(np.int8)[None])
    assert cli(["run", str(model), "--input", str(img), "--output", str(tmp_path / "y.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), run(g, [x[0]])[0])

    batch = rng.integers(-128, 128, (3, 1, 96, 96, 3)).astype(np.int8)
    np.save(tmp_path / "b.npy", batch)
    assert cli(["run", str(model), "--input", str(tmp_path / "b.npy"), "--output", str(tmp_path / "yb.npy")]) == 0
    yb = np.load(tmp_path / "yb.npy")
    assert yb.shape == (3, 1, 2) and all(np.array_equal(yb[k], run(g, [batch[k]])[0]) for k in range(3))


def test_quantize_input_feeds_the_c_runner(models_dir, tmp_path):
    model = models_dir / "mlperf_vww_mbv1_96_int8.tflite"
    img = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (96, 96, 3)).astype(np.uint8)).save(img)
    assert cli(["quantize-input", str(model), str(img), "-o", str(tmp_path / "in0.bin")]) == 0
    assert cli(["compile", str(model), "-o", str(tmp_path / "p")]) == 0
    subprocess.run(["make", "-s", "main_host"], cwd=tmp_path / "p", check=True, capture_output=True)
    subprocess.run(
        [str(tmp_path / "p" / "main_host"), str(tmp_path / "in0.bin"), str(tmp_path / "out0.bin")], check=True
    )
    assert cli(["run", str(model), "--input", str(img), "--output", str(tmp_path / "y.npy")]) == 0
    assert (tmp_path / "out0.bin").read_bytes() == np.load(tmp_path / "y.npy").tobytes()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: np.zeros((1, 50, 10, 1), np.int8), "has shape"),
        (lambda: np.zeros((1, 49, 10, 1), np.int32), "must be int8"),
    ],
)
def test_bad_inputs_are_one_sentence(models_dir, tmp_path, capsys, make, message):
    np.save(tmp_path / "x.npy", make())
    model = models_dir / "mlperf_kws_dscnn_int8.tflite"
    assert cli(["run", str(model), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]) == 2
    assert message in capsys.readouterr().err


def test_quantize_input_refuses_batches_and_overwrites(models_dir, tmp_path, capsys):
    model = models_dir / "mlperf_kws_dscnn_int8.tflite"
    np.save(tmp_path / "b.npy", np.zeros((2, 1, 49, 10, 1), np.int8))
    assert cli(["quantize-input", str(model), str(tmp_path / "b.npy"), "-o", str(tmp_path / "in.bin")]) == 2
    assert "one record per file" in capsys.readouterr().err
    (tmp_path / "in.bin").write_bytes(b"mine")
    np.save(tmp_path / "x.npy", np.zeros((1, 49, 10, 1), np.float32))
    assert cli(["quantize-input", str(model), str(tmp_path / "x.npy"), "-o", str(tmp_path / "in.bin")]) == 2
    assert (tmp_path / "in.bin").read_bytes() == b"mine"
