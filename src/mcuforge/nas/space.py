"""Architecture configs for MobileNetV2-style networks, their JSON formats, and the
MCUNet (TinyNAS) block space with a seeded sampler.

A `NetConfig` is the whole network: a first convolution, a chain of inverted residual
blocks (1x1 expand, kxk depthwise, 1x1 project, identity shortcut when `residual`),
an optional 1x1 feature-mix convolution, global average pooling and a linear
classifier. Every convolution is followed by batch norm; ReLU6 follows all of them
except the block's projection (as in ProxylessNAS, MCUNet and MobileNetV2).

Two JSON formats are read and written: the ProxylessNAS format of MCUNet's released
architectures (`from_proxyless` / `to_proxyless`) and the project's own, smaller one
(`from_json` / `to_json`, with "format": "mcuforge-arch").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.errors import InputError, MCUForgeError

FORMAT = "mcuforge-arch"
KERNELS = (3, 5, 7)


class SearchError(MCUForgeError):
    """A search could not meet its constraints (e.g. rejection sampling ran out of tries)."""


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never below 90% of `v`
    (the rule of MobileNetV2, ProxylessNAS and MCUNet for width multipliers)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_out(size: int, kernel: int, stride: int) -> int:
    """Output size of a convolution padded by kernel // 2 on each side (PyTorch's and
    ProxylessNAS's get_same_padding): floor((size + 2 * (k // 2) - k) / stride) + 1."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


@dataclass(frozen=True)
class ConvSpec:
    """A convolution + batch norm + ReLU6 (the first conv and the feature-mix conv)."""

    in_channels: int
    out_channels: int
    kernel: int = 3
    stride: int = 1


