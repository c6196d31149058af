"""Honest Flash: compile's "fits" and report count code as well as constants, measured from
the linked board image (the same bytes `make firmware` links)."""

from __future__ import annotations

import json
import subprocess

import pytest
from toy_cnn import build_demo_graph

from mcuforge.cli import main as cli
from mcuforge.engine import compile_graph
from mcuforge.hw.boards import get_board
from mcuforge.targets import codesize, elf

needs_arm = pytest.mark.skipif(
    not codesize.have_toolchain(), reason="arm-none-eabi-gcc is not installed (Debian package gcc-arm-none-eabi)"
)


@needs_arm
def test_code_table_is_this_compilers():
    assert codesize.measure_code_table() == codesize.code_table()


@needs_arm
def test_report_flash_is_make_firmwares_image(models_dir, tmp_path):
    model = models_dir / "mlperf_kws_dscnn_int8.tflite"
    out = tmp_path / "p"
    assert cli(["compile", str(model), "-o", str(out), "--board", "STM32F746"]) == 0
    report = json.loads((out / "report.json").read_text())
    proc = subprocess.run(["make", "-s", "firmware"], cwd=out, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sizes = elf.sizes(out / "fw.elf")
    assert report["flash_bytes"] == sizes.flash
    f = report["flash"]
    assert f["source"] == "elf" and f["constants_bytes"] + f["code_bytes"] == sizes.flash and f["code_bytes"] > 5000


@needs_arm
def test_code_counts_towards_fits(models_dir, tmp_path, capsys):
    """Constants alone fit 500,000 B; with the code they do not (the case a user hit)."""
    model = models_dir / "tinyengine_mcunet_vww1.tflite"
    assert cli(["compile", str(model), "-o", str(tmp_path / "a"), "--flash", "500000"]) == 3
    err = capsys.readouterr().err
    assert "of Flash (constants 493,888 B + code" in err and "measured from the linked image" in err


def test_estimate_without_the_toolchain_is_close(monkeypatch):
    board = get_board("STM32F412")
    project = compile_graph(build_demo_graph()).for_board(board).project
    est = codesize.estimate(project, board)
    assert est.source == "estimate" and est.constants == project.flash_bytes and est.code > 0
    monkeypatch.setattr(codesize, "have_toolchain", lambda: False)
    assert codesize.flash_figure(project, board) == est
    if codesize.shutil.which("arm-none-eabi-gcc"):
        real = codesize.measure(project)
        assert abs(est.total - real.total) <= 0.2 * real.total, (est, real)
