"""Metadata entries of a .tflite file (the schema's `metadata` table: a name and a
buffer of bytes each), and mcuforge's own entry: what a trained model carries with it.

`tflite_write.write(g, metadata=...)` stores entries; `read_metadata` gives them back.
The reader of the graph (tflite_read) never looks at them, so a damaged table cannot
stop a good model; `read_metadata` likewise returns what it can decode and skips the
rest.

The "mcuforge" entry is JSON (`ModelInfo`): the class names, the input convention
(int8 input = pixel - 128; the network sees (pixel / 255 - mean) / std, which the
input tensor's scale and zero point encode), the architecture and the data spec the
model was trained on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.frontend.tflite_read import DECODE_ERRORS

ENTRY = "mcuforge"
FORMAT = "mcuforge-model"


def read_metadata(data: bytes) -> dict[str, bytes]:
    """Every metadata entry that decodes: name -> bytes ({} for a file without any)."""
    data = bytes(data)
    if len(data) < 8 or data[4:8] != b"TFL3":
        return {}
    out: dict[str, bytes] = {}
    try:
        m = fb.Model.GetRootAs(data, 0)
        n_buffers = m.BuffersLength()
        for i in range(m.MetadataLength()):
            entry = m.Metadata(i)
            name, index = entry.Name(), entry.Buffer()
            if name is None or not 0 <= index < n_buffers:
                continue
            buf = m.Buffers(index)
            out[name.decode("utf-8", "replace")] = b"" if buf.DataIsNone() else buf.DataAsNumpy().tobytes()
    except DECODE_ERRORS:
        return out
    return out


@dataclass(frozen=True)
class ModelInfo:
    """What an mcuforge-trained model carries: class names and its input convention."""

    labels: tuple[str, ...]
    mean: float  # the network sees (pixel / 255 - mean) / std
    std: float
    resolution: int
    channels: int
    arch: str = ""
    data: str = ""
    split_seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        d = {"format": FORMAT, "version": 1, "input_int8": "pixel - 128", **asdict(self)}
        d["labels"] = list(self.labels)
        return json.dumps(d, indent=1).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ModelInfo | None:
        """The info in an entry, or None when it is not a readable mcuforge-model entry."""
        try:
            d = json.loads(raw.decode())
            if not isinstance(d, dict) or d.get("format") != FORMAT:
                return None
            return cls(
                labels=tuple(str(v) for v in d["labels"]),
                mean=float(d["mean"]),
                std=float(d["std"]),
                resolution=int(d["resolution"]),
                channels=int(d["channels"]),
                arch=str(d.get("arch", "")),
                data=str(d.get("data", "")),
                split_seed=int(d.get("split_seed", 0)),
                extra=dict(d.get("extra", {})),
            )
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


def model_info(path: str | Path) -> ModelInfo | None:
    """The mcuforge entry of a .tflite file, or None (no entry, or unreadable)."""
    try:
        raw = read_metadata(Path(path).read_bytes()).get(ENTRY)
    except OSError:
        return None
    return None if raw is None else ModelInfo.from_bytes(raw)


def labels_file(model_path: str | Path) -> Path:
    """Where the labels file of a model lives: MODEL.labels.txt beside it (one name a line)."""
    p = Path(model_path)
    return p.with_name(p.stem + ".labels.txt")


def read_labels(model_path: str | Path) -> tuple[str, ...] | None:
    """Class names for a model: its metadata's, else its labels file's, else None."""
    info = model_info(model_path)
    if info is not None:
        return info.labels
    f = labels_file(model_path)
    if f.is_file():
        names = [ln.strip() for ln in f.read_text().splitlines()]
        return tuple(n for n in names if n)
    return None
