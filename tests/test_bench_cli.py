"""`mcuforge bench`: one clean line per model (TF-Lite Micro's messages kept in a log
file), and --patch."""

from __future__ import annotations

import json
from pathlib import Path

from mcuforge.cli import main as cli


def test_bench_prints_no_tflm_noise(models_dir, tmp_path, capfd):
    model = models_dir / "mlperf_kws_dscnn_int8.tflite"
    assert cli(["bench", str(model)]) == 0
    out, err = capfd.readouterr()
    assert "Failed" not in out + err and "TfLiteTensor" not in out + err
    lines = out.strip().splitlines()
    assert lines[0].startswith("mlperf_kws_dscnn_int8: mcuforge peak SRAM 8,512 B, TF-Lite Micro minimum arena")
    log = lines[1].rsplit(" ", 1)[1]
    assert "Failed" in Path(log).read_text()  # the probes that were too small said so, in the log


def test_bench_patch(models_dir, capfd):
    model = models_dir / "mlperf_vww_mbv1_96_int8.tflite"
    assert cli(["bench", str(model), "--patch", "auto", "--json"]) == 0
    r = json.loads(capfd.readouterr().out)
    assert (
        r["patch"]["used"]
        and r["peak_sram_bytes"] == r["patch"]["patch_peak_bytes"] < r["patch"]["per_layer_peak_bytes"]
    )
