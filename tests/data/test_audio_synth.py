"""mcuforge synth-keywords: a small espeak-ng set (2 words, 3 voices, 2 clips), its split
by voice as audio:DIR reads it, determinism, resuming, output folders and CLI errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import mcuforge.data.synth_keywords as synth
from mcuforge.cli import main
from mcuforge.data.audio import load_audio
from mcuforge.data.audio_wav import read_wav

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
VOICES = "en-us,en-gb,en-us+f3"
ARGS = ["synth-keywords", "yes,no", "--voices", VOICES, "--per-word", "2"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("kw") / "set"
    assert main([*ARGS, "-o", str(out)]) == 0
    return out


def files_of(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.wav"))}


@needs_espeak
def test_layout_and_clips(made):
    names = files_of(made)
    for w in ("yes", "no"):
        assert sorted(n for n in names if n.startswith(f"{w}/")) == [
            f"{w}/{v}_nohash_{k}.wav" for v in ("en-gb", "en-us-f3", "en-us") for k in (0, 1)
        ]
    assert sum(n.startswith("_unknown_/") for n in names) == 6
    assert sorted(n for n in names if n.startswith("_background_noise_/")) == [
        f"_background_noise_/{k}.wav" for k in ("brown", "hum", "pink", "white")
    ]
    for n in names:
        x, rate = read_wav(made / n)
        assert rate == 16000 and x.dtype == np.int16
        if not n.startswith("_background_noise_"):
            assert x.size == 16000 and 0.2 * 32767 < np.abs(x).max() <= 32767
    meta = json.loads((made / "synth-keywords.json").read_text())
    assert meta["complete"] is True and meta["words"] == ["yes", "no"] and meta["per_word"] == 2


@needs_espeak
def test_split_by_voice_keeps_test_voices_unseen(made):
    split = json.loads((made / "splits.json").read_text())
    v = split["voices"]
    assert sorted(v["train"] + v["val"] + v["test"]) == sorted(VOICES.split(",")) and len(v["test"]) == 1
    tag = {s: {x.replace("+", "-") for x in v[s]} for s in v}
    for s, files in split["files"].items():
        assert files and all(f.split("/")[-1].split("_nohash_")[0].split("_")[-1] in tag[s] for f in files)
    d = load_audio(f"audio:{made}", "yes,no", silence_fraction=0, unknown_fraction=None)
    assert d.how == "splits.json" and d.classes == ("_unknown_", "yes", "no")
    want = sorted(split["files"]["test"], key=lambda f: (f.startswith("_unknown_"), f))  # word folders first
    assert np.array_equal(d.test.clips, np.stack([read_wav(made / f)[0] for f in want]))
    assert len(d.train) == len(d.val) == len(d.test) == 6  # one voice each: 2 words x 2 clips + 2 unknown
    full = load_audio(f"audio:{made}", "yes")  # "no" becomes unknown; silence from the noise recordings
    assert full.classes == ("_silence_", "_unknown_", "yes") and (full.test.clips[full.test.labels == 0] != 0).any()


@needs_espeak
def test_same_seed_same_bytes_and_resume(made, tmp_path):
    out = tmp_path / "again"
    assert main([*ARGS, "-o", str(out)]) == 0
    first = files_of(out)
    assert first == files_of(made)  # seeded: the same set byte for byte
    victim = out / "yes" / "en-gb_nohash_1.wav"
    victim.unlink()
    (out / "no" / ".en-us_nohash_0.wav.partial-1").write_bytes(b"half")  # an interrupted write: not a clip
    kept = (out / "no" / "en-us_nohash_0.wav").stat().st_mtime_ns
    meta = json.loads((out / "synth-keywords.json").read_text())
    (out / "synth-keywords.json").write_text(json.dumps({**meta, "complete": False}))
    assert main([*ARGS, "-o", str(out), "--json"]) == 0
    assert files_of(out) == first and (out / "no" / "en-us_nohash_0.wav").stat().st_mtime_ns == kept
    assert not list(out.glob("*/.*"))  # the stale partial write is cleaned up
    assert json.loads((out / "synth-keywords.json").read_text())["complete"] is True
    assert main([*ARGS, "-o", str(out), "--seed", "1"]) == 2  # other settings: not without --force
    assert main([*ARGS, "-o", str(out), "--seed", "1", "--force"]) == 0
    assert files_of(out).keys() == first.keys() and files_of(out) != first


@needs_espeak
def test_resume_summary_in_json(made, capsys):
    capsys.readouterr()
    assert main([*ARGS, "-o", str(made), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["resumed"] is True and info["written"] == 0 and info["skipped"] == 22 and info["clips"] == 18


def one_line_error(capsys, argv, message):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mcuforge: error: ") and message in err, err


@needs_espeak
def test_cli_errors(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    one_line_error(capsys, [*ARGS, "-o", str(tmp_path / "mine")], "is not empty; pass --force")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    out = str(tmp_path / "o")
    one_line_error(capsys, ["synth-keywords", "yes,,no", "-o", out], "'' is not a word to synthesise")
    one_line_error(capsys, ["synth-keywords", "yes,_x", "-o", out], "'_x' is not a word to synthesise")
    one_line_error(capsys, ["synth-keywords", "yes,yes", "-o", out], "the word 'yes' is given twice")
    one_line_error(capsys, [*ARGS[:2], "--voices", "en-us,en-gb", "-o", out], "needs at least 3 different voices")
    one_line_error(capsys, [*ARGS[:2], "--voices", "en-us,en-gb,zz-no", "-o", out], "made no sound for voice 'zz-no'")
    one_line_error(capsys, [*ARGS[:2], "--voices", "en-us,en-gb,mb-us1", "-o", out], "made no sound for voice 'mb-us1'")
    one_line_error(capsys, [*ARGS[:2], "--voices", "en-us,a b,c", "-o", out], "'a b' is not an espeak-ng voice name")
    one_line_error(capsys, [*ARGS, "--per-word", "0", "-o", out], "--per-word must be at least 1")
    one_line_error(capsys, [*ARGS, "--seed", "-3", "-o", out], "--seed must be a non-negative integer")
    assert not (tmp_path / "o" / "yes").exists()


def test_without_espeak_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    one_line_error(capsys, [*ARGS, "-o", str(tmp_path / "o")], "espeak-ng is not installed (Debian package espeak-ng)")
    assert not (tmp_path / "o").exists()


def test_voice_split_shares():
    s = synth.Settings(("yes",), synth.DEFAULT_VOICES, 1, 0)
    v = synth.split_voices(s)
    assert [len(v[k]) for k in ("train", "val", "test")] == [8, 1, 3] or [len(v[k]) for k in v] == [9, 1, 2]
    assert not set(v["train"]) & set(v["test"]) and not set(v["val"]) & set(v["test"])
    assert v == synth.split_voices(s) and v != synth.split_voices(synth.Settings(("yes",), synth.DEFAULT_VOICES, 1, 1))
