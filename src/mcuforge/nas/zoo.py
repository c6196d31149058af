"""The MCUNet ImageNet model zoo as architecture configs, with published figures beside
the engine's own.

Each architecture is stored in the project's format (nas/zoo/<name>.json), converted
from MCUNet's released ProxylessNAS configs (shared/configs/mcunet/, ANCHORS 2.1).
Published peak SRAM and Flash are TinyEngine's and X-CUBE-AI 7.3's on STM32H743
(ANCHORS 1.2) where the paper lists the model; the zoo's own SRAM/Flash columns
(ANCHORS 2.1) are kept too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from mcuforge.errors import InputError
from mcuforge.hw.boards import Board
from mcuforge.nas.profile import Profile, profile
from mcuforge.nas.space import NetConfig, from_json


@dataclass(frozen=True)
class Published:
    source: str  # MCUNet's config file (shared/configs/mcunet/<source>_imagenet.json)
    zoo_sram_kib: int  # ANCHORS 2.1
    zoo_flash_kib: int
    top1_fp32_int8: tuple[float, float]
    tinyengine_sram_kib: int | None = None  # ANCHORS 1.2, STM32H743
    xcube_sram_kib: int | None = None
    tinyengine_flash_kib: int | None = None
    xcube_flash_kib: int | None = None


PUBLISHED: dict[str, Published] = {
    "mcunet-in0": Published("mcunet-10fps", 266, 889, (41.5, 40.4), 49, 69, 842, 856),
    "mcunet-in1": Published("mcunet-5fps", 307, 992, (51.5, 49.9), 96, 106, 727, 737),
    "mcunet-in2": Published("mcunet-256kb-1mb", 242, 878, (60.9, 60.3), 215, 238, 830, 849),
    "mcunet-in3": Published("mcunet-320kb-1mb", 293, 897, (62.2, 61.8), 260, 243, 835, 867),
    "mcunet-in4": Published("mcunet-512kb-2mb", 456, 1876, (68.4, 68.0), 416, 342, 1825, 1843),
    "mbv2-w0.35": Published("mbv2-w0.35-r144", 308, 862, (49.7, 49.0)),
    "proxyless-w0.3": Published("proxyless-w0.3-r176", 292, 892, (57.0, 56.2), 259, 221, 779, 865),
}
NAMES = tuple(PUBLISHED)


def get(name: str, resolution: int | None = None) -> NetConfig:
    """A zoo architecture by name (optionally at another input resolution)."""
    if name not in PUBLISHED:
        raise InputError(f"no model {name!r} in the zoo; known: {', '.join(NAMES)}")
    text = resources.files("mcuforge.nas").joinpath(f"zoo/{name}.json").read_text()
    cfg = from_json(json.loads(text))
    return cfg if resolution is None else replace(cfg, resolution=resolution)


@dataclass(frozen=True)
class ZooRow:
    profile: Profile
    published: Published

    def as_dict(self) -> dict[str, Any]:
        d = self.profile.as_dict()
        d["published"] = asdict(self.published)
        return d


def table(board: Board) -> list[ZooRow]:
    """Every zoo model profiled against a board."""
    return [ZooRow(profile(get(n), board), PUBLISHED[n]) for n in NAMES]


def _kib(v: int | None) -> str:
    return "-" if v is None else f"{v}"


def format_table(rows: list[ZooRow], board: Board) -> str:
    lines = [
        f"MCUNet ImageNet zoo on {board.name} ({board.sram // 1024} KiB SRAM, {board.flash // 1024} KiB Flash); "
        "published peak SRAM kB on STM32H743: TinyEngine / X-CUBE-AI; Flash counts constants (`compile` adds the code)",
        f"{'model':15} {'res':>4} {'MACs':>12} {'params':>10} {'SRAM B':>9} {'const B':>10} {'fits':>4}  {'published SRAM':>14}",
    ]
    for r in rows:
        p, pub = r.profile, r.published
        published = f"{_kib(pub.tinyengine_sram_kib)} / {_kib(pub.xcube_sram_kib)}"
        lines.append(
            f"{p.name:15} {p.resolution:4} {p.macs:12,} {p.params:10,} {p.peak_sram_bytes:9,} {p.flash_bytes:10,} "
            f"{'yes' if p.fits else 'no':>4}  {published:>14}"
        )
    return "\n".join(lines)


def write_tflite(name: str, path: str | Path, seed: int = 0, resolution: int | None = None) -> int:
    """Write a zoo model as an int8 .tflite with seeded random weights; returns its size."""
    from mcuforge.frontend.tflite_write import write
    from mcuforge.nas.export import export_graph

    data = write(export_graph(get(name, resolution), seed))
    Path(path).write_bytes(data)
    return len(data)
