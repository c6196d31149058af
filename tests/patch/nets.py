"""Writer-built networks for the patch tests: every operator the patch stage accepts,
with strides, dilations, SAME/VALID/explicit padding, odd sizes and branches."""

from __future__ import annotations

import numpy as np

from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.shapes import infer_shapes


class Net:
    """A GraphBuilder with seeded random weights; each method adds one node."""

    def __init__(self, shape: tuple[int, int, int, int], seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.b = GraphBuilder()
        self.x = self.b.input(shape, "int8", 0.05, 3)

    def q(self, t: str):
        return self.b.graph.tensors[t].quant

    def _add(self, op: Op, inputs: list, attrs, q) -> str:
        node = Node(op, list(inputs), ["?"], attrs)
        shape = infer_shapes(self.b.graph, node)[0]
        return self.b.op(op, inputs, shape, q=q, attrs=attrs)

    def conv(
        self,
        x: str,
        cout: int,
        k=(3, 3),
        stride=(1, 1),
        dilation=(1, 1),
        padding=O.Padding.SAME,
        act=O.Act.RELU6,
        dw=False,
        out_q=None,
    ) -> str:
        cin = self.b.graph.tensors[x].shape[3]
        in_s = self.q(x).s
        if dw:
            w_shape, axis, taps = (1, *k, cout), 3, k[0] * k[1]
            attrs = O.DepthwiseAttrs(stride, dilation, padding, act, cout // cin)
        else:
            w_shape, axis, taps = (cout, *k, cin), 0, k[0] * k[1] * cin
            attrs = O.ConvAttrs(stride, dilation, padding, act)
        ws = np.exp(self.rng.uniform(np.log(0.002), np.log(0.02), cout)).astype(np.float32)
        w = self.b.const(self.rng.integers(-127, 128, w_shape).astype(np.int8), q=quant(ws, 0, axis))
        bias = self.b.const(self.rng.integers(-3000, 3000, cout).astype(np.int32), q=quant(np.float32(in_s) * ws, 0, 0))
        out_s = np.float32(in_s * float(np.median(ws)) * 73.0 * 73.0 * np.sqrt(taps) / 40.0)
        return self._add(Op.DEPTHWISE_CONV_2D if dw else Op.CONV_2D, [x, w, bias], attrs, out_q or quant(out_s, -5))

    def pool(self, x: str, op: Op, filt=(3, 3), stride=(2, 2), padding=O.Padding.SAME) -> str:
        return self._add(op, [x], O.PoolAttrs(filt, stride, padding, O.Act.NONE), self.q(x))

    def pad(self, x: str, amounts) -> str:
        p = self.b.const(np.asarray(amounts, np.int32).reshape(4, 2))
        return self._add(Op.PAD, [x, p], O.NoAttrs(), self.q(x))

    def add(self, a: str, c: str) -> str:
        s = max(self.q(a).s, self.q(c).s) * 1.5
        return self._add(Op.ADD, [a, c], O.ElementwiseAttrs(O.Act.NONE), quant(s, 2))

    def mul_const(self, x: str) -> str:
        c = self.b.graph.tensors[x].shape[3]
        k = self.b.const(self.rng.integers(-127, 128, (1, 1, 1, c)).astype(np.int8), q=quant(0.01, 0))
        return self._add(Op.MUL, [x, k], O.ElementwiseAttrs(O.Act.NONE), quant(self.q(x).s * 0.6, -3))

    def concat(self, a: str, c: str) -> str:
        return self._add(Op.CONCATENATION, [a, c], O.ConcatAttrs(3, O.Act.NONE), self.q(a))

    def transpose_nchw(self, x: str) -> str:
        perm = self.b.const(np.array([0, 2, 3, 1], np.int32))
        return self._add(Op.TRANSPOSE, [x, perm], O.NoAttrs(), self.q(x))

    def logistic(self, x: str) -> str:
        return self._add(Op.LOGISTIC, [x], O.NoAttrs(), quant(1.0 / 256.0, -128))

    def head(self, x: str) -> Graph:
        """Global average (MEAN over H, W) and a fully connected layer: ends any stage."""
        axes = self.b.const(np.array([1, 2], np.int32))
        m = self._add(Op.MEAN, [x, axes], O.ReduceAttrs(False), self.q(x))
        c = self.b.graph.tensors[m].shape[1]
        w = self.b.const(self.rng.integers(-127, 128, (5, c)).astype(np.int8), q=quant(0.01, 0))
        y = self._add(Op.FULLY_CONNECTED, [m, w, None], O.FullyConnectedAttrs(), quant(0.2, 1))
        self.b.output(y)
        return self.b.graph


def mobilenet_like(seed: int = 0) -> Graph:
    """Stride-2 stem, inverted residuals (expand, depthwise, project, ADD), a stride-2
    depthwise with odd size, SAME everywhere."""
    n = Net((1, 23, 19, 3), seed)
    x = n.conv(n.x, 8, stride=(2, 2))
    e = n.conv(x, 16, k=(1, 1))
    d = n.conv(e, 16, dw=True)
    p = n.conv(d, 8, k=(1, 1), act=O.Act.NONE)
    r = n.add(x, p)
    d2 = n.conv(r, 8, k=(5, 5), stride=(2, 2), dw=True)
    y = n.conv(d2, 12, k=(1, 1))
    return n.head(y)


def windows_zoo(seed: int = 1) -> Graph:
    """VALID and dilated convolutions, a depthwise multiplier, explicit PAD folded into a
    convolution, PAD before an average pool (not folded: TFLM excludes padding from the
    divisor), max pool, concatenation of two branches, MUL by a constant, LOGISTIC."""
    n = Net((1, 21, 17, 2), seed)
    a = n.conv(n.x, 6, k=(3, 3), padding=O.Padding.VALID)
    b = n.conv(a, 6, k=(3, 3), dilation=(2, 2))
    c = n.conv(b, 12, k=(3, 3), dw=True)  # multiplier 2
    p = n.pad(c, [[0, 0], [1, 2], [2, 1], [0, 0]])
    d = n.conv(p, 8, k=(3, 3), stride=(2, 1), padding=O.Padding.VALID)  # PAD folds into it
    e = n.pool(d, Op.AVERAGE_POOL_2D, (3, 3), (1, 1), O.Padding.SAME)
    f = n.pool(d, Op.MAX_POOL_2D, (2, 3), (1, 2), O.Padding.SAME)
    g = n.conv(e, 8, k=(1, 1), stride=(1, 2))
    f2 = n.conv(f, 8, k=(1, 1), out_q=n.q(g))
    h = n.concat(g, f2)
    i = n.mul_const(h)
    j = n.logistic(i)
    k = n.pad(j, [[0, 0], [1, 1], [1, 1], [0, 0]])
    m = n.pool(k, Op.AVERAGE_POOL_2D, (2, 2), (2, 2), O.Padding.VALID)
    return n.head(m)


def nchw_input(seed: int = 2) -> Graph:
    """An NCHW input transposed to NHWC first (as tflm_xtensa_mobilenet_v2_q_224 does):
    the patch stage may start with the TRANSPOSE, each patch gathering its box."""
    n = Net((1, 3, 17, 14), seed)
    t = n.transpose_nchw(n.x)
    a = n.conv(t, 8, stride=(2, 2))
    b = n.conv(a, 8, dw=True)
    c = n.conv(b, 12, k=(1, 1))
    return n.head(c)
