"""`mcuforge train`: data -> float training -> PTQ -> QAT -> int8 .tflite -> report, in a
run folder that survives kill -9.

RUN/ holds config.json (written first), arch.json, history.jsonl (one line per epoch),
model.pt (the float weights), ptq.tflite, qat.tflite (with --qat-epochs), model.tflite
(the deployed one: QAT when it ran, else PTQ) with model.labels.txt, eval.json,
curves.png, report.md and report.json. Each phase is skipped on resume when its output
is complete; the phase that was interrupted continues from its checkpoint
(*_ckpt.pt, written under a temporary name and renamed).

Choices: the final float weights are those of the last epoch; the deployed model is
QAT's when --qat-epochs > 0. Nothing is chosen on the test split; its accuracy is only
reported.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mcuforge.data import Dataset, Split, load_dataset
from mcuforge.data.convention import InputConvention
from mcuforge.errors import InputError
from mcuforge.frontend.metadata import ENTRY, ModelInfo, labels_file
from mcuforge.frontend.tflite_write import write
from mcuforge.nas import space
from mcuforge.nas.arch import fit_to_data, resolve
from mcuforge.nas.space import NetConfig
from mcuforge.nas.torch_model import Net, build_model
from mcuforge.quant.observers import ObserverSettings
from mcuforge.quant.qat import QuantNet
from mcuforge.train import evaluate
from mcuforge.train.batches import Augment, Batches
from mcuforge.train.config import (
    FORMAT,
    TrainConfig,
    config_dict,
    new_config,
    read_run_config,
    resumed_config,
    write_json_atomic,
)
from mcuforge.train.loop import PhaseSettings, run_phase, save_atomic


@dataclass(frozen=True)
class Runtime:
    """How to run, not what to compute: never stored as part of the config."""

    threads: int | None = None
    device: str = "auto"
    progress: bool = True


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but PyTorch sees no CUDA device; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r}; choose cpu, cuda or auto")
    return torch.device(name)


def prepare_folder(out: Path, given: dict[str, Any], resume: bool) -> tuple[TrainConfig, dict[str, Any] | None]:
    """The run's config: new (the folder must be empty or absent) or the stored one."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    if resume:
        stored = read_run_config(out)
        return resumed_config(stored, given), stored
    if out.is_dir() and any(out.iterdir()):
        raise InputError(f"folder {out} is not empty; pass --resume to continue the run in it, or choose another folder")
    return new_config(given), None


def load_init(net: Net, path: Path, device: torch.device) -> None:
    """Starting weights from a .pt (a state_dict, or a dict holding one as "state_dict")."""
    if not path.is_file():
        raise InputError(f"--init {path} does not exist")
    try:
        d = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch.load raises many kinds for a bad file
        raise InputError(f"--init {path} is not a PyTorch weights file ({type(e).__name__})") from None
    state = d.get("state_dict", d) if isinstance(d, dict) else None
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"--init {path} does not hold weights for this network ({first})") from None


