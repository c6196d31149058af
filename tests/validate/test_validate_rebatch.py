"""rebatch: the batched graph's outputs equal image-by-image outputs of the original,
for graphs of every batch-safe op family; graphs that are not batch-safe are found and
run image by image with the same results."""

from __future__ import annotations

import numpy as np
import pytest
from toy_cnn import build_demo_graph
from validate_fixtures import tiny_graph

from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.graph import Graph
from mcuforge.ir.ops import Op
from mcuforge.ir.verify import verify
from mcuforge.ref.interpreter import run
from mcuforge.validate.backends import run_ref
from mcuforge.validate.rebatch import batch_problem, rebatch


def _weights(b: GraphBuilder, rng, shape, axis: int) -> str:
    return b.const(
        rng.integers(-127, 128, shape).astype(np.int8), q=quant(rng.uniform(0.004, 0.01, shape[axis]), 0, axis=axis)
    )


def float_io_graph(seed: int = 0) -> Graph:
    """float input -> QUANTIZE -> CONV -> MAX_POOL -> LOGISTIC -> MEAN (keep dims) ->
    RESHAPE [-1, C] -> FC -> DEQUANTIZE: float I/O, a -1 reshape, pooling, a LUT op."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("float_io")
    x = b.input((1, 8, 8, 2), "float32", name="x")
    q = b.op(Op.QUANTIZE, [x], (1, 8, 8, 2), q=quant(1 / 64, 3))
    w = _weights(b, rng, (6, 3, 3, 2), 0)
    c = b.op(Op.CONV_2D, [q, w, None], (1, 8, 8, 6), q=quant(0.05, -4), attrs=O.ConvAttrs(activation=O.Act.RELU))
    p = b.op(Op.MAX_POOL_2D, [c], (1, 4, 4, 6), q=quant(0.05, -4), attrs=O.PoolAttrs((2, 2), (2, 2)))
    s = b.op(Op.LOGISTIC, [p], (1, 4, 4, 6), q=quant(1 / 256, -128))
    axes = b.const(np.array([1, 2], np.int32))
    m = b.op(Op.MEAN, [s, axes], (1, 1, 1, 6), q=quant(1 / 300, -100), attrs=O.ReduceAttrs(keep_dims=True))
    shape = b.const(np.array([-1, 6], np.int32))
    r = b.op(Op.RESHAPE, [m, shape], (1, 6), q=quant(1 / 300, -100))
    w2 = _weights(b, rng, (4, 6), 0)
    f = b.op(Op.FULLY_CONNECTED, [r, w2, None], (1, 4), q=quant(0.02, 1), attrs=O.FullyConnectedAttrs())
    y = b.op(Op.DEQUANTIZE, [f], (1, 4), "float32")
    b.output(y)
    return b.graph


def unbatchable_graph(seed: int = 0) -> Graph:
    """A RESHAPE to (2, 16): its activations no longer lead with the image."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("unbatchable")
    x = b.input((1, 4, 4, 2), "int8", 0.05, 0)
    shape = b.const(np.array([2, 16], np.int32))
    r = b.op(Op.RESHAPE, [x, shape], (2, 16), q=quant(0.05, 0))
    f = b.op(
        Op.FULLY_CONNECTED,
        [r, _weights(b, rng, (5, 16), 0), None],
        (2, 5),
        q=quant(0.1, 2),
        attrs=O.FullyConnectedAttrs(),
    )
    b.output(f)
    return b.graph


def _inputs(g: Graph, n: int, seed: int = 0) -> np.ndarray:
    t = g.tensors[g.inputs[0]]
    rng = np.random.default_rng(seed)
    if t.dtype == "float32":
        return rng.uniform(-2.0, 2.0, (n, *t.shape[1:])).astype(np.float32)
    return rng.integers(-128, 128, (n, *t.shape[1:])).astype(np.int8)


def _one_by_one(g: Graph, x: np.ndarray) -> np.ndarray:
    return np.stack([run(g, [x[i : i + 1]])[0][0] for i in range(len(x))])


GRAPHS = {"export": tiny_graph, "demo": build_demo_graph, "float_io": float_io_graph}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_batched_equals_per_image(name):
    g = GRAPHS[name]()
    assert batch_problem(g) is None
    x = _inputs(g, 7)
    want = _one_by_one(g, x)
    h = verify(rebatch(g, 7))
    assert h.tensors[h.inputs[0]].shape[0] == 7 and g.tensors[g.inputs[0]].shape[0] == 1  # the original is untouched
    got = run(h, [x])[0]
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
    # chunks of 3 (a short last chunk) and two forked workers: the same bytes
    for workers in (1, 2):
        assert np.array_equal(run_ref(g, x, chunk=3, workers=workers).view(np.uint8), want.view(np.uint8))


def test_reshape_shape_is_rewritten():
    h = rebatch(float_io_graph(), 5)
    (node,) = [n for n in h.nodes if n.op == Op.RESHAPE]
    assert h.tensors[node.inputs[1]].data.tolist() == [5, 6]
    assert h.tensors[node.outputs[0]].shape == (5, 6)


def test_unbatchable_graph_runs_image_by_image():
    g = unbatchable_graph()
    assert "leading dimension" in batch_problem(g)
    with pytest.raises(ValueError, match="cannot be batched"):
        rebatch(g, 2)
    x = _inputs(g, 5)
    assert np.array_equal(run_ref(g, x), _one_by_one(g, x))
    assert np.array_equal(run_ref(g, x, workers=2), _one_by_one(g, x))


def _with(g: Graph, op: Op, value) -> Graph:
    h = g.copy()
    node = next(n for n in h.nodes if n.op == op)
    t = h.tensors[node.inputs[1]]
    h.tensors[node.inputs[1]] = type(t)(
        t.name, np.asarray(value).shape, t.dtype, t.quant, np.asarray(value, dtype=t.dtype)
    )
    return h


def test_ops_that_mix_images_are_refused():
    g = float_io_graph()
    assert "batch axis" in batch_problem(_with(g, Op.MEAN, [0, 1, 2]))
    assert "batch axis" in batch_problem(_with(g, Op.RESHAPE, [6, -1]))
    pad = tiny_graph()
    assert batch_problem(pad) is None
    assert "pads the batch axis" in batch_problem(_with(pad, Op.PAD, [[1, 1], [1, 1], [1, 1], [0, 0]]))
