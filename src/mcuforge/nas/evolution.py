"""Evolutionary search over supernet subnets under the engine's memory (TinyNAS stage 2).

Once-for-all's evolution finder, with its loops bounded and its randomness seeded: a
population of networks that fit, the best `parents` kept each generation, children made
by mutation (each gene re-drawn with probability `mutate_prob`) and by crossover (each
gene from one of two parents), `generations` times. A child that does not fit is drawn
again, at most `max_tries` times; nothing over budget ever enters the population or is
scored. Fitness comes from an `Estimator` (a batch of archs at once, so that a caller
can shard it across processes) and memory from a `Constraint`; both are small
protocols, and `MemoryConstraint` is the engine's own planner (nas/profile.py, the
figures `mcuforge compile` reports), cached per network.

The whole state after each generation (population, fitness, the generator's state) is
a JSON-able dict, so a search killed between generations resumes where it was and
gives the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from mcuforge.errors import InputError
from mcuforge.nas.profile import EngineMemory, EngineProfiler
from mcuforge.nas.space import BlockSpace, SearchError
from mcuforge.nas.supernet import Arch, random_arch, slots, smallest


class Estimator(Protocol):
    def __call__(self, archs: Sequence[Arch]) -> list[float]: ...


class Constraint(Protocol):
    def __call__(self, arch: Arch) -> bool: ...


@dataclass(frozen=True)
class EvolutionSettings:
    population: int = 100
    parents: int = 20
    mutations: int = 50
    crossovers: int = 50
    mutate_prob: float = 0.1
    generations: int = 30
    max_tries: int = 1000  # draws per network before the search gives up

    def __post_init__(self) -> None:
        if self.population < 2 or not 1 <= self.parents <= self.population:
            raise InputError(
                f"evolution needs a population of 2 or more and 1..population parents (got {self.population}, {self.parents})"
            )
        if self.mutations < 0 or self.crossovers < 0 or self.generations < 0 or self.max_tries < 1:
            raise InputError("mutations, crossovers and generations must be 0 or more, max_tries 1 or more")
        if not 0 <= self.mutate_prob <= 1:
            raise InputError(f"the mutation probability must be in [0, 1], not {self.mutate_prob}")


class MemoryConstraint:
    """Fits when the int8 subnet's peak SRAM and Flash, planned by the engine, are within
    budget. The figures are cached per arch (`memory`). With `patch`, the SRAM is that of
    `mcuforge compile --patch auto` (EngineProfiler.patched: the per-layer plan or the best
    patch plan, whichever is smaller); a network that fits per layer is not searched for
    a patch plan to decide that it fits."""

    def __init__(self, space: BlockSpace, in_channels: int, num_classes: int, sram: int, flash: int,
                 profiler: EngineProfiler | None = None, patch: bool = False) -> None:  # fmt: skip
        self.space, self.in_channels, self.num_classes = space, in_channels, num_classes
        self.sram, self.flash, self.patch = sram, flash, patch
        self.profiler = profiler or EngineProfiler()
        self._memory: dict[Arch, EngineMemory] = {}
        self._fits: dict[Arch, bool] = {}

    def memory(self, arch: Arch) -> EngineMemory:
        m = self._memory.get(arch)
        if m is None:
            cfg = arch.config(self.space, self.in_channels, self.num_classes)
            m = self._memory[arch] = self.profiler.memory(cfg, self.patch)
        return m

    def __call__(self, arch: Arch) -> bool:
        if self.patch:
            ok = self._fits.get(arch)
            if ok is None:
                cfg = arch.config(self.space, self.in_channels, self.num_classes)
                ok = self._fits[arch] = self.profiler.fits(cfg, self.sram, self.flash, patch=True)
            return ok
        m = self.memory(arch)
        return m.peak_sram_bytes <= self.sram and m.flash_bytes <= self.flash

    def nothing_fits(self, tries: int) -> SearchError:
        m = self.memory(smallest(self.space))
        patch = ", patch-based inference allowed" if self.patch else ""
        return SearchError(
            f"no network of space {self.space.label} fits {self.sram:,} B of SRAM and {self.flash:,} B of Flash "
            f"({tries} drawn{patch}); its smallest network needs {m.peak_sram_bytes:,} B of SRAM and {m.flash_bytes:,} B of Flash: "
            "give a bigger budget, or a smaller width or resolution"
        )


def mutate(arch: Arch, space: BlockSpace, rng: np.random.Generator, p: float) -> Arch:
    """Each gene (a stage's depth, a slot's kernel and expand ratio) re-drawn with probability p."""

    def redraw(genes: tuple[int, ...], choices: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(rng.choice(choices)) if rng.random() < p else g for g in genes)

    return Arch(
        redraw(arch.depths, space.depths), redraw(arch.kernels, space.kernels), redraw(arch.expands, space.expands)
    )


def crossover(a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
    """Each gene from a or b with equal probability."""

    def pick(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(u if rng.random() < 0.5 else v) for u, v in zip(x, y))

    return Arch(pick(a.depths, b.depths), pick(a.kernels, b.kernels), pick(a.expands, b.expands))


@dataclass
class EvolutionState:
    generation: int  # generations completed
    population: list[tuple[Arch, float]]  # sorted, best first
    rng_state: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)  # best and mean fitness per generation
    evaluated: int = 0  # fitness calls so far

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation, "rng_state": self.rng_state, "history": self.history, "evaluated": self.evaluated,
            "population": [{"arch": a.as_dict(), "fitness": f} for a, f in self.population],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvolutionState:
        pop = [(Arch.from_dict(p["arch"]), float(p["fitness"])) for p in d["population"]]
        return cls(int(d["generation"]), pop, d["rng_state"], list(d["history"]), int(d["evaluated"]))


def _draw(make: Callable[[], Arch], fits: Constraint, tries: int, what: str) -> Arch:
    for _ in range(tries):
        a = make()
        if fits(a):
            return a
    raise SearchError(f"none of {tries} {what} fitted the memory budget; loosen the budget or raise max_tries")


def _ranked(archs: Sequence[Arch], scores: Sequence[float]) -> list[tuple[Arch, float]]:
    # best first; ties keep the order in which the networks were made (deterministic)
    order = sorted(range(len(archs)), key=lambda i: (-scores[i], i))
    return [(archs[i], float(scores[i])) for i in order]


def _summary(gen: int, pop: list[tuple[Arch, float]]) -> dict[str, float]:
    fit = [f for _, f in pop]
    return {"generation": gen, "best": max(fit), "mean": float(np.mean(fit))}


def _children(
    parents: list[Arch], space: BlockSpace, st: EvolutionSettings, fits: Constraint, rng: np.random.Generator
) -> list[Arch]:
    """One generation's children: st.mutations mutants, then st.crossovers crosses, each
    redrawn until it fits."""

    def mutant() -> Arch:
        return mutate(parents[int(rng.integers(len(parents)))], space, rng, st.mutate_prob)

    def cross() -> Arch:
        i, j = rng.choice(len(parents), size=2, replace=len(parents) < 2)
        return crossover(parents[int(i)], parents[int(j)], rng)

    out = [_draw(mutant, fits, st.max_tries, "mutations") for _ in range(st.mutations)]
    return out + [_draw(cross, fits, st.max_tries, "crossovers") for _ in range(st.crossovers)]


def evolve(
    space: BlockSpace,
    settings: EvolutionSettings,
    fits: Constraint,
    fitness: Estimator,
    rng: np.random.Generator,
    state: EvolutionState | None = None,
    on_generation: Callable[[EvolutionState], None] | None = None,
) -> EvolutionState:
    """Run (or continue, from `state`) the search; returns the final state, whose
    population[0] is the best network found. `on_generation` sees the state after the
    first population and after every generation (write it down to resume)."""
    st = settings
    n_slots = sum(slots(space))
    if state is None:
        tries = 0
        pop: list[Arch] = []
        while len(pop) < st.population:
            if not pop and tries == st.max_tries:
                if isinstance(fits, MemoryConstraint):
                    raise fits.nothing_fits(tries)
                raise SearchError(
                    f"none of {tries} random networks of space {space.label} met the constraint; loosen it"
                )
            if tries == st.max_tries * st.population:
                raise SearchError(
                    f"only {len(pop)} of {st.population} random networks fitted in {tries} draws; loosen the budget"
                )
            tries += 1
            a = random_arch(space, rng)
            if fits(a):
                pop.append(a)
        ranked = _ranked(pop, fitness(pop))
        state = EvolutionState(0, ranked, rng.bit_generator.state, [_summary(0, ranked)], len(pop))
        if on_generation is not None:
            on_generation(state)
    else:
        rng.bit_generator.state = state.rng_state
        if any(len(a.kernels) != n_slots for a, _ in state.population):
            raise InputError("the stored evolution state belongs to another search space")
    while state.generation < st.generations:
        parents = [a for a, _ in state.population[: st.parents]]
        children = _children(parents, space, st, fits, rng)
        scores = fitness(children) if children else []
        kept = state.population[: st.parents]
        merged = _ranked([a for a, _ in kept] + children, [f for _, f in kept] + list(scores))
        gen = state.generation + 1
        state = EvolutionState(gen, merged[: st.population], rng.bit_generator.state,
                               [*state.history, _summary(gen, merged[: st.population])], state.evaluated + len(children))  # fmt: skip
        if on_generation is not None:
            on_generation(state)
    return state
