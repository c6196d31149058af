"""Patched programs as Cortex-M firmware under QEMU: bit-identical with layer-by-layer
reference execution, and models that no board holds per layer fit one with patches."""

from __future__ import annotations

import pytest
from real_models import SUPPORTED, make_input

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.hw.boards import get_board
from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
from mcuforge.ref.interpreter import run
from mcuforge.targets.qemu import missing_tools, run_qemu

MISSING = missing_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"QEMU backend unavailable: {MISSING}")


@pytest.mark.parametrize(
    "model,board",
    [
        ("tinyengine_mcunet_vww1", "STM32F412"),  # Cortex-M4, 256 KB
        ("mlperf_ic_resnet8_int8", "STM32F746"),  # Cortex-M7
        ("tflm_person_detect_int8", "nRF52840"),
        # 1.2 MB of SRAM per layer fits no board; with patches the 512 KB STM32H743
        ("tinyengine_mcunetv2_large_224", "STM32H743"),
    ],
)
def test_auto_plan_on_qemu(models_dir, model, board):
    g = load(models_dir / f"{model}.tflite")
    c = compile_graph(g, patch="auto")
    assert c.patch.plan is not None
    xs = make_input(models_dir, g, SUPPORTED[model][0])
    got = from_model_outputs(c.io, run_qemu(c.project, get_board(board), to_model_inputs(c.io, xs)))
    assert [y.tobytes() for y in got] == [y.tobytes() for y in run(g, xs)]
