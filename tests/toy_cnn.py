"""A small int8 CNN with seeded random weights, built with mcuforge's own writer: a
MobileNetV2-style block on a 32x32x3 image (conv, depthwise, pointwise, residual add,
average pool, fully connected, softmax). Many tests use it as a fixture; it classifies
nothing (`make demo` trains a real network instead)."""

from __future__ import annotations

import numpy as np

from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Op


def _conv(b: GraphBuilder, rng, x: str, x_scale: float, shape_out, cout: int, k: int, depthwise: bool, attrs, out_scale: float):
    cin = b.graph.tensors[x].shape[-1]
    wshape = (1, k, k, cout) if depthwise else (cout, k, k, cin)
    w = rng.integers(-127, 128, wshape, dtype=np.int64).astype(np.int8)
    w_scales = rng.uniform(0.002, 0.01, cout).astype(np.float32)
    axis = 3 if depthwise else 0
    wt = b.const(w, q=quant(w_scales, 0, axis=axis))
    bias_scales = np.float32(x_scale) * w_scales
    bias = b.const(rng.integers(-2000, 2000, cout).astype(np.int32), q=quant(bias_scales, 0))
    op = Op.DEPTHWISE_CONV_2D if depthwise else Op.CONV_2D
    return b.op(op, [x, wt, bias], shape_out, q=quant(out_scale, -10), attrs=attrs)


def build_demo_graph(seed: int = 0) -> Graph:
    """A MobileNetV2-style block on a 32x32x3 image: conv, depthwise, pointwise, residual
    add, average pool, fully connected, softmax (int8, seeded random weights)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("demo")
    x = b.input((1, 32, 32, 3), "int8", 0.02, -1, name="image")
    s1 = 0.05
    h = _conv(b, rng, x, 0.02, (1, 16, 16, 16), 16, 3, False, O.ConvAttrs(stride=(2, 2), activation=O.Act.RELU6), s1)
    d = _conv(b, rng, h, s1, (1, 16, 16, 16), 16, 3, True, O.DepthwiseAttrs(activation=O.Act.RELU6), s1)
    p = _conv(b, rng, d, s1, (1, 16, 16, 16), 16, 1, False, O.ConvAttrs(), s1)
    r = b.op(Op.ADD, [h, p], (1, 16, 16, 16), q=quant(0.06, -5))
    pool = b.op(Op.AVERAGE_POOL_2D, [r], (1, 1, 1, 16), q=quant(0.06, -5), attrs=O.PoolAttrs((16, 16), (16, 16)))
    shape = b.const(np.array([1, 16], dtype=np.int32))
    flat = b.op(Op.RESHAPE, [pool, shape], (1, 16), q=quant(0.06, -5))
    w = b.const(rng.integers(-127, 128, (10, 16)).astype(np.int8), q=quant(0.01, 0))
    bias = b.const(rng.integers(-500, 500, 10).astype(np.int32), q=quant(np.float32(0.06) * np.float32(0.01), 0))
    logits = b.op(Op.FULLY_CONNECTED, [flat, w, bias], (1, 10), q=quant(0.1, 3))
    prob = b.op(Op.SOFTMAX, [logits], (1, 10), q=quant(1 / 256, -128), name="probabilities")
    b.output(prob)
    return b.graph
