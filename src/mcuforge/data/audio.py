"""audio:PATH, a keyword-spotting data set in Speech Commands' layout (see audio_listing).

`load_audio` returns int16 PCM clips (N, S) at 16 kHz, S = the model's window (1 s:
16,000 samples), with labels over the classes

    _silence_, _unknown_, keyword 1, keyword 2, ...   (TensorFlow's order)

Keywords are the words to recognise (default: every word folder). Clips of the other
word folders, and of `_unknown_`, form the unknown class; each split keeps a seeded
choice of them, `unknown_fraction` times its keyword clips (None: all of them). Silence
is the clips of `_silence_` plus, per split, `silence_fraction` times its keyword clips
of background noise crops (zeros without `_background_noise_`). Noise recordings are cut
in time (80/10/10), so a split's silence and augmentation use only its own stretch.
The test split is for final measurements only: nothing chooses anything on it.

Features are not computed here: `mcuforge.data.audio_features.features` is the seam
where the audio front end turns these clips into model inputs. Training augmentation
(time shift, noise mixing) is `AudioDataset.augmented_train`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from math import ceil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcuforge.data import SPLITS
from mcuforge.data.audio_clips import (
    SAMPLE_RATE,
    augment,
    load_clip,
    load_samples,
    noise_regions,
    silence_clips,
    window_samples,
)
from mcuforge.data.audio_listing import SILENCE, SPECIAL, UNKNOWN, AudioListing, list_audio, split_listing
from mcuforge.data.spec import parse_spec
from mcuforge.data.splits import check_seed
from mcuforge.errors import DataError, InputError

PROGRESS_OVER = 2000  # clips: show a progress bar when reading more
SILENCE_FRACTION = 0.1  # TensorFlow's silence_percentage and unknown_percentage defaults (10%)
UNKNOWN_FRACTION = 0.1


@dataclass(frozen=True)
class AudioSplit:
    clips: np.ndarray  # int16, (N, samples), 16 kHz mono PCM
    labels: np.ndarray  # int64, (N,), index into AudioDataset.classes

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class AudioDataset:
    spec: str
    classes: tuple[str, ...]  # "_silence_" and "_unknown_" (when present) first, then the keywords
    train: AudioSplit
    val: AudioSplit
    test: AudioSplit
    split_seed: int
    samples: int  # per clip (the window)
    how: str  # how the split was made
    noise: dict[str, tuple[np.ndarray, ...]] = field(repr=False)  # per split: its stretch of each noise recording
    sample_rate: int = SAMPLE_RATE

    def split(self, name: str) -> AudioSplit:
        if name not in SPLITS:
            raise InputError(f"unknown split {name!r}; choose train, val or test")
        return getattr(self, name)

    def augmented_train(self, seed: int, epoch: int = 0, **kw) -> np.ndarray:
        """The training clips time-shifted and mixed with training noise (audio_clips.augment)."""
        return augment(self.train.clips, self.noise["train"], seed, epoch, **kw)


def check_keywords(keywords: object) -> tuple[str, ...] | None:
    if keywords is None:
        return None
    words = tuple(w.strip() for w in keywords.split(",")) if isinstance(keywords, str) else keywords
    if not isinstance(words, tuple | list) or not words or not all(isinstance(w, str) and w for w in words):
        raise InputError(f"keywords must be a non-empty list of words, not {keywords!r}")
    bad = next((w for w in words if w.startswith(("_", ".")) or "/" in w), None)
    if bad is not None:
        raise InputError(f"{bad!r} cannot be a keyword: keywords name word folders (no leading _ or ., no /)")
    twice = next((w for w in words if words.count(w) > 1), None)
    if twice is not None:
        raise InputError(f"keyword {twice!r} is given twice; name each keyword once")
    return tuple(words)


def check_fraction(name: str, v: object, allow_none: bool) -> float | None:
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) or not 0 <= v <= 10:
        raise InputError(f"{name} must be a number from 0 to 10 (clips per keyword clip), not {v!r}")
    return float(v)


@dataclass(frozen=True)
class Plan:
    """What each split holds before any clip is read: files with labels, and how many
    silence clips to make."""

    files: dict[str, list[Path]]
    labels: dict[str, list[int]]
    generated: dict[str, int]


def class_names(listing: AudioListing, keywords: tuple[str, ...], silence: bool, unknown: bool) -> tuple[str, ...]:
    return (SILENCE,) * silence + (UNKNOWN,) * unknown + keywords


def plan_splits(
    listing: AudioListing,
    idx: dict[str, np.ndarray],
    classes: tuple[str, ...],
    unknown_fraction: float | None,
    silence_fraction: float,
    split_seed: int,
) -> Plan:
    label_of = {name: k for k, name in enumerate(classes)}
    files: dict[str, list[Path]] = {}
    labels: dict[str, list[int]] = {}
    generated: dict[str, int] = {}
    for j, s in enumerate(SPLITS):
        folder = [listing.folders[int(listing.folder_of[i])] for i in idx[s]]
        kw = [int(i) for i, f in zip(idx[s], folder) if f in label_of and f not in SPECIAL]
        unk = [int(i) for i, f in zip(idx[s], folder) if f not in label_of or f == UNKNOWN]
        sil = [int(i) for i, f in zip(idx[s], folder) if f == SILENCE]
        if UNKNOWN in label_of and unknown_fraction is not None:
            take = min(len(unk), ceil(len(kw) * unknown_fraction))
            rng = np.random.default_rng([split_seed, j, 1])
            unk = sorted(int(unk[i]) for i in rng.permutation(len(unk))[:take])
        unk = unk if UNKNOWN in label_of else []
        sil = sil if SILENCE in label_of else []
        files[s] = [listing.files[i] for i in kw + unk + sil]
        labels[s] = [label_of[listing.folders[int(listing.folder_of[i])]] for i in kw]
        labels[s] += [label_of.get(UNKNOWN, -1)] * len(unk) + [label_of.get(SILENCE, -1)] * len(sil)
        generated[s] = ceil(len(kw) * silence_fraction) if SILENCE in label_of else 0
    return Plan(files, labels, generated)


def check_plan(plan: Plan, classes: tuple[str, ...], path: Path) -> None:
    for s in SPLITS:
        counts = np.bincount(np.asarray(plan.labels[s], dtype=np.int64), minlength=len(classes))
        if SILENCE in classes:
            counts[classes.index(SILENCE)] += plan.generated[s]
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise DataError(
                f"class {classes[int(empty[0])]!r} has no clips in the {s} split of {path}; "
                "every class needs clips in train, val and test"
            )


def read_clips(files: list[Path], n: int) -> np.ndarray:
    out = np.empty((len(files), n), dtype=np.int16)
    big = len(files) > PROGRESS_OVER
    bar = tqdm(total=len(files), desc="reading clips", unit="clip", file=sys.stderr, disable=not big)
    try:
        for i, f in enumerate(files):
            out[i] = load_clip(f, n)
            bar.update()
    finally:
        bar.close()
    return out


def load_audio(
    spec: str,
    keywords: str | tuple[str, ...] | list[str] | None = None,
    *,
    window_ms: int = 1000,
    silence_fraction: float = SILENCE_FRACTION,
    unknown_fraction: float | None = UNKNOWN_FRACTION,
    split_seed: int = 0,
    val_size: int | None = None,
    splits: tuple[str, ...] = SPLITS,
) -> AudioDataset:
    """Load the keyword-spotting set `spec` ("audio:PATH", or a bare PATH); see the module
    docstring. Only the splits named in `splits` carry clips; the others are empty."""
    words = check_keywords(keywords)
    silence_fraction = check_fraction("silence_fraction", silence_fraction, False)
    unknown_fraction = check_fraction("unknown_fraction", unknown_fraction, True)
    check_seed(split_seed)
    if isinstance(window_ms, bool) or not isinstance(window_ms, int | np.integer) or not 10 <= window_ms <= 60000:
        raise InputError(f"window_ms must be a whole number of milliseconds from 10 to 60000, not {window_ms!r}")
    if val_size is not None and (isinstance(val_size, bool) or not isinstance(val_size, int) or val_size < 1):
        raise InputError(f"val_size must be a positive number of clips, not {val_size!r}")
    if isinstance(splits, str) or not splits or any(s not in SPLITS for s in splits):
        raise InputError(f"splits must name one or more of train, val and test, not {splits!r}")
    path = audio_path(spec)
    listing = list_audio(path)
    if words is None:
        words = listing.words
    missing = next((w for w in words if w not in listing.words), None)
    if missing is not None:
        raise DataError(f"keyword {missing!r} has no folder in {path} (its words: {', '.join(listing.words)})")
    has_unknown = any(f not in words and f != SILENCE for f in listing.folders) and unknown_fraction != 0
    classes = class_names(listing, words, silence_fraction > 0 or SILENCE in listing.folders, has_unknown)
    if len(classes) < 2:
        raise DataError(f"{path} gives only the class {classes[0]!r}; keyword spotting needs at least 2 classes")
    idx, how = split_listing(listing, path, int(split_seed), val_size)
    plan = plan_splits(listing, idx, classes, unknown_fraction, silence_fraction, int(split_seed))
    check_plan(plan, classes, path)
    n = window_samples(window_ms)
    noise = noise_regions([load_samples(f) for f in listing.noise])
    out = {}
    for j, s in enumerate(SPLITS):
        if s not in splits:
            out[s] = AudioSplit(np.zeros((0, n), np.int16), np.zeros(0, np.int64))
            continue
        gen = silence_clips(plan.generated[s], noise[s], n, np.random.default_rng([int(split_seed), j, 2]))
        clips = np.concatenate([read_clips(plan.files[s], n), gen])
        labels = plan.labels[s] + [classes.index(SILENCE)] * plan.generated[s] if plan.generated[s] else plan.labels[s]
        out[s] = AudioSplit(clips, np.asarray(labels, dtype=np.int64))
    return AudioDataset(spec, classes, out["train"], out["val"], out["test"], int(split_seed), n, how, noise)


def audio_path(spec: str) -> Path:
    if isinstance(spec, Path):
        return spec
    s = parse_spec(spec if not isinstance(spec, str) or ":" in spec else f"audio:{spec}")
    if s.kind != "audio":
        raise InputError(f"{spec!r} is not an audio data set; write audio:PATH")
    return s.path
