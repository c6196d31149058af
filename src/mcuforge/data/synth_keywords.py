"""A synthetic keyword set spoken by espeak-ng, in the layout audio:PATH reads.

    DIR/<word>/<voice>_nohash_<k>.wav         per word, per voice, `per_word` clips
    DIR/_unknown_/<filler>_<voice>_nohash_<k>.wav   other words, by the same voices
    DIR/_background_noise_/<kind>.wav         seeded noise recordings (silence, mixing)
    DIR/splits.json                           the split by voice: test voices are unseen
    DIR/synth-keywords.json                   the settings (and whether the set is complete)

Every clip is 1 s of 16 kHz mono 16-bit PCM: the word spoken at a seeded speed and
pitch, trimmed of espeak's leading and trailing silence, scaled to a seeded peak, put at
a seeded place in the second and mixed with seeded white or pink noise at a seeded
signal-to-noise ratio. A clip's draws come from np.random.default_rng([seed, word,
voice, k]), so it is the same whichever clips were made before it, and an interrupted
run resumes where it stopped: each file is written under a temporary name and renamed,
so a file that exists is complete and is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcuforge.data.audio_clips import SAMPLE_RATE
from mcuforge.data.audio_listing import MARKER, NOISE, SPLITS_FILE, UNKNOWN
from mcuforge.data.audio_resample import resample
from mcuforge.data.audio_wav import decode_wav, encode_wav
from mcuforge.errors import InputError, MCUForgeError
from mcuforge.outdir import check_outdir

DEFAULT_VOICES = (  # espeak-ng's own English voices (no MBROLA), with its male/female variants
    "en-us", "en-us+f3", "en-gb", "en-gb+f4", "en-gb-scotland+m3", "en-gb-x-rp+f1",
    "en-029+m2", "en-us-nyc+m5", "en-gb-x-gbclan+f2", "en-gb-x-gbcwmd+m7", "en-us+m1", "en-gb+f5",
)  # fmt: skip
FILLERS = (  # unknown words: Speech Commands' auxiliary words and digits
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "zero", "one",
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "forward", "backward", "follow", "learn",
)  # fmt: skip
NOISE_KINDS = ("white", "pink", "brown", "hum")
NOISE_SECONDS = 15  # per recording: its last 10% (1.5 s) still holds a 1 s test crop
SPEED = (130, 210)  # words per minute (espeak-ng's default is 175)
PITCH = (25, 75)  # espeak-ng's 0..99 scale (default 50)
PEAK = (0.25, 0.9)  # of full scale
SNR_DB = (10.0, 40.0)
TEST_SHARE, VAL_SHARE = 0.2, 0.1  # of the voices
WORD = re.compile(r"^[a-z0-9][a-z0-9' -]*$", re.IGNORECASE)


class SynthError(MCUForgeError):
    """espeak-ng is missing or failed."""


@dataclass(frozen=True)
class Settings:
    words: tuple[str, ...]
    voices: tuple[str, ...]
    per_word: int
    seed: int

    def as_dict(self, espeak: str) -> dict:
        return {"words": list(self.words), "voices": list(self.voices), "per_word": self.per_word,
                "seed": self.seed, "espeak": espeak}  # fmt: skip


def parse_words(text: str) -> tuple[str, ...]:
    words = tuple(w.strip() for w in text.split(","))
    bad = next((w for w in words if not WORD.match(w)), None)
    if bad is not None:
        raise InputError(f"{bad!r} is not a word to synthesise; give comma-separated words of letters and digits")
    twice = next((w for w in words if words.count(w) > 1), None)
    if twice is not None:
        raise InputError(f"the word {twice!r} is given twice; name each word once")
    return words


def parse_voices(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_VOICES
    voices = tuple(v.strip() for v in text.split(","))
    bad = next((v for v in voices if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_+-]*$", v)), None)
    if bad is not None:
        raise InputError(f"{bad!r} is not an espeak-ng voice name; list them with espeak-ng --voices=en")
    if len(set(voices)) < 3:
        n = len(set(voices))
        raise InputError(f"a split by voice needs at least 3 different voices (train, val, test), not {n}")
    return tuple(dict.fromkeys(voices))


def espeak_version() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthError("espeak-ng is not installed (Debian package espeak-ng), so keywords cannot be synthesised")
    return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()


def speak(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng's int16 samples of `word`, at 16 kHz (the text goes in on stdin)."""
    run = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout"],
        input=word.encode(), capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        x, rate = decode_wav(run.stdout)
    except Exception:  # no WAV at all: espeak-ng refused the voice (an MBROLA voice without mbrola prints nothing)
        x, rate = np.zeros(0, np.int16), SAMPLE_RATE
    if run.returncode != 0 or x.size == 0:
        why = run.stderr.decode(errors="replace").strip().splitlines()
        raise SynthError(f"espeak-ng made no sound for voice {voice!r} ({why[0] if why else 'no output'}); "
                         "list the voices with espeak-ng --voices=en")  # fmt: skip
    return resample(x, rate, SAMPLE_RATE)


