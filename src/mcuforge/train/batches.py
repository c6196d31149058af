"""Seeded batches of one split as float tensors, with light augmentation.

The images stay uint8 (N, H, W, C) in memory (on the training device) and are decoded,
resized and stored once; a batch is gathered, augmented and turned into what the float
network sees (data/convention.py) with a few tensor operations. Its float layout is
NCHW over NHWC memory, i.e. PyTorch's channels_last, which the convolutions prefer on
CPUs.

Every random choice of an epoch (order, crop offsets, flips) is drawn at the start of
the epoch from a generator seeded by (seed, epoch), so that a run resumed in the middle
of an epoch sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from mcuforge.data import Split
from mcuforge.data.convention import InputConvention
from mcuforge.errors import InputError


@dataclass(frozen=True)
class Augment:
    crop_padding: int = 0  # random crop of the image padded by this many black pixels per side
    hflip: bool = False  # random horizontal flip

    def __post_init__(self) -> None:
        if self.crop_padding < 0:
            raise InputError(f"the crop padding must be 0 or more pixels, not {self.crop_padding}")

    @property
    def active(self) -> bool:
        return self.crop_padding > 0 or self.hflip


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


class Batches:
    """Batches of a split: shuffled and augmented for training, in order for evaluation."""

    def __init__(
        self,
        split: Split,
        convention: InputConvention,
        batch_size: int,
        device: torch.device | str = "cpu",
        shuffle: bool = False,
        seed: int = 0,
        augment: Augment | None = None,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"the batch size must be at least 1, not {batch_size}")
        self.images = torch.from_numpy(split.images).to(device)
        self.labels = torch.from_numpy(split.labels).to(device=device, dtype=torch.long)
        self.convention, self.batch_size, self.device = convention, batch_size, torch.device(device)
        self.shuffle, self.seed, self.augment = shuffle, seed, augment or Augment()
        self.drop_last = drop_last and len(split) >= batch_size
        self._offset = float(128 + convention.zero_point)
        self._scale = float(convention.scale)

    def __len__(self) -> int:
        n = int(self.labels.shape[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def samples(self) -> int:
        return int(self.labels.shape[0])

    def to_float(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, C) -> float32 (B, C, H, W), channels_last, as the int8 input decodes."""
        x = (images.float() - self._offset) * self._scale
        return x.permute(0, 3, 1, 2)

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(inputs, labels) of one epoch, from batch `start_step` on."""
        n, b = self.samples, self.batch_size
        order = offsets = flips = None
        if self.shuffle or self.augment.active:
            g = epoch_generator(self.seed, epoch)
            order = torch.randperm(n, generator=g) if self.shuffle else None
            p = self.augment.crop_padding
            offsets = torch.randint(0, 2 * p + 1, (n, 2), generator=g) if p > 0 else None
            flips = torch.rand(n, generator=g) < 0.5 if self.augment.hflip else None
        for step in range(start_step, len(self)):
            lo, hi = step * b, min((step + 1) * b, n)
            idx = order[lo:hi] if order is not None else torch.arange(lo, hi)
            pos = torch.arange(lo, hi)
            x = self.images[idx.to(self.device)]
            if offsets is not None:
                x = self._crop(x, offsets[pos].to(self.device))
            if flips is not None:
                f = flips[pos].to(self.device)
                x = torch.where(f[:, None, None, None], x.flip(2), x)
            yield self.to_float(x), self.labels[idx.to(self.device)]

    def _crop(self, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Each image padded with black by p pixels and cropped back at its own offset."""
        p = self.augment.crop_padding
        bsz, h, w, _ = x.shape
        padded = torch.nn.functional.pad(x, (0, 0, p, p, p, p))  # NHWC: pads W then H
        rows = offsets[:, 0, None] + torch.arange(h, device=x.device)  # (B, H)
        cols = offsets[:, 1, None] + torch.arange(w, device=x.device)  # (B, W)
        b_idx = torch.arange(bsz, device=x.device)[:, None, None]
        return padded[b_idx, rows[:, :, None], cols[:, None, :]]
