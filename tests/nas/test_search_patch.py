"""`mcuforge search --patch`: the profiler's patched SRAM is `mcuforge compile --patch auto`'s
byte for byte (on the written .tflite), the constraint admits a network that fits only
patch by patch, the setting is stored and a resume that changes it is refused, and a
tiny search end to end within an SRAM budget that no network of the space meets per layer."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.engine import compile_graph
from mcuforge.errors import InputError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.nas import zoo
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
    for cfg in sampled(3, 1) + [zoo.get("mcunet-in0"), zoo.get("mbv2-w0.35", resolution=96)]:
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
    assert helped >= 3


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
                    plain = per_layer.peak_sram_bytes <= sram and per_layer.flash_bytes <= flash
                    assert p.fits(cfg, sram, flash) == plain


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
    assert "every SRAM figure" in " ".join(parser._subparsers._group_actions[0].choices["search"].format_help().split())


def test_tiny_search_that_fits_only_patch_by_patch(tmp_path):
    """3,500 B of SRAM: the space's smallest network needs 3,625 B per layer at 24 pixels
    (measured), so every model of this search fits only patch by patch; its peaks are
    `compile --patch auto`'s of the trained .tflite."""
    pytest.importorskip("torch")
    from test_search import FLASH, TINY, make_folder

    import mcuforge
    from mcuforge.frontend.tflite_read import load

    sram = 3500
    data = make_folder(tmp_path / "images")
    out = tmp_path / "run"

    def run(**kw):
        return mcuforge.search(f"folder:{data}", out, sram=sram, flash=FLASH, preset="quick", threads=1, progress=False,
                               qemu="none", overrides=TINY, **kw)  # fmt: skip

    r = run(patch=True)
    assert r["patch"] and r["patch_plan"]["used"] and r["memory_matches_compile"]
    assert r["peak_sram_bytes"] <= sram < r["patch_plan"]["per_layer_peak_bytes"]
    c = compile_graph(load(r["model"]), patch="auto")
    assert r["peak_sram_bytes"] == c.project.memory.arena_bytes and c.patch.plan is not None
    for m in (r["baseline"], r["random_search"]):
        assert m["peak_sram_bytes"] <= sram and m["patch"]["used"]
        assert m["peak_sram_bytes"] == compile_graph(load(m["model"]), patch="auto").project.memory.arena_bytes
    assert all(r["fits_budget"].values()) and r["patch_c_identical"] is True
    import json

    cands = json.loads((out / "candidates.json").read_text())
    assert cands and all(c["peak_sram_bytes"] <= sram for c in cands)
    assert json.loads((out / "search.json").read_text())["phases"]["space"]["patch"] is True
    text = (out / "report.md").read_text()
    assert "--patch auto" in text and "grid" in text
    from mcuforge.nas.search_cli import summary

    assert f"in a {r['patch_plan']['grid'][0]}x{r['patch_plan']['grid'][1]} grid" in summary(r)
    with pytest.raises(InputError, match="patch True -> False"):
        run(patch=False, resume=True)
    assert run(resume=True)["winner"] == r["winner"]
