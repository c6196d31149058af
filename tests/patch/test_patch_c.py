"""Patched programs compiled to C are bit-exact with layer-by-layer reference
execution: writer-built networks under the sanitizers, and every supported real model
with the plan `--patch auto` chooses (and explicit plans on two of them)."""

from __future__ import annotations

import pytest
from nets import mobilenet_like, nchw_input, windows_zoo
from real_models import SUPPORTED, make_input

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.patch.plan import PatchPlan
from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import run_c

SANITIZED = {"tinyengine_mcunet_vww1", "mlperf_ic_resnet8_int8", "tflm_person_detect_int8"}


def assert_c_exact(g, spec, xs, sanitize: bool = False):
    c = compile_graph(g, patch=spec)
    got = from_model_outputs(c.io, run_c(c.graph, to_model_inputs(c.io, xs), project=c.project, sanitize=sanitize))
    for a, b in zip(run(g, xs), got):
        assert a.tobytes() == b.tobytes()
    return c


@pytest.mark.parametrize(
    "make,plans",
    [
        (mobilenet_like, [(4, (2, 2)), (6, (3, 1)), (3, (2, 3))]),
        (windows_zoo, [(12, (2, 2)), (10, (4, 1)), (5, (1, 3))]),
        (nchw_input, [(3, (2, 2)), (0, (3, 1)), (2, (2, 3))]),
    ],
)
def test_writer_nets(make, plans):
    from mcuforge.ref.interpreter import random_inputs

    g = make()
    for split, grid in plans:
        c = assert_c_exact(g, PatchPlan(split, grid), random_inputs(g, split), sanitize=True)
        assert c.patch.plan == PatchPlan(split, grid)
        # identical parameter structs (interior patches) are written once and shared
        model_c = c.project.files["model.c"]
        structs = model_c.count("_params = {")
        coded = sum(call is not None and call.params_type is not None for call in c.project.calls.values())
        assert structs <= coded and model_c.count("(&node") == coded
        if grid[0] * grid[1] >= 6:
            assert structs < coded


@pytest.mark.parametrize("model", list(SUPPORTED))
def test_real_models_auto(models_dir, model):
    g = load(models_dir / f"{model}.tflite")
    c = compile_graph(g, patch="auto")
    if c.patch.plan is None:
        pytest.skip(f"{model}: per layer needs no more SRAM than any patch plan")
    assert_c_exact(g, c.patch.plan, make_input(models_dir, g, SUPPORTED[model][0]), sanitize=model in SANITIZED)


GIVEN = [
    ("tinyengine_mcunet_vww1", PatchPlan(5, (2, 2))),
    ("mlperf_vww_mbv1_96_int8", PatchPlan(6, (3, 4))),
    # models where per layer wins: the C of a patch plan must still be exact
    ("mlperf_kws_dscnn_int8", PatchPlan(4, (3, 2))),
    ("mlperf_sww_ref_model", PatchPlan(3, (4, 1))),
    ("tflm_micro_speech_int8", PatchPlan(1, (3, 2))),
]


@pytest.mark.parametrize("model,spec", GIVEN)
def test_real_models_given_plan(models_dir, model, spec):
    g = load(models_dir / f"{model}.tflite")
    c = assert_c_exact(g, spec, make_input(models_dir, g, SUPPORTED[model][-1]))
    assert c.patch.mode == "manual" and c.patch.patch.peak == c.project.memory.arena_bytes