def voice_tag(voice: str) -> str:
    return voice.replace("+", "-").replace("_", "-")


def seed_of(settings: Settings, *names: str, k: int) -> np.random.Generator:
    return np.random.default_rng([settings.seed, *(zlib.crc32(n.encode()) for n in names), k])


def coloured_noise(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """Unit-RMS float noise: white, pink (1/f power), brown (1/f^2) or mains hum."""
    if kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        x = sum(np.sin(2 * np.pi * 50 * h * t + rng.uniform(0, 2 * np.pi)) / h for h in (1, 2, 3, 5))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.arange(spec.size), 1.0)
        spec *= {"white": 1.0, "pink": f**-0.5, "brown": f**-1.0}[kind]
        x = np.fft.irfft(spec, n)
    return x / np.sqrt(np.mean(x * x))


def make_clip(settings: Settings, word: str, voice: str, k: int, n: int = SAMPLE_RATE) -> np.ndarray:
    rng = seed_of(settings, word, voice, k=k)
    speed, pitch = int(rng.integers(SPEED[0], SPEED[1] + 1)), int(rng.integers(PITCH[0], PITCH[1] + 1))
    peak, snr = rng.uniform(*PEAK), rng.uniform(*SNR_DB)
    kind = ("white", "pink")[int(rng.integers(0, 2))]
    x = speak(word, voice, speed, pitch).astype(np.float64)
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.abs(x).max())  # trim espeak's silence: 2% of the peak
    if loud.size == 0:
        raise SynthError(f"espeak-ng said {word!r} in voice {voice!r} as pure silence; leave that voice out")
    x = x[loud[0] : loud[-1] + 1][:n]
    x *= peak * 32767 / np.abs(x).max()
    out = np.zeros(n)
    start = int(rng.integers(0, n - x.size + 1))
    out[start : start + x.size] = x
    rms = np.sqrt(np.mean(x * x))
    out += coloured_noise(rng, n, kind) * rms / 10 ** (snr / 20)
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def make_noise(settings: Settings, kind: str) -> np.ndarray:
    rng = seed_of(settings, "_background_noise_", kind, k=0)
    x = coloured_noise(rng, NOISE_SECONDS * SAMPLE_RATE, kind) * 0.1 * 32767  # RMS at -20 dB of full scale
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def split_voices(settings: Settings) -> dict[str, list[str]]:
    order = np.random.default_rng([settings.seed, 7]).permutation(len(settings.voices))
    v = [settings.voices[i] for i in order]
    n_test = max(1, round(TEST_SHARE * len(v)))
    n_val = max(1, round(VAL_SHARE * len(v)))
    return {"train": sorted(v[n_test + n_val :]), "val": sorted(v[n_test : n_test + n_val]), "test": sorted(v[:n_test])}


@dataclass(frozen=True)
class Job:
    rel: str  # path relative to DIR
    word: str
    voice: str | None  # None: a noise recording (word is its kind)
    k: int


