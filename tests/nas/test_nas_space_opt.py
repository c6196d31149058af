"""Search-space optimisation on a reduced grid and sample count: the fit decisions are
the profiler's, results do not depend on workers, the JSON and the plot are written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mcuforge.cli import main
from mcuforge.nas.profile import EngineProfiler, macs
from mcuforge.nas.space import BlockSpace, sample
from mcuforge.nas.space_opt import RESOLUTIONS, WIDTHS, SpaceSearch, SpaceSettings, evaluate_space, optimise_spaces, space_seed

KB = 1024


def test_the_grid_is_mcunets():
    assert len(WIDTHS) * len(RESOLUTIONS) == 108
    assert WIDTHS[0] == 0.2 and WIDTHS[-1] == 1.0 and RESOLUTIONS == tuple(range(48, 225, 16))


def test_space_result_matches_profiler_one_by_one():
    st = SpaceSettings(sram=96 * KB, flash=600 * KB, samples=12, seed=3, workers=1)
    res = evaluate_space(st, 0.4, 96)
    rng = np.random.default_rng(space_seed(3, 0.4, 96))
    profiler = EngineProfiler()
    fit = []
    for _ in range(12):
        cfg = sample(BlockSpace(width=0.4, resolution=96), rng)
        m = profiler.memory(cfg)
        if m.peak_sram_bytes <= st.sram and m.flash_bytes <= st.flash:
            fit.append(macs(cfg) / 1e6)
    assert res.mflops_fit == tuple(sorted(fit))
    assert 0 < res.fit_fraction < 1  # the limits cut through this space: both branches ran
    assert res.mean_mflops_fit == pytest.approx(float(np.mean(fit)))


def test_workers_do_not_change_results():
    st = SpaceSettings(sram=160 * KB, flash=1024 * KB, widths=(0.3, 0.5), resolutions=(64, 112), samples=6, workers=1)
    one = optimise_spaces(st, progress=False)
    two = optimise_spaces(replace(st, workers=2), progress=False)
    assert one.spaces == two.spaces
    assert [(s.width, s.resolution) for s in one.spaces] == [(0.3, 64), (0.3, 112), (0.5, 64), (0.5, 112)]
    best = one.best
    assert best is not None and best.mean_mflops_fit == max(s.mean_mflops_fit for s in one.spaces)


def test_nothing_fits():
    st = SpaceSettings(sram=1 * KB, flash=1024 * KB, widths=(0.2,), resolutions=(48,), samples=3, workers=1)
    search = optimise_spaces(st, progress=False)
    assert search.best is None and search.as_json()["best"] is None
    assert search.spaces[0].fit_fraction == 0 and search.spaces[0].mean_mflops_fit == 0


def test_cli_writes_json_and_plot(tmp_path: Path, capsys):
    out, png = tmp_path / "spaces.json", tmp_path / "cdf.png"
    rc = main([
        "space", "--board", "STM32F412", "--sram", str(200 * KB), "--samples", "5", "--workers", "1",
        "--widths", "0.3,0.4", "--resolutions", "80,128", "--json", str(out), "--plot", str(png),
    ])  # fmt: skip
    assert rc == 0
    d = json.loads(out.read_text())
    assert d["board"] == "STM32F412" and d["sram_bytes"] == 200 * KB and d["samples_per_space"] == 5
    assert len(d["spaces"]) == 4
    for s in d["spaces"]:
        assert set(s) == {"width", "resolution", "fit_fraction", "mean_mflops_fit"}
    best = max(d["spaces"], key=lambda s: s["mean_mflops_fit"])
    assert d["best"] == best
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"best space: w{best['width']:g}-r{best['resolution']}" in capsys.readouterr().out


def test_cli_rejects_bad_lists(capsys):
    assert main(["space", "--widths", "0.3,x", "--samples", "1"]) == 2
    assert "--widths must be a comma-separated list" in capsys.readouterr().err


def test_compute_bound_chooses_below_it():
    """max_mflops: the best space among those whose fitting networks average at most the
    bound; when every fitting space is above it, the lowest one."""
    st = SpaceSettings(sram=160 * KB, flash=1024 * KB, widths=(0.3, 0.5), resolutions=(64, 112), samples=6, workers=1)
    free = optimise_spaces(st, progress=False)
    means = sorted(s.mean_mflops_fit for s in free.spaces if s.mflops_fit)
    assert len(means) >= 3 and means[0] < means[1] < means[-1]
    bounded = SpaceSearch(replace(st, max_mflops=means[1]), free.spaces)
    assert bounded.best.mean_mflops_fit == means[1] != free.best.mean_mflops_fit
    below_all = SpaceSearch(replace(st, max_mflops=means[0] / 2), free.spaces)
    assert below_all.best.mean_mflops_fit == means[0]
    assert below_all.as_json()["max_mflops"] == means[0] / 2
