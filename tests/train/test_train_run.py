"""`mcuforge train` end to end on a tiny learnable data set: the run folder, the int8
model it deploys, resume after kill -9, and bad settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcuforge.cli import main  # noqa: E402
from mcuforge.frontend.metadata import model_info, read_labels  # noqa: E402
from mcuforge.frontend.tflite_read import load  # noqa: E402
from mcuforge.ref.interpreter import run  # noqa: E402

FAST = ["--epochs", "2", "--batch-size", "16", "--threads", "1", "--calib", "64", "--lr", "0.05"]


def train_cli(arch, npz, out, *extra):
    return ["train", str(arch), "--data", f"npz:{npz}", "-o", str(out), *FAST, *extra]


@pytest.fixture
def trained(tmp_path, tiny_arch, patterns_npz, capsys):
    out = tmp_path / "run"
    rc = main(train_cli(tiny_arch, patterns_npz, out, "--qat-epochs", "1", "--board", "STM32F412", "--json"))
    assert rc == 0
    return out, json.loads(capsys.readouterr().out)


def test_run_folder_and_report(trained, patterns_npz):
    out, report = trained
    for name in ("config.json", "arch.json", "history.jsonl", "model.pt", "ptq.tflite", "qat.tflite", "model.tflite",
                 "model.labels.txt", "eval.json", "curves.png", "report.md", "report.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not any(out.glob("*_ckpt.pt")) and not any(out.glob("*.tmp"))
    history = [json.loads(s) for s in (out / "history.jsonl").read_text().splitlines()]
    assert [(h["phase"], h["epoch"]) for h in history] == [("float", 1), ("float", 2), ("qat", 1)]
    acc = report["accuracy"]
    assert acc["float"]["test"] > 0.8  # the patterns are easy; chance is 1/3
    assert acc["ptq"]["test"] > 0.8 and acc["qat"]["test"] > 0.8
    assert report["deployed"] == "qat"
    assert report["memory"]["board"] == "STM32F412" and report["memory"]["fits"]
    text = (out / "report.md").read_text()
    assert "QAT int8 (reference executor)" in text and "mcuforge compile" in text


def test_deployed_model_carries_labels_and_its_accuracy(trained, patterns_npz):
    """model.tflite is qat.tflite; run image by image by the reference executor, it scores
    the accuracy the report states, with the class names the data set has."""
    out, report = trained
    model = out / "model.tflite"
    assert model.read_bytes() == (out / "qat.tflite").read_bytes()
    info = model_info(model)
    assert info.labels == ("bars", "columns", "dots") == read_labels(model)
    assert (info.resolution, info.channels) == (12, 1)
    data = np.load(patterns_npz)
    g = load(model)
    preds = [int(run(g, [(x[None, :, :, None].astype(np.int16) - 128).astype(np.int8)])[0].argmax()) for x in data["x_test"]]
    assert np.mean(np.array(preds) == data["y_test"]) == pytest.approx(report["accuracy"]["qat"]["test"])


def test_rerun_without_resume_refuses_and_resume_skips_done_phases(trained, tiny_arch, patterns_npz, capsys):
    out, report = trained
    assert main(train_cli(tiny_arch, patterns_npz, out)) == 2
    assert "not empty" in capsys.readouterr().err
    before = (out / "model.tflite").read_bytes()
    assert main(["train", "-o", str(out), "--resume", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["accuracy"] == report["accuracy"] and (out / "model.tflite").read_bytes() == before
    assert main(["train", "-o", str(out), "--resume", "--epochs", "3"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_resume_after_kill_equals_an_uninterrupted_run(tmp_path, tiny_arch, many_patterns_npz):
    """kill -9 in the middle of an epoch, then --resume: the float weights are those of a
    run that was never interrupted, bit for bit."""
    a, b = tmp_path / "a", tmp_path / "b"
    extra = ["--epochs", "3", "--checkpoint-every", "0"]
    cmd = [sys.executable, "-m", "mcuforge.cli", *train_cli(tiny_arch, many_patterns_npz, a), *extra]
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck, hist = a / "float_ckpt.pt", a / "history.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ck.is_file() and hist.is_file() and hist.read_text().count("\n") >= 1:
            time.sleep(0.3)  # into the second epoch (about 2 s long)
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ck.is_file() and not (a / "model.pt").exists()
    assert main(["train", "-o", str(a), "--resume", "--threads", "1", "--json"]) == 0
    assert main([*train_cli(tiny_arch, many_patterns_npz, b), "--epochs", "3", "--json"]) == 0
    sa = torch.load(a / "model.pt", weights_only=False)
    sb = torch.load(b / "model.pt", weights_only=False)
    assert sa["state_dict"].keys() == sb["state_dict"].keys()
    assert all(torch.equal(sa["state_dict"][k], sb["state_dict"][k]) for k in sa["state_dict"])
    assert [h["val_acc"] for h in sa["history"]] == [h["val_acc"] for h in sb["history"]]
    assert (a / "ptq.tflite").read_bytes() == (b / "ptq.tflite").read_bytes()


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--resolution", "4"], "at least 8"),
        (["--batch-size", "1"], "at least 2"),
        (["--optimizer", "adamw", "--lr", "-1"], "learning rate must be positive"),
        (["--channels", "2"], "1 (grey) or 3"),
    ],
)
def test_bad_settings_are_one_sentence(tmp_path, tiny_arch, patterns_npz, capsys, extra, words):
    assert main([*train_cli(tiny_arch, patterns_npz, tmp_path / "r"), *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1


def test_resolution_too_small_for_the_strides(tmp_path, patterns_npz, capsys):
    assert main(["train", "mbv2-w0.35-r16", "--data", f"npz:{patterns_npz}", "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "too small for its strides" in err and "--resolution 17" in err
    assert not (tmp_path / "r").exists()


def test_unknown_architecture_and_missing_data(tmp_path, patterns_npz, capsys):
    assert main(["train", "resnet9000", "--data", f"npz:{patterns_npz}", "-o", str(tmp_path / "r")]) == 2
    assert "unknown architecture" in capsys.readouterr().err
    assert main(["train", "mbv2-w0.35-r28", "-o", str(tmp_path / "r2")]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["train", "-o", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err


def test_init_starts_from_given_weights(trained, tmp_path, tiny_arch, patterns_npz, capsys):
    out, _ = trained
    again = tmp_path / "again"
    assert main(train_cli(tiny_arch, patterns_npz, again, "--epochs", "0", "--init", str(out / "model.pt"))) == 0
    want = torch.load(out / "model.pt", weights_only=False)["state_dict"]
    got = torch.load(again / "model.pt", weights_only=False)["state_dict"]
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    capsys.readouterr()
    bad = tmp_path / "bad.pt"
    torch.save({"state_dict": {"first_conv.0.weight": torch.zeros(1)}}, bad)
    assert main(train_cli(tiny_arch, patterns_npz, tmp_path / "third", "--init", str(bad))) != 0
    err = capsys.readouterr().err
    assert "does not hold weights for this network" in err and "Traceback" not in err
