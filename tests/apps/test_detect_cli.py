"""`mcuforge detect` and `compile --detect` on TinyEngine's person detector (../shared):
the boxes from the reference, the generated C and QEMU are the same; errors are one
sentence with exit code 2."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from shared_paths import require_models

from mcuforge import cli
from mcuforge.targets.qemu import missing_tools

MODEL = "tinyengine_person_detection_yolo.tflite"


def run_cli(args, capsys):
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def det():
    m = require_models()
    return m / MODEL, m / "inputs"


def _boxes(det, image, backend, capsys, *extra):
    rc, out, err = run_cli(["detect", det[0], det[1] / image, "--backend", backend, "--json", *extra], capsys)
    assert rc == 0, err
    return json.loads(out)["boxes"]


def test_person_is_found_by_ref_and_c(det, capsys, tmp_path):
    ref = _boxes(det, "tflm_person.bmp", "ref", capsys)
    assert len(ref) == 1 and ref[0]["label"] == 0 and ref[0]["score"] > 0.4
    b = ref[0]
    assert 0 <= b["x0"] < b["x1"] <= 96 and 0 <= b["y0"] < b["y1"] <= 96  # in the 96x96 image's pixels
    assert _boxes(det, "tflm_person.bmp", "c", capsys) == ref
    assert _boxes(det, "tflm_no_person.bmp", "ref", capsys) == []  # nothing at the default 0.3
    low = _boxes(det, "tflm_no_person.bmp", "c", capsys, "--score", "0.05", "--max-boxes", "5")
    assert low == _boxes(det, "tflm_no_person.bmp", "ref", capsys, "--score", "0.05", "--max-boxes", "5")
    assert len(low) >= 2


@pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")
def test_qemu_gives_the_reference_boxes(det, capsys):
    for image in ("tflm_person.bmp", "tflm_no_person.bmp"):
        args = ("--score", "0.05")
        assert _boxes(det, image, "qemu-m7", capsys, *args) == _boxes(det, image, "ref", capsys, *args)


def test_drawing_and_overwrite(det, capsys, tmp_path):
    out = tmp_path / "boxes.png"
    rc, text, _ = run_cli(["detect", det[0], det[1] / "tflm_person.bmp", "-o", out], capsys)
    assert rc == 0 and "1 box(es)" in text and out.is_file()
    from PIL import Image

    drawn = np.asarray(Image.open(out).convert("RGB"))
    assert drawn.shape == (96, 96, 3) and ((drawn[..., 0] == 255) & (drawn[..., 1] == 40)).any()  # the red frame
    rc, _, err = run_cli(["detect", det[0], det[1] / "tflm_person.bmp", "-o", out], capsys)
    assert rc == 2 and "--force" in err and len(err.strip().splitlines()) == 1


def test_config_errors(det, capsys, tmp_path):
    model = tmp_path / MODEL
    shutil.copy(det[0], model)  # no config beside this copy
    rc, _, err = run_cli(["detect", model, det[1] / "tflm_person.bmp"], capsys)
    assert rc == 2 and "--config" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"output1": {"stride": 32}}')
    rc, _, err = run_cli(["detect", model, det[1] / "tflm_person.bmp", "--config", bad], capsys)
    assert rc == 2 and "anchors" in err and "Traceback" not in err
    rc, _, err = run_cli(["detect", det[0], det[1] / "tflm_yes_1000ms.wav"], capsys)
    assert rc == 2 and "not an image" in err


def test_compile_with_detection(det, capsys, tmp_path):
    config = det[0].with_suffix(".config.json")
    rc, out, err = run_cli(["compile", det[0], "-o", tmp_path / "p", "--detect", config], capsys)
    assert rc == 0, err
    header = (tmp_path / "p" / "model.h").read_text()
    assert "#define MF_NUM_OUTPUTS 1" in header and "#define MF_OUTPUT0_BYTES 480" in header  # 20 rows x 6 int32
    assert (tmp_path / "p" / "mf_detect.c").is_file()
    assert "#define MF_DETECT_MAX_BOXES 20" in header and "#define MF_DETECT_INPUT_W 160" in header
    peak = int(out.split("peak SRAM ")[1].split(" B")[0].replace(",", ""))
    assert peak <= 0.70 * 257_448  # the bound: 0.70x TinyEngine's peak for this model
