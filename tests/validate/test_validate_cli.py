"""`mcuforge validate`: JSON only with --json, the text report and the confusion image,
exit 1 when backends disagree, and bad input as one line with exit code 2."""

from __future__ import annotations

import json

import pytest
from validate_fixtures import CLASSES, tiny_graph, write_model

from mcuforge.cli import main


def test_json_only(model, data, capsys):
    assert main(["validate", str(model), "--data", data, "--backend", "ref,c", "--limit", "6", "--json"]) == 0
    out = capsys.readouterr().out
    d = json.loads(out)  # nothing but the JSON on stdout
    assert d["samples"] == 6 and d["identical"] is True and d["classes"] == list(CLASSES)
    assert set(d["accuracy"]) == {"ref", "c"}


def test_text_and_confusion_png(tmp_path, model, data, capsys):
    png = tmp_path / "confusion.png"
    assert main(["validate", str(model), "--data", data, "--backend", "ref,tflm", "--confusion", str(png)]) == 0
    out = capsys.readouterr().out
    for text in ("backend", "accuracy", "images/s", "identical to ref on every output byte of 24 images",
                 "per-class accuracy", "confusion matrix (ref; rows: true class", "owl"):  # fmt: skip
        assert text in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_disagreement_exits_1(monkeypatch, model, data, capsys):
    from mcuforge.validate import batch

    real = batch.run_c_batch

    def off_by_one(compiled, x, **kw):
        y = real(compiled, x, **kw).copy()
        y[2, 0] = y[2, 0] + 1 if y[2, 0] < 127 else 0
        return y

    monkeypatch.setattr(batch, "run_c_batch", off_by_one)
    assert main(["validate", str(model), "--data", data, "--backend", "ref,c", "--limit", "5"]) == 1
    assert "DISAGREE with ref: 1 of 5 images differ in some output byte" in capsys.readouterr().out
    assert main(["validate", str(model), "--data", data, "--backend", "ref,c", "--limit", "5", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["identical"] is False and d["mismatches"] == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--backend", "ref,cuda"], "unknown backend 'cuda'"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--input-range", "1"], "--input-range must be two numbers LO,HI"),
        (["--input-range", "2,1"], "--input-range must run from low to high"),
        (["--confusion", "out.jpg"], "--confusion must name a .png file"),
        (["--confusion", "/no/such/folder/c.png"], "the folder of /no/such/folder/c.png does not exist"),
        (
            ["--board", "STM32F412", "--backend", "qemu-m7"],
            "STM32F412 has a cortex-m4, not the cortex-m7 of backend qemu-m7",
        ),
        ([], "'bird' only in the model; 'owl' only in npz:"),
    ],
)
def test_bad_input_is_one_line(tmp_path, data, capsys, extra, message):
    # a model whose class names the data lacks (only the last case gets that far)
    model = write_model(tmp_path / "birds.tflite", tiny_graph(), ("cat", "dog", "bird"))
    assert main(["validate", str(model), "--data", data, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mcuforge: error: ") and message in err
    assert "Traceback" not in err


def test_missing_model(tmp_path, data, capsys):
    assert main(["validate", str(tmp_path / "none.tflite"), "--data", data]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcuforge: error: model file") and err.count("\n") == 1
