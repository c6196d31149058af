"""The model zoo: configs equal MCUNet's released ones, the engine's peak SRAM is below
TinyEngine's and X-CUBE-AI's published figures, and a zoo model written as .tflite
loads in our reader and runs in TF-Lite Micro, bit-exact with our reference executor."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shared_paths import SHARED
from mcuforge.cli import main
from mcuforge.frontend.tflite_read import load as load_tflite
from mcuforge.hw.boards import get_board
from mcuforge.nas import zoo
from mcuforge.nas.profile import engine_memory
from mcuforge.nas.space import load
from mcuforge.oracle.tflm import run_tflm
from mcuforge.ref.interpreter import random_inputs, run

CONFIGS = SHARED / "configs" / "mcunet"


@pytest.mark.parametrize("name", zoo.NAMES)
def test_zoo_equals_released_config(name: str):
    path = CONFIGS / f"{zoo.PUBLISHED[name].source}_imagenet.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert zoo.get(name) == replace(load(path), name=name)


@pytest.mark.parametrize("name", [n for n in zoo.NAMES if zoo.PUBLISHED[n].tinyengine_sram_kib is not None])
def test_peak_sram_below_tinyengine_and_xcube(name: str):
    """ANCHORS 1.2 (STM32H743): our planned arena, scratch included, beats both."""
    pub = zoo.PUBLISHED[name]
    peak = engine_memory(zoo.get(name)).peak_sram_bytes
    assert peak < 1024 * min(pub.tinyengine_sram_kib, pub.xcube_sram_kib)


def test_resolution_override():
    cfg = zoo.get("mcunet-in2", resolution=96)
    assert cfg.resolution == 96 and cfg.blocks == zoo.get("mcunet-in2").blocks


def test_unknown_model(capsys):
    assert main(["zoo", "mcunet-in9"]) == 2
    assert "no model 'mcunet-in9' in the zoo" in capsys.readouterr().err


def test_cli_lists_the_zoo(capsys):
    assert main(["zoo", "--board", "STM32F746", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(zoo.NAMES)
    board = get_board("STM32F746")
    for r in rows:
        assert set(r) >= {"macs", "params", "peak_sram_bytes", "flash_bytes", "fits", "published"}
        assert r["fits"] == (r["peak_sram_bytes"] <= board.sram and r["flash_bytes"] <= board.flash)
    assert {r["name"]: r["fits"] for r in rows}["mcunet-in4"] is False  # 1.7 M params: over 1 MB of Flash
    assert main(["zoo"]) == 0
    assert "mcunet-in3" in capsys.readouterr().out


def test_written_tflite_runs_in_tflm(tmp_path: Path, capsys):
    out = tmp_path / "in0.tflite"
    assert main(["zoo", "mcunet-in0", "--tflite", str(out), "--seed", "4"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["zoo", "mcunet-in0", "--tflite", str(out)]) == 2  # exists: needs --force
    g = load_tflite(str(out))
    assert g.tensors[g.inputs[0]].shape == (1, 48, 48, 3) and g.tensors[g.outputs[0]].shape == (1, 1000)
    xs = random_inputs(g, 1)
    ours = run(g, xs)[0]
    theirs = run_tflm(out.read_bytes(), xs)[0]
    assert np.array_equal(ours, theirs)
    assert np.unique(ours).size > 20  # placeholder quantisation keeps logits in range, not saturated


def test_arch_cli(tmp_path: Path, capsys):
    path = tmp_path / "in1.json"
    path.write_text((Path(zoo.__file__).parent / "zoo" / "mcunet-in1.json").read_text())
    assert main(["arch", str(path), "--board", "STM32F412", "--resolution", "64", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"macs", "params", "peak_activation_elements", "peak_sram_bytes", "flash_bytes", "fits"}
    assert d["resolution"] == 64 and d["board"] == "STM32F412" and d["fits"] is True
    assert d["peak_sram_bytes"] == engine_memory(zoo.get("mcunet-in1", 64)).peak_sram_bytes
    assert main(["arch", str(tmp_path / "none.json")]) == 2
