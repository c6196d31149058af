"""A weight-sharing supernet over the MCUNet block space (TinyNAS stage 2, once-for-all style).

Every block slot of the space (the largest depth of each searched stage, then the fixed
last stage) holds the largest block it can become: a 1x1 expansion to the largest
expand ratio's channels, a depthwise convolution with the largest kernel, a 1x1
projection. A subnet (`Arch`: a depth per searched stage, a kernel and an expand
ratio per slot) uses

- elastic depth: the first `depth` slots of each stage;
- elastic expand: the first mid channels of the expansion, its batch norm, the
  depthwise and the projection's inputs (`sort_channels` puts the most important
  channels first: the L1 norm of the projection's weights on each, as once-for-all
  does);
- elastic kernel: the centre of the largest kernel, each step down (7 -> 5 -> 3)
  through a learned (k*k x k*k) transform that starts as the identity
  (once-for-all's kernel transformation matrices);
- dynamic batch norm: the first channels' affine parameters and running statistics.

`get_subnet(arch)` returns the plain `torch_model.Net` that training, quantisation,
export and validation take, with the supernet's weights copied in; its output equals
the supernet's with that arch active (tests/nas/test_supernet.py). Channel counts
come from `space.build`, so a subnet is exactly the network the rest of the project
profiles and compiles for the same choices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mcuforge.errors import InputError
from mcuforge.nas.arch import fit_to_data
from mcuforge.nas.space import BlockSpace, BlockSpec, NetConfig, build, make_divisible
from mcuforge.nas.elastic_bn import ElasticBatchNorm2d, elastic
from mcuforge.nas.torch_model import InvertedResidual, Net, conv_bn_act


def slots(space: BlockSpace) -> tuple[int, ...]:
    """Block slots per stage: the largest depth of every searched stage, then the last stage's."""
    return (max(space.depths),) * (len(space.stage_channels) - 1) + (space.last_stage_depth,)


@dataclass(frozen=True)
class Arch:
    """One subnet: a depth per searched stage, a kernel and an expand ratio per slot (the
    genes of slots a depth leaves out are carried along but unused, as in once-for-all)."""

    depths: tuple[int, ...]
    kernels: tuple[int, ...]
    expands: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("depths", "kernels", "expands"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))

    def check(self, space: BlockSpace) -> None:
        n = sum(slots(space))
        if len(self.depths) != len(space.stage_channels) - 1 or len(self.kernels) != n or len(self.expands) != n:
            raise InputError(
                f"arch {self} does not match space {space.label} ({len(space.stage_channels) - 1} depths, {n} slots)"
            )
        bad = [d for d in self.depths if d not in space.depths] + [k for k in self.kernels if k not in space.kernels]
        bad += [e for e in self.expands if e not in space.expands]
        if bad:
            raise InputError(f"arch {self} uses {bad[0]}, which space {space.label} does not offer")

    def active(self, space: BlockSpace) -> list[tuple[int, int]]:
        """(stage, slot) of every block the arch uses, in order."""
        depths = (*self.depths, space.last_stage_depth)
        return [(i, j) for i, d in enumerate(depths) for j in range(d)]

    def config(self, space: BlockSpace, in_channels: int, num_classes: int, name: str = "subnet") -> NetConfig:
        """The network (the same as space.build gives for these choices), fitted to the data."""
        self.check(space)
        starts = np.cumsum((0, *slots(space)))
        idx = [int(starts[i]) + j for i, j in self.active(space)]
        cfg = build(
            space,
            [*self.depths, space.last_stage_depth],
            [self.kernels[k] for k in idx],
            [self.expands[k] for k in idx],
            name,
        )
        return fit_to_data(cfg, num_classes, in_channels)

    def as_dict(self) -> dict[str, list[int]]:
        return {"depths": list(self.depths), "kernels": list(self.kernels), "expands": list(self.expands)}

    @classmethod
    def from_dict(cls, d: dict[str, list[int]]) -> Arch:
        return cls(tuple(d["depths"]), tuple(d["kernels"]), tuple(d["expands"]))


