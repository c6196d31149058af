"""An architecture config as the int8 IR graph a real export would give.

The graph is what converting the trained PyTorch model (nas/torch_model.py) to an
int8 .tflite produces: batch norm folded into the convolutions, ReLU6 fused into
their clamps, a stride-2 convolution as an explicit PAD of k // 2 on every side and
a VALID convolution (PyTorch pads symmetrically, where TFLite's SAME would pad less
on top), stride 1 as SAME (equal to k // 2 for odd kernels), the shortcut as ADD,
global average pooling as MEAN over height and width, the classifier as
FULLY_CONNECTED. Weights are seeded random int8 with per-channel scales, biases
random int32, activations a placeholder quantisation (scales chosen so values stay
in range). Memory and Flash depend only on shapes and on which constants exist, so
the engine's figures for this graph are those of the trained network (one exception:
the code generator drops a folded accumulator-start array that is zero in every
channel, which no random or trained layer gives).

`export_trained` builds the same graph from a trained, quantised network's int8
weights, int32 biases and activation quantisation (`TrainedParams`, which
quant/qat.py's QuantNet.export_params produces), so a trained model and the search's
memory figures come from one description of the network.

The graph is built in pieces: the stem (first conv), one piece per block, the tail
(feature-mix conv, pooling, classifier). nas/profile.py reuses pieces between
configs; `export_graph` joins them in one builder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import GraphError
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph, Quant, Tensor
from mcuforge.ir.ops import Act, Op, Padding
from mcuforge.nas.space import NetConfig, conv_out

# Placeholder activation quantisation (scale, zero point). ReLU6 outputs span [0, 6]
# over the 256 int8 codes: scale 6/255 and zero point -128, as the converter sets them.
INPUT_Q = (1.0 / 128.0, 0)  # an image normalised to [-1, 1)
RELU6_Q = (6.0 / 255.0, -128)
PROJECT_Q = (0.06, 3)  # a block's linear projection
ADD_Q = (0.08, -2)
LOGITS_Q = (0.12, 10)


class Exporter:
    """Appends the layers of a config to a GraphBuilder; weights from `rng`."""

    def __init__(self, cfg: NetConfig, b: GraphBuilder, rng: np.random.Generator) -> None:
        self.cfg, self.b, self.rng = cfg, b, rng

    def out_quant(self, name: str, default: Quant) -> Quant:
        """The quantisation of the tensor a layer called `name` writes (placeholders here)."""
        return default

    def weights(self, shape: tuple[int, ...], axis: int, fan_in: int, name: str) -> str:
        """Seeded int8 weights in [-127, 127], symmetric per output channel (`axis`), with
        scales of about 4 / (127 * sqrt(fan_in)) so that outputs use the int8 range."""
        scales = self.rng.uniform(0.5, 1.5, shape[axis]) * (4.0 / (127.0 * np.sqrt(fan_in)))
        data = self.rng.integers(-127, 128, size=shape, dtype=np.int8)
        q = Quant(scales.astype(np.float32), np.zeros(shape[axis], np.int64), axis)
        return self.b.const(data, q=q, name=name)

    def bias(self, x: str, w: str, channels: int, name: str) -> str:
        """int32 bias with scale input_scale * weight_scale (the int8 spec)."""
        t = self.b.graph.tensors
        s = (np.float32(t[x].quant.s) * t[w].quant.scale).astype(np.float32)
        data = self.rng.integers(-2000, 2000, size=channels, dtype=np.int32)
        return self.b.const(data, q=Quant(s, np.zeros(channels, np.int64), 0), name=name)

    def pad(self, x: str, p: int, name: str) -> str:
        """PAD of p on every spatial side (int8 PAD fills with the zero point)."""
        t = self.b.graph.tensors[x]
        n, h, w, c = t.shape
        amounts = self.b.const(np.array([[0, 0], [p, p], [p, p], [0, 0]], np.int32), name=f"{name}_amounts")
        return self.b.op(Op.PAD, [x, amounts], (n, h + 2 * p, w + 2 * p, c), q=t.quant, name=name)

    def conv(
        self, x: str, cout: int, k: int, stride: int, act: Act, out_q: tuple[float, int], name: str, dw: bool = False
    ) -> str:
        n, h, w, cin = self.b.graph.tensors[x].shape
        oh, ow = conv_out(h, k, stride), conv_out(w, k, stride)
        padding = Padding.SAME
        if stride != 1 and k > 1:
            x, padding = self.pad(x, k // 2, f"{name}_pad"), Padding.VALID
        if dw:  # TFLite depthwise filters are (1, kh, kw, channels), quantised along axis 3
            wt = self.weights((1, k, k, cout), 3, k * k, f"{name}_w")
            attrs = O.DepthwiseAttrs(stride=(stride, stride), padding=padding, activation=act)
        else:
            wt = self.weights((cout, k, k, cin), 0, k * k * cin, f"{name}_w")
            attrs = O.ConvAttrs(stride=(stride, stride), padding=padding, activation=act)
        bias = self.bias(x, wt, cout, f"{name}_b")
        op = Op.DEPTHWISE_CONV_2D if dw else Op.CONV_2D
        q = self.out_quant(name, quant(*out_q))
        return self.b.op(op, [x, wt, bias], (n, oh, ow, cout), q=q, attrs=attrs, name=name)

    def stem(self) -> str:
        cfg, r = self.cfg, self.cfg.resolution
        q = self.out_quant("input", quant(*INPUT_Q))
        x = self.b.input((1, r, r, cfg.in_channels), "int8", q.scale, q.zero_point, name="input")
        fc = cfg.first_conv
        return self.conv(x, fc.out_channels, fc.kernel, fc.stride, Act.RELU6, RELU6_Q, "first_conv")

    def block(self, x: str, i: int, prefix: str | None = None) -> str:
        """Block i; its tensors are named `prefix`_... (default b<i>)."""
        blk, p = self.cfg.blocks[i], prefix or f"b{i}"
        y = x
        if blk.has_expand:
            y = self.conv(y, blk.mid, 1, 1, Act.RELU6, RELU6_Q, f"{p}_expand")
        y = self.conv(y, blk.mid, blk.kernel, blk.stride, Act.RELU6, RELU6_Q, f"{p}_dw", dw=True)
        y = self.conv(y, blk.out_channels, 1, 1, Act.NONE, PROJECT_Q, f"{p}_project")
        if blk.residual:
            shape = self.b.graph.tensors[y].shape
            q = self.out_quant(f"{p}_add", quant(*ADD_Q))
            y = self.b.op(Op.ADD, [x, y], shape, q=q, attrs=O.ElementwiseAttrs(), name=f"{p}_add")
        return y

    def tail(self, x: str) -> str:
        cfg, b = self.cfg, self.b
        if cfg.feature_mix is not None:
            fm = cfg.feature_mix
            x = self.conv(x, fm.out_channels, fm.kernel, fm.stride, Act.RELU6, RELU6_Q, "feature_mix")
        t = b.graph.tensors[x]
        axes = b.const(np.array([1, 2], np.int32), name="pool_axes")
        q = self.out_quant("pool", t.quant)
        pooled = b.op(Op.MEAN, [x, axes], (1, t.shape[3]), q=q, attrs=O.ReduceAttrs(keep_dims=False), name="pool")
        c = t.shape[3]
        w = self.weights((cfg.num_classes, c), 0, c, "classifier_w")
        bias = self.bias(pooled, w, cfg.num_classes, "classifier_b")
        attrs = O.FullyConnectedAttrs()
        q = self.out_quant("classifier", quant(*LOGITS_Q))
        return b.op(Op.FULLY_CONNECTED, [pooled, w, bias], (1, cfg.num_classes), q=q, attrs=attrs, name="classifier")


def export_graph(cfg: NetConfig, seed: int = 0) -> Graph:
    """The int8 graph of a config, weights drawn from a generator seeded with `seed`."""
    b = GraphBuilder(cfg.name)
    e = Exporter(cfg, b, np.random.default_rng(seed))
    y = e.stem()
    for i in range(len(cfg.blocks)):
        y = e.block(y, i)
    b.output(e.tail(y))
    return b.graph


def piece_builder(
    cfg: NetConfig, source: Tensor | None, name: str, seed: int = 0
) -> tuple[GraphBuilder, Exporter, str | None]:
    """A builder for one piece whose graph input, called `name`, has the shape, dtype and
    quantisation of `source` (the previous piece's output; None for the stem, which
    makes the network input itself)."""
    b = GraphBuilder(cfg.name)
    x = None
    if source is not None:
        q = source.quant
        x = b.input(source.shape, source.dtype, q.scale, q.zero_point, name=name)
    return b, Exporter(cfg, b, np.random.default_rng(seed)), x


# ------------------------------------------------------------ trained weights
@dataclass(frozen=True)
class LayerParams:
    """One trained layer as the int8 kernels take it."""

    weight: np.ndarray  # int8 codes in TFLite's layout (conv OHWI, depthwise 1HWC, FC OI)
    weight_scale: np.ndarray  # float32, one per output channel (zero points 0)
    bias: np.ndarray  # int32, scale = input scale x weight scale


@dataclass(frozen=True)
class TrainedParams:
    """A quantised network: layers by name (first_conv, b<i>_expand, b<i>_dw,
    b<i>_project, feature_mix, classifier) and the (scale, zero point) of every tensor
    a layer writes, by the same names plus input, b<i>_add and pool."""

    layers: dict[str, LayerParams]
    acts: dict[str, tuple[float, int]]


class TrainedExporter(Exporter):
    """Exporter whose weights, biases and activation quantisation are a trained network's."""

    def __init__(self, cfg: NetConfig, b: GraphBuilder, params: TrainedParams) -> None:
        super().__init__(cfg, b, np.random.default_rng(0))
        self.params = params

    def _layer(self, name: str) -> LayerParams:
        layer = self.params.layers.get(name)
        if layer is None:
            raise GraphError(f"the trained network has no parameters for layer {name!r} of {self.cfg.name!r}")
        return layer

    def out_quant(self, name: str, default: Quant) -> Quant:
        if name not in self.params.acts:
            raise GraphError(f"the trained network has no quantisation for tensor {name!r} of {self.cfg.name!r}")
        scale, zp = self.params.acts[name]
        return quant(np.float32(scale), int(zp))

    def weights(self, shape: tuple[int, ...], axis: int, fan_in: int, name: str) -> str:
        layer = self._layer(name.removesuffix("_w"))
        if layer.weight.shape != shape or layer.weight.dtype != np.int8:
            raise GraphError(f"layer {name!r}: trained weights are {layer.weight.dtype} {layer.weight.shape}, the graph needs int8 {shape}")
        scales = np.asarray(layer.weight_scale, np.float32)
        q = Quant(scales, np.zeros(shape[axis], np.int64), axis)
        return self.b.const(layer.weight, q=q, name=name)

    def bias(self, x: str, w: str, channels: int, name: str) -> str:
        layer = self._layer(name.removesuffix("_b"))
        t = self.b.graph.tensors
        s = (np.float32(t[x].quant.s) * t[w].quant.scale).astype(np.float32)
        if layer.bias.shape != (channels,):
            raise GraphError(f"layer {name!r}: {layer.bias.shape} trained biases for {channels} channels")
        return self.b.const(layer.bias.astype(np.int32), q=Quant(s, np.zeros(channels, np.int64), 0), name=name)


def export_trained(cfg: NetConfig, params: TrainedParams) -> Graph:
    """The int8 graph of a trained, quantised network (the same layers as export_graph)."""
    b = GraphBuilder(cfg.name)
    e = TrainedExporter(cfg, b, params)
    y = e.stem()
    for i in range(len(cfg.blocks)):
        y = e.block(y, i)
    b.output(e.tail(y))
    return b.graph
