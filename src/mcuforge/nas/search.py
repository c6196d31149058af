"""`mcuforge search`: the main job. Given data and a memory budget, find the most accurate
int8 network that fits, with the baselines it must beat, in a run folder that survives
kill -9 at any phase.

1. Stage 1 (nas/space_opt): the (width, resolution) space whose fitting networks have
   the most computation, resolutions about 0.5x-2x the data's size.
2. The supernet of that space, trained (nas/supernet_train).
3. Evolution (nas/evolution): fitness = validation accuracy of inherited weights after
   batch-norm re-estimation; constraint = the engine's peak SRAM and Flash of the int8
   subnet (the planner call `mcuforge compile` makes; the Flash budget less the code
   reserve of phase `code`, nas/search_code.py, for the constants) and, with --max-ms, the latency
   of a per-kernel instruction model fitted to QEMU counts of networks of the space
   (nas/latency.py; phase `latency`, checked on the final models in `latency_check`).
   With --patch every SRAM figure (stage 1 too) is `compile --patch auto`'s
   (EngineProfiler.patched), and phases `patch_NAME` compile the final models so.
4. Random search: as many fitting candidates of the same space as evolution scored,
   scored the same way.
5. The winner and random search's best, fine-tuned from their inherited weights; the
   baseline, MobileNetV2 scaled to the most computation that fits, trained from scratch
   for the fine-tune's epochs plus the supernet's. All three through `mcuforge train`
   (PTQ, QAT, export) into RUN/winner, RUN/random, RUN/baseline.
6. `validate` of the three on the test split (reference, C, QEMU), report.md/.html.

Nothing is chosen on the test split; it is loaded by validation only. The run folder's
settings and the torch.distributed set-up are in nas/search_main.py. The phases'
results go to RUN/search.json as they finish; a resumed run skips finished phases and
continues an interrupted one from its checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mcuforge.data import Split, load_dataset
from mcuforge.data.convention import InputConvention
from mcuforge.errors import InputError
from mcuforge.nas import space as S
from mcuforge.nas.arch import fit_to_data, min_resolution, mobilenet_v2
from mcuforge.nas.evolution import EvolutionState, MemoryConstraint, evolve
from mcuforge.nas.presets import SearchSettings, search_resolutions
from mcuforge.nas.profile import EngineProfiler, macs
from mcuforge.nas.search_code import CodePhase
from mcuforge.nas.search_latency import MODELS, LatencyPhases
from mcuforge.nas.search_patch import PatchPhase
from mcuforge.nas.space_opt import SpaceSettings, optimise_spaces
from mcuforge.nas.supernet import Arch, Supernet, random_arch
from mcuforge.nas.supernet_train import SubnetScorer, bn_batches, train_supernet
from mcuforge.train.batches import Augment, Batches
from mcuforge.train.config import write_json_atomic
from mcuforge.train.loop import save_atomic
from mcuforge.train.run import pick_device

FORMAT = "mcuforge-search"


def _subset(split: Split, n: int | None, seed: int) -> Split:
    if n is None or n >= len(split):
        return split
    idx = np.sort(np.random.default_rng(seed).permutation(len(split))[:n])
    return Split(split.images[idx], split.labels[idx])


class SearchRun(LatencyPhases, CodePhase, PatchPhase):
    def __init__(self, out: Path, st: SearchSettings, threads: int | None, device: str, progress: bool,
                 rank: int = 0, world: int = 1) -> None:  # fmt: skip
        self.out, self.st, self.plan = out, st, st.plan
        self.threads, self.device, self.progress = threads, pick_device(device), progress
        self.rank, self.world = rank, world
        self.writer = rank == 0
        self.state: dict[str, Any] = self._read("search.json") or {"format": FORMAT, "phases": {}, "minutes": {}}
        self.profiler = EngineProfiler()
        self.latency_model = None  # --max-ms: set by constraint() (nas/search_latency.py)

    # ---------------------------------------------------------------- helpers
    def _read(self, name: str) -> Any:
        p = self.out / name
        return json.loads(p.read_text()) if p.is_file() else None

    def _done(self, phase: str, result: dict[str, Any], started: float) -> dict[str, Any]:
        self.state["phases"][phase] = result
        self.state["minutes"][phase] = self.state["minutes"].get(phase, 0.0) + (time.monotonic() - started) / 60
        if self.writer:
            write_json_atomic(self.out / "search.json", self.state)
        return result

    def say(self, text: str) -> None:
        if self.progress and self.writer:
            print(f"search: {text}", flush=True)

    def data(self, resolution: int | None, splits: tuple[str, ...] = ("train", "val")):
        st = self.st
        return load_dataset(
            st.data, resolution, st.channels, split_seed=st.split_seed, val_size=st.val_size, splits=splits
        )

    def base_space(self, classes: int, channels: int) -> S.BlockSpace:
        return S.BlockSpace(num_classes=classes, in_channels=channels)

    # ---------------------------------------------------------------- stage 1
    def stage1(self) -> dict[str, Any]:
        done = self.state["phases"].get("space")
        if done:
            return done
        t0 = time.monotonic()
        st, plan = self.st, self.plan
        probe = self.data(None if st.resolutions is None else min(st.resolutions), ("val",))
        classes, channels = len(probe.classes), probe.channels
        base = self.base_space(classes, channels)
        low = _space_probe(base)
        res = st.resolutions or search_resolutions(probe.resolution, plan.resolution_factors, low)
        if min(res) < low:
            raise InputError(f"resolution {min(res)} is too small for the MCUNet space's strides; give {low} or more")
        self.code_reserve(base, tuple(res))
        flash = self.constants_flash
        self.say(
            f"stage 1: {len(plan.widths)} widths x {len(res)} resolutions ({', '.join(map(str, res))}), {plan.space_samples} networks each"
        )
        workers = 1 if self.world > 1 else 2
        ss = SpaceSettings(st.sram, flash, plan.widths, res, plan.space_samples, st.seed, workers, base, st.patch,
                           plan.max_mflops)  # fmt: skip
        found = optimise_spaces(ss, progress=self.progress and self.writer)
        if found.best is None:
            tiny = replace(base, width=min(plan.widths), resolution=min(res))
            m = self.profiler.memory(_smallest_config(tiny), st.patch)
            where = f"(width {tiny.width:g}, resolution {tiny.resolution})"
            room = f"{st.flash:,} B of Flash ({flash:,} B for constants after {st.flash - flash:,} B of code)"
            if m.peak_sram_bytes <= st.sram and m.flash_bytes <= flash:
                raise InputError(
                    f"none of the {plan.space_samples} networks sampled per space fits {st.sram:,} B of SRAM and "
                    f"{room}, though the space's smallest {where} does ({m.peak_sram_bytes:,} B, "
                    f"{m.flash_bytes:,} B of constants): use a larger preset (more samples) or a bigger budget"
                )
            raise InputError(
                f"no network of the MCUNet space fits {st.sram:,} B of SRAM and {room}; the smallest "
                f"{where} needs {m.peak_sram_bytes:,} B of SRAM and {m.flash_bytes:,} B of constants: give a bigger budget"
            )
        if self.writer:
            from mcuforge.nas.space_opt import plot

            plot(found, self.out / "space_cdf.png")
        return self._done("space", {**found.as_json(), "classes": classes, "channels": channels}, t0)

    # ----------------------------------------------------------- stage 2 parts
    def space(self) -> S.BlockSpace:
        s = self.state["phases"]["space"]
        return replace(
            self.base_space(s["classes"], s["channels"]), width=s["best"]["width"], resolution=s["best"]["resolution"]
        )

    def load(self, resolution: int) -> None:
        d = self.data(resolution)
        self.classes = d.classes
        self.convention = InputConvention.of_pixels(d.train.images)
        train = _subset(d.train, self.plan.train_images, self.st.seed)
        self.full_train, self.supernet_images = len(d.train), len(train)
        if self.world > 1:  # every rank its own share of each batch
            train = Split(train.images[self.rank :: self.world], train.labels[self.rank :: self.world])
        bs = max(2, 64 // self.world)
        pad = max(1, resolution // 28)
        self.train_batches = Batches(
            train,
            self.convention,
            bs,
            self.device,
            shuffle=True,
            seed=self.st.seed,
            augment=Augment(pad),
            drop_last=True,
        )
        bn = Batches(_subset(d.train, self.plan.bn_images, self.st.seed + 1), self.convention, 250, self.device)
        self.bn_images = bn_batches(bn, self.plan.bn_images)
        self.val = Batches(_subset(d.val, self.plan.val_images, self.st.seed + 2), self.convention, 500, self.device)

    def supernet(self, space: S.BlockSpace) -> Supernet:
        from mcuforge.nas.elastic_bn import synchronised

        t0 = time.monotonic()
        torch.manual_seed(self.st.seed)
        net = Supernet(space, space.in_channels, space.num_classes).to(self.device, memory_format=torch.channels_last)
        self.scorer = SubnetScorer(net, self.bn_images, self.val, self.rank, self.world)
        if "supernet" in self.state["phases"]:
            saved = torch.load(self.out / "supernet.pt", map_location=self.device, weights_only=False)
            net.load_state_dict(saved["state_dict"])
            return net
        wrapped = None
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            wrapped = DistributedDataParallel(net, find_unused_parameters=True)
        self.say(
            f"supernet of space w{space.width:g}-r{space.resolution}: {self.plan.supernet.largest_epochs} + {self.plan.supernet.sandwich_epochs} epochs"
        )
        st = replace(self.plan.supernet, seed=self.st.seed)
        with synchronised(net, self.world > 1):  # batch-norm statistics of the whole batch on every rank
            history = train_supernet(
                net, self.train_batches, self.scorer, st, self.out, self.progress, wrapped, self.writer
            )
        self._done("supernet", {"history": history}, t0)
        return net

    def evolution(self, space: S.BlockSpace, fits: MemoryConstraint) -> EvolutionState:
        t0 = time.monotonic()
        stored = self._read("evolution.json")
        state = None if stored is None else EvolutionState.from_dict(stored)
        plan = self.plan.evolution
        if state is not None and state.generation >= plan.generations and "evolution" in self.state["phases"]:
            return state
        from tqdm import tqdm

        bar = tqdm(total=plan.generations, initial=0 if state is None else state.generation, desc="evolution", unit="gen",
                   disable=None if self.progress and self.writer else True)  # fmt: skip

        def saved(s: EvolutionState) -> None:
            if self.writer:
                write_json_atomic(self.out / "evolution.json", s.as_dict())
            bar.n = s.generation
            bar.set_postfix(best=f"{s.population[0][1]:.4f}", scored=s.evaluated)
            bar.refresh()

        rng = np.random.default_rng([self.st.seed, 2])
        state = evolve(space, plan, fits, self.scorer, rng, state, saved)
        bar.close()
        self._done("evolution", {"best": state.population[0][0].as_dict(), "fitness": state.population[0][1],
                                 "evaluated": state.evaluated, "history": state.history}, t0)  # fmt: skip
        return state

    def random_search(self, space: S.BlockSpace, fits: MemoryConstraint, n: int) -> dict[str, Any]:
        done = self.state["phases"].get("random_search")
        if done:
            return done
        t0 = time.monotonic()
        rng = np.random.default_rng([self.st.seed, 3])
        archs: list[Arch] = []
        tries = 0
        while len(archs) < n:
            tries += 1
            if tries > 1000 * n:
                raise InputError(f"random search found only {len(archs)} fitting networks in {tries} draws")
            a = random_arch(space, rng)
            if fits(a):
                archs.append(a)
        scores: list[float] = []
        from tqdm import tqdm

        for i in tqdm(
            range(0, n, 50), desc="random search", unit="x50", disable=None if self.progress and self.writer else True
        ):
            scores += self.scorer(archs[i : i + 50])
        best = int(np.argmax(scores))
        return self._done("random_search", {"best": archs[best].as_dict(), "fitness": scores[best], "evaluated": n,
                                            "candidates": [{"arch": a.as_dict(), "fitness": f} for a, f in zip(archs, scores)]}, t0)  # fmt: skip

    # ------------------------------------------------------------- training
    def baseline_arch(self, classes: int, channels: int, resolutions: tuple[int, ...]) -> S.NetConfig:
        """MobileNetV2 scaled (width x resolution) to the most MACs that fit the budget
        (and the latency bound); with --patch, the SRAM of `compile --patch auto`, as for
        the searched networks."""
        best = None
        widths = [round(0.1 + 0.05 * i, 2) for i in range(19)]  # 0.1 .. 1.0
        for r in resolutions:
            for w in widths:
                cfg = fit_to_data(mobilenet_v2(w, r), classes, channels)
                if self.profiler.fits(cfg, self.st.sram, self.constants_flash, self.st.patch) and self.within_ms(cfg):
                    if best is None or macs(cfg) > macs(best):
                        best = cfg
                else:
                    break  # wider does not fit either at this resolution
        if best is None:
            within = "" if self.st.max_ms is None else f" within {self.st.max_ms:g} ms"
            raise InputError(
                f"no scaled MobileNetV2 (width 0.1 or more) fits {self.st.sram:,} B of SRAM and {self.st.flash:,} B of Flash "
                f"({self.constants_flash:,} B for constants){within}"
            )
        return best

    def train_model(self, name: str, cfg: S.NetConfig, init: dict[str, Any] | None, epochs: int) -> dict[str, Any]:
        import mcuforge

        done = self.state["phases"].get(f"train_{name}")
        if done:
            return done
        t0 = time.monotonic()
        folder = self.out / name
        arch_path = self.out / f"{name}_arch.json"
        S.save(cfg, arch_path)
        init_path = None
        if init is not None:
            init_path = self.out / f"{name}_init.pt"
            if not init_path.is_file():
                save_atomic(init, init_path)
        resume = (folder / "config.json").is_file()
        self.say(f"training {name} ({cfg.name}): {epochs} epochs + {self.plan.qat_epochs} QAT")
        board = {"board": self.st.board} if self.st.board else {"sram": self.st.sram, "flash": self.st.flash}
        settings = {} if resume else {"epochs": epochs, "qat_epochs": self.plan.qat_epochs, "seed": self.st.seed,
                                      "split_seed": self.st.split_seed, "val_size": self.st.val_size, "channels": self.st.channels,
                                      "init": None if init_path is None else str(init_path), **board}  # fmt: skip
        report = mcuforge.train(str(arch_path), None if resume else self.st.data, folder, resume=resume, threads=self.threads,
                                device=str(self.device.type), progress=self.progress, **settings)  # fmt: skip
        keep = {k: report[k] for k in ("accuracy", "memory", "deployed") if k in report}
        return self._done(f"train_{name}", {"arch": S.to_json(cfg), "model": str(folder / "model.tflite"), **keep}, t0)


def _smallest_config(space: S.BlockSpace) -> S.NetConfig:
    depths = [min(space.depths)] * (len(space.stage_channels) - 1) + [space.last_stage_depth]
    n = sum(depths)
    return S.build(space, depths, [min(space.kernels)] * n, [min(space.expands)] * n)


def _space_probe(base: S.BlockSpace) -> int:
    """The smallest resolution the space's strides allow."""
    return min_resolution(_smallest_config(base))


