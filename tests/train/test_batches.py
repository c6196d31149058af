"""Seeded batches: the same epoch gives the same batches, a resumed epoch continues
them, augmentation crops and flips exactly, and inputs are what the int8 input decodes to."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcuforge.data import Split  # noqa: E402
from mcuforge.data.convention import InputConvention  # noqa: E402
from mcuforge.train.batches import Augment, Batches  # noqa: E402

CONV = InputConvention(0.2, 0.3)


def split(n: int = 10, size: int = 4) -> Split:
    rng = np.random.default_rng(0)
    return Split(rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8), np.arange(n, dtype=np.int64))


def test_inputs_are_the_dequantised_int8_input():
    s = split()
    (x, y), *_ = Batches(s, CONV, 10).epoch()
    q = CONV.to_int8(s.images).astype(np.float32)
    expected = (q - CONV.zero_point) * CONV.scale
    assert np.array_equal(x.permute(0, 2, 3, 1).numpy(), expected)
    assert y.tolist() == list(range(10))


def test_epochs_are_seeded_and_resume_mid_epoch():
    b = Batches(split(), CONV, 3, shuffle=True, seed=5, augment=Augment(1, True))
    e1 = [(x.clone(), y.clone()) for x, y in b.epoch(1)]
    again = list(b.epoch(1))
    assert all(torch.equal(a[0], c[0]) and torch.equal(a[1], c[1]) for a, c in zip(e1, again))
    resumed = list(b.epoch(1, start_step=2))
    assert all(torch.equal(a[0], c[0]) for a, c in zip(e1[2:], resumed))
    e2 = list(b.epoch(2))
    assert not all(torch.equal(a[1], c[1]) for a, c in zip(e1, e2))
    assert sorted(torch.cat([y for _, y in e1]).tolist()) == list(range(10))


def test_crop_and_flip():
    img = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    b = Batches(Split(img, np.zeros(1, np.int64)), CONV, 1, augment=Augment(crop_padding=1))
    crop = b._crop(torch.from_numpy(img), torch.tensor([[0, 2]]))[0, :, :, 0].numpy()
    # padded by one black pixel per side, cropped at row 0, column 2: the image moves down one, left one
    expected = np.zeros((4, 4), np.uint8)
    expected[1:, :3] = img[0, :3, 1:, 0]
    assert np.array_equal(crop, expected)
    flip = Batches(Split(img, np.zeros(1, np.int64)), CONV, 1, shuffle=False, augment=Augment(0, True))
    seen = {tuple(x.reshape(-1).tolist()) for e in range(8) for x, _ in flip.epoch(e)}
    plain = tuple(flip.to_float(torch.from_numpy(img)).reshape(-1).tolist())
    mirrored = tuple(flip.to_float(torch.from_numpy(img[:, :, ::-1].copy())).reshape(-1).tolist())
    assert seen == {plain, mirrored}


def test_drop_last_keeps_one_batch_when_the_split_is_small():
    assert len(Batches(split(10), CONV, 4, drop_last=True)) == 2
    assert len(Batches(split(3), CONV, 4, drop_last=True)) == 1
    assert len(Batches(split(10), CONV, 4)) == 3
