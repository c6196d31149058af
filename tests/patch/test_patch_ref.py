"""Reference execution of patch plans is bit-identical to layer-by-layer execution:
the stage-2 input and every output, on writer-built networks over every split and
several grids, and on every supported real model over several splits and grids."""

from __future__ import annotations

import pytest
from nets import mobilenet_like, nchw_input, windows_zoo
from real_models import SUPPORTED

from mcuforge.engine import optimise
from mcuforge.frontend.tflite_read import load
from mcuforge.passes import fold_io
from mcuforge.patch import regions
from mcuforge.patch.plan import PatchPlan
from mcuforge.patch.program import build_program
from mcuforge.patch.stage import NotPatchable, candidate_splits, find_stage
from mcuforge.ref.interpreter import random_inputs, run_all
from mcuforge.ref.patch import run_program

GRIDS = [(2, 2), (3, 1), (1, 3), (4, 3), (5, 5)]


def _opt(g):
    return optimise(fold_io(g).graph)


def check_plans(h, plans, seed: int = 0) -> int:
    """Assert every plan matches per-layer execution; return how many ran."""
    xs = random_inputs(h, seed)
    want = run_all(h, xs)
    ran = 0
    for p in plans:
        try:
            prog = build_program(h, p)
        except NotPatchable:
            continue  # a grid finer than some tensor allows
        got = run_program(prog, xs)
        sink = prog.stage.sink
        assert got[sink].tobytes() == want[sink].tobytes(), f"plan {p.label}: the stage-2 input differs"
        for name in h.outputs:
            assert got[name].tobytes() == want[name].tobytes(), f"plan {p.label}: output {name} differs"
        ran += 1
    return ran


@pytest.mark.parametrize("make", [mobilenet_like, windows_zoo, nchw_input])
def test_writer_nets_every_split(make):
    h = _opt(make())
    splits = candidate_splits(h)
    ran = check_plans(h, [PatchPlan(s, g) for s in splits for g in GRIDS])
    assert ran >= 4 * len(splits)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_writer_nets_other_weights(seed):
    for make in (mobilenet_like, windows_zoo, nchw_input):
        h = _opt(make(seed))
        assert check_plans(h, [PatchPlan(s, (3, 2)) for s in candidate_splits(h)], seed) > 0


def test_a_wrong_halo_is_caught(monkeypatch):
    """The check can fail: regions one row short at the bottom change the result."""
    h = _opt(mobilenet_like())
    real = regions.need_axis

    def short(g, node, axis, o0, o1):
        i0, i1, before, after = real(g, node, axis, o0, o1)
        if node.op in regions.WINDOW_OPS and axis == 0 and after == 0 and i1 - i0 > 1:
            return i0, i1 - 1, before, after + 1  # pretend the last row is padding
        return i0, i1, before, after

    monkeypatch.setattr(regions, "need_axis", short)
    with pytest.raises(AssertionError, match="differs"):
        check_plans(h, [PatchPlan(4, (2, 2))])


def _spread(values: list[int], n: int) -> list[int]:
    if len(values) <= n:
        return values
    return sorted({values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)})


# The two 224x224 models take about a minute here; the smaller models reach the same
# patch-program paths, and test_patch_c's test_real_models_auto runs both 224x224 models'
# chosen plans exactly on the C backend. Selected with -m slow.
BIG_224 = {"tflm_xtensa_mobilenet_v2_q_224", "tinyengine_mcunetv2_large_224"}


@pytest.mark.parametrize("model", [pytest.param(m, marks=pytest.mark.slow) if m in BIG_224 else m for m in SUPPORTED])
def test_real_models(models_dir, model):
    h = _opt(load(models_dir / f"{model}.tflite"))
    splits = candidate_splits(h)
    if not splits:
        pytest.skip(f"{model} has no node that can run patch by patch")
    # Early splits with their full stage, and a few deeper ones.
    chosen = _spread([s for s in splits if find_stage(h, s).start == find_stage(h, splits[0]).start][:12], 3)
    chosen += _spread(splits, 3)
    plans = [PatchPlan(s, g) for s in sorted(set(chosen)) for g in [(2, 2), (3, 1), (1, 3), (4, 4)]]
    assert check_plans(h, plans) > 0
