"""Faults found by mutating models and misusing the CLI (issue 13, item 9), kept fixed:
each gets one sentence and a non-zero exit, never a traceback, and nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
from toy_cnn import build_demo_graph

from mcuforge.cli import main as cli
from mcuforge.frontend.tflite_write import write
from mcuforge.outdir import MANIFEST

REPO = Path(__file__).resolve().parents[1]


def _edit(data: bytes, fn) -> bytes:
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    fn(m)
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.fixture
def demo(tmp_path) -> Path:
    p = tmp_path / "demo.tflite"
    p.write_bytes(write(build_demo_graph()))
    return p


def _first_relu6_output(m) -> fb.TensorT:
    sub = m.subgraphs[0]
    for op in sub.operators:
        opts = op.builtinOptions
        if getattr(opts, "fusedActivationFunction", None) == fb.ActivationFunctionType.RELU6:
            return sub.tensors[op.outputs[0]]
    raise AssertionError("the demo has a RELU6")


def _x(tmp_path) -> Path:
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 32, 32, 3), np.int8))
    return x


def _one_sentence(err: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("mcuforge: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err


def test_tiny_output_scale_with_relu6(demo, tmp_path, capsys):
    bad = tmp_path / "tiny.tflite"
    bad.write_bytes(_edit(demo.read_bytes(), lambda m: setattr(_first_relu6_output(m).quantization, "scale", [1e-45])))
    assert cli(["run", str(bad), "--input", str(_x(tmp_path)), "--output", str(tmp_path / "y.npy")]) == 2
    _one_sentence(capsys.readouterr().err)
    assert cli(["compile", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert "too small for its fused RELU6" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bias_zero_point_out_of_int32(demo, tmp_path, capsys):
    def edit(m):
        sub = m.subgraphs[0]
        bias = sub.tensors[sub.operators[0].inputs[2]]
        bias.quantization.zeroPoint = [1 << 40] * len(bias.quantization.zeroPoint)

    bad = tmp_path / "zp.tflite"
    bad.write_bytes(_edit(demo.read_bytes(), edit))
    assert cli(["inspect", str(bad)]) == 2
    assert "int32 zero point outside" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folders(demo, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert cli(["compile", str(demo), "-o", str(ro / "p")]) == 2
        _one_sentence(capsys.readouterr().err)
        assert cli(["run", str(demo), "--input", str(_x(tmp_path)), "--output", str(ro / "y.npy")]) == 2
        assert "permission denied" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_devices_and_huge_non_models_are_refused_at_once(tmp_path, capsys):
    assert cli(["inspect", "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    big = tmp_path / "zeros.tflite"
    with big.open("wb") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GiB of zeros without writing them
    t0 = time.perf_counter()
    assert cli(["inspect", str(big)]) == 2
    assert time.perf_counter() - t0 < 2.0
    assert "not a TFLite file" in capsys.readouterr().err


def test_force_over_another_project_removes_its_kernels_only(demo, tmp_path, models_dir):
    out = tmp_path / "p"
    assert (
        cli(["compile", str(models_dir / "mlperf_ad_autoencoder_int8.tflite"), "-o", str(out), "--board", "STM32F746"])
        == 0
    )
    assert (out / "mf_fc.c").is_file() and not (out / "mf_depthwise.c").exists()
    (out / "app.c").write_text("/* the user's own file */\n")
    assert cli(["compile", str(demo), "-o", str(out), "--force", "--board", "RP2040"]) == 0
    fresh = tmp_path / "fresh"
    assert cli(["compile", str(demo), "-o", str(fresh), "--board", "RP2040"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {p.name for p in fresh.iterdir()} | {"app.c"}
    assert "mf_armv7em.h" not in names  # the M7 project's ARMv7E-M header went with it


def test_a_failed_write_is_one_sentence(demo, tmp_path, capsys, monkeypatch):
    """Where permissions cannot stop root, the write itself fails: still one sentence."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    x = _x(tmp_path)
    monkeypatch.setattr(np, "save", refuse)
    assert cli(["run", str(demo), "--input", str(x), "--output", str(tmp_path / "y.npy")]) == 2
    err = capsys.readouterr().err
    _one_sentence(err)
    assert "cannot write output file" in err


def test_interrupted_compile_leaves_nothing_that_looks_complete(tmp_path, models_dir):
    """SIGTERM at several moments of a compile: the target is absent or complete (manifest
    present and every listed file there), and no staging folder is left behind."""
    model = models_dir / "tinyengine_mcunet_vww1.tflite"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    outcomes = set()
    for delay in (0.5, 1.5, 2.5, 3.5):
        out = tmp_path / f"p{delay}"
        proc = subprocess.Popen([sys.executable, "-m", "mcuforge.cli", "compile", str(model), "-o", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        if out.exists():
            listed = (out / MANIFEST).read_text()
            assert all((out / n).is_file() for n in __import__("json").loads(listed))
            outcomes.add("complete")
        else:
            outcomes.add("absent")
        assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert "absent" in outcomes


def test_compile_makes_missing_parent_folders(demo, tmp_path, capsys):
    assert cli(["compile", str(demo), "-o", str(tmp_path / "a" / "b" / "p")]) == 0
    assert (tmp_path / "a" / "b" / "p" / MANIFEST).is_file()
    (tmp_path / "file").write_text("mine")
    assert cli(["compile", str(demo), "-o", str(tmp_path / "file" / "p")]) == 2
    assert "is not a folder" in capsys.readouterr().err and (tmp_path / "file").read_text() == "mine"