def largest(space: BlockSpace) -> Arch:
    n = sum(slots(space))
    return Arch(
        (max(space.depths),) * (len(space.stage_channels) - 1), (max(space.kernels),) * n, (max(space.expands),) * n
    )


def smallest(space: BlockSpace) -> Arch:
    n = sum(slots(space))
    return Arch(
        (min(space.depths),) * (len(space.stage_channels) - 1), (min(space.kernels),) * n, (min(space.expands),) * n
    )


def random_arch(space: BlockSpace, rng: np.random.Generator) -> Arch:
    n = sum(slots(space))
    depths = rng.choice(space.depths, size=len(space.stage_channels) - 1)
    return Arch(tuple(depths), tuple(rng.choice(space.kernels, size=n)), tuple(rng.choice(space.expands, size=n)))


def _copy_bn(dst: nn.BatchNorm2d, src: nn.BatchNorm2d, idx: slice) -> None:
    dst.weight.copy_(src.weight[idx])
    dst.bias.copy_(src.bias[idx])
    dst.running_mean.copy_(src.running_mean[idx])
    dst.running_var.copy_(src.running_var[idx])
    dst.num_batches_tracked.copy_(src.num_batches_tracked)


class ElasticBlock(nn.Module):
    """The largest inverted residual block of a slot; `forward` runs the (kernel, mid) set
    by `set_active`."""

    def __init__(self, cin: int, cout: int, stride: int, space: BlockSpace) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride
        self.kernels = tuple(sorted(space.kernels, reverse=True))
        self.mids = {e: make_divisible(round(cin * e), 8) for e in space.expands}
        big, kmax = max(self.mids.values()), self.kernels[0]
        self.expand = nn.Conv2d(cin, big, 1, bias=False)
        self.bn_expand = ElasticBatchNorm2d(big)
        self.depthwise = nn.Conv2d(big, big, kmax, stride, kmax // 2, groups=big, bias=False)
        self.bn_depthwise = ElasticBatchNorm2d(big)
        self.project = nn.Conv2d(big, cout, 1, bias=False)
        self.bn_project = ElasticBatchNorm2d(cout)
        self.transforms = nn.ParameterDict(
            {f"{a}to{b}": nn.Parameter(torch.eye(b * b)) for a, b in zip(self.kernels, self.kernels[1:])}
        )
        self.residual = stride == 1 and cin == cout
        self.active_kernel, self.active_mid = kmax, big

    def set_active(self, kernel: int, expand: int) -> None:
        self.active_kernel, self.active_mid = kernel, self.mids[expand]

    def kernel_weight(self, kernel: int, mid: int) -> torch.Tensor:
        """The depthwise weight (mid, 1, kernel, kernel): the centre of the largest kernel,
        through one learned transform per step down."""
        w = self.depthwise.weight[:mid]
        for a, b in zip(self.kernels, self.kernels[1:]):
            if a <= kernel:
                break
            s = (a - b) // 2
            w = w[:, :, s : s + b, s : s + b].reshape(mid, b * b) @ self.transforms[f"{a}to{b}"]
            w = w.reshape(mid, 1, b, b)
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, mid = self.active_kernel, self.active_mid
        y = F.relu6(self.bn_expand(F.conv2d(x, self.expand.weight[:mid])))
        y = F.conv2d(y, self.kernel_weight(k, mid), None, self.stride, k // 2, 1, mid)
        y = F.relu6(self.bn_depthwise(y))
        y = self.bn_project(F.conv2d(y, self.project.weight[:, :mid]))
        return x + y if self.residual else y

    @torch.no_grad()
    def copy_into(self, dst: InvertedResidual) -> None:
        mid = self.active_mid
        dst.expand[0].weight.copy_(self.expand.weight[:mid])
        _copy_bn(dst.expand[1], self.bn_expand, slice(0, mid))
        dst.depthwise[0].weight.copy_(self.kernel_weight(self.active_kernel, mid))
        _copy_bn(dst.depthwise[1], self.bn_depthwise, slice(0, mid))
        dst.project[0].weight.copy_(self.project.weight[:, :mid])
        _copy_bn(dst.project[1], self.bn_project, slice(None))

    @torch.no_grad()
    def sort_channels(self) -> None:
        """Reorder the mid channels by importance, most important first (the L1 norm of
        the projection's weights on each); the largest block computes the same function."""
        order = torch.argsort(self.project.weight.abs().sum(dim=(0, 2, 3)), descending=True, stable=True)
        self.expand.weight.copy_(self.expand.weight[order])
        self.depthwise.weight.copy_(self.depthwise.weight[order])
        self.project.weight.copy_(self.project.weight[:, order])
        for bn in (self.bn_expand, self.bn_depthwise):
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                t.copy_(t[order])


class Supernet(nn.Module):
    """The supernet of `space` for data with `in_channels` and `num_classes`."""

    def __init__(self, space: BlockSpace, in_channels: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.space, self.in_channels, self.num_classes, self.dropout_rate = space, in_channels, num_classes, dropout
        top = largest(space).config(space, in_channels, num_classes)
        fc = top.first_conv
        self.first_conv = elastic(conv_bn_act(fc.in_channels, fc.out_channels, fc.kernel, fc.stride))
        b0: BlockSpec = top.blocks[0]
        self.first_block = elastic(InvertedResidual(b0))
        c = b0.out_channels
        stages = []
        for base, stride, n in zip(space.stage_channels, space.strides, slots(space)):
            out = space.channels(base)
            stages.append(
                nn.ModuleList(ElasticBlock(c if j == 0 else out, out, stride if j == 0 else 1, space) for j in range(n))
            )
            c = out
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(c, num_classes)
        self.active = largest(space)
        self.set_active(self.active)

    def set_active(self, arch: Arch) -> None:
        arch.check(self.space)
        self.active = arch
        k = 0
        for stage in self.stages:
            for blk in stage:
                blk.set_active(arch.kernels[k], arch.expands[k])
                k += 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_block(self.first_conv(x))
        for i, j in self.active.active(self.space):
            x = self.stages[i][j](x)
        return self.classifier(self.dropout(x.mean(dim=(2, 3))))

    def config(self, arch: Arch, name: str = "subnet") -> NetConfig:
        cfg = arch.config(self.space, self.in_channels, self.num_classes, name)
        return replace(cfg, dropout=self.dropout_rate)

    @torch.no_grad()
    def get_subnet(self, arch: Arch, name: str = "subnet") -> Net:
        """The plain network of `arch` with the supernet's weights (batch-norm statistics
        included; re-estimate them with `recalibrate_bn` before scoring it)."""
        previous = self.active
        self.set_active(arch)
        try:
            net = Net(self.config(arch, name)).to(next(self.parameters()).device)
            net.first_conv.load_state_dict(self.first_conv.state_dict())
            net.blocks[0].load_state_dict(self.first_block.state_dict())
            for blk, (i, j) in zip(net.blocks[1:], arch.active(self.space)):
                self.stages[i][j].copy_into(blk)
            net.classifier.load_state_dict(self.classifier.state_dict())
        finally:
            self.set_active(previous)
        return net.train(self.training)

    def sort_channels(self) -> None:
        for stage in self.stages:
            for blk in stage:
                blk.sort_channels()


@torch.no_grad()
def recalibrate_bn(model: nn.Module, images: list[torch.Tensor]) -> None:
    """Replace every batch norm's running statistics by their exact averages over
    `images` (a list of input batches), with the model's weights unchanged: once-for-all's
    re-estimation for a subnet cut from a supernet."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    was = model.training
    model.train()
    try:
        for x in images:
            model(x)
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.train(was)
