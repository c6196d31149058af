"""Data sets for training, search and validation, from one spec string.

    fashion-mnist     Debian's dataset-fashion-mnist (the official 60k / 10k split)
    folder:PATH       one subfolder of images per class (train/, test/, val/ optional)
    npz:PATH          arrays x_train, y_train, x_test, y_test (x_val, y_val optional)
    audio:PATH        keyword spotting: one folder of WAV clips per word (Speech Commands'
                      layout); loaded by mcuforge.data.audio.load_audio as int16 16 kHz clips

`load_dataset` returns uint8 images (N, H, W, C) at the requested resolution and channel
count, with seeded, stratified train / val / test splits that depend only on the data
and `split_seed`, never on a training seed, so that `train` and a later `validate`
see the same test images. The test split is for final measurements only: nothing in
mcuforge chooses anything (epochs, architecture, thresholds) on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8, (N, H, W, C) with C 1 or 3
    labels: np.ndarray  # int64, (N,), in 0 .. len(classes) - 1

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    spec: str  # the spec string it was loaded from
    classes: tuple[str, ...]  # class names, index = label
    train: Split
    val: Split
    test: Split
    split_seed: int = 0

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            from mcuforge.errors import InputError

            raise InputError(f"unknown split {name!r}; choose train, val or test")
        return getattr(self, name)

    @property
    def resolution(self) -> int:
        return int(self.train.images.shape[1] if len(self.train) else self.test.images.shape[1])

    @property
    def channels(self) -> int:
        return int(self.train.images.shape[3] if len(self.train) else self.test.images.shape[3])


from mcuforge.data.load import load_dataset  # noqa: E402

__all__ = ["SPLITS", "Dataset", "Split", "load_dataset"]
