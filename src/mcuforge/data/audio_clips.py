"""Clips of a keyword-spotting data set: loading at 16 kHz, padding or cutting to the
model's window, background noise split by time, silence clips, and seeded training
augmentation (random time shift, background noise mixed in), as TensorFlow's Speech
Commands recipe does them.

Every random choice draws from its own `np.random.default_rng([seed, ...])`, never the
global generator, so the same seed gives the same clips on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.data.audio_resample import resample
from mcuforge.data.audio_wav import read_wav

SAMPLE_RATE = 16000  # Hz: every clip, whatever its file's rate
NOISE_SHARES = (("train", 0.8), ("val", 0.1), ("test", 0.1))  # each noise file cut in time, in this order
TIME_SHIFT_MS = 100  # augmentation defaults of TensorFlow's speech commands training script
BACKGROUND_FREQUENCY = 0.8  # share of training clips that get background noise mixed in
BACKGROUND_VOLUME = 0.1  # the noise is scaled by a factor drawn uniformly from [0, this]


def window_samples(window_ms: int) -> int:
    return SAMPLE_RATE * int(window_ms) // 1000


def fit_clip(x: np.ndarray, n: int) -> np.ndarray:
    """The first n samples of x, zeros appended when x is shorter (as TensorFlow's
    decode_wav with desired_samples does)."""
    out = np.zeros(n, dtype=np.int16)
    m = min(n, x.size)
    out[:m] = x[:m]
    return out


def load_samples(path: Path) -> np.ndarray:
    """A WAV file as mono int16 at 16 kHz (DataError naming the file when unreadable)."""
    x, rate = read_wav(path)
    return resample(x, rate, SAMPLE_RATE)


def load_clip(path: Path, n: int) -> np.ndarray:
    return fit_clip(load_samples(path), n)


def noise_regions(noise: list[np.ndarray]) -> dict[str, tuple[np.ndarray, ...]]:
    """Each background noise recording cut in time: its first 80% for training, the next
    10% for validation, the last 10% for test, so that no stretch of noise heard in
    training reappears in a test clip."""
    out: dict[str, list[np.ndarray]] = {name: [] for name, _ in NOISE_SHARES}
    for x in noise:
        start = 0.0
        for name, share in NOISE_SHARES:
            a, b = int(round(start * x.size)), int(round((start + share) * x.size))
            if b > a:
                out[name].append(x[a:b])
            start += share
    return {k: tuple(v) for k, v in out.items()}


def crop(noise: tuple[np.ndarray, ...], n: int, which: int, where: float) -> np.ndarray:
    """n samples of noise[which] from relative position `where` in [0, 1); a recording
    shorter than n is repeated end to end."""
    x = noise[which]
    if x.size < n:
        x = np.resize(x, n)  # np.resize repeats the array to fill
    start = int(where * (x.size - n + 1))
    return x[start : start + n]


def silence_clips(count: int, noise: tuple[np.ndarray, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """int16 (count, n): crops of background noise, each scaled by a volume drawn from
    [0, 1) (TensorFlow's silence), or zeros when there is no noise."""
    out = np.zeros((count, n), dtype=np.int16)
    if not noise or count == 0:
        return out
    which = rng.integers(0, len(noise), count)
    where, volume = rng.random(count), rng.random(count)
    for i in range(count):
        out[i] = np.rint(crop(noise, n, int(which[i]), float(where[i])) * volume[i]).astype(np.int16)
    return out


def shift(x: np.ndarray, by: int) -> np.ndarray:
    """x moved `by` samples later (earlier when negative), zeros filling the gap."""
    out = np.zeros_like(x)
    if by >= 0:
        out[by:] = x[: x.size - by]
    else:
        out[:by] = x[-by:]
    return out


def augment(
    clips: np.ndarray,
    noise: tuple[np.ndarray, ...],
    seed: int,
    epoch: int = 0,
    *,
    time_shift_ms: int = TIME_SHIFT_MS,
    background_frequency: float = BACKGROUND_FREQUENCY,
    background_volume: float = BACKGROUND_VOLUME,
) -> np.ndarray:
    """Training augmentation of int16 clips (N, S): each clip shifted by a whole number
    of samples drawn from [-shift, shift], then, with probability background_frequency,
    a noise crop scaled by a volume from [0, background_volume) added, the sum rounded to
    nearest and saturated to int16. The same (seed, epoch) gives the same result; a new
    epoch number gives new draws. `noise` is the training split's noise (`noise_regions`)."""
    clips = np.asarray(clips)
    if clips.dtype != np.int16 or clips.ndim != 2:
        raise ValueError("augment takes int16 clips of shape (N, samples)")
    if not 0.0 <= background_frequency <= 1.0 or background_volume < 0 or time_shift_ms < 0:
        raise ValueError("augment needs a background frequency in [0, 1] and a non-negative volume and shift")
    n, s = clips.shape
    rng = np.random.default_rng([int(seed), int(epoch)])
    limit = min(SAMPLE_RATE * int(time_shift_ms) // 1000, s)
    shifts = rng.integers(-limit, limit + 1, n)
    mixed = rng.random(n) < background_frequency
    volume = rng.random(n) * background_volume
    which = rng.integers(0, max(len(noise), 1), n)
    where = rng.random(n)
    out = np.empty_like(clips)
    for i in range(n):
        y = shift(clips[i], int(shifts[i]))
        if noise and mixed[i]:
            y = np.clip(np.rint(y + volume[i] * crop(noise, s, int(which[i]), float(where[i]))), -32768, 32767)
        out[i] = y
    return out
