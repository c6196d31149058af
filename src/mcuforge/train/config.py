"""A training run's settings and its run folder's config.json.

`TrainConfig` is everything that decides a run's result (architecture, data, schedule,
quantisation, seeds). It is written to RUN/config.json before any work starts; `--resume`
reads it back, and a setting given again on resume must equal the stored one (a run is
never continued with other settings). Settings that do not change the result (threads,
device, progress) are not part of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from mcuforge.errors import InputError

FORMAT = "mcuforge-run"
DEFAULT_LR = {"sgd": 0.1, "adamw": 0.002}  # for batch 128; scaled linearly with the batch size
DEFAULT_WD = {"sgd": 2e-4, "adamw": 0.05}


@dataclass(frozen=True)
class TrainConfig:
    arch: str  # as given: an architecture JSON path, a zoo name or mbv2-wW-rR
    data: str  # the data spec
    epochs: int = 15
    batch_size: int = 64
    lr: float | None = None  # None: DEFAULT_LR[optimizer] * batch_size / 128
    wd: float | None = None  # None: DEFAULT_WD[optimizer]
    optimizer: str = "sgd"
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    ema: float = 0.0
    resolution: int | None = None  # None: the architecture's
    channels: int | None = None  # None: the data's
    crop_padding: int | None = None  # None: max(1, resolution // 28) (1 pixel at 28)
    hflip: bool = False
    calib: int = 1000  # calibration images from the training split
    observer: str = "minmax"
    qat_epochs: int = 0
    qat_lr: float | None = None  # None: lr / 100
    seed: int = 0
    split_seed: int = 0
    val_size: int | None = None
    board: str | None = None
    sram: int | None = None
    flash: int | None = None
    checkpoint_every_s: float = 60.0
    init: str | None = None  # a .pt with starting weights for this network (a subnet cut from a supernet)

    def __post_init__(self) -> None:
        for name in ("epochs", "qat_epochs", "calib"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name.replace('_', '-')} must be 0 or more, not {getattr(self, name)}")
        if self.batch_size < 2:
            raise InputError(f"--batch-size must be at least 2 (batch norm needs two images), not {self.batch_size}")
        if self.resolution is not None and self.resolution < 8:
            raise InputError(f"--resolution {self.resolution} is too small; give at least 8 pixels")
        if self.channels not in (None, 1, 3):
            raise InputError(f"--channels must be 1 (grey) or 3 (colour), not {self.channels}")

    @property
    def float_lr(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR.get(self.optimizer, 0.1) * self.batch_size / 128

    @property
    def weight_decay(self) -> float:
        return self.wd if self.wd is not None else DEFAULT_WD.get(self.optimizer, 5e-5)

    @property
    def qat_learning_rate(self) -> float:
        return self.qat_lr if self.qat_lr is not None else self.float_lr / 100


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def read_stored_config(run: Path, fmt: str, what: str) -> dict[str, Any]:
    """RUN/config.json of a run folder of format `fmt` (a training run, a search), or
    InputError naming what is wrong."""
    path = run / "config.json"
    if not path.is_file():
        raise InputError(f"{run} holds no {what} to resume (no config.json); start it without --resume")
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path} is not readable JSON ({e}); start a new run folder") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise InputError(f"{path} is not an mcuforge {what} config; start a new run folder")
    return d


def read_run_config(run: Path) -> dict[str, Any]:
    d = read_stored_config(run, FORMAT, "run")
    if "config" not in d:
        raise InputError(f"{run / 'config.json'} is not an mcuforge run config; start a new run folder")
    return d


def resumed_config(stored: dict[str, Any], given: dict[str, Any]) -> TrainConfig:
    """The stored config, checked against the settings given again on resume (None: not given)."""
    names = {f.name for f in fields(TrainConfig)}
    try:
        cfg = TrainConfig(**{k: v for k, v in stored["config"].items() if k in names})
    except TypeError as e:
        raise InputError(f"the run's config.json does not match this mcuforge ({e}); start a new run folder") from None
    changed = [k for k, v in given.items() if k in names and v is not None and v != getattr(cfg, k)]
    if changed:
        what = ", ".join(f"{k} {getattr(cfg, k)!r} -> {given[k]!r}" for k in changed)
        raise InputError(f"the run was started with other settings ({what}); resume with the stored ones or start a new run folder")
    return cfg


def new_config(given: dict[str, Any]) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise InputError(f"unknown training settings: {', '.join(unknown)}")
    base = TrainConfig(arch=given.get("arch") or "", data=given.get("data") or "")
    cfg = replace(base, **{k: v for k, v in given.items() if v is not None})
    if not cfg.arch:
        raise InputError("name an architecture to train (a JSON file, a zoo name or mbv2-wW-rR)")
    if not cfg.data:
        raise InputError("name the data to train on with --data (fashion-mnist, folder:PATH or npz:PATH)")
    return cfg


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return asdict(cfg)
