"""`mcuforge compile/run --patch`: the report states split, grid, overhead and both
peaks; bad specifications are one-sentence errors with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nets import mobilenet_like

from mcuforge import cli
from mcuforge.frontend.tflite_write import save
from mcuforge.ref.interpreter import random_inputs, run


@pytest.fixture
def model(tmp_path):
    g = mobilenet_like()
    path = tmp_path / "net.tflite"
    save(g, path)
    np.save(tmp_path / "x.npy", random_inputs(g, 5)[0])
    return path, g


def run_cli(args, capsys):
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_compile_auto_reports_the_choice(model, tmp_path, capsys):
    rc, out, _ = run_cli(["compile", model[0], "-o", tmp_path / "auto", "--patch", "auto"], capsys)
    assert rc == 0
    report = json.loads((tmp_path / "auto" / "report.json").read_text())
    p = report["patch"]
    assert p["mode"] == "auto" and p["used"]
    assert report["peak_sram_bytes"] == p["patch_peak_bytes"] < p["per_layer_peak_bytes"]
    assert 0 < p["mac_overhead"] <= p["max_mac_overhead"] == 0.2
    assert f"{p['grid'][0]}x{p['grid'][1]} grid" in out and "MAC overhead" in out
    md = (tmp_path / "auto" / "report.md").read_text()
    assert "patch-based inference (auto)" in md and f"{p['per_layer_peak_bytes']:,}" in md
    assert "mf_patch_copy" in (tmp_path / "auto" / "model.c").read_text() or p["grid"][1] == 1


def test_compile_given_plan_and_none(model, tmp_path, capsys):
    rc, _, _ = run_cli(["compile", model[0], "-o", tmp_path / "given", "--patch", "4:3x2"], capsys)
    assert rc == 0
    p = json.loads((tmp_path / "given" / "report.json").read_text())["patch"]
    assert (p["mode"], p["split"], p["start"], p["grid"]) == ("manual", 4, 0, [3, 2])
    rc, _, _ = run_cli(["compile", model[0], "-o", tmp_path / "none"], capsys)
    assert rc == 0
    assert json.loads((tmp_path / "none" / "report.json").read_text())["patch"] is None


@pytest.mark.parametrize(
    "spec,words",
    [
        ("4x4", "SPLIT:GRID"),
        ("4:0", "at least one row"),
        ("99:2", "not a node index"),
        ("7:2", "cannot run patch by patch"),
        ("4:20", "does not fit"),
    ],
)
def test_bad_patch_specs(model, tmp_path, capsys, spec, words):
    rc, _, err = run_cli(["compile", model[0], "-o", tmp_path / "bad", "--patch", spec, "--force"], capsys)
    assert rc == 2
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_overhead(model, tmp_path, capsys):
    rc, _, err = run_cli(
        ["compile", model[0], "-o", tmp_path / "o", "--patch", "auto", "--max-mac-overhead", "-1"], capsys
    )
    assert rc == 2 and "max-mac-overhead" in err


def test_run_c_backend_with_patches(model, tmp_path, capsys):
    path, g = model
    rc, _, _ = run_cli(
        [
            "run",
            path,
            "--input",
            tmp_path / "x.npy",
            "--output",
            tmp_path / "y.npy",
            "--backend",
            "c",
            "--patch",
            "auto",
        ],
        capsys,
    )
    assert rc == 0
    assert np.load(tmp_path / "y.npy").tobytes() == run(g, [np.load(tmp_path / "x.npy")])[0].tobytes()
