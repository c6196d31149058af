"""The int8 network as PyTorch computes it: batch norm folded, fake quantisation that
mirrors the integer arithmetic the exporter writes (post-training calibration and
quantisation-aware training share it).

`QuantNet(net, convention)` takes a trained float `Net` (nas/torch_model.py) and folds
every batch norm into its convolution with the running statistics (w * gamma / sqrt(var
+ eps), bias beta - mean * gamma / sqrt(var + eps)). Then each layer computes what its
int8 kernel computes, in float:

- weights: per-output-channel symmetric int8, scale max|w| / 127, codes -127..127
  (torch.fake_quantize_per_channel_affine, straight-through gradient);
- bias: int32 with scale input scale x weight scale (float32 product, as the
  exporter stores it), rounded to the nearest code;
- output: per-tensor asymmetric int8 (torch.fake_quantize_per_tensor_affine); a fused
  ReLU6 clamps to [0, 6] before it, so its range starts at 0 (zero point -128);
- the shortcut ADD quantises its sum to its own scale, global average pooling (MEAN)
  its mean, the classifier its logits;
- the input is the int8 input dequantised (data/convention.py), padding is real 0 (the
  zero point the int8 PAD writes), as in the float network.

What remains between this and the integer kernels is the requantisation's Q31
multiplier and its rounding of exact halves, a code at most, so the fake-quantised
accuracy predicts the int8 one (tests/quant check it against the reference executor).
Activation ranges come from calibration (observers.py) and, while training with
`ema > 0`, follow an exponential moving average of each batch's min and max (the
input's range is fixed by the convention).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mcuforge.data.convention import InputConvention
from mcuforge.nas.torch_model import InvertedResidual, Net
from mcuforge.quant.observers import QMAX, QMIN, ObserverSettings, RangeObserver, qparams

WEIGHT_QMAX = 127  # symmetric int8 weights use -127..127 (the TFLite spec)
RELU6_MAX = 6.0


class ActQuant(nn.Module):
    """Per-tensor int8 fake quantisation of one activation tensor."""

    def __init__(self, relu6: bool = False, fixed: tuple[float, int] | None = None, ema: float = 0.01) -> None:
        super().__init__()
        self.relu6, self.fixed, self.ema = relu6, fixed is not None, ema
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.full((), RELU6_MAX if relu6 else 1.0))
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("zero_point", torch.zeros(1, dtype=torch.int32))
        self.enabled = True
        self.observer: RangeObserver | None = None
        if fixed is not None:
            self.scale.fill_(float(fixed[0]))
            self.zero_point.fill_(int(fixed[1]))
        else:
            self._update_qparams()

    def _update_qparams(self) -> None:
        scale, zp = qparams(float(self.lo), float(self.hi))
        self.scale.copy_(scale)
        self.zero_point.copy_(zp)

    def set_range(self, lo: float, hi: float) -> None:
        if self.fixed:
            return
        if self.relu6:
            lo, hi = 0.0, min(hi, RELU6_MAX)
        self.lo.fill_(min(lo, 0.0))
        self.hi.fill_(max(hi, 0.0))
        self._update_qparams()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observer is not None:
            self.observer.observe(x)
        if not self.enabled:
            return x
        if self.training and self.ema > 0 and not self.fixed:
            with torch.no_grad():
                lo, hi = float(x.min()), float(x.max())
                self.set_range(float(self.lo) + self.ema * (lo - float(self.lo)), float(self.hi) + self.ema * (hi - float(self.hi)))
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, QMIN, QMAX)

    def qparams(self) -> tuple[float, int]:
        return float(self.scale[0]), int(self.zero_point[0])


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


class QLayer(nn.Module):
    """A convolution (or the classifier) with batch norm folded in, int8 weights, an
    int32 bias and an int8 output."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, relu6: bool, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = nn.Parameter(bias.detach().clone())
        self.relu6, self.stride, self.groups = relu6, stride, groups
        self.out_q = ActQuant(relu6=relu6)

    @classmethod
    def from_conv_bn(cls, seq: nn.Sequential) -> QLayer:
        conv, bn = seq[0], seq[1]
        relu6 = len(seq) > 2
        with torch.no_grad():
            k = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = conv.weight * k.reshape(-1, 1, 1, 1)
            b = bn.bias - bn.running_mean * k
            if conv.bias is not None:
                b = b + conv.bias * k
        return cls(w, b, relu6, conv.stride[0], conv.groups)

    @classmethod
    def from_linear(cls, fc: nn.Linear) -> QLayer:
        return cls(fc.weight, fc.bias, relu6=False)

    @property
    def is_linear(self) -> bool:
        return self.weight.dim() == 2

    def weight_scale(self) -> torch.Tensor:
        """Per-output-channel scale max|w| / 127 (float32; a zero channel gets a tiny one)."""
        dims = tuple(range(1, self.weight.dim()))
        return (self.weight.detach().abs().amax(dim=dims) / WEIGHT_QMAX).clamp(min=1e-12).float()

    def bias_scale(self, in_scale: torch.Tensor) -> torch.Tensor:
        return (in_scale.float() * self.weight_scale()).float()

    def quantized_weight(self) -> torch.Tensor:
        s = self.weight_scale()
        zp = torch.zeros(s.numel(), dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(self.weight, s, zp, 0, -WEIGHT_QMAX, WEIGHT_QMAX)

    def forward(self, x: torch.Tensor, in_q: ActQuant) -> torch.Tensor:
        w = self.quantized_weight()
        b = self.bias
        if in_q.enabled:
            bs = self.bias_scale(in_q.scale)
            b = _round_ste(b / bs) * bs
        if self.is_linear:
            y = F.linear(x, w, b)
        else:
            pad = self.weight.shape[-1] // 2
            y = F.conv2d(x, w, b, self.stride, pad, 1, self.groups)
        if self.relu6:
            y = y.clamp(0.0, RELU6_MAX)
        return self.out_q(y)

    # ---- the int8 arrays the exporter writes (the same numbers forward() simulates)
    def int8_weight(self) -> np.ndarray:
        """Weights as int8 codes in TFLite's layout: conv (out, kh, kw, in), depthwise
        (1, kh, kw, channels), fully connected (out, in)."""
        with torch.no_grad():
            q = torch.round(self.weight / self.weight_scale().reshape(-1, *([1] * (self.weight.dim() - 1))))
            q = q.clamp(-WEIGHT_QMAX, WEIGHT_QMAX).to(torch.int8).cpu()
        if self.is_linear:
            return q.numpy()
        if self.groups > 1:  # depthwise (C, 1, k, k) -> (1, k, k, C)
            return q[:, 0].permute(1, 2, 0).unsqueeze(0).contiguous().numpy()
        return q.permute(0, 2, 3, 1).contiguous().numpy()

    def int32_bias(self, in_q: ActQuant) -> np.ndarray:
        with torch.no_grad():
            q = torch.round(self.bias / self.bias_scale(in_q.scale))
        return q.clamp(-(2**31), 2**31 - 1).to(torch.int64).cpu().numpy().astype(np.int32)


class QBlock(nn.Module):
    def __init__(self, blk: InvertedResidual) -> None:
        super().__init__()
        self.residual = blk.spec.residual
        self.expand = None if blk.expand is None else QLayer.from_conv_bn(blk.expand)
        self.depthwise = QLayer.from_conv_bn(blk.depthwise)
        self.project = QLayer.from_conv_bn(blk.project)
        self.add_q = ActQuant() if self.residual else None

    def forward(self, x: torch.Tensor, in_q: ActQuant) -> tuple[torch.Tensor, ActQuant]:
        y, q = x, in_q
        if self.expand is not None:
            y, q = self.expand(y, q), self.expand.out_q
        y, q = self.depthwise(y, q), self.depthwise.out_q
        y, q = self.project(y, q), self.project.out_q
        if self.add_q is not None:
            return self.add_q(x + y), self.add_q
        return y, q


class QuantNet(nn.Module):
    def __init__(self, net: Net, convention: InputConvention) -> None:
        super().__init__()
        self.cfg = net.cfg
        self.convention = convention
        self.input_q = ActQuant(fixed=(float(convention.scale), convention.zero_point))
        self.first_conv = QLayer.from_conv_bn(net.first_conv)
        self.blocks = nn.ModuleList(QBlock(b) for b in net.blocks)
        self.feature_mix = None if net.feature_mix is None else QLayer.from_conv_bn(net.feature_mix)
        self.pool_q = ActQuant()
        self.classifier = QLayer.from_linear(net.classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_q(x)
        x, q = self.first_conv(x, self.input_q), self.first_conv.out_q
        for blk in self.blocks:
            x, q = blk(x, q)
        if self.feature_mix is not None:
            x, q = self.feature_mix(x, q), self.feature_mix.out_q
        x = self.pool_q(x.mean(dim=(2, 3)))
        return self.classifier(x, self.pool_q)

    def act_quants(self) -> Iterator[ActQuant]:
        return (m for m in self.modules() if isinstance(m, ActQuant))

    @torch.no_grad()
    def calibrate(self, batches: Iterable[torch.Tensor], settings: ObserverSettings) -> int:
        """Set every activation range from float activations over `batches` (weights
        already int8); returns the number of images seen."""
        quants = [q for q in self.act_quants() if not q.fixed]
        for i, q in enumerate(quants):
            q.enabled, q.observer = False, RangeObserver(ObserverSettings(**{**settings.__dict__, "seed": settings.seed + i}))
        was = self.training
        self.eval()
        seen = 0
        try:
            for x in batches:
                self(x)
                seen += x.shape[0]
        finally:
            self.train(was)
        for q in quants:
            if q.observer.seen:
                q.set_range(*q.observer.range())
            q.enabled, q.observer = True, None
        return seen

    def export_params(self):
        """The int8 weights, int32 biases and activation quantisation the exporter writes
        (nas/export.TrainedParams), named as nas/export.py names its layers."""
        from mcuforge.nas.export import LayerParams, TrainedParams

        layers: dict[str, LayerParams] = {}
        acts: dict[str, tuple[float, int]] = {"input": self.input_q.qparams()}

        def add(name: str, layer: QLayer, in_q: ActQuant) -> ActQuant:
            scale = layer.weight_scale().detach().cpu().numpy().astype(np.float32)
            layers[name] = LayerParams(layer.int8_weight(), scale, layer.int32_bias(in_q))
            acts[name] = layer.out_q.qparams()
            return layer.out_q

        q = add("first_conv", self.first_conv, self.input_q)
        for i, blk in enumerate(self.blocks):
            if blk.expand is not None:
                q = add(f"b{i}_expand", blk.expand, q)
            q = add(f"b{i}_dw", blk.depthwise, q)
            q = add(f"b{i}_project", blk.project, q)
            if blk.add_q is not None:
                acts[f"b{i}_add"] = blk.add_q.qparams()
                q = blk.add_q
        if self.feature_mix is not None:
            q = add("feature_mix", self.feature_mix, q)
        acts["pool"] = self.pool_q.qparams()
        add("classifier", self.classifier, self.pool_q)
        return TrainedParams(layers, acts)

    def to_graph(self):
        """The int8 IR graph of this network (nas/export.export_trained)."""
        from mcuforge.nas.export import export_trained

        return export_trained(self.cfg, self.export_params())
