"""One training phase (the float network, or quantisation-aware fine-tuning): plain
PyTorch with a cosine learning rate after a linear warm-up, SGD (Nesterov) or AdamW,
label smoothing, optional weight EMA, a tqdm bar per epoch and one history line per
epoch. Checkpoints are written under a temporary name and renamed, every
`checkpoint_every_s` seconds and at each epoch's end, so a kill -9 loses at most that
much work; `resume` continues from the last one and gives the same weights as a run
that was never interrupted (the batches of an epoch are fixed by its seed, and the
checkpoint holds the optimiser, the EMA and PyTorch's random state).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from mcuforge.errors import InputError
from mcuforge.train.batches import Batches

OPTIMIZERS = ("sgd", "adamw")
StepFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class PhaseSettings:
    name: str  # "float" or "qat": names the checkpoint and the history lines
    epochs: int
    lr: float
    wd: float
    optimizer: str = "sgd"
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    ema: float = 0.0  # weight EMA decay per step (0: off)
    checkpoint_every_s: float = 60.0

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise InputError(f"the number of {self.name} epochs must be 0 or more, not {self.epochs}")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.optimizer!r}; choose {' or '.join(OPTIMIZERS)}")
        if not self.lr > 0 or self.wd < 0:
            raise InputError(f"the learning rate must be positive and the weight decay 0 or more (got {self.lr}, {self.wd})")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.ema < 1:
            raise InputError("label smoothing and EMA decay must be in [0, 1)")


def learning_rate(ps: PhaseSettings, step: int, steps_per_epoch: int) -> float:
    """Linear warm-up over warmup_epochs, then a cosine from lr down to 0."""
    total = max(1, ps.epochs * steps_per_epoch)
    warm = min(int(ps.warmup_epochs * steps_per_epoch), total - 1)
    if step < warm:
        return ps.lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return 0.5 * ps.lr * (1 + math.cos(math.pi * t))


def make_optimizer(model: nn.Module, ps: PhaseSettings) -> torch.optim.Optimizer:
    """Weight decay on convolution and linear weights only (not on biases, batch norm)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": ps.wd}, {"params": rest, "weight_decay": 0.0}]
    if ps.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=ps.lr)
    return torch.optim.SGD(groups, lr=ps.lr, momentum=0.9, nesterov=True)


