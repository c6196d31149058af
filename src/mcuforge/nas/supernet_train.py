"""Training the supernet and scoring its subnets.

Training has two phases, both on train/loop.run_phase (checkpoints, kill -9 resume,
history lines): the largest network alone, then, after `sort_channels`, the sandwich
rule: each step runs the largest network, the smallest and `random_subnets` random
ones on the same batch and sums their gradients; with `distill` the smaller ones learn
the largest's predictions (in-place distillation) instead of the labels. The subnets
of a step come from a generator seeded by (seed, step), so a resumed run and every
rank of a distributed one draw the same ones.

`SubnetScorer` is the search's fitness: the validation accuracy of a subnet with the
supernet's weights after its batch-norm statistics are re-estimated on training
images (once-for-all's setting: about 2,000), cached per arch and, under
torch.distributed, split across the ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mcuforge.errors import InputError
from mcuforge.nas.supernet import Arch, Supernet, largest, random_arch, recalibrate_bn, smallest
from mcuforge.train.batches import Batches
from mcuforge.train.loop import PhaseSettings, accuracy, run_phase, save_atomic


@dataclass(frozen=True)
class SupernetSettings:
    largest_epochs: int = 4
    sandwich_epochs: int = 8
    random_subnets: int = 2  # per step, besides the largest and the smallest
    distill: bool = True
    lr: float = 0.05  # SGD at batch 64 (the training default)
    wd: float = 2e-4
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0
    checkpoint_every_s: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.largest_epochs < 0 or self.sandwich_epochs < 0 or self.random_subnets < 0:
            raise InputError("supernet epochs and random subnets per step must be 0 or more")

    def phase(self, name: str) -> PhaseSettings:
        epochs = self.largest_epochs if name == "supernet-largest" else self.sandwich_epochs
        return PhaseSettings(
            name,
            epochs,
            self.lr,
            self.wd,
            "sgd",
            self.warmup_epochs,
            self.label_smoothing,
            0.0,
            self.checkpoint_every_s,
        )


def sandwich_archs(supernet: Supernet, seed: int, step: int, n: int) -> list[Arch]:
    """The smaller subnets of one step: the smallest, then n drawn from (seed, step)."""
    rng = np.random.default_rng([seed, step])
    return [smallest(supernet.space), *(random_arch(supernet.space, rng) for _ in range(n))]


class SandwichStep:
    """One step of the sandwich rule (run_phase's step_fn): backward through every subnet,
    one optimiser step after."""

    def __init__(self, supernet: Supernet, st: SupernetSettings) -> None:
        self.supernet, self.st = supernet, st
        self.top = largest(supernet.space)
        self.ce = nn.CrossEntropyLoss(label_smoothing=st.label_smoothing)
        self.soft = nn.CrossEntropyLoss()  # with probabilities as targets

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        net = self.supernet
        net.set_active(self.top)
        logits = model(x)
        loss = self.ce(logits, y)
        loss.backward()
        target = logits.detach().softmax(dim=1)
        try:
            for arch in sandwich_archs(net, self.st.seed, step, self.st.random_subnets):
                net.set_active(arch)
                out = model(x)
                (self.soft(out, target) if self.st.distill else self.ce(out, y)).backward()
        finally:
            net.set_active(self.top)
        return loss, logits


class SubnetScorer:
    """Validation accuracy of subnets with inherited weights (see the module docstring)."""

    def __init__(
        self, supernet: Supernet, bn_images: list[torch.Tensor], val: Batches, rank: int = 0, world: int = 1
    ) -> None:
        self.supernet, self.bn_images, self.val = supernet, bn_images, val
        self.rank, self.world = rank, world
        self.cache: dict[Arch, float] = {}

    def score(self, arch: Arch) -> float:
        net = self.supernet.get_subnet(arch).to(memory_format=torch.channels_last)
        recalibrate_bn(net, self.bn_images)
        return accuracy(net, self.val)

    def __call__(self, archs: Sequence[Arch]) -> list[float]:
        todo = list(dict.fromkeys(a for a in archs if a not in self.cache))
        mine = {a: self.score(a) for a in todo[self.rank :: self.world]}
        if self.world > 1:
            import torch.distributed as dist

            parts: list[Any] = [None] * self.world
            dist.all_gather_object(parts, [(a.as_dict(), f) for a, f in mine.items()])
            mine = {Arch.from_dict(a): f for part in parts for a, f in part}
        self.cache.update(mine)
        return [self.cache[a] for a in archs]


def bn_batches(images: Batches, n: int) -> list[torch.Tensor]:
    """The first n images of a (fixed-order) split, as input batches for recalibrate_bn."""
    out, seen = [], 0
    for x, _ in images.epoch():
        out.append(x[: n - seen])
        seen += out[-1].shape[0]
        if seen >= n:
            break
    return out


def train_supernet(
    supernet: Supernet,
    train: Batches,
    scorer: SubnetScorer,
    st: SupernetSettings,
    folder: Path,
    progress: bool = True,
    wrapped: nn.Module | None = None,
    writer: bool = True,
) -> list[dict[str, Any]]:
    """Train both phases, resuming from what `folder` holds; returns the history (each
    epoch's val_acc is the largest subnet's, after batch-norm re-estimation). Writes
    supernet_largest.pt after the first phase and supernet.pt at the end."""
    done = folder / "supernet.pt"
    if done.is_file():
        saved = torch.load(done, map_location=train.device, weights_only=False)
        supernet.load_state_dict(saved["state_dict"])
        return list(saved["history"])
    top = largest(supernet.space)

    def evaluate(_model: nn.Module) -> float:
        scorer.cache.pop(top, None)
        return scorer([top])[0]

    mid = folder / "supernet_largest.pt"
    history: list[dict[str, Any]] = []
    if mid.is_file():
        saved = torch.load(mid, map_location=train.device, weights_only=False)
        supernet.load_state_dict(saved["state_dict"])
        history = list(saved["history"])
    else:
        ck = folder / "supernet_largest_ckpt.pt"
        supernet.set_active(top)
        r = run_phase(supernet, train, scorer.val, st.phase("supernet-largest"), ck, resume=ck.is_file(), progress=progress,
                      evaluate=evaluate, wrapped=wrapped, writer=writer)  # fmt: skip
        history = r.history
        if writer:
            save_atomic({"state_dict": supernet.state_dict(), "history": history, "settings": asdict(st)}, mid)
            ck.unlink(missing_ok=True)
    supernet.sort_channels()
    ck = folder / "supernet_sandwich_ckpt.pt"
    r = run_phase(supernet, train, scorer.val, st.phase("supernet-sandwich"), ck, resume=ck.is_file(), progress=progress,
                  step_fn=SandwichStep(supernet, st), evaluate=evaluate, wrapped=wrapped, writer=writer)  # fmt: skip
    history = history + r.history
    if writer:
        save_atomic({"state_dict": supernet.state_dict(), "history": history, "settings": asdict(st)}, done)
        ck.unlink(missing_ok=True)
    scorer.cache.clear()
    return history
