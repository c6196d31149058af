"""The search's latency phases (`mcuforge search --max-ms`), mixed into nas/search.py's
SearchRun: `latency` fits the per-kernel instruction model (nas/latency.py) to QEMU
counts of networks of the chosen space, a check before the supernet that some random
networks meet the bound, the constraint evolution and random search use, the
baseline's bound, and `latency_check`, the final models against QEMU's count."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mcuforge.errors import InputError
from mcuforge.nas import space as S
from mcuforge.nas.evolution import MemoryConstraint
from mcuforge.nas.supernet import random_arch, smallest

MODELS = ("winner", "random", "baseline")
SHARE_DRAWS = 200  # random networks the check before the supernet draws


class LatencyPhases:
    """Needs SearchRun's st, plan, state, profiler, out, rank, world, say and _done."""

    st: Any
    plan: Any
    state: dict[str, Any]
    profiler: Any
    latency_model: Any
    constants_flash: int

    def constraint(self, space: S.BlockSpace) -> MemoryConstraint:
        """The engine's memory, and with --max-ms the latency model's prediction."""
        args = (space, space.in_channels, space.num_classes, self.st.sram, self.constants_flash, self.profiler)
        if self.st.max_ms is None:
            return MemoryConstraint(*args, patch=self.st.patch)
        from mcuforge.nas.latency import LatencyConstraint, LatencyModel

        if self.world > 1:  # rank 0 fits, every rank gets the same model
            import torch.distributed as D

            box = [self.latency(space, MemoryConstraint(*args)) if self.rank == 0 else None]
            D.broadcast_object_list(box, src=0)
            self.state["phases"]["latency"] = box[0]
        else:
            self.latency(space, MemoryConstraint(*args))
        self.latency_model = LatencyModel.from_dict(self.state["phases"]["latency"]["model"])
        fits = LatencyConstraint(*args, self.latency_model, self.st.max_ms)
        if "supernet" not in self.state["phases"]:
            self.latency_share(space, fits)
        return fits

    def latency_share(self, space: S.BlockSpace, fits: Any) -> None:
        """Before the supernet is trained: how many random networks that fit the memory
        run within --max-ms; none is an error."""
        rng = np.random.default_rng([self.st.seed, 5])
        in_memory = [a for a in (random_arch(space, rng) for _ in range(SHARE_DRAWS)) if fits.fits_memory(a)]
        ok = sum(fits.ms(a) <= self.st.max_ms for a in in_memory)
        if in_memory and ok == 0:
            fastest = min(fits.ms(a) for a in in_memory)
            raise InputError(
                f"none of {len(in_memory)} random networks of space {space.label} that fit the memory runs within "
                f"{self.st.max_ms:g} ms (the fastest takes {fastest:.1f} ms, the space's smallest network "
                f"{fits.ms(smallest(space)):.1f} ms, predicted at {fits.model.mhz} MHz): give a larger --max-ms"
            )
        self.say(
            f"latency: {ok} of {len(in_memory)} random networks that fit the memory run within {self.st.max_ms:g} ms"
        )

    def latency_board(self) -> Any:
        from mcuforge.hw.boards import get_board
        from mcuforge.nas.latency import latency_board

        return latency_board(get_board(self.st.board))

    def latency(self, space: S.BlockSpace, mem: MemoryConstraint) -> dict[str, Any]:
        """Phase `latency`: networks of the space that fit the memory budget (the smallest
        and random ones) run once under QEMU on the board's core; the per-kernel fit and
        each network's leave-one-out error."""
        done = self.state["phases"].get("latency")
        if done:
            return done
        t0 = time.monotonic()
        from mcuforge.nas.export import export_graph
        from mcuforge.nas.latency import fit_model

        board = self.latency_board()
        rng = np.random.default_rng([self.st.seed, 4])
        archs = [smallest(space)] if mem(smallest(space)) else []
        for _ in range(1000 * self.plan.latency_networks):
            if len(archs) >= self.plan.latency_networks:
                break
            a = random_arch(space, rng)
            if a not in archs and mem(a):
                archs.append(a)
        self.say(
            f"latency: fitting the instruction model on {len(archs)} networks of the space under QEMU ({board.core})"
        )
        graphs = [
            (f"fit{k}", export_graph(a.config(space, space.in_channels, space.num_classes), k))
            for k, a in enumerate(archs)
        ]
        model, loo = fit_model(graphs, board, self._count_bar("latency fit"))
        worst = max(abs(c["error"]) for c in loo)
        self.say(f"latency: leave-one-out error at most {100 * worst:.2f}% of the instructions")
        return self._done(
            "latency", {"model": model.as_dict(), "networks": [a.as_dict() for a in archs], "leave_one_out": loo}, t0
        )

    def _count_bar(self, desc: str):
        """A progress callback (done, total) drawing a tqdm bar on rank 0."""
        from tqdm import tqdm

        bar = None

        def update(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, desc=desc, unit="net", disable=None if self.progress and self.writer else True)
            bar.n = done
            bar.refresh()
            if done == total:
                bar.close()

        return update

    def within_ms(self, cfg: S.NetConfig) -> bool:
        """Whether cfg meets --max-ms (always without one)."""
        if self.latency_model is None:
            return True
        from mcuforge.nas.latency import config_ms

        return config_ms(self.profiler, self.latency_model, cfg) <= self.st.max_ms

    def latency_check(self, fits: Any, base: S.NetConfig) -> dict[str, Any]:
        """Phase `latency_check`: each final model compiled and run under QEMU with counting;
        the model's prediction on the compiled graph, and on the search's (the figure the
        constraint used), against QEMU's count."""
        done = self.state["phases"].get("latency_check")
        if done:
            return done
        t0 = time.monotonic()
        from mcuforge.frontend.tflite_read import load
        from mcuforge.nas.latency import check, config_ms, measure

        board = self.latency_board()
        self.say(f"latency: the final models under QEMU ({board.core}, {board.mhz} MHz)")
        out = {}
        for name in MODELS:
            m, _ = measure(load(self.out / name / "model.tflite"), board, name)
            c = check(fits.model, m)
            cfg = base if name == "baseline" else S.from_json(self.state["phases"][f"train_{name}"]["arch"])
            c["search_predicted_ms"] = config_ms(self.profiler, fits.model, cfg)
            c["within_bound"] = c["measured_ms"] <= fits.max_ms
            out[name] = c
        return self._done(
            "latency_check", {"max_ms": fits.max_ms, "mhz": board.mhz, "core": board.core, "models": out}, t0
        )
