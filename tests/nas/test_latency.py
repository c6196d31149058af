"""`search --max-ms`: the per-kernel instruction model fitted to QEMU counts predicts a
network it never saw within 5% of QEMU's count, the search's prediction (on the graph
EngineProfiler plans) equals the one on the compiled model, nothing over the bound is
scored, and bad latency input gets one sentence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcuforge.hw.boards import get_board
from mcuforge.nas import latency as L
from mcuforge.nas.export import export_graph
from mcuforge.nas.profile import EngineProfiler
from mcuforge.nas.space import BlockSpace
from mcuforge.nas.supernet import random_arch, smallest
from mcuforge.targets.qemu import missing_tools

needs_qemu = pytest.mark.skipif(missing_tools() is not None, reason=f"{missing_tools()}")
SPACE = BlockSpace(width=0.2, resolution=32, num_classes=3, in_channels=1)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    archs = [smallest(SPACE)] + [random_arch(SPACE, rng) for _ in range(4)]
    graphs = [(f"n{k}", export_graph(a.config(SPACE, 1, 3), k)) for k, a in enumerate(archs)]
    model, loo = L.fit_model(graphs, get_board("STM32L432KC"))
    return model, loo, rng


@needs_qemu
def test_fit_predicts_an_unseen_network_within_5_percent(fitted):
    model, loo, rng = fitted
    assert model.core == "cortex-m4" and model.mhz == 80 and model.kernels == "armv7em"
    assert "mf_conv2d_1x1_s8" in model.coef and "op:DEPTHWISE_CONV_2D" in model.coef
    assert all(abs(c["error"]) < 0.05 for c in loo), loo
    for seed in (10, 11):
        cfg = random_arch(SPACE, rng).config(SPACE, 1, 3)
        m, profile = L.measure(export_graph(cfg, seed), get_board("STM32L432KC"), "unseen")
        c = L.check(model, m)
        assert abs(c["error"]) < 0.05, c
        assert m.total == profile["instructions_total"] > 0
        # the search's figure (the profiler's graph) is the compiled model's, exactly
        g, _, _ = EngineProfiler().graph(cfg)
        assert model.instructions(g) == c["predicted_instructions"]
        assert L.config_ms(EngineProfiler(), model, cfg) == pytest.approx(c["predicted_instructions"] / 80_000)


@needs_qemu
def test_model_round_trips_and_constraint_bounds(fitted):
    model, _, rng = fitted
    again = L.LatencyModel.from_dict(json.loads(json.dumps(model.as_dict())))
    g, _, _ = EngineProfiler().graph(smallest(SPACE).config(SPACE, 1, 3))
    assert again.instructions(g) == model.instructions(g)
    prof = EngineProfiler()
    archs = [random_arch(SPACE, rng) for _ in range(12)]
    ms = sorted(L.config_ms(prof, model, a.config(SPACE, 1, 3)) for a in archs)
    bound = ms[len(ms) // 2]
    fits = L.LatencyConstraint(SPACE, 1, 3, 1 << 30, 1 << 30, prof, model, bound)
    assert [fits(a) for a in archs] == [fits.ms(a) <= bound for a in archs]
    assert 0 < sum(fits(a) for a in archs) < len(archs)
    tight = L.LatencyConstraint(SPACE, 1, 3, 1 << 30, 1 << 30, prof, model, 1e-6)
    msg = str(tight.nothing_fits(10))
    assert "smallest network takes" in msg and "--max-ms" in msg


def test_max_ms_needs_a_board_qemu_emulates():
    from mcuforge.errors import InputError
    from mcuforge.nas.presets import SearchSettings

    with pytest.raises(InputError, match="needs --board"):
        SearchSettings("fashion-mnist", 1000, 1000, max_ms=10)
    with pytest.raises(InputError, match="cortex-m0plus"):
        SearchSettings("fashion-mnist", 1000, 1000, board="STM32G071RB", max_ms=10)
    with pytest.raises(InputError, match="positive"):
        SearchSettings("fashion-mnist", 1000, 1000, board="STM32L432KC", max_ms=0)


@needs_qemu
def test_search_with_max_ms(fitted, tmp_path):
    """A tiny search under a latency bound that excludes part of the space: every scored
    candidate is predicted within it, the final models are checked against QEMU."""
    pytest.importorskip("torch")
    import mcuforge
    from mcuforge.nas.supernet import largest

    from test_search import TINY, make_folder

    model, _, rng = fitted
    prof = EngineProfiler()
    ms = sorted(L.config_ms(prof, model, random_arch(SPACE, rng).config(SPACE, 1, 3)) for _ in range(12))
    bound = round(ms[len(ms) // 2], 1)
    assert L.config_ms(prof, model, largest(SPACE).config(SPACE, 1, 3)) > bound
    data = make_folder(tmp_path / "images")
    out = tmp_path / "run"
    r = mcuforge.search(f"folder:{data}", out, board="STM32L432KC", preset="quick", threads=1, progress=False,
                        qemu="none", resolutions=[32], max_ms=bound,
                        overrides={**TINY, "widths": [0.2], "latency_networks": 3})  # fmt: skip
    assert r["max_ms"] == bound and r["predicted_ms"] <= bound
    cands = json.loads((out / "candidates.json").read_text())
    assert cands and all(c["predicted_ms"] <= bound for c in cands)
    lat = r["latency"]
    assert len(lat["fit_leave_one_out"]) == 3
    for name, c in lat["models"].items():
        assert abs(c["error"]) < 0.05, (name, c)
        assert c["search_predicted_ms"] <= bound, name
    # the search's figure for the winner is the compiled model's
    assert lat["models"]["winner"]["search_predicted_ms"] == pytest.approx(lat["models"]["winner"]["predicted_ms"])
    assert "## Latency" in (out / "report.md").read_text()


@needs_qemu
def test_unreachable_bound_fails_before_the_supernet(tmp_path):
    pytest.importorskip("torch")
    import mcuforge
    from mcuforge.errors import InputError

    from test_search import TINY, make_folder

    data = make_folder(tmp_path / "images")
    out = tmp_path / "run"
    with pytest.raises(InputError, match="give a larger --max-ms"):
        mcuforge.search(f"folder:{data}", out, board="STM32L432KC", preset="quick", threads=1, progress=False,
                        qemu="none", resolutions=[32], max_ms=0.01,
                        overrides={**TINY, "widths": [0.2], "latency_networks": 2})  # fmt: skip
    assert not (out / "supernet_largest.pt").exists() and not (out / "supernet.pt").exists()