class WeightEMA:
    """Exponential moving average of the parameters; buffers (batch-norm statistics,
    activation ranges) are copied from the model."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        import copy

        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        ema_p = list(self.model.parameters())
        torch._foreach_lerp_(ema_p, [p.detach() for p in model.parameters()], 1.0 - self.decay)
        for eb, b in zip(self.model.buffers(), model.buffers()):
            eb.copy_(b)


@torch.no_grad()
def accuracy(model: nn.Module, batches: Batches) -> float:
    """Top-1 accuracy (first maximum on ties) over every batch, in eval mode."""
    was = model.training
    model.eval()
    correct = 0
    for x, y in batches.epoch():
        correct += int((model(x).argmax(dim=1) == y).sum())
    model.train(was)
    return correct / max(1, batches.samples)


def save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@dataclass
class PhaseResult:
    model: nn.Module  # what to use next: the EMA weights when EMA is on
    history: list[dict[str, Any]]
    images_per_s: float  # training throughput over the phase (or its resumed part)


def run_phase(
    model: nn.Module,
    train: Batches,
    val: Batches,
    ps: PhaseSettings,
    checkpoint: Path,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[list[dict[str, Any]]], None] | None = None,
    step_fn: StepFn | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    wrapped: nn.Module | None = None,
    writer: bool = True,
) -> PhaseResult:
    """Train `model` for ps.epochs, checkpointing to `checkpoint`; returns the model to use.
    `on_epoch` gets the phase's history after each epoch (the lines of earlier epochs too
    when resumed). `step_fn(model, x, y, global_step)` replaces the forward and backward
    of one step (the supernet's sandwich rule runs several networks per step) and returns
    the loss and logits it reports; `evaluate(model)` replaces the validation accuracy;
    `wrapped` is what the steps run (a DistributedDataParallel around `model`); only a
    `writer` (rank 0) writes checkpoints and calls `on_epoch`."""
    steps = len(train)
    opt = make_optimizer(model, ps)
    ema = WeightEMA(model, ps.ema) if ps.ema > 0 else None
    loss_fn = nn.CrossEntropyLoss(label_smoothing=ps.label_smoothing)
    runner = model if wrapped is None else wrapped

    def plain_step(m: nn.Module, x: torch.Tensor, y: torch.Tensor, _step: int) -> tuple[torch.Tensor, torch.Tensor]:
        logits = m(x)
        loss = loss_fn(logits, y)
        loss.backward()
        return loss, logits

    step_fn = step_fn or plain_step
    history: list[dict[str, Any]] = []
    epoch, step, stats = 0, 0, {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
    if resume and checkpoint.is_file():
        ck = torch.load(checkpoint, map_location=train.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if ema is not None and ck.get("ema") is not None:
            ema.model.load_state_dict(ck["ema"])
        torch.set_rng_state(ck["rng"])
        epoch, step, stats, history = ck["epoch"], ck["step"], ck["stats"], ck["history"]

    def save(epoch: int, step: int) -> None:
        if not writer:
            return
        save_atomic(
            {
                "phase": ps.name, "settings": asdict(ps), "epoch": epoch, "step": step, "stats": stats,
                "history": history, "model": model.state_dict(), "optimizer": opt.state_dict(),
                "ema": None if ema is None else ema.model.state_dict(), "rng": torch.get_rng_state(),
            },
            checkpoint,
        )  # fmt: skip

    last_save = time.monotonic()
    model.train()
    while epoch < ps.epochs:
        bar = tqdm(total=steps, initial=step, desc=f"{ps.name} epoch {epoch + 1}/{ps.epochs}", disable=None if progress and writer else True, leave=False, unit="batch")
        t0 = time.perf_counter()
        for x, y in train.epoch(epoch, step):
            for group in opt.param_groups:
                group["lr"] = learning_rate(ps, epoch * steps + step, steps)
            opt.zero_grad(set_to_none=True)
            loss, logits = step_fn(runner, x, y, epoch * steps + step)
            opt.step()
            if ema is not None:
                ema.update(model)
            step += 1
            n = int(y.shape[0])
            stats["loss"] += float(loss.detach()) * n
            stats["correct"] += int((logits.argmax(dim=1) == y).sum())
            stats["seen"] += n
            elapsed = time.perf_counter() - t0
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss'] / stats['seen']:.3f}", acc=f"{stats['correct'] / stats['seen']:.3f}", img_s=f"{stats['seen'] / max(1e-9, stats['seconds'] + elapsed):.0f}")
            if step < steps and time.monotonic() - last_save >= ps.checkpoint_every_s:
                stats["seconds"] += elapsed
                t0 = time.perf_counter()
                save(epoch, step)
                last_save = time.monotonic()
        bar.close()
        elapsed = time.perf_counter() - t0
        stats["seconds"] += elapsed
        evaluated = ema.model if ema is not None else model
        line = {
            "phase": ps.name, "epoch": epoch + 1, "lr": learning_rate(ps, (epoch + 1) * steps - 1, steps),
            "train_loss": stats["loss"] / max(1, stats["seen"]), "train_acc": stats["correct"] / max(1, stats["seen"]),
            "val_acc": accuracy(evaluated, val) if evaluate is None else evaluate(evaluated), "images_per_s": stats["seen"] / max(1e-9, stats["seconds"]),
            "images": stats["seen"], "seconds": stats["seconds"],
        }  # fmt: skip
        model.train()
        history.append(line)
        if on_epoch is not None and writer:
            on_epoch(history)
        epoch, step, stats = epoch + 1, 0, {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        save(epoch, step)
        last_save = time.monotonic()
    final = ema.model if ema is not None else model
    seconds = sum(h["seconds"] for h in history)
    return PhaseResult(final, history, sum(h["images"] for h in history) / seconds if seconds > 0 else 0.0)