def qemu_backend(st: SearchSettings) -> str | None:
    """The QEMU backend that validates the models: the board's core (None when QEMU
    emulates no core of it), else the Cortex-M4 one."""
    if st.qemu is not None:
        return None if st.qemu == "none" else st.qemu
    if st.board is None:
        return "qemu-m4"
    from mcuforge.hw.boards import get_board

    machine = get_board(st.board).qemu_machine
    return {"mps2-an386": "qemu-m4", "mps2-an500": "qemu-m7"}.get(machine or "")


class Job(SearchRun):
    def subnet_init(self, net: Supernet, arch: Arch) -> dict[str, Any]:
        """The subnet's inherited weights, batch norm re-estimated (what its score saw)."""
        from mcuforge.nas.supernet import recalibrate_bn

        sub = net.get_subnet(arch)
        recalibrate_bn(sub, self.bn_images)
        return {"state_dict": sub.state_dict(), "arch": arch.as_dict()}

    def candidates(self, fits: MemoryConstraint, source: dict[Arch, str]) -> None:
        if not self.writer:
            return
        rows = []
        for a, f in self.scorer.cache.items():
            m = fits.memory(a)
            row = {"arch": a.as_dict(), "fitness": f, "peak_sram_bytes": m.peak_sram_bytes, "flash_bytes": m.flash_bytes,
                   "source": source.get(a, "evolution")}  # fmt: skip
            if m.patch is not None:  # --patch: whether compile --patch auto runs it patch by patch
                row["patch_used"] = m.patch["used"]
            if self.latency_model is not None:
                row["predicted_ms"] = round(fits.ms(a), 3)  # type: ignore[attr-defined]
            rows.append(row)
        write_json_atomic(self.out / "candidates.json", rows)

    def validate(self, name: str) -> dict[str, Any]:
        import mcuforge

        done = self.state["phases"].get(f"validate_{name}")
        if done:
            return done
        t0 = time.monotonic()
        qemu = qemu_backend(self.st)
        backends = (["ref", "c"] if name == "winner" else ["ref"]) + ([qemu] if qemu else [])
        self.say(f"validating {name} on the test split ({', '.join(backends)})")
        v = mcuforge.validate(self.out / name / "model.tflite", self.st.data, backends=backends, progress=self.progress)
        r = {"backends": backends, "samples": v.samples, "accuracy": v.accuracy, "identical": v.identical,
             "mismatches": v.mismatches, "prediction_mismatches": v.prediction_mismatches}  # fmt: skip
        return self._done(f"validate_{name}", r, t0)

    def run(self) -> dict[str, Any] | None:
        dist = self.world > 1
        if dist:
            import torch.distributed as D

            box = [(self.stage1(), self.state["phases"]["code"]) if self.rank == 0 else None]
            D.broadcast_object_list(box, src=0)
            self.state["phases"]["space"], self.state["phases"]["code"] = box[0]
        else:
            self.stage1()
        space = self.space()
        self.load(space.resolution)
        fits = self.constraint(space)
        stored = self._read("candidates.json") or []
        source = {Arch.from_dict(c["arch"]): c["source"] for c in stored}
        net = self.supernet(space)
        self.scorer.cache.update({Arch.from_dict(c["arch"]): c["fitness"] for c in stored})
        state = self.evolution(space, fits)
        self.candidates(fits, source)
        rs = self.random_search(space, fits, state.evaluated)
        for c in rs["candidates"]:
            source.setdefault(Arch.from_dict(c["arch"]), "random")
        self.candidates(fits, source)
        if dist:
            import torch.distributed as D

            D.barrier()
            if self.rank != 0:
                return None
        winner, random_best = state.population[0][0], Arch.from_dict(rs["best"])
        budget = {"sram": self.st.sram, "flash": self.st.flash, "constants_flash": self.constants_flash}
        plan = self.plan
        # the baseline sees as many training images as the winner did in the supernet and its fine-tune
        seen = plan.supernet.largest_epochs + plan.supernet.sandwich_epochs
        supernet_epochs = round(seen * self.supernet_images / self.full_train)
        self.train_model("winner", net.config(winner, "winner"), self.subnet_init(net, winner), plan.finetune_epochs)
        self.train_model(
            "random", net.config(random_best, "random-best"), self.subnet_init(net, random_best), plan.finetune_epochs
        )
        res = tuple(s["resolution"] for s in self.state["phases"]["space"]["spaces"])
        base = self.baseline_arch(space.num_classes, space.in_channels, tuple(sorted(set(res))))
        self.train_model("baseline", base, None, plan.finetune_epochs + supernet_epochs)
        if self.st.patch:
            for name in MODELS:
                self.patch_model(name)
        for name in MODELS:
            self.validate(name)
        if self.st.max_ms is not None:
            self.latency_check(fits, base)
        from mcuforge.nas.search_report import summary, write_reports

        result = summary(self, winner, fits.memory(winner), budget)
        if self.writer:
            write_reports(self, result)
        return result
