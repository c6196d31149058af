"""audio:PATH data sets: classes (silence, unknown, keywords), splits (seeded, fixed by
lists or splits.json), noise split in time, augmentation, and bad folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from audio_util import make_audio, tag_of, tagged_clip, write_wav

from mcuforge.data import load_dataset
from mcuforge.data.audio import load_audio
from mcuforge.data.audio_clips import noise_regions, shift
from mcuforge.errors import DataError, InputError

WIN = 100  # ms: 1,600 samples, the size of the test clips


def test_keywords_unknown_and_silence(tmp_path):
    tags = make_audio(tmp_path, {"yes": 20, "no": 10, "cat": 10, "dog": 10})
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "yes" / "notes.txt").write_text("not a clip")
    d = load_audio(f"audio:{tmp_path}", "yes,no", window_ms=WIN)
    assert d.classes == ("_silence_", "_unknown_", "yes", "no") and d.samples == 1600
    assert d.how == "seeded 80/10/10 (split_seed 0)"
    for s in (d.train, d.val, d.test):
        assert s.clips.dtype == np.int16 and s.clips.shape == (len(s), 1600)
        kw = np.isin(s.labels, [2, 3]).sum()
        assert (s.labels == 1).sum() == int(np.ceil(0.1 * kw))  # unknown: 10% of the keyword clips
        assert (s.labels == 0).sum() == int(np.ceil(0.1 * kw))  # silence likewise, zeros without noise
        assert (s.clips[s.labels == 0] == 0).all()
        by_tag = {t: name for name, ts in tags.items() for t in ts}
        for t, y in zip(tag_of(s.clips[s.labels > 0]), s.labels[s.labels > 0]):
            assert by_tag[t] == d.classes[y] or (y == 1 and by_tag[t] in ("cat", "dog"))
    ids = [set(tag_of(s.clips[s.labels > 0]).tolist()) for s in (d.train, d.val, d.test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert np.bincount(d.test.labels).tolist() == [1, 1, 2, 1]


def test_all_words_are_keywords_by_default_and_fractions(tmp_path):
    make_audio(tmp_path, {"b": 10, "a": 10, "c": 10})
    d = load_audio(f"audio:{tmp_path}", window_ms=WIN, silence_fraction=0)
    assert d.classes == ("a", "b", "c")  # no unknown words, no silence
    d = load_audio(str(tmp_path), ["c"], window_ms=WIN, unknown_fraction=None, silence_fraction=0.5)
    assert d.classes == ("_silence_", "_unknown_", "c")
    assert np.bincount(d.train.labels).tolist() == [4, 16, 8]  # every unknown clip; silence half of 8
    assert load_audio(str(tmp_path), ["c"], window_ms=WIN, unknown_fraction=0).classes == ("_silence_", "c")


def test_unknown_and_silence_folders(tmp_path):
    tags = make_audio(tmp_path, {"go": 10, "_unknown_": 10, "_silence_": 10})
    d = load_audio(f"audio:{tmp_path}", window_ms=WIN, unknown_fraction=None, silence_fraction=0)
    assert d.classes == ("_silence_", "_unknown_", "go")
    got = {c: set(tag_of(d.train.clips[d.train.labels == k]).tolist()) for k, c in enumerate(d.classes)}
    assert got["_silence_"] <= set(tags["_silence_"]) and got["_unknown_"] <= set(tags["_unknown_"])
    assert len(got["_silence_"]) == 8


def test_split_depends_on_the_seed_only(tmp_path):
    make_audio(tmp_path, {"yes": 15, "no": 15, "cat": 15})
    np.random.seed(1)
    a = load_audio(f"audio:{tmp_path}", "yes,no", window_ms=WIN, split_seed=3)
    np.random.seed(2)
    b = load_audio(f"audio:{tmp_path}", "yes,no", window_ms=WIN, split_seed=3)
    c = load_audio(f"audio:{tmp_path}", "yes,no", window_ms=WIN, split_seed=4)
    assert all(np.array_equal(getattr(a, s).clips, getattr(b, s).clips) for s in ("train", "val", "test"))
    assert set(tag_of(a.test.clips)) != set(tag_of(c.test.clips))
    only = load_audio(f"audio:{tmp_path}", "yes,no", window_ms=WIN, split_seed=3, splits=("test",))
    assert len(only.train) == 0 and np.array_equal(only.test.clips, a.test.clips)


def test_clips_are_padded_or_cut_to_the_window_and_resampled(tmp_path):
    make_audio(tmp_path, {"a": 3, "b": 3})
    write_wav(tmp_path / "a" / "slow.wav", tagged_clip(99, 400), rate=8000)  # 50 ms at 8 kHz
    d = load_audio(f"audio:{tmp_path}", window_ms=200, silence_fraction=0, split_seed=0)
    everything = np.concatenate([d.train.clips, d.val.clips, d.test.clips])
    assert everything.shape[1] == 3200 and (everything[:, 1600:] == 0).all()
    assert load_audio(f"audio:{tmp_path}", window_ms=50, silence_fraction=0).train.clips.shape[1] == 800
    slow = everything[np.abs(everything[:, 800:1600]).sum(axis=1) == 0]  # the 8 kHz clip: 800 samples at 16 kHz
    assert len(slow) == 1 and (slow[0, 790:800] != 0).any()


def test_noise_is_split_in_time_and_silence_uses_its_own_split(tmp_path):
    make_audio(tmp_path, {"a": 10, "b": 10})
    noise = np.zeros(20000, np.int64)
    noise[18000:] = 10000  # only the last 10% (the test stretch) is loud
    write_wav(tmp_path / "_background_noise_" / "n.wav", noise)
    d = load_audio(f"audio:{tmp_path}", window_ms=WIN, silence_fraction=0.5)
    assert [x.size for x in d.noise["train"]] == [16000] and [x.size for x in d.noise["test"]] == [2000]
    assert (d.train.clips[d.train.labels == 0] == 0).all()
    test_silence = d.test.clips[d.test.labels == 0]
    assert len(test_silence) == 1 and (test_silence != 0).all() and np.unique(test_silence).size == 1
    assert [r.size for r in noise_regions([np.arange(10)])["val"]] == [1]


def test_augmentation_is_deterministic_in_the_seed_and_epoch(tmp_path):
    make_audio(tmp_path, {"a": 10, "b": 10})
    write_wav(tmp_path / "_background_noise_" / "n.wav", np.random.default_rng(0).integers(-3000, 3000, 40000))
    d = load_audio(f"audio:{tmp_path}", window_ms=WIN)
    a, b = d.augmented_train(5), d.augmented_train(5)
    assert a.dtype == np.int16 and np.array_equal(a, b)
    assert not np.array_equal(a, d.augmented_train(6)) and not np.array_equal(a, d.augmented_train(5, epoch=1))
    assert not np.array_equal(a, d.train.clips)
    quiet = d.augmented_train(5, background_frequency=0.0)  # shifts only: each clip is a shifted copy
    for x, y in zip(d.train.clips, quiet):
        assert any(np.array_equal(shift(x, k), y) for k in range(-1600, 1601))
    still = d.augmented_train(5, time_shift_ms=0, background_frequency=0.0)
    assert np.array_equal(still, d.train.clips)


def test_shift():
    x = np.arange(1, 6, dtype=np.int16)
    assert shift(x, 2).tolist() == [0, 0, 1, 2, 3] and shift(x, -2).tolist() == [3, 4, 5, 0, 0]
    assert shift(x, 0).tolist() == x.tolist()


def test_splits_json_is_honoured(tmp_path):
    make_audio(tmp_path, {"a": 3, "b": 3})
    files = {"train": ["a/000.wav", "b/000.wav"], "val": ["a/001.wav", "b/001.wav"], "test": ["a/002.wav", "b/002.wav"]}
    (tmp_path / "splits.json").write_text(json.dumps({"files": files}))
    d = load_audio(f"audio:{tmp_path}", window_ms=WIN, silence_fraction=0)
    assert d.how == "splits.json" and tag_of(d.test.clips).tolist() == [3, 6]
    with pytest.raises(DataError, match="fixes its splits .splits.json., so val_size does not apply"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN, val_size=1)
    files["train"].append("a/404.wav")
    (tmp_path / "splits.json").write_text(json.dumps({"files": files}))
    with pytest.raises(DataError, match=r"a/404.wav is listed in .*splits.json but is not a clip in"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)
    files["train"] = ["a/000.wav"]
    (tmp_path / "splits.json").write_text(json.dumps({"files": files}))
    with pytest.raises(DataError, match=r"b/000.wav is in no split of .*splits.json; list it or remove it"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)
    files["train"] = ["a/000.wav", "b/000.wav", "a/001.wav"]
    (tmp_path / "splits.json").write_text(json.dumps({"files": files}))
    with pytest.raises(DataError, match=r"a/001.wav is listed in two splits"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)
    (tmp_path / "splits.json").write_text("{not json")
    with pytest.raises(DataError, match=r"cannot read .*splits.json .JSONDecodeError"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)


def test_speech_commands_lists(tmp_path):
    make_audio(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "validation_list.txt").write_text("a/000.wav\nb/000.wav\n")
    with pytest.raises(DataError, match="has validation_list.txt but no testing_list.txt; give both lists or neither"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)
    (tmp_path / "testing_list.txt").write_text("a/003.wav\nb/003.wav\n\n")
    d = load_audio(f"audio:{tmp_path}", window_ms=WIN, silence_fraction=0)
    assert d.how == "Speech Commands lists" and tag_of(d.test.clips).tolist() == [4, 8]
    assert tag_of(d.val.clips).tolist() == [1, 5] and tag_of(d.train.clips).tolist() == [2, 3, 6, 7]


def test_unfinished_synth_set_is_refused(tmp_path):
    make_audio(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "synth-keywords.json").write_text(json.dumps({"complete": False}))
    with pytest.raises(DataError, match="is an unfinished synth-keywords set; run mcuforge synth-keywords again"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)


@pytest.mark.parametrize(
    ("counts", "kw", "message"),
    [
        ({}, {}, "has no folders of WAV clips"),
        ({"_unknown_": 4}, {}, "has no folders of WAV clips"),
        ({"a": 4, "b": 2}, {}, "folder 'b' of .* has only 2 clip.s., too few to split"),
        ({"a": 4, "b": 4}, {"keywords": "a,zz"}, "keyword 'zz' has no folder in .* .its words: a, b."),
        ({"a": 4}, {"silence_fraction": 0}, "gives only the class 'a'; keyword spotting needs at least 2"),
        ({"a": 4, "b": 4}, {"val_size": 8}, "leaves no training"),
    ],
)
def test_bad_folders(tmp_path, counts, kw, message):
    make_audio(tmp_path, counts)
    with pytest.raises(DataError, match=message) as e:
        load_audio(f"audio:{tmp_path}", window_ms=WIN, **kw)
    assert "\n" not in str(e.value)


def test_bad_files_and_paths(tmp_path):
    with pytest.raises(DataError, match="audio folder .*nowhere does not exist"):
        load_audio(f"audio:{tmp_path / 'nowhere'}")
    make_audio(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.mp3").write_bytes(b"id3")
    with pytest.raises(DataError, match=r"class folder .*c has no WAV files; add some or remove the folder"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)
    (tmp_path / "c" / "x.mp3").rename(tmp_path / "c" / "x.WAV")
    for k in range(3):
        (tmp_path / "c" / f"{k}.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(DataError, match=r"cannot read WAV file .*c/.*\.(wav|WAV) \(file does not start with RIFF id\)"):
        load_audio(f"audio:{tmp_path}", window_ms=WIN)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"keywords": "a,a"}, "keyword 'a' is given twice"),
        ({"keywords": "_silence_"}, "'_silence_' cannot be a keyword"),
        ({"keywords": []}, "keywords must be a non-empty list"),
        ({"silence_fraction": -1}, "silence_fraction must be a number from 0 to 10"),
        ({"unknown_fraction": "x"}, "unknown_fraction must be a number"),
        ({"window_ms": 0}, "window_ms must be a whole number of milliseconds"),
        ({"split_seed": -1}, "split_seed must be a non-negative integer"),
        ({"splits": "train"}, "splits must name one or more of train, val and test"),
    ],
)
def test_bad_arguments(tmp_path, kw, message):
    make_audio(tmp_path, {"a": 4, "b": 4})
    with pytest.raises(InputError, match=message):
        load_audio(f"audio:{tmp_path}", **kw)


def test_specs(tmp_path):
    with pytest.raises(InputError, match="is not an audio data set; write audio:PATH"):
        load_audio(f"folder:{tmp_path}")
    with pytest.raises(InputError, match="not supported yet by image training and search; load them with"):
        load_dataset(f"audio:{tmp_path}")
