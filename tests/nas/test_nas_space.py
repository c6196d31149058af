"""Architecture configs: MCUNet's ProxylessNAS JSON and the project's format, the MCUNet
block space and its seeded sampler, and the closed-form figures against the published
ones (shared/configs/mcunet/expected.json)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shared_paths import SHARED
from mcuforge.errors import InputError
from mcuforge.nas import profile as P
from mcuforge.nas.space import (
    BlockSpace,
    BlockSpec,
    ConvSpec,
    NetConfig,
    SearchError,
    build,
    dumps,
    from_json,
    from_proxyless,
    load,
    make_divisible,
    sample,
    sample_until,
    to_json,
    to_proxyless,
)

CONFIGS = SHARED / "configs" / "mcunet"


def expected() -> dict:
    if not (CONFIGS / "expected.json").is_file():
        pytest.skip(f"MCUNet configs not available: {CONFIGS} is absent")
    return json.loads((CONFIGS / "expected.json").read_text())["configs"]


NAMES = [
    "mbv2-w0.3-r80_imagenet.json", "mbv2-w0.35-r144_imagenet.json", "mcunet-10fps_imagenet.json",
    "mcunet-256kb-1mb-int4_imagenet.json", "mcunet-256kb-1mb_imagenet.json", "mcunet-320kb-1mb-int4_imagenet.json",
    "mcunet-320kb-1mb_imagenet.json", "mcunet-512kb-2mb-int4_imagenet.json", "mcunet-512kb-2mb_imagenet.json",
    "mcunet-5fps_imagenet.json", "proxyless-w0.25-r112_imagenet.json", "proxyless-w0.3-r176_imagenet.json",
    "proxyless_mobile.json",
]  # fmt: skip


def test_every_expected_config_is_listed():
    assert sorted(expected()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_published_figures_exactly(name: str):
    """MACs, parameters (batch norm's gamma and beta included) and the MCUNet
    peak-activation rule reproduce every figure of expected.json."""
    e = expected()[name]
    cfg = load(CONFIGS / name)
    assert cfg.resolution == e["resolution"]
    assert P.macs(cfg) == e["macs"]
    assert P.params(cfg) == e["params_including_bn"]
    assert P.peak_activation(cfg) == e["peak_activation_elements"]
    assert round(P.macs(cfg) / 1e6, 2) == pytest.approx(e["macs_millions_rounded"], abs=0.051)


@pytest.mark.parametrize("name", NAMES)
def test_both_formats_round_trip(name: str, tmp_path: Path):
    expected()
    cfg = load(CONFIGS / name)
    assert from_proxyless(to_proxyless(cfg), cfg.name) == cfg
    assert from_json(to_json(cfg)) == cfg
    for proxyless in (False, True):
        path = tmp_path / f"a{int(proxyless)}.json"
        path.write_text(dumps(cfg, proxyless))
        assert replace(load(path), name=cfg.name) == cfg


def test_zero_layers_are_identities():
    """ProxylessNAS's ZeroLayer blocks with an identity shortcut compute nothing: dropped."""
    expected()
    raw = json.loads((CONFIGS / "proxyless-w0.3-r176_imagenet.json").read_text())
    zero = sum(b["mobile_inverted_conv"]["name"] == "ZeroLayer" for b in raw["blocks"])
    assert zero == 2 and len(load(CONFIGS / "proxyless-w0.3-r176_imagenet.json").blocks) == len(raw["blocks"]) - 2


@pytest.mark.parametrize(
    "name, width",
    [("mcunet-10fps", 0.6), ("mcunet-5fps", 0.5), ("mcunet-256kb-1mb", 0.5), ("mcunet-320kb-1mb", 0.5), ("mcunet-512kb-2mb", 1.0)],
)
def test_released_mcunets_are_in_the_space(name: str, width: float):
    """MCUNet's released ImageNet models are members of the block space at their width:
    channels from make_divisible(base * width, 8), mid channels from
    make_divisible(in * expand, 8) (their expand ratios include 5, outside the sampler's)."""
    expected()
    released = load(CONFIGS / f"{name}_imagenet.json")
    blocks = released.blocks[1:]
    firsts = [k for k, b in enumerate(blocks) if k == 0 or b.in_channels != b.out_channels]
    depths = np.diff(firsts + [len(blocks)]).tolist()
    ours = build(
        BlockSpace(width=width, resolution=released.resolution), depths,
        [b.kernel for b in blocks], [b.expand_ratio for b in blocks], name=released.name,
    )  # fmt: skip
    assert ours == released


def test_make_divisible():
    assert [make_divisible(v) for v in (9.6, 14.4, 19.2, 57.6, 115.2, 3.2)] == [16, 16, 24, 56, 112, 8]


def test_sampler_is_seeded_and_in_the_space():
    space = BlockSpace(width=0.5, resolution=128)
    a = [sample(space, np.random.default_rng(7)) for _ in range(3)]
    b = [sample(space, np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(1)
    seen_depths = set()
    for _ in range(50):
        cfg = sample(space, rng)
        assert cfg.resolution == 128 and cfg.first_conv == ConvSpec(3, 16, 3, 2) and cfg.feature_mix is None
        assert cfg.blocks[0] == BlockSpec(16, 8, 3, 1, 1)
        strides = [blk.stride for blk in cfg.blocks[1:]]
        firsts = [k for k, blk in enumerate(cfg.blocks[1:]) if k == 0 or blk.in_channels != blk.out_channels]
        assert [strides[k] for k in firsts] == [2, 2, 2, 1, 2, 1]
        stage_depths = np.diff(firsts + [len(cfg.blocks) - 1]).tolist()
        assert all(d in (2, 3, 4) for d in stage_depths[:-1]) and stage_depths[-1] == 1
        seen_depths.update(stage_depths[:-1])
        for blk in cfg.blocks[1:]:
            assert blk.kernel in (3, 5, 7) and blk.expand_ratio in (3, 4, 6)
            assert blk.mid == make_divisible(blk.in_channels * blk.expand_ratio, 8)
            assert blk.residual == (blk.stride == 1 and blk.in_channels == blk.out_channels)
    assert seen_depths == {2, 3, 4}


def test_bounded_rejection():
    space = BlockSpace(width=0.3, resolution=64)
    rng = np.random.default_rng(0)
    got = sample_until(space, rng, lambda c: P.macs(c) < 5_000_000, max_tries=200)
    assert P.macs(got) < 5_000_000
    with pytest.raises(SearchError, match=r"none of 25 networks sampled from space w0.3-r64 met fewer than 1 MAC"):
        sample_until(space, rng, lambda c: P.macs(c) < 1, max_tries=25, what="fewer than 1 MAC")


def test_bad_configs_are_one_sentence_errors(tmp_path: Path):
    first = ConvSpec(3, 16, 3, 2)
    with pytest.raises(InputError, match="block 0 reads 8 channels but gets 16"):
        NetConfig("x", 64, first, (BlockSpec(8, 8, 3, 1, 1),), None)
    with pytest.raises(InputError, match="has a shortcut but changes shape"):
        NetConfig("x", 64, first, (BlockSpec(16, 16, 3, 2, 3, residual=True),), None)
    with pytest.raises(InputError, match="does not exist"):
        load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not readable JSON"):
        load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(InputError, match="neither mcuforge-arch nor ProxylessNAS"):
        load(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text('{"first_conv": {"name": "ConvLayer"}, "blocks": []}')
    with pytest.raises(InputError, match="not a valid ProxylessNAS config"):
        load(tmp_path / "broken.json")