class Run:
    def __init__(self, out: Path, cfg: TrainConfig, rt: Runtime, stored: dict[str, Any] | None) -> None:
        self.out, self.cfg, self.rt = out, cfg, rt
        self.device = pick_device(rt.device)
        self.log: list[str] = []
        base = resolve(cfg.arch)
        resolution = cfg.resolution or base.resolution
        self.data: Dataset = load_dataset(cfg.data, resolution, cfg.channels, split_seed=cfg.split_seed, val_size=cfg.val_size)
        self.arch: NetConfig = fit_to_data(base, len(self.data.classes), self.data.channels, resolution)
        if stored is not None:
            self.convention = InputConvention(**stored["convention"])
            if tuple(stored["classes"]) != self.data.classes:
                raise InputError(f"the data's classes changed since the run started ({', '.join(stored['classes'])}); start a new run folder")
        else:
            self.convention = InputConvention.of_pixels(self.data.train.images)
            out.mkdir(parents=True, exist_ok=True)
            write_json_atomic(out / "config.json", {
                "format": FORMAT, "version": 1, "command": "train", "config": config_dict(cfg),
                "convention": {"mean": self.convention.mean, "std": self.convention.std},
                "classes": list(self.data.classes), "arch": space.to_json(self.arch),
                "versions": {"torch": torch.__version__, "numpy": np.__version__},
            })  # fmt: skip
            (out / "arch.json").write_text(space.dumps(self.arch))
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ helpers
    def path(self, name: str) -> Path:
        return self.out / name

    def batches(self, split: Split, train: bool, batch_size: int | None = None) -> Batches:
        pad = self.cfg.crop_padding if self.cfg.crop_padding is not None else max(1, self.arch.resolution // 28)
        aug = Augment(pad, self.cfg.hflip) if train else None
        return Batches(split, self.convention, batch_size or (self.cfg.batch_size if train else 500), self.device, shuffle=train, seed=self.cfg.seed, augment=aug, drop_last=train)

    def write_history(self, lines: list[dict[str, Any]]) -> None:
        tmp = self.path("history.jsonl.tmp")
        tmp.write_text("".join(json.dumps(h) + "\n" for h in lines))
        os.replace(tmp, self.path("history.jsonl"))

    def model_info(self) -> ModelInfo:
        extra = {} if self.cfg.val_size is None else {"val_size": self.cfg.val_size}
        return ModelInfo(self.data.classes, self.convention.mean, self.convention.std, self.arch.resolution,
                         self.arch.in_channels, self.arch.name, self.cfg.data, self.cfg.split_seed, extra)  # fmt: skip

    def write_tflite(self, qnet: QuantNet, name: str) -> Path:
        g = qnet.to_graph()
        path = self.path(name)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(write(g, metadata={ENTRY: self.model_info().to_bytes()}))
        os.replace(tmp, path)
        return path

    def phase_settings(self, name: str) -> PhaseSettings:
        c = self.cfg
        if name == "float":
            return PhaseSettings("float", c.epochs, c.float_lr, c.weight_decay, c.optimizer, c.warmup_epochs, c.label_smoothing, c.ema, c.checkpoint_every_s)
        return PhaseSettings("qat", c.qat_epochs, c.qat_learning_rate, c.weight_decay, c.optimizer, 0.0, c.label_smoothing, 0.0, c.checkpoint_every_s)

    # ------------------------------------------------------------------- phases
    def float_phase(self) -> Net:
        final = self.path("model.pt")
        net = build_model(self.arch, seed=self.cfg.seed).to(self.device, memory_format=torch.channels_last)
        if final.is_file():
            saved = torch.load(final, map_location=self.device, weights_only=False)
            net.load_state_dict(saved["state_dict"])
            self.history = list(saved["history"])
            return net.eval()
        torch.manual_seed(self.cfg.seed)
        ck = self.path("float_ckpt.pt")
        if self.cfg.init is not None and not ck.is_file():
            load_init(net, Path(self.cfg.init), self.device)
        result = run_phase(
            net, self.batches(self.data.train, True), self.batches(self.data.val, False), self.phase_settings("float"), ck,
            resume=ck.is_file(), progress=self.rt.progress, on_epoch=self.write_history,
        )  # fmt: skip
        net = result.model
        self.history = result.history
        save_atomic({"arch": space.to_json(self.arch), "state_dict": net.state_dict(), "history": self.history,
                     "convention": {"mean": self.convention.mean, "std": self.convention.std}, "classes": list(self.data.classes),
                     "images_per_s": result.images_per_s}, final)  # fmt: skip
        ck.unlink(missing_ok=True)
        self.write_history(self.history)
        return net.eval()

    def calibration_batches(self) -> list[torch.Tensor]:
        train = self.data.train
        n = min(self.cfg.calib, len(train))
        idx = np.sort(np.random.default_rng(self.cfg.seed).permutation(len(train))[:n])
        b = Batches(Split(train.images[idx], train.labels[idx]), self.convention, 250, self.device)
        return [x for x, _ in b.epoch()]

    def ptq_phase(self, net: Net) -> QuantNet:
        saved = self.path("ptq.pt")
        qnet = QuantNet(net, self.convention).to(self.device)
        if saved.is_file() and self.path("ptq.tflite").is_file():
            qnet.load_state_dict(torch.load(saved, map_location=self.device, weights_only=False))
            return qnet.eval()
        qnet.calibrate(self.calibration_batches(), ObserverSettings(self.cfg.observer, seed=self.cfg.seed))
        save_atomic(qnet.state_dict(), saved)
        self.write_tflite(qnet, "ptq.tflite")
        return qnet.eval()

    def qat_phase(self, ptq: QuantNet, net: Net) -> QuantNet | None:
        if self.cfg.qat_epochs == 0:
            return None
        saved = self.path("qat.pt")
        qnet = QuantNet(net, self.convention).to(self.device)
        if saved.is_file() and self.path("qat.tflite").is_file():
            qnet.load_state_dict(torch.load(saved, map_location=self.device, weights_only=False))
            return qnet.eval()
        qnet.load_state_dict(ptq.state_dict())
        torch.manual_seed(self.cfg.seed + 1)
        ck = self.path("qat_ckpt.pt")
        float_lines = list(self.history)
        result = run_phase(
            qnet, self.batches(self.data.train, True), self.batches(self.data.val, False), self.phase_settings("qat"), ck,
            resume=ck.is_file(), progress=self.rt.progress, on_epoch=lambda h: self.write_history(float_lines + h),
        )  # fmt: skip
        qnet = result.model
        self.history = float_lines + result.history
        save_atomic(qnet.state_dict(), saved)
        self.write_tflite(qnet, "qat.tflite")
        ck.unlink(missing_ok=True)
        self.write_history(self.history)
        return qnet.eval()

    # ------------------------------------------------------- measure and report
    def evaluate(self, net: Net, ptq: QuantNet, qat: QuantNet | None) -> dict[str, Any]:
        done = self.path("eval.json")
        if done.is_file():
            try:
                d = json.loads(done.read_text())
                if d.get("complete"):
                    return d
            except (OSError, json.JSONDecodeError):
                pass
        from mcuforge.frontend.tflite_read import load

        conv, dev, data = self.convention, self.device, self.data
        acc: dict[str, Any] = {"float": {s: evaluate.torch_accuracy(net, data.split(s), conv, dev) for s in ("val", "test")}}
        ptq_graph = load(self.path("ptq.tflite"))
        acc["ptq"] = {s: evaluate.int8_accuracy(ptq_graph, data.split(s), conv) for s in ("val", "test")}
        if qat is not None:
            qat_graph = load(self.path("qat.tflite"))
            acc["qat"] = {
                **{f"{s}_fake": evaluate.torch_accuracy(qat, data.split(s), conv, dev) for s in ("val", "test")},
                **{s: evaluate.int8_accuracy(qat_graph, data.split(s), conv) for s in ("val", "test")},
            }
        d = {"complete": True, "accuracy": acc, "deployed": "qat" if qat is not None else "ptq"}
        write_json_atomic(done, d)
        return d

    def deploy(self, deployed: str) -> Path:
        model = self.path("model.tflite")
        tmp = model.with_name("model.tflite.tmp")
        shutil.copyfile(self.path(f"{deployed}.tflite"), tmp)
        os.replace(tmp, model)
        labels_file(model).write_text("".join(f"{c}\n" for c in self.data.classes))
        return model

    def memory(self, model: Path) -> dict[str, Any]:
        from mcuforge.engine import compile_graph
        from mcuforge.frontend.tflite_read import load
        from mcuforge.hw.boards import BOARDS, get_board

        from mcuforge.targets.codesize import flash_figure

        c = compile_graph(load(model))
        board = get_board(self.cfg.board or "STM32F746", self.cfg.sram, self.cfg.flash)
        figure = flash_figure(c.for_board(board).project, board)  # code + constants, as `compile` reports
        peak, flash = c.project.memory.arena_bytes, figure.total
        mem: dict[str, Any] = {"peak_sram_bytes": peak, "flash_bytes": flash, "constants_bytes": figure.constants,
                               "code_bytes": figure.code, "flash_source": figure.source}  # fmt: skip
        if self.cfg.board is not None or self.cfg.sram is not None:
            mem.update(board=board.name, board_sram=board.sram, board_flash=board.flash, fits=peak <= board.sram and flash <= board.flash)
        mem["fits_boards"] = [b.name for b in BOARDS.values() if peak <= b.sram and flash <= b.flash]
        return mem

    def report(self, result: dict[str, Any], memory: dict[str, Any], started: float) -> dict[str, Any]:
        from mcuforge.nas.profile import macs, params
        from mcuforge.train.report import format_report, plot_curves

        c, d, conv = self.cfg, self.data, self.convention
        float_lines = [h for h in self.history if h["phase"] == "float"]
        seconds = sum(h["seconds"] for h in float_lines)
        r = {
            "run": str(self.out), "model": str(self.path("model.tflite")), "deployed": result["deployed"],
            "data": {"spec": c.data, "classes": list(d.classes), "split_seed": c.split_seed, "train": len(d.train), "val": len(d.val),
                     "test": len(d.test), "resolution": self.arch.resolution, "channels": self.arch.in_channels,
                     "mean": conv.mean, "std": conv.std, "input_scale": float(conv.scale), "input_zero_point": conv.zero_point},
            "arch": {"name": self.arch.name, "macs": macs(self.arch), "params": params(self.arch), "blocks": len(self.arch.blocks),
                     "resolution": self.arch.resolution},
            "training": {"epochs": c.epochs, "optimizer": c.optimizer, "lr": c.float_lr, "wd": c.weight_decay, "batch_size": c.batch_size,
                         "label_smoothing": c.label_smoothing, "ema": c.ema, "crop_padding": self.batches(d.train, True).augment.crop_padding,
                         "hflip": c.hflip, "seed": c.seed, "calib": min(c.calib, len(d.train)), "observer": c.observer,
                         "qat_epochs": c.qat_epochs, "qat_lr": c.qat_learning_rate, "device": str(self.device),
                         "threads": torch.get_num_threads(),
                         "images_per_s": sum(h["images"] for h in float_lines) / seconds if seconds else 0.0,
                         "float_minutes": seconds / 60},
            "accuracy": result["accuracy"], "memory": memory, "history": self.history,
            "minutes_this_session": (time.monotonic() - started) / 60,
        }  # fmt: skip
        if self.history:
            plot_curves(self.history, self.path("curves.png"))
        self.path("report.md").write_text(format_report(r))
        write_json_atomic(self.path("report.json"), r)
        return r


def train(arch: str | None = None, data: str | None = None, out: str | Path = "run", *, resume: bool = False,
          threads: int | None = None, device: str = "auto", progress: bool = True, **settings: Any) -> dict[str, Any]:
    """Train `arch` on `data` into the run folder `out` (see the module docstring);
    `settings` are TrainConfig's fields. Returns the report's dict."""
    started = time.monotonic()
    out = Path(out)
    given = {"arch": arch, "data": data, **settings}
    cfg, stored = prepare_folder(out, given, resume)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    run = Run(out, cfg, Runtime(threads, device, progress), stored)
    net = run.float_phase()
    ptq = run.ptq_phase(net)
    qat = run.qat_phase(ptq, net)
    result = run.evaluate(net, ptq, qat)
    model = run.deploy(result["deployed"])
    return run.report(result, run.memory(model), started)
