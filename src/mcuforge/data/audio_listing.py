"""The files of an audio:PATH folder and the split each one belongs to.

Layout (Speech Commands'): PATH/<word>/*.wav, one folder per spoken word, plus the
optional special folders `_background_noise_` (long noise recordings), `_unknown_`
(clips of other words) and `_silence_` (clips of no word). Hidden files and folders
(names starting with ".") and files that are not .wav (any case) are ignored; files are
listed in sorted order, so everything cut from the lists depends only on the folder.

The split of each clip file, first found wins:
  PATH/splits.json            {"files": {"train": [...], "val": [...], "test": [...]}}, paths
                              relative to PATH (what `mcuforge synth-keywords` writes, split by voice)
  validation_list.txt and     Speech Commands' lists (one relative path a line; the
  testing_list.txt            other files are training files)
  neither                     seeded and stratified by folder, 80/10/10 (mcuforge.data.splits)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcuforge.data import SPLITS
from mcuforge.data.folder import visible
from mcuforge.data.splits import split_flat
from mcuforge.errors import DataError

NOISE, UNKNOWN, SILENCE = "_background_noise_", "_unknown_", "_silence_"
SPECIAL = (NOISE, UNKNOWN, SILENCE)
SPLITS_FILE = "splits.json"
MARKER = "synth-keywords.json"  # written by mcuforge synth-keywords; "complete" false while it runs
SC_LISTS = {"val": "validation_list.txt", "test": "testing_list.txt"}


@dataclass(frozen=True)
class AudioListing:
    folders: tuple[str, ...]  # word folders, then _unknown_ and _silence_ when present (sorted within)
    files: tuple[Path, ...]  # every clip file, folder by folder
    folder_of: np.ndarray  # int64 index into folders, per file
    noise: tuple[Path, ...]  # _background_noise_ recordings

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(f for f in self.folders if f not in SPECIAL)


def wavs(folder: Path) -> list[Path]:
    return [p for p in visible(folder) if p.suffix.lower() == ".wav" and p.is_file()]


def list_audio(path: Path) -> AudioListing:
    if not path.is_dir():
        raise DataError(f"audio folder {path} does not exist" if not path.exists() else f"{path} is not a folder")
    dirs = [d for d in visible(path) if d.is_dir()]
    order = [d for d in dirs if d.name not in SPECIAL] + [d for d in dirs if d.name in (UNKNOWN, SILENCE)]
    folders: list[str] = []
    files: list[Path] = []
    labels: list[int] = []
    for d in order:
        found = wavs(d)
        if not found:
            raise DataError(f"class folder {d} has no WAV files; add some or remove the folder")
        labels += [len(folders)] * len(found)
        folders.append(d.name)
        files += found
    if not any(f not in SPECIAL for f in folders):
        raise DataError(f"{path} has no folders of WAV clips; audio:PATH needs one subfolder of .wav files per word")
    noise = tuple(wavs(path / NOISE)) if (path / NOISE).is_dir() else ()
    check_finished(path)
    return AudioListing(tuple(folders), tuple(files), np.asarray(labels, dtype=np.int64), noise)


def check_finished(path: Path) -> None:
    """A synth-keywords set that is still being written (or was interrupted) has no split
    by voice yet; reading it would mix test voices into training."""
    try:
        done = json.loads((path / MARKER).read_text()).get("complete", True)
    except (OSError, ValueError, AttributeError):
        return
    if done is not True:
        raise DataError(f"{path} is an unfinished synth-keywords set; run mcuforge synth-keywords again to finish it")


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def read_lists(path: Path) -> dict[str, set[str]] | None:
    """split name -> relative paths, from splits.json or Speech Commands' two lists;
    None when the folder has neither (only the val and test lists: the rest is train)."""
    if (path / SPLITS_FILE).is_file():
        try:
            files = json.loads((path / SPLITS_FILE).read_text())["files"]
            lists = {s: set(files[s]) for s in SPLITS}
            if not all(isinstance(p, str) for s in SPLITS for p in lists[s]):
                raise TypeError("paths must be strings")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(
                f"cannot read {path / SPLITS_FILE} ({type(e).__name__}: {e}); it needs "
                '{"files": {"train": [...], "val": [...], "test": [...]}}'
            ) from None
        return lists
    have = {s: (path / name).is_file() for s, name in SC_LISTS.items()}
    if not any(have.values()):
        return None
    if have["val"] != have["test"]:
        has, lacks = (SC_LISTS["val"], SC_LISTS["test"]) if have["val"] else (SC_LISTS["test"], SC_LISTS["val"])
        raise DataError(f"{path} has {has} but no {lacks}; give both lists or neither")
    lists = {}
    for s, name in SC_LISTS.items():
        try:
            lists[s] = {line.strip() for line in (path / name).read_text().splitlines() if line.strip()}
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"cannot read {path / name} ({e}); it needs one relative .wav path a line") from None
    return lists


def fixed_split(listing: AudioListing, path: Path, lists: dict[str, set[str]]) -> dict[str, np.ndarray]:
    """Indices into listing.files per split, as the lists say."""
    names = [relative(f, path) for f in listing.files]
    known = set(names)
    own = "train" in lists  # splits.json; else Speech Commands' two lists
    for s, listed in lists.items():
        missing = sorted(p for p in listed if p not in known)
        if missing:
            where = path / (SPLITS_FILE if own else SC_LISTS[s])
            raise DataError(f"{missing[0]} is listed in {where} but is not a clip in {path}")
    out = {}
    for s in SPLITS:
        if s in lists:
            out[s] = np.asarray([i for i, n in enumerate(names) if n in lists[s]], dtype=np.int64)
    if not own:
        taken = lists["val"] | lists["test"]
        out["train"] = np.asarray([i for i, n in enumerate(names) if n not in taken], dtype=np.int64)
    else:
        listed = set().union(*lists.values())
        stray = next((n for n in names if n not in listed), None)
        if stray is not None:
            raise DataError(f"{stray} is in no split of {path / SPLITS_FILE}; list it or remove it")
    twice = set(lists.get("train", ())) & (lists["val"] | lists["test"]) | (lists["val"] & lists["test"])
    if twice:
        where = SPLITS_FILE if own else " and ".join(SC_LISTS.values())
        raise DataError(f"{sorted(twice)[0]} is listed in two splits ({where} in {path}); keep it in one")
    return out


def split_listing(
    listing: AudioListing, path: Path, split_seed: int, val_size: int | None
) -> tuple[dict[str, np.ndarray], str]:
    """(indices into listing.files per split, how the split was made)."""
    lists = read_lists(path)
    if lists is not None:
        how = SPLITS_FILE if "train" in lists else "Speech Commands lists"
        if val_size is not None:
            raise DataError(f"{path} fixes its splits ({how}), so val_size does not apply; leave it unset")
        return fixed_split(listing, path, lists), how
    counts = np.bincount(listing.folder_of, minlength=len(listing.folders))
    few = np.flatnonzero(counts < 3)
    if few.size:
        d = listing.folders[int(few[0])]
        raise DataError(
            f"folder {d!r} of {path} has only {int(counts[few[0]])} clip(s), too few to split into train, val and "
            "test (at least 3 are needed); add clips"
        )
    train, val, test = split_flat(listing.folder_of, listing.folders, val_size, split_seed, str(path))
    return {"train": train, "val": val, "test": test}, f"seeded 80/10/10 (split_seed {split_seed})"