@dataclass(frozen=True)
class BlockSpec:
    """An inverted residual block (MBInvertedConvLayer plus an optional identity shortcut).

    `mid_channels` None means round(in_channels * expand_ratio), ProxylessNAS's default;
    expand ratio 1 has no expansion conv (the depthwise runs on the input channels)."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    expand_ratio: float
    mid_channels: int | None = None
    residual: bool = False

    @property
    def mid(self) -> int:
        if self.expand_ratio == 1:
            return self.in_channels
        return self.mid_channels if self.mid_channels is not None else round(self.in_channels * self.expand_ratio)

    @property
    def has_expand(self) -> bool:
        return self.expand_ratio != 1


@dataclass(frozen=True)
class NetConfig:
    name: str
    resolution: int
    first_conv: ConvSpec
    blocks: tuple[BlockSpec, ...]
    feature_mix: ConvSpec | None
    num_classes: int = 1000
    in_channels: int = 3
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        check(self)

    @property
    def last_channels(self) -> int:
        if self.feature_mix is not None:
            return self.feature_mix.out_channels
        return self.blocks[-1].out_channels if self.blocks else self.first_conv.out_channels

    def with_resolution(self, resolution: int) -> NetConfig:
        return replace(self, resolution=resolution)


def check(cfg: NetConfig) -> None:
    """Channel counts chain, kernels are odd, residual blocks keep shape (InputError otherwise)."""
    if cfg.resolution < 1:
        raise InputError(f"architecture {cfg.name!r} has resolution {cfg.resolution}; it must be positive")
    if cfg.first_conv.in_channels != cfg.in_channels:
        raise InputError(f"architecture {cfg.name!r}: the first conv reads {cfg.first_conv.in_channels} channels, the input has {cfg.in_channels}")
    c = cfg.first_conv.out_channels
    for i, b in enumerate(cfg.blocks):
        if b.in_channels != c:
            raise InputError(f"architecture {cfg.name!r}: block {i} reads {b.in_channels} channels but gets {c}")
        if b.kernel % 2 == 0 or b.stride not in (1, 2):
            raise InputError(f"architecture {cfg.name!r}: block {i} has kernel {b.kernel} stride {b.stride}; kernels must be odd, strides 1 or 2")
        if b.residual and (b.stride != 1 or b.in_channels != b.out_channels):
            raise InputError(f"architecture {cfg.name!r}: block {i} has a shortcut but changes shape (stride {b.stride}, {b.in_channels}->{b.out_channels} channels)")
        c = b.out_channels
    if cfg.feature_mix is not None and cfg.feature_mix.in_channels != c:
        raise InputError(f"architecture {cfg.name!r}: the feature-mix conv reads {cfg.feature_mix.in_channels} channels but gets {c}")


# ------------------------------------------------------------ ProxylessNAS JSON
def _proxyless_conv(spec: ConvSpec) -> dict[str, Any]:
    return {
        "name": "ConvLayer", "kernel_size": spec.kernel, "stride": spec.stride, "dilation": 1, "groups": 1,
        "bias": False, "has_shuffle": False, "in_channels": spec.in_channels, "out_channels": spec.out_channels,
        "use_bn": True, "act_func": "relu6", "dropout_rate": 0, "ops_order": "weight_bn_act",
    }  # fmt: skip


def _read_conv(d: dict[str, Any], what: str) -> ConvSpec:
    if d.get("name") != "ConvLayer" or d.get("groups", 1) != 1 or d.get("act_func", "relu6") != "relu6":
        raise InputError(f"{what} must be a ConvLayer with groups 1 and ReLU6, not {d.get('name')!r}")
    return ConvSpec(int(d["in_channels"]), int(d["out_channels"]), int(d["kernel_size"]), int(d["stride"]))


def from_proxyless(d: dict[str, Any], name: str = "net") -> NetConfig:
    """A NetConfig from MCUNet's ProxylessNAS JSON. Blocks whose conv is a ZeroLayer
    with an identity shortcut compute the identity and are dropped."""
    try:
        first = _read_conv(d["first_conv"], "first_conv")
        blocks = []
        for i, blk in enumerate(d["blocks"]):
            m, sc = blk["mobile_inverted_conv"], blk.get("shortcut")
            if m["name"] == "ZeroLayer":
                if sc is None or m.get("stride", 1) != 1:
                    raise InputError(f"block {i} is a ZeroLayer without an identity shortcut; mcuforge cannot run it")
                continue
            if m["name"] != "MBInvertedConvLayer" or m.get("use_se") or m.get("act_func", "relu6") not in ("relu6", None):
                raise InputError(f"block {i} is a {m['name']} (SE {m.get('use_se')}, {m.get('act_func')}); only MBInvertedConvLayer with ReLU6 is supported")
            if sc is not None and sc.get("name") != "IdentityLayer":
                raise InputError(f"block {i} has a {sc.get('name')} shortcut; only IdentityLayer is supported")
            mid = m.get("mid_channels")
            blocks.append(BlockSpec(
                int(m["in_channels"]), int(m["out_channels"]), int(m["kernel_size"]), int(m["stride"]),
                m["expand_ratio"], None if mid is None else int(mid), sc is not None,
            ))  # fmt: skip
        fm = d.get("feature_mix_layer")
        cls = d["classifier"]
        if cls.get("name") != "LinearLayer" or not cls.get("bias", True):
            raise InputError("the classifier must be a LinearLayer with bias")
        return NetConfig(
            name=name,
            resolution=int(d.get("resolution", 224)),
            first_conv=first,
            blocks=tuple(blocks),
            feature_mix=None if fm is None else _read_conv(fm, "feature_mix_layer"),
            num_classes=int(cls["out_features"]),
            in_channels=first.in_channels,
            dropout=float(cls.get("dropout_rate", 0) or 0),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"architecture {name!r} is not a valid ProxylessNAS config ({type(e).__name__}: {e})") from None


def to_proxyless(cfg: NetConfig) -> dict[str, Any]:
    """The ProxylessNAS JSON of a config (what MCUNet's model zoo loads)."""
    blocks = []
    for b in cfg.blocks:
        shortcut = None
        if b.residual:
            shortcut = {
                "name": "IdentityLayer", "in_channels": [b.in_channels], "out_channels": [b.out_channels],
                "use_bn": False, "act_func": None, "dropout_rate": 0, "ops_order": "weight_bn_act",
            }  # fmt: skip
        conv = {
            "name": "MBInvertedConvLayer", "in_channels": b.in_channels, "out_channels": b.out_channels,
            "kernel_size": b.kernel, "stride": b.stride, "expand_ratio": b.expand_ratio,
            "mid_channels": b.mid_channels, "act_func": "relu6", "use_se": False,
        }  # fmt: skip
        blocks.append({"name": "MobileInvertedResidualBlock", "mobile_inverted_conv": conv, "shortcut": shortcut})
    return {
        "name": "ProxylessNASNets",
        "bn": {"momentum": 0.1, "eps": 1e-05, "ws_eps": None},
        "first_conv": _proxyless_conv(cfg.first_conv),
        "blocks": blocks,
        "feature_mix_layer": None if cfg.feature_mix is None else _proxyless_conv(cfg.feature_mix),
        "classifier": {
            "name": "LinearLayer", "in_features": cfg.last_channels, "out_features": cfg.num_classes, "bias": True,
            "use_bn": False, "act_func": None, "dropout_rate": cfg.dropout, "ops_order": "weight_bn_act",
        },  # fmt: skip
        "resolution": cfg.resolution,
    }


# ---------------------------------------------------------------- own JSON
def to_json(cfg: NetConfig) -> dict[str, Any]:
    d = asdict(cfg)
    d["blocks"] = [asdict(b) for b in cfg.blocks]
    return {"format": FORMAT, "version": 1, **d}


def from_json(d: dict[str, Any]) -> NetConfig:
    """A NetConfig from the project's own format (the output of `to_json`)."""
    if d.get("format") != FORMAT:
        raise InputError(f"not an {FORMAT} document (format {d.get('format')!r})")
    try:
        fm = d.get("feature_mix")
        return NetConfig(
            name=str(d["name"]),
            resolution=int(d["resolution"]),
            first_conv=ConvSpec(**d["first_conv"]),
            blocks=tuple(BlockSpec(**b) for b in d["blocks"]),
            feature_mix=None if fm is None else ConvSpec(**fm),
            num_classes=int(d.get("num_classes", 1000)),
            in_channels=int(d.get("in_channels", 3)),
            dropout=float(d.get("dropout", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"not a valid {FORMAT} document ({type(e).__name__}: {e})") from None


def load(path: str | Path) -> NetConfig:
    """Read either format from a file (the ProxylessNAS one is recognised by its blocks'
    "mobile_inverted_conv" entries); the name is the file's stem."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"architecture file {path} does not exist")
    try:
        d = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"architecture file {path} is not readable JSON ({e})") from None
    if not isinstance(d, dict):
        raise InputError(f"architecture file {path} does not hold a JSON object")
    if d.get("format") == FORMAT:
        return from_json(d)
    if "first_conv" in d and "blocks" in d:
        return from_proxyless(d, name=p.stem.removesuffix("_imagenet"))
    raise InputError(f"architecture file {path} is neither {FORMAT} nor ProxylessNAS JSON")


def dumps(cfg: NetConfig, proxyless: bool = False) -> str:
    """JSON text of a config; in the project's format one block per line."""
    if proxyless:
        return json.dumps(to_proxyless(cfg), indent=1) + "\n"
    d = to_json(cfg)
    blocks = d.pop("blocks")
    head = json.dumps(d, indent=1)[:-2]  # without the closing "\n}"
    body = ",\n".join(f"  {json.dumps(b)}" for b in blocks)
    return f'{head},\n "blocks": [\n{body}\n ]\n}}\n'


def save(cfg: NetConfig, path: str | Path, proxyless: bool = False) -> None:
    Path(path).write_text(dumps(cfg, proxyless))


# ------------------------------------------------------------ MCUNet block space
@dataclass(frozen=True)
class BlockSpace:
    """TinyNAS's MobileNetV2-style space (MCUNet, ANCHORS 2.2): per stage a depth, and per
    block a kernel and expand ratio; first conv 3x3 s2, a first block with expand 1 and
    kernel 3, then `stage_channels` with `strides`, the last stage one block, no
    feature-mix conv. Channel counts are the base counts times `width`, made divisible by
    8; the bases are those of MCUNet's released models (mcunet-in0 is width 0.6,
    mcunet-in1..in3 width 0.5, mcunet-in4 width 1.0: tests/nas)."""

    width: float = 1.0
    resolution: int = 224
    kernels: tuple[int, ...] = KERNELS
    expands: tuple[int, ...] = (3, 4, 6)
    depths: tuple[int, ...] = (2, 3, 4)
    first_channels: int = 32
    first_block_channels: int = 16
    stage_channels: tuple[int, ...] = (24, 40, 80, 96, 192, 320)
    strides: tuple[int, ...] = (2, 2, 2, 1, 2, 1)
    num_classes: int = 1000
    last_stage_depth: int = 1  # the last stage is not searched
    in_channels: int = 3  # of the input images (1 for grey data)
    name: str = field(default="", compare=False)

    def channels(self, base: int) -> int:
        return make_divisible(base * self.width, 8)

    @property
    def label(self) -> str:
        return self.name or f"w{self.width:g}-r{self.resolution}"


def build(space: BlockSpace, depths: list[int], kernels: list[int], expands: list[float], name: str = "net") -> NetConfig:
    """The network of `space` with these per-stage depths and per-block kernels and expand
    ratios (blocks after the first one, in order)."""
    if len(depths) != len(space.stage_channels):
        raise InputError(f"{len(depths)} stage depths given for {len(space.stage_channels)} stages")
    n = sum(depths)
    if len(kernels) != n or len(expands) != n:
        raise InputError(f"{n} blocks need {n} kernels and expand ratios ({len(kernels)}, {len(expands)} given)")
    first = ConvSpec(space.in_channels, space.channels(space.first_channels), 3, 2)
    c = space.channels(space.first_block_channels)
    blocks = [BlockSpec(first.out_channels, c, 3, 1, 1)]
    k = 0
    for base, stride, depth in zip(space.stage_channels, space.strides, depths):
        out = space.channels(base)
        for j in range(depth):
            s = stride if j == 0 else 1
            mid = make_divisible(round(c * expands[k]), 8)
            blocks.append(BlockSpec(c, out, kernels[k], s, expands[k], mid, s == 1 and c == out))
            c, k = out, k + 1
    return NetConfig(name, space.resolution, first, tuple(blocks), None, space.num_classes, space.in_channels)


def sample(space: BlockSpace, rng: np.random.Generator, name: str = "net") -> NetConfig:
    """One network drawn uniformly: a depth per stage, then a kernel and expand ratio per block."""
    depths = [int(rng.choice(space.depths)) for _ in space.stage_channels[:-1]] + [space.last_stage_depth]
    n = sum(depths)
    kernels = [int(k) for k in rng.choice(space.kernels, size=n)]
    expands = [int(e) for e in rng.choice(space.expands, size=n)]
    return build(space, depths, kernels, expands, name)


def sample_until(
    space: BlockSpace,
    rng: np.random.Generator,
    accept: Callable[[NetConfig], bool],
    max_tries: int = 1000,
    what: str = "the constraint",
) -> NetConfig:
    """Rejection sampling, bounded: the first sample `accept` takes, or SearchError after
    `max_tries` draws (one sentence naming the space and what was asked)."""
    for _ in range(max_tries):
        cfg = sample(space, rng)
        if accept(cfg):
            return cfg
    raise SearchError(
        f"none of {max_tries} networks sampled from space {space.label} met {what}; "
        "try a smaller width or resolution, or a looser constraint"
    )
