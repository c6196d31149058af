"""Settings of `mcuforge search`: the presets and the stored run settings.

A preset sizes every phase; `quick` is the demo (minutes on 2 CPU cores), `default`
the benchmark setting (about an hour per budget on 2 cores for Fashion-MNIST), `full`
the published evolution setting on all the data. Times are for Fashion-MNIST on this
project's 2-core reference machine (benchmarks/search.py measures them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mcuforge.errors import InputError
from mcuforge.nas.evolution import EvolutionSettings
from mcuforge.nas.space_opt import WIDTHS
from mcuforge.nas.supernet_train import SupernetSettings

RESOLUTION_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # of the data's native size


@dataclass(frozen=True)
class Preset:
    name: str
    space_samples: int  # stage 1: networks sampled per (width, resolution) space
    widths: tuple[float, ...]
    resolution_factors: tuple[float, ...]
    supernet: SupernetSettings
    evolution: EvolutionSettings
    finetune_epochs: int  # the winner's (and random search's best) training from inherited weights
    qat_epochs: int
    train_images: int | None  # images per supernet epoch (None: the whole training split); fine-tunes see all
    val_images: int  # validation images that score a candidate
    bn_images: int = 2000  # training images that re-estimate a candidate's batch norm
    latency_networks: int = 8  # --max-ms: networks of the space run under QEMU to fit the instruction model
    # Stage 1's compute bound (space_opt.SpaceSettings.max_mflops): mean MFLOPs of the chosen
    # space's fitting networks; None: unbounded (the largest mean wins, as in MCUNet).
    max_mflops: float | None = None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "quick",
            40,
            (0.2, 0.3, 0.5, 0.7, 1.0),
            (0.75, 1.0),
            SupernetSettings(largest_epochs=1, sandwich_epochs=1, random_subnets=1, warmup_epochs=0.2),
            EvolutionSettings(population=16, parents=4, mutations=8, crossovers=8, generations=4),
            finetune_epochs=2,
            qat_epochs=0,
            train_images=20_000,
            val_images=1000,
            bn_images=500,
            latency_networks=5,
        ),
        Preset(
            "default",
            200,
            WIDTHS,
            RESOLUTION_FACTORS,
            SupernetSettings(largest_epochs=3, sandwich_epochs=4, random_subnets=1),
            EvolutionSettings(population=50, parents=10, mutations=25, crossovers=25, generations=10),
            finetune_epochs=5,
            qat_epochs=1,
            train_images=30_000,
            val_images=2000,
            bn_images=1000,
            # Measured at 64 KiB / 256 KiB: space w0.3-r56 (3.1 mean MFLOPs) took 76.8 min on
            # 2 idle cores; unbounded, 256 KiB / 1 MiB picks w0.9-r56 (about 16), ~3 hours.
            max_mflops=3.5,
        ),
        Preset(
            "full",
            1000,
            WIDTHS,
            RESOLUTION_FACTORS,
            SupernetSettings(largest_epochs=10, sandwich_epochs=20, random_subnets=2),
            EvolutionSettings(),  # population 100, 20 parents, 50 + 50 children, 30 generations
            finetune_epochs=15,
            qat_epochs=2,
            train_images=None,
            val_images=5000,
            bn_images=2000,
            latency_networks=12,
        ),
    )  # fmt: skip
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose {', '.join(PRESETS)}")
    return PRESETS[name]


def search_resolutions(native: int, factors: tuple[float, ...], low: int) -> tuple[int, ...]:
    """Resolutions about factors x the native size, multiples of 4, at least `low` (the
    space's smallest that its strides allow)."""
    out = sorted({max(low, 4 * round(native * f / 4)) for f in factors})
    return tuple(out)


@dataclass(frozen=True)
class SearchSettings:
    """What a search computes (stored in RUN/config.json; a resume must not change it)."""

    data: str
    sram: int
    flash: int
    board: str | None = None
    preset: str = "default"
    seed: int = 0
    split_seed: int = 0
    val_size: int | None = None
    resolutions: tuple[int, ...] | None = None  # None: from the data's native size
    channels: int | None = None  # None: the data's
    qemu: str | None = (
        None  # QEMU backend validating the models (None: the board's core, else qemu-m4; "none": no QEMU)
    )
    max_ms: float | None = None  # latency bound on the board's clock (nas/latency.py); needs a board QEMU emulates
    patch: bool = False  # every SRAM figure is `compile --patch auto`'s (stage 1 and 2, baselines, final models)
    overrides: dict[str, Any] = field(default_factory=dict)  # tests: preset fields replaced

    def __post_init__(self) -> None:
        if self.sram < 1 or self.flash < 1:
            raise InputError(f"the SRAM and Flash budgets must be positive (got {self.sram}, {self.flash})")
        if self.max_ms is not None:
            if not self.max_ms > 0:
                raise InputError(f"--max-ms must be a positive number of milliseconds (got {self.max_ms})")
            if self.board is None:
                raise InputError("--max-ms needs --board: the latency is the model's instructions at the board's clock")
            from mcuforge.hw.boards import get_board
            from mcuforge.nas.latency import latency_board

            latency_board(get_board(self.board))
        if self.patch and self.max_ms is not None:
            raise InputError(
                "--patch with --max-ms is not supported: the latency model predicts the per-layer program, "
                "not the patched one; drop one of them"
            )
        get_preset(self.preset)
        if self.qemu not in (None, "none", "qemu-m4", "qemu-m7"):
            raise InputError(f"unknown QEMU backend {self.qemu!r}; choose qemu-m4, qemu-m7 or none")
        if self.resolutions is not None:
            object.__setattr__(self, "resolutions", tuple(int(r) for r in self.resolutions))

    @property
    def plan(self) -> Preset:
        from dataclasses import replace

        p = get_preset(self.preset)
        o = dict(self.overrides)
        if "supernet" in o:
            o["supernet"] = replace(p.supernet, **o["supernet"])
        if "evolution" in o:
            o["evolution"] = replace(p.evolution, **o["evolution"])
        for k in ("widths", "resolution_factors"):
            if k in o:
                o[k] = tuple(o[k])
        try:
            return replace(p, **o)
        except TypeError as e:
            raise InputError(f"unknown preset setting ({e})") from None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["resolutions"] = None if self.resolutions is None else list(self.resolutions)
        return d
