"""A PyTorch model for an architecture config (ProxylessNAS / MCUNet layout).

Layers follow MCUNet's ProxylessNASNets: every convolution without bias, then batch
norm, then ReLU6 (except a block's projection); convolutions pad kernel // 2 on each
side; a block with `residual` adds its input; global average pooling, dropout, and a
linear classifier with bias. `count_macs` counts multiply-accumulates with forward
hooks, independently of nas/profile.py, so the two can check each other.
"""

from __future__ import annotations

import torch
from torch import nn

from mcuforge.nas.space import BlockSpec, ConvSpec, NetConfig


def conv_bn_act(cin: int, cout: int, kernel: int, stride: int, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, spec: BlockSpec) -> None:
        super().__init__()
        self.spec = spec
        mid = spec.mid
        self.expand = conv_bn_act(spec.in_channels, mid, 1, 1) if spec.has_expand else None
        self.depthwise = conv_bn_act(mid, mid, spec.kernel, spec.stride, groups=mid)
        self.project = conv_bn_act(mid, spec.out_channels, 1, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.spec.residual else y


class Net(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        fc: ConvSpec = cfg.first_conv
        self.first_conv = conv_bn_act(fc.in_channels, fc.out_channels, fc.kernel, fc.stride)
        self.blocks = nn.Sequential(*(InvertedResidual(b) for b in cfg.blocks))
        fm = cfg.feature_mix
        self.feature_mix = None if fm is None else conv_bn_act(fm.in_channels, fm.out_channels, fm.kernel, fm.stride)
        self.dropout = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(cfg.last_channels, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.first_conv(x))
        if self.feature_mix is not None:
            x = self.feature_mix(x)
        x = x.mean(dim=(2, 3))
        return self.classifier(self.dropout(x))


def build_model(cfg: NetConfig, seed: int | None = None) -> Net:
    """The model for cfg; with a seed, its initial weights come from a seeded generator."""
    if seed is None:
        return Net(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Net(cfg)


def count_params(model: nn.Module) -> int:
    """Trainable parameters (batch norm's gamma and beta included, running statistics not)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: Net, resolution: int | None = None) -> int:
    """Multiply-accumulates of one forward pass at batch 1, counted by hooks on every
    Conv2d (output elements x kernel area x input channels per group) and Linear."""
    total = 0

    def conv_hook(m: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        total += out.numel() * kh * kw * (m.in_channels // m.groups)

    def linear_hook(m: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    r = resolution or model.cfg.resolution
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, model.cfg.in_channels, r, r))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total
