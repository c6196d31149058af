"""The weight-sharing supernet: a subnet cut out by get_subnet computes what the
supernet computes with that arch active; elastic kernel, expand and depth; channel
sorting; batch-norm re-estimation."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcuforge.errors import InputError  # noqa: E402
from mcuforge.nas import profile as P  # noqa: E402
from mcuforge.nas.space import BlockSpace, build  # noqa: E402
from mcuforge.nas.supernet import Arch, Supernet, largest, random_arch, recalibrate_bn, slots, smallest  # noqa: E402
from mcuforge.nas.torch_model import Net, count_params  # noqa: E402

torch.set_num_threads(1)
SPACE = BlockSpace(width=0.25, resolution=32, num_classes=10)


def scrambled(seed: int = 0) -> Supernet:
    """A supernet whose batch-norm parameters and statistics and kernel transforms are
    all random, so that copying any of them wrongly changes the output."""
    g = torch.Generator().manual_seed(seed)
    net = Supernet(SPACE, in_channels=1, num_classes=10)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
        for name, p in net.named_parameters():
            if "transforms" in name:
                p.add_(0.05 * torch.randn(p.shape, generator=g))
    return net.eval()


def archs() -> list[Arch]:
    rng = np.random.default_rng(0)
    return [largest(SPACE), smallest(SPACE), *(random_arch(SPACE, rng) for _ in range(4))]


@pytest.mark.parametrize("k", range(6))
def test_subnet_output_equals_supernet(k: int):
    net = scrambled()
    arch = archs()[k]
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    sub = net.get_subnet(arch)
    assert isinstance(sub, Net) and not sub.training
    net.set_active(arch)
    with torch.no_grad():
        want, got = net(x), sub(x)
    assert torch.allclose(want, got, rtol=0, atol=1e-5), float((want - got).abs().max())


def test_subnet_is_the_space_network():
    """Channel counts, kernels and strides of a subnet are space.build's for the same
    choices, so the profiler's parameter count is the extracted model's."""
    net = Supernet(SPACE, in_channels=1, num_classes=10)
    rng = np.random.default_rng(5)
    for _ in range(3):
        arch = random_arch(SPACE, rng)
        sub = net.get_subnet(arch)
        cfg = sub.cfg
        starts = np.cumsum((0, *slots(SPACE)))
        idx = [int(starts[i]) + j for i, j in arch.active(SPACE)]
        ref = build(
            SPACE,
            [*arch.depths, SPACE.last_stage_depth],
            [arch.kernels[i] for i in idx],
            [arch.expands[i] for i in idx],
        )
        assert [(b.in_channels, b.out_channels, b.kernel, b.stride, b.mid, b.residual) for b in cfg.blocks] == [
            (b.in_channels, b.out_channels, b.kernel, b.stride, b.mid, b.residual) for b in ref.blocks
        ]
        assert cfg.in_channels == 1 and cfg.num_classes == 10
        assert count_params(sub) == P.params(cfg)


def test_elastic_kernel_is_the_centre_through_transforms():
    net = Supernet(SPACE, in_channels=1, num_classes=10)
    blk = net.stages[1][0]
    w7 = blk.depthwise.weight.detach()
    # identity transforms at the start: a 3x3 kernel is the centre of the 7x7 one
    assert torch.equal(blk.kernel_weight(3, 8).detach(), w7[:8, :, 2:5, 2:5])
    with torch.no_grad():
        blk.transforms["7to5"].mul_(2.0)
    assert torch.allclose(blk.kernel_weight(5, 8), 2 * w7[:8, :, 1:6, 1:6])
    assert torch.allclose(blk.kernel_weight(3, 8), 2 * w7[:8, :, 2:5, 2:5])
    # the transforms learn: a loss through a 3x3 kernel reaches both matrices
    blk.kernel_weight(3, 8).sum().backward()
    assert blk.transforms["7to5"].grad.abs().sum() > 0 and blk.transforms["5to3"].grad.abs().sum() > 0


def test_sort_channels_keeps_the_largest_network():
    net = scrambled(2)
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        before = net(x)
        small = archs()[1]
        net.set_active(small)
        small_before = net(x)
        net.set_active(largest(SPACE))
        net.sort_channels()
        after = net(x)
        net.set_active(small)
        small_after = net(x)
    assert torch.allclose(before, after, rtol=0, atol=1e-5)
    assert not torch.allclose(small_before, small_after)  # the small subnet now has other channels
    for stage in net.stages:
        for blk in stage:
            imp = blk.project.weight.abs().sum(dim=(0, 2, 3))
            assert torch.all(imp[:-1] >= imp[1:])


def test_dynamic_bn_updates_only_the_used_channels():
    net = Supernet(SPACE, in_channels=1, num_classes=10).train()
    net.set_active(smallest(SPACE))
    blk = net.stages[0][0]
    mid = blk.active_mid
    before = blk.bn_expand.running_mean.clone()
    net(torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(4)))
    after = blk.bn_expand.running_mean
    assert not torch.equal(after[:mid], before[:mid])
    assert torch.equal(after[mid:], before[mid:])


def test_recalibrate_bn_gives_the_exact_mean():
    net = Supernet(SPACE, in_channels=1, num_classes=10).get_subnet(archs()[2]).eval()
    g = torch.Generator().manual_seed(6)
    batches = [torch.randn(8, 1, 32, 32, generator=g) for _ in range(3)]
    recalibrate_bn(net, batches)
    assert not net.training  # the mode it had
    with torch.no_grad():
        outs = torch.cat([net.first_conv[0](b) for b in batches])
    want = outs.mean(dim=(0, 2, 3))
    assert torch.allclose(net.first_conv[1].running_mean, want, atol=1e-5)
    assert net.first_conv[1].momentum == 0.1  # restored


def test_bad_arch_is_one_sentence():
    net = Supernet(SPACE, in_channels=1, num_classes=10)
    a = largest(SPACE)
    with pytest.raises(InputError, match="does not match space"):
        net.set_active(Arch(a.depths[:-1], a.kernels, a.expands))
    with pytest.raises(InputError, match="which space"):
        net.set_active(Arch(a.depths, (9,) * len(a.kernels), a.expands))
    with pytest.raises(InputError, match="too small for its strides"):
        Supernet(BlockSpace(width=0.25, resolution=8), 1, 10)
