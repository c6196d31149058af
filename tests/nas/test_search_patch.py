"""`mcuforge search --patch`: the profiler's patched SRAM is `mcuforge compile --patch auto`'s
byte for byte (on the written .tflite), the constraint admits a network that fits only
patch by patch, the setting is stored and a resume that changes it is refused."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.engine import compile_graph
from mcuforge.errors import InputError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.nas.evolution import MemoryConstraint
from mcuforge.nas.export import export_graph
from mcuforge.nas.presets import SearchSettings
from mcuforge.nas.profile import EngineProfiler
from mcuforge.nas.space import BlockSpace, sample
from mcuforge.nas.supernet import random_arch

# w0.3 with 3 input channels at 96-128 pixels: the first stages' activations set the
# per-layer peak, so a patch plan more than halves it (measured: 57,697 -> 32,932 B at r96)
SPACES = [BlockSpace(width=0.3, resolution=r, in_channels=3) for r in (96, 112, 128)]


def sampled(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [sample(SPACES[k % len(SPACES)], rng) for k in range(n)]


def test_patched_figure_is_compile_patch_auto_of_the_tflite():
    profiler = EngineProfiler()
    helped = 0
    for cfg in sampled(3, 1):
        m = profiler.memory(cfg, patch=True)
        c = compile_graph(read(write(export_graph(cfg, seed=3))), patch="auto")
        assert m.peak_sram_bytes == c.project.memory.arena_bytes
        assert m.flash_bytes == c.project.flash_bytes  # patched constants: per-layer's, merged per patch
        assert m.patch == c.patch.as_dict()
        assert m.lower_bound_bytes == c.project.memory.lower_bound
        per_layer = profiler.memory(cfg)
        assert m.peak_sram_bytes <= per_layer.peak_sram_bytes == m.patch["per_layer_peak_bytes"]
        helped += m.patch["used"] and m.peak_sram_bytes < per_layer.peak_sram_bytes
        assert profiler.memory(cfg, patch=True) is m  # cached
    assert helped >= 2


def test_fits_with_patch_decides_like_the_patched_figure():
    profiler = EngineProfiler()
    for cfg in sampled(3, 2):
        per_layer = profiler.memory(cfg)
        for fresh in (True, False):  # before and after the patched figure is cached
            p = EngineProfiler() if fresh else profiler
            patched = profiler.memory(cfg, patch=True)
            for sram in (patched.peak_sram_bytes - 1, patched.peak_sram_bytes, per_layer.peak_sram_bytes - 1,
                         per_layer.peak_sram_bytes):  # fmt: skip
                for flash in (per_layer.flash_bytes - 1, per_layer.flash_bytes):
                    want = patched.peak_sram_bytes <= sram and patched.flash_bytes <= flash
                    assert p.fits(cfg, sram, flash, patch=True) == want
                    assert p.fits(cfg, sram, flash) == (per_layer.peak_sram_bytes <= sram and per_layer.flash_bytes <= flash)


def test_a_network_that_fits_only_with_patch():
    space = SPACES[0]
    profiler = EngineProfiler()
    rng = np.random.default_rng(5)
    for _ in range(20):
        arch = random_arch(space, rng)
        cfg = arch.config(space, 3, 10)
        patched, per_layer = profiler.memory(cfg, patch=True), profiler.memory(cfg)
        if patched.peak_sram_bytes < per_layer.peak_sram_bytes:
            break
    else:
        pytest.fail("no random network of w0.3-r96 is smaller patch by patch")
    sram, flash = patched.peak_sram_bytes, patched.flash_bytes
    plain = MemoryConstraint(space, 3, 10, sram, flash, profiler)
    with_patch = MemoryConstraint(space, 3, 10, sram, flash, profiler, patch=True)
    assert not plain(arch) and with_patch(arch)
    assert with_patch.memory(arch) == patched and with_patch.memory(arch).patch["used"]
    assert plain.memory(arch) == per_layer
    assert not MemoryConstraint(space, 3, 10, sram - 1, flash, profiler, patch=True)(arch)
    assert not MemoryConstraint(space, 3, 10, sram, flash - 1, profiler, patch=True)(arch)


def test_patch_setting_is_stored_and_checked(tmp_path):
    from mcuforge.nas.search_main import prepare

    with pytest.raises(InputError, match="--patch with --max-ms"):
        SearchSettings("fashion-mnist", 1000, 1000, board="STM32F746", max_ms=10.0, patch=True)
    out = tmp_path / "run"
    st = prepare(out, {"data": "fashion-mnist", "sram": 64_000, "flash": 512_000, "patch": True}, False, True)
    assert st.patch and '"patch": true' in (out / "config.json").read_text()
    assert prepare(out, {"patch": None}, True, True).patch  # not given again: the stored one
    assert prepare(out, {"patch": True}, True, True).patch
    with pytest.raises(InputError, match="patch True -> False"):
        prepare(out, {"patch": False}, True, True)


def test_cli_takes_patch():
    import argparse

    from mcuforge.nas.search_cli import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    assert parser.parse_args(["search", "-o", "x", "--patch"]).patch is True
    assert parser.parse_args(["search", "-o", "x"]).patch is None  # absent: the stored setting on --resume
    assert "stage 1 ranks spaces by per-layer memory" in " ".join(parser._subparsers._group_actions[0].choices["search"].format_help().split())
