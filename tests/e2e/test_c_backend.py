"""The generated C is bit-exact with the reference executor on every real model the
reader supports, with folded float I/O; sanitizer builds on some; every plan verified."""

import pytest

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.plan import buffer_requests, verify
from mcuforge.plan.planner import plan
from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import run_c
from real_models import SUPPORTED, make_input

SANITIZED = {"mlperf_vww_mbv1_96_int8", "tinyengine_mcunet_vww1", "tinyengine_person_detection_yolo", "mlperf_ic_resnet8_int8"}


@pytest.mark.parametrize("model", list(SUPPORTED))
def test_c_matches_ref(models_dir, model):
    g = load(models_dir / f"{model}.tflite")
    xs = make_input(models_dir, g, SUPPORTED[model][0])
    c = compile_graph(g)
    ours = from_model_outputs(c.io, run_c(c.graph, to_model_inputs(c.io, xs), project=c.project, sanitize=model in SANITIZED))
    for a, b in zip(run(g, xs), ours):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("model", ["tinyengine_mcunet_vww1", "tinyengine_person_detection_yolo", "mlperf_ic_resnet8_int8"])
def test_plan_passes_independent_verifier(models_dir, model):
    c = compile_graph(load(models_dir / f"{model}.tflite"))
    mem = c.project.memory
    scratch = lambda i: mem.scratch_sizes.get(i, 0)  # noqa: E731
    bufs = buffer_requests(c.graph, mem.order, scratch)
    p = plan(bufs.requests, bufs.overlaps)
    verify(bufs.requests, bufs.overlaps, p)
    assert p.arena_bytes == mem.arena_bytes
    # every live tensor lies inside the arena
    for name, off in mem.tensor_offsets.items():
        assert 0 <= off and off + c.graph.tensors[name].nbytes <= mem.arena_bytes


def test_float_io_keeps_boundary(models_dir):
    g = load(models_dir / "tinyengine_mcunet_vww1.tflite")
    c = compile_graph(g, float_io=True)
    assert c.graph.tensors[c.graph.inputs[0]].dtype == "float32"
    xs = make_input(models_dir, g, None)
    assert run(g, xs)[0].tobytes() == run_c(c.graph, xs, project=c.project)[0].tobytes()
    assert c.project.memory.arena_bytes > compile_graph(g).project.memory.arena_bytes
