"""The PyTorch model of a config against the closed-form profiler: parameter and MAC
counts are computed independently (torch modules and forward hooks) and must agree."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcuforge.nas import profile as P  # noqa: E402
from mcuforge.nas import zoo  # noqa: E402
from mcuforge.nas.space import BlockSpace, BlockSpec, ConvSpec, NetConfig, sample  # noqa: E402
from mcuforge.nas.torch_model import build_model, count_macs, count_params  # noqa: E402

torch.set_num_threads(1)


def configs() -> list[NetConfig]:
    rng = np.random.default_rng(3)
    small = [sample(BlockSpace(width=0.3, resolution=r), rng) for r in (48, 80)]
    with_mix = NetConfig(
        "mix", 40, ConvSpec(3, 8, 3, 2),
        (BlockSpec(8, 8, 3, 1, 1, residual=True), BlockSpec(8, 16, 5, 2, 3), BlockSpec(16, 16, 7, 1, 6, 96, True)),
        ConvSpec(16, 64, 1, 1), num_classes=10, dropout=0.2,
    )  # fmt: skip
    return [zoo.get("mcunet-in0"), zoo.get("proxyless-w0.3", resolution=64), *small, with_mix]


@pytest.mark.parametrize("cfg", configs(), ids=lambda c: f"{c.name}-r{c.resolution}")
def test_counts_agree_with_profiler(cfg: NetConfig):
    model = build_model(cfg, seed=0)
    assert count_params(model) == P.params(cfg)
    assert count_macs(model) == P.macs(cfg)


def test_forward_shapes_and_residuals():
    cfg = configs()[-1]
    model = build_model(cfg, seed=0).eval()
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x)
        assert y.shape == (2, cfg.num_classes)
        # A residual block adds its input: with the projection's batch norm zeroed, the
        # block is the identity.
        blk = model.blocks[2]
        torch.nn.init.zeros_(blk.project[1].weight)
        torch.nn.init.zeros_(blk.project[1].bias)
        h = torch.randn(1, 16, 10, 10, generator=torch.Generator().manual_seed(1))
        assert torch.equal(blk(h), h)


def test_seeded_weights_repeat():
    cfg = configs()[2]
    a, b = build_model(cfg, seed=5), build_model(cfg, seed=5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = build_model(cfg, seed=6)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("resolution", [47, 50])
def test_odd_and_even_sizes_follow_the_padding_rule(resolution: int):
    """Output sizes of the PyTorch layers follow space.conv_out, which the profiler and
    the int8 export use: floor((size + 2 * (k // 2) - k) / stride) + 1."""
    cfg = configs()[-1]
    cfg = cfg.with_resolution(resolution)
    model = build_model(cfg, seed=0).eval()
    with torch.no_grad():
        h = model.first_conv(torch.zeros(1, 3, resolution, resolution))
        sizes = [h.shape[-1]]
        for blk in model.blocks:
            h = blk(h)
            sizes.append(h.shape[-1])
    expected = [g[-1].out_hw for g in P.layers(cfg)[: 1 + len(cfg.blocks)]]
    assert sizes == expected
