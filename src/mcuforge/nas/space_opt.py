"""TinyNAS search-space optimisation (MCUNet, ANCHORS 2.2).

For every (width multiplier, resolution) space, sample networks from the MCUNet block
space with a seeded generator, keep those whose engine figures fit the board (peak
SRAM from the engine's planner, Flash from its constant arrays: nas/profile.py's
EngineProfiler), and summarise the FLOPs of the fitting ones. The chosen space is the
one whose fitting networks have the largest mean FLOPs: more computation within the
same memory tends to mean a more accurate network. FLOPs here are multiply-accumulates
(MCUNet's and ProxylessNAS's profilers count one MAC as one FLOP).

A network whose Flash does not fit is rejected before its memory is planned (it cannot
fit whatever its SRAM); every other one is planned in full. With `patch` (search
--patch) the SRAM is `compile --patch auto`'s: a network that fits per layer fits, and
only the others are searched for a patch plan (0.2-0.6 s each at 56-96 pixels against
0.02 s for the per-layer plan). Measured on one core, 600 networks of w0.2-1.0 x r20-56:
12 s per layer and 61 s with patch under 16 KB (the r56 spaces fit only with patches,
and the chosen space moves from w0.5-r28 to w0.5-r56); 5.0 s and 5.3 s under 48 KB.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.nas.profile import EngineProfiler, macs
from mcuforge.nas.space import BlockSpace, sample

WIDTHS = tuple(round(0.2 + 0.1 * i, 1) for i in range(9))  # 0.2 .. 1.0
RESOLUTIONS = tuple(range(48, 225, 16))  # 48 .. 224


@dataclass(frozen=True)
class SpaceSettings:
    sram: int  # bytes the network may use for its arena
    flash: int  # bytes for its constants
    widths: tuple[float, ...] = WIDTHS
    resolutions: tuple[int, ...] = RESOLUTIONS
    samples: int = 1000  # networks per space
    seed: int = 0
    workers: int = 2  # processes (1: run in this process)
    base: BlockSpace = field(default_factory=BlockSpace)  # kernels, expands, depths, channels
    patch: bool = False  # SRAM of `compile --patch auto` (searched only for networks that do not fit per layer)
    # Compute bound: the chosen space's fitting networks average at most this many MFLOPs
    # (None: no bound). Training time grows with them; a preset sets it so that its search
    # stays within its time on 2 cores. If every fitting space is above it, the lowest is chosen.
    max_mflops: float | None = None


@dataclass(frozen=True)
class SpaceResult:
    width: float
    resolution: int
    samples: int
    mflops_fit: tuple[float, ...]  # MFLOPs of the fitting networks, ascending

    @property
    def fit_fraction(self) -> float:
        return len(self.mflops_fit) / self.samples if self.samples else 0.0

    @property
    def mean_mflops_fit(self) -> float:
        return float(np.mean(self.mflops_fit)) if self.mflops_fit else 0.0

    @property
    def label(self) -> str:
        return f"w{self.width:g}-r{self.resolution}"


@dataclass(frozen=True)
class SpaceSearch:
    settings: SpaceSettings
    spaces: tuple[SpaceResult, ...]  # in (width, resolution) order

    @property
    def best(self) -> SpaceResult | None:
        """The space with the largest mean FLOPs among fitting networks (None if nothing
        fits anywhere), within the settings' compute bound (max_mflops; when every fitting
        space is above it, the one with the lowest mean); ties go to the earlier space
        (smaller width, then resolution)."""
        fitting = [s for s in self.spaces if s.mflops_fit]
        if not fitting:
            return None
        cap = self.settings.max_mflops
        if cap is not None:
            within = [s for s in fitting if s.mean_mflops_fit <= cap]
            if not within:
                return min(fitting, key=lambda s: s.mean_mflops_fit)
            fitting = within
        return max(fitting, key=lambda s: s.mean_mflops_fit)

    def as_json(self) -> dict[str, Any]:
        best = self.best
        st = self.settings
        return {
            "sram_bytes": st.sram,
            "flash_bytes": st.flash,
            "samples_per_space": st.samples,
            "seed": st.seed,
            "patch": st.patch,
            "max_mflops": st.max_mflops,
            "spaces": [
                {
                    "width": s.width,
                    "resolution": s.resolution,
                    "fit_fraction": s.fit_fraction,
                    "mean_mflops_fit": round(s.mean_mflops_fit, 4),
                }
                for s in self.spaces
            ],
            "best": None if best is None else {
                "width": best.width,
                "resolution": best.resolution,
                "fit_fraction": best.fit_fraction,
                "mean_mflops_fit": round(best.mean_mflops_fit, 4),
            },
        }  # fmt: skip


def space_seed(seed: int, width: float, resolution: int) -> np.random.SeedSequence:
    """Each space's own stream, a function of the run's seed and the space only, so that
    results do not depend on which worker ran it or in what order."""
    return np.random.SeedSequence([seed, round(width * 10), resolution])


_PROFILER: EngineProfiler | None = None  # one per process: pieces are reused across its spaces


def evaluate_space(st: SpaceSettings, width: float, resolution: int) -> SpaceResult:
    """Sample st.samples networks of one space and keep the MFLOPs of those that fit."""
    global _PROFILER
    if _PROFILER is None:
        _PROFILER = EngineProfiler()
    space = replace(st.base, width=width, resolution=resolution)
    rng = np.random.default_rng(space_seed(st.seed, width, resolution))
    fit = []
    for _ in range(st.samples):
        cfg = sample(space, rng)
        if _PROFILER.fits(cfg, st.sram, st.flash, st.patch):
            fit.append(macs(cfg) / 1e6)
    _PROFILER.clear()
    return SpaceResult(width, resolution, st.samples, tuple(sorted(fit)))


def _evaluate(args: tuple[SpaceSettings, float, int]) -> SpaceResult:
    return evaluate_space(*args)


def _run(st: SpaceSettings, grid: Sequence[tuple[float, int]]) -> Iterator[SpaceResult]:
    jobs = [(st, w, r) for w, r in grid]
    if st.workers <= 1:
        yield from map(_evaluate, jobs)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(st.workers) as pool:
        # Expensive spaces (wide, high resolution) first, so that no worker is left with
        # a long one at the end; results are put back in grid order below.
        order = sorted(range(len(jobs)), key=lambda k: (-jobs[k][1], -jobs[k][2]))
        yield from pool.imap_unordered(_evaluate, [jobs[k] for k in order])


def optimise_spaces(st: SpaceSettings, progress: bool = True) -> SpaceSearch:
    """Evaluate every (width, resolution) space; a tqdm bar counts sampled networks."""
    from tqdm import tqdm

    grid = [(w, r) for w in st.widths for r in st.resolutions]
    results: dict[tuple[float, int], SpaceResult] = {}
    with tqdm(total=len(grid) * st.samples, unit="net", disable=not progress, desc="spaces") as bar:
        for res in _run(st, grid):
            results[(res.width, res.resolution)] = res
            bar.update(res.samples)
            bar.set_postfix_str(f"{res.label}: {res.fit_fraction:.0%} fit")
    return SpaceSearch(st, tuple(results[k] for k in grid))


def plot(search: SpaceSearch, path: str | Path, highlight: int = 6) -> None:
    """The FLOPs CDF of fitting networks per space, as in MCUNet's Figure 3: every space
    in grey, the `highlight` best by mean FLOPs in colour with their mean in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ranked = sorted((s for s in search.spaces if s.mflops_fit), key=lambda s: -s.mean_mflops_fit)
    top = ranked[:highlight]
    for s in ranked[highlight:]:
        y = np.arange(1, len(s.mflops_fit) + 1) / len(s.mflops_fit)
        ax.step(s.mflops_fit, y, where="post", color="#bbbbbb", lw=0.6)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.85, max(len(top), 1)))
    for s, colour in zip(top, colours):
        y = np.arange(1, len(s.mflops_fit) + 1) / len(s.mflops_fit)
        ax.step(s.mflops_fit, y, where="post", color=colour, lw=1.8 if s is top[0] else 1.1,
                label=f"{s.label}: mean {s.mean_mflops_fit:.1f}M, {s.fit_fraction:.0%} fit")  # fmt: skip
    st = search.settings
    ax.set_xlabel("FLOPs (M) of networks that fit")
    ax.set_ylabel("cumulative probability")
    ax.set_title(f"search spaces under {st.sram / 1024:.0f} KiB SRAM, {st.flash / 1024:.0f} KiB Flash")
    ax.grid(alpha=0.3)
    if top:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
