"""A tiny learnable data set and architecture for the training tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcuforge.nas.space import BlockSpec, ConvSpec, NetConfig, to_json

CLASSES = ("bars", "columns", "dots")


def pattern_images(n: int, seed: int, size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Grey images of three classes (horizontal bars, vertical bars, a dot grid) with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    rng.shuffle(y)
    base = np.zeros((3, size, size), np.float64)
    base[0, ::3, :] = 1
    base[1, :, ::3] = 1
    base[2, ::3, ::3] = 1
    x = base[y] * rng.uniform(120, 220, (n, 1, 1)) + rng.normal(30, 20, (n, size, size))
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


def write_patterns(path, train: int, test: int):
    x_train, y_train = pattern_images(train, 0)
    x_test, y_test = pattern_images(test, 1)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=np.array(CLASSES))
    return path


@pytest.fixture
def patterns_npz(tmp_path):
    return write_patterns(tmp_path / "patterns.npz", 240, 60)


@pytest.fixture
def many_patterns_npz(tmp_path):
    """Enough images that an epoch lasts long enough to be interrupted in the middle."""
    return write_patterns(tmp_path / "many.npz", 2400, 30)


TINY_ARCH = NetConfig(
    "tiny", 12, ConvSpec(1, 8, 3, 2),
    (BlockSpec(8, 8, 3, 1, 1, residual=True), BlockSpec(8, 16, 3, 2, 3), BlockSpec(16, 16, 3, 1, 3, None, True)),
    ConvSpec(16, 32, 1, 1), num_classes=3, in_channels=1,
)  # fmt: skip


@pytest.fixture
def tiny_arch(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(to_json(TINY_ARCH)))
    return path
