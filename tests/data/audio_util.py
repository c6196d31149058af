"""Tiny WAV files and audio folders for the audio data tests. Clips carry their identity
in their first samples (tag, then -tag), so a test can tell which file ended up where."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def pcm_bytes(frames: np.ndarray, width: int) -> bytes:
    """(N, C) integer frames at `width` bytes a sample as little-endian PCM (8-bit unsigned)."""
    x = np.asarray(frames, dtype=np.int64)
    if width == 1:
        return (x + 128).astype(np.uint8).tobytes()
    if width == 3:
        u = (x & 0xFFFFFF).astype(np.uint32)
        return np.stack([u & 0xFF, (u >> 8) & 0xFF, u >> 16], axis=-1).astype(np.uint8).tobytes()
    return x.astype(f"<i{width}").tobytes()


def write_wav(path: Path, frames: np.ndarray, rate: int = 16000, width: int = 2) -> Path:
    """frames: (N,) mono or (N, C) integer samples in the width's own range."""
    f = np.asarray(frames)
    f = f[:, None] if f.ndim == 1 else f
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(f.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm_bytes(f, width))
    return path


def tagged_clip(tag: int, n: int = 1600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng([seed, tag])
    x = rng.integers(-2000, 2000, n).astype(np.int16)
    x[0], x[1] = tag, -tag
    return x


def tag_of(clips: np.ndarray) -> np.ndarray:
    return clips[:, 0].astype(np.int64)


def make_audio(root: Path, counts: dict[str, int], start: int = 1, n: int = 1600) -> dict[str, list[int]]:
    """root/<folder>/<k>.wav tagged 16 kHz clips; returns folder -> tags."""
    tags: dict[str, list[int]] = {}
    i = start
    for name, count in counts.items():
        tags[name] = []
        for k in range(count):
            write_wav(root / name / f"{k:03d}.wav", tagged_clip(i, n))
            tags[name].append(i)
            i += 1
    return tags
