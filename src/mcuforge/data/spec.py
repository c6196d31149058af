"""Parse a data set spec string: `fashion-mnist`, `folder:PATH`, `npz:PATH` or `audio:PATH`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcuforge.errors import InputError

ACCEPTED = "fashion-mnist, folder:PATH or npz:PATH"  # the image specs; audio:PATH loads with data.audio.load_audio


@dataclass(frozen=True)
class DataSpec:
    kind: str  # "fashion-mnist", "folder", "npz" or "audio"
    path: Path | None  # None for fashion-mnist (its location comes from the environment)


def parse_spec(spec: str) -> DataSpec:
    if not isinstance(spec, str):
        raise InputError(f"a data set spec must be a string ({ACCEPTED}), not {type(spec).__name__}")
    text = spec.strip()
    if text.lower() == "fashion-mnist":
        return DataSpec("fashion-mnist", None)
    kind, sep, path = text.partition(":")
    kind = kind.lower()
    if sep and kind in ("folder", "npz", "audio"):
        if not path:
            raise InputError(f"the data set spec {spec!r} names no path; write {kind}:PATH")
        return DataSpec(kind, Path(path).expanduser())
    raise InputError(f"unknown data set spec {spec!r}; use {ACCEPTED}")
