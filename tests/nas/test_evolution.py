"""Evolution: the operators, constraint handling (nothing over budget is scored or enters
a population), elitism, resume from a stored state, and the engine's memory constraint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcuforge.errors import InputError
from mcuforge.nas.evolution import EvolutionSettings, EvolutionState, MemoryConstraint, crossover, evolve, mutate
from mcuforge.nas.profile import EngineProfiler
from mcuforge.nas.space import BlockSpace, SearchError
from mcuforge.nas.supernet import Arch, largest, random_arch, smallest

SPACE = BlockSpace(width=0.25, resolution=32, num_classes=10)
SMALL = EvolutionSettings(population=10, parents=4, mutations=5, crossovers=5, generations=4, max_tries=200)


def size(a: Arch) -> int:
    """A stand-in for memory: grows with every gene."""
    return sum(a.depths) * 10 + sum(a.kernels) + 2 * sum(a.expands)


def score(a: Arch) -> float:
    """A stand-in for accuracy that prefers large kernels and deep first stages."""
    return float(sum(a.kernels[:8]) + 3 * a.depths[0] - 0.5 * sum(a.expands))


def test_mutate_and_crossover():
    rng = np.random.default_rng(0)
    a, b = largest(SPACE), smallest(SPACE)
    assert mutate(a, SPACE, rng, 0.0) == a
    m = mutate(a, SPACE, rng, 1.0)
    assert m != a and set(m.kernels) <= set(SPACE.kernels) and set(m.depths) <= set(SPACE.depths)
    c = crossover(a, b, rng)
    for gene in ("depths", "kernels", "expands"):
        for x, y, z in zip(getattr(c, gene), getattr(a, gene), getattr(b, gene)):
            assert x in (y, z)
    assert c != a and c != b  # 30-odd genes, each a coin flip


def test_nothing_over_budget_is_scored_and_best_never_drops():
    budget = size(largest(SPACE)) * 0.8
    scored: list[Arch] = []

    def fitness(archs):
        scored.extend(archs)
        return [score(a) for a in archs]

    state = evolve(SPACE, SMALL, lambda a: size(a) <= budget, fitness, np.random.default_rng(1))
    assert scored and all(size(a) <= budget for a in scored)
    assert all(size(a) <= budget for a, _ in state.population)
    assert len(state.population) == SMALL.population and state.generation == SMALL.generations
    assert state.evaluated == SMALL.population + SMALL.generations * (SMALL.mutations + SMALL.crossovers)
    best = [h["best"] for h in state.history]
    assert best == sorted(best) and best[-1] > best[0]
    fit = [f for _, f in state.population]
    assert fit == sorted(fit, reverse=True)


def test_resume_gives_the_same_search():
    def fitness(archs):
        return [score(a) for a in archs]

    fits = lambda a: size(a) <= 440  # noqa: E731  (about half of the random networks)
    whole = evolve(SPACE, SMALL, fits, fitness, np.random.default_rng(7))
    saved: list[str] = []
    evolve(SPACE, EvolutionSettings(**{**SMALL.__dict__, "generations": 2}), fits, fitness, np.random.default_rng(7),
           on_generation=lambda s: saved.append(json.dumps(s.as_dict())))  # fmt: skip
    state = EvolutionState.from_dict(json.loads(saved[-1]))
    assert state.generation == 2
    resumed = evolve(SPACE, SMALL, fits, fitness, np.random.default_rng(12345), state=state)
    assert resumed.population == whole.population and resumed.history == whole.history


def test_no_fit_is_one_sentence():
    with pytest.raises(SearchError, match="met the constraint"):
        evolve(SPACE, SMALL, lambda a: False, lambda archs: [0.0] * len(archs), np.random.default_rng(0))
    with pytest.raises(InputError):
        EvolutionSettings(population=5, parents=6)


def test_memory_constraint_is_the_engines():
    profiler = EngineProfiler()
    arch = random_arch(SPACE, np.random.default_rng(3))
    m = profiler.memory(arch.config(SPACE, 1, 10))
    fits = MemoryConstraint(SPACE, 1, 10, sram=m.peak_sram_bytes, flash=m.flash_bytes, profiler=profiler)
    assert fits(arch) and fits.memory(arch) == m
    assert not MemoryConstraint(SPACE, 1, 10, sram=m.peak_sram_bytes - 1, flash=m.flash_bytes, profiler=profiler)(arch)
    assert not MemoryConstraint(SPACE, 1, 10, sram=m.peak_sram_bytes, flash=m.flash_bytes - 1, profiler=profiler)(arch)

    # a budget nothing meets: the error names the smallest network's figures
    tiny = MemoryConstraint(SPACE, 1, 10, sram=1000, flash=1000, profiler=profiler)
    low = tiny.memory(smallest(SPACE))
    with pytest.raises(SearchError, match=f"{low.peak_sram_bytes:,} B of SRAM"):
        evolve(SPACE, EvolutionSettings(population=4, parents=2, mutations=1, crossovers=1, generations=1, max_tries=20),
               tiny, lambda archs: [0.0] * len(archs), np.random.default_rng(0))  # fmt: skip
