"""An architecture named on the command line, and that architecture fitted to a data set.

`resolve` accepts an architecture JSON file (the project's format or MCUNet's
ProxylessNAS one), a zoo name (`mcuforge zoo`), or a scaled MobileNetV2 written
`mbv2-wW-rR` (width multiplier W, resolution R, e.g. `mbv2-w0.35-r32`).
`fit_to_data` gives the network the data's input channels and class count (the first
convolution and the classifier change; everything else stays) and checks that the
resolution leaves every stride-2 layer something to reduce.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from mcuforge.errors import InputError
from mcuforge.nas.space import BlockSpec, ConvSpec, NetConfig, conv_out, load, make_divisible

# MobileNetV2's inverted residual stages (Sandler et al. 2018, table 2): expand ratio t,
# base channels c, blocks n, first stride s.
MBV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
MBV2_PATTERN = re.compile(r"^mbv2-w(\d+(?:\.\d+)?)-r(\d+)$")
FORMS = "an architecture JSON file, a zoo name (see `mcuforge zoo`) or mbv2-wW-rR (e.g. mbv2-w0.35-r32)"


def mobilenet_v2(width: float, resolution: int, num_classes: int = 1000, in_channels: int = 3, name: str | None = None) -> NetConfig:
    """MobileNetV2 at a width multiplier, with MCUNet's rounding (channels made divisible
    by 8, the 1,280-channel feature mix scaled too, dropout 0.2): at width 0.35 and
    resolution 144 it is the zoo's mbv2-w0.35."""
    if not 0 < width <= 4:
        raise InputError(f"MobileNetV2 width {width:g} is out of range; give a multiplier in (0, 4]")
    first = ConvSpec(in_channels, make_divisible(32 * width, 8), 3, 2)
    blocks, c = [], first.out_channels
    for t, base, n, s in MBV2_STAGES:
        out = make_divisible(base * width, 8)
        for j in range(n):
            stride = s if j == 0 else 1
            blocks.append(BlockSpec(c, out, 3, stride, t, None, stride == 1 and c == out))
            c = out
    mix = ConvSpec(c, make_divisible(1280 * width, 8), 1, 1)
    label = name or f"mbv2-w{width:g}-r{resolution}"
    return NetConfig(label, resolution, first, tuple(blocks), mix, num_classes, in_channels, 0.2)


def resolve(text: str) -> NetConfig:
    """The architecture a user named (see the module docstring)."""
    from mcuforge.nas import zoo

    m = MBV2_PATTERN.match(text)
    if m:
        return mobilenet_v2(float(m.group(1)), int(m.group(2)))
    if text in zoo.NAMES:
        return zoo.get(text)
    p = Path(text)
    if p.suffix == ".json" or p.exists():
        return load(p)
    raise InputError(f"unknown architecture {text!r}; give {FORMS}")


def stride2_inputs(cfg: NetConfig) -> list[tuple[str, int]]:
    """(layer name, input size) of every stride-2 layer, in order."""
    out, r = [], cfg.resolution
    fc = cfg.first_conv
    if fc.stride == 2:
        out.append(("first conv", r))
    r = conv_out(r, fc.kernel, fc.stride)
    for i, b in enumerate(cfg.blocks):
        if b.stride == 2:
            out.append((f"block {i}", r))
        r = conv_out(r, b.kernel, b.stride)
    return out


def min_resolution(cfg: NetConfig) -> int:
    """The smallest input size at which every stride-2 layer sees at least 2x2 pixels:
    with n stride-2 layers, the last one's input is ceil(R / 2^(n-1)), so R > 2^(n-1)."""
    n = len(stride2_inputs(cfg))
    return 1 if n == 0 else 2 ** (n - 1) + 1


def fit_to_data(cfg: NetConfig, num_classes: int, channels: int, resolution: int | None = None) -> NetConfig:
    """`cfg` with the data's class count and input channels (and a new resolution when
    given); InputError when the resolution is too small for its strides."""
    if num_classes < 2:
        raise InputError(f"a classifier needs at least 2 classes, the data has {num_classes}")
    r = cfg.resolution if resolution is None else resolution
    first = replace(cfg.first_conv, in_channels=channels)
    fitted = replace(cfg, resolution=r, first_conv=first, in_channels=channels, num_classes=num_classes)
    low = min_resolution(fitted)
    if r < low:
        name, size = next((n, s) for n, s in stride2_inputs(fitted) if s < 2)
        raise InputError(
            f"architecture {cfg.name!r} at resolution {r} is too small for its strides: its {name} gets a "
            f"{size}x{size} map to halve; use --resolution {low} or more, or a network with fewer stride-2 layers"
        )
    return fitted