def jobs(settings: Settings) -> list[Job]:
    out = []
    fillers = [f for f in FILLERS if f not in settings.words]
    for w in settings.words:
        for v in settings.voices:
            out += [Job(f"{w}/{voice_tag(v)}_nohash_{k}.wav", w, v, k) for k in range(settings.per_word)]
    for j, v in enumerate(settings.voices):  # each voice says other fillers
        for k in range(settings.per_word):
            f = fillers[(j * settings.per_word + k) % len(fillers)]
            out.append(Job(f"{UNKNOWN}/{f}_{voice_tag(v)}_nohash_{k}.wav", f, v, k))
    out += [Job(f"{NOISE}/{kind}.wav", kind, None, 0) for kind in NOISE_KINDS]
    return out


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def run_job(out: Path, settings: Settings, job: Job) -> None:
    x = make_noise(settings, job.word) if job.voice is None else make_clip(settings, job.word, job.voice, job.k)
    write_atomic(out / job.rel, encode_wav(x, SAMPLE_RATE))


def read_marker(out: Path) -> dict | None:
    try:
        d = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def prepare(out: Path, settings: dict, force: bool) -> bool:
    """Make `out` ready; True when it already holds (part of) this very set, to resume.
    A set made with other settings is replaced only with --force (its folders removed);
    any other non-empty folder is written into only with --force."""
    old = read_marker(out) if out.is_dir() else None
    if old is not None and {k: old.get(k) for k in settings} == settings:
        return True
    if old is not None:
        diff = ", ".join(f"{k} {old.get(k)!r} there, {v!r} now" for k, v in settings.items() if old.get(k) != v)
        if not force:
            raise InputError(f"{out} holds a keyword set made with other settings ({diff}); pass --force to replace it")
        for name in [*(old.get("words") or []), UNKNOWN, NOISE]:
            if isinstance(name, str) and name and "/" not in name and not name.startswith("."):
                shutil.rmtree(out / name, ignore_errors=True)
        (out / SPLITS_FILE).unlink(missing_ok=True)
        return False
    check_outdir(out, force)
    return False


def split_file(settings: Settings, all_jobs: list[Job]) -> dict:
    voices = split_voices(settings)
    of = {v: s for s, vs in voices.items() for v in vs}
    files: dict[str, list[str]] = {s: [] for s in voices}
    for j in all_jobs:
        if j.voice is not None:
            files[of[j.voice]].append(j.rel)
    return {"by": "voice", "seed": settings.seed, "voices": voices, "files": files}


def synthesise(out: Path, settings: Settings, force: bool = False, workers: int | None = None) -> dict:
    """Write (or finish) the keyword set in `out`; returns a summary for the CLI."""
    espeak = espeak_version()
    meta = settings.as_dict(espeak)
    for v in settings.voices:  # a bad voice fails now, in one sentence, before anything is touched
        speak("yes", v, 175, 50)
    resume = prepare(out, meta, force)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*/.*.partial-*"):  # writes an interrupted run left behind
        stale.unlink(missing_ok=True)
    write_atomic(out / MARKER, (json.dumps({**meta, "complete": False}, indent=1) + "\n").encode())
    all_jobs = jobs(settings)
    todo = [j for j in all_jobs if not (out / j.rel).is_file()]
    done = len(all_jobs) - len(todo)
    bar = tqdm(total=len(all_jobs), initial=done, desc="synthesising", unit="clip", file=sys.stderr)
    pool = ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1))  # espeak-ng runs as a process
    try:
        for _ in pool.map(lambda j: run_job(out, settings, j), todo):
            bar.update()
    finally:
        pool.shutdown(cancel_futures=True)
        bar.close()
    split = split_file(settings, all_jobs)
    write_atomic(out / SPLITS_FILE, (json.dumps(split, indent=1) + "\n").encode())
    write_atomic(out / MARKER, (json.dumps({**meta, "complete": True}, indent=1) + "\n").encode())
    return {
        "output": str(out),
        "words": list(settings.words),
        "clips": sum(j.voice is not None for j in all_jobs),
        "written": len(todo),
        "skipped": len(all_jobs) - len(todo),
        "resumed": resume,
        "voices": split["voices"],
    }
