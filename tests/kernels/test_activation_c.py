"""C kernels for RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC and TANH (mf_activation)
against the reference executor, bit for bit. Every node sees all 256 int8 values."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.table import emitter
from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ref.interpreter import run
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_activations import (
    ALL_INT8,
    FIXED_OUTPUT,
    HARD_SWISH_DOUBLE_CASES,
    LEAKY_DOUBLE_CASES,
    unary_graph,
)

UNARY = [Op.RELU, Op.RELU6, Op.LEAKY_RELU, Op.HARD_SWISH, Op.LOGISTIC, Op.TANH]


def pinned_graphs():
    """The configurations the reference tests pin against TF-Lite Micro."""
    gs = [unary_graph(Op.RELU, qi, qo) for qi, qo in
          [((0.05, -10), (0.05, -10)), ((0.05, 30), (0.02, -128)), ((0.3, -128), (0.01, 100))]]  # fmt: skip
    gs.append(unary_graph(Op.RELU6, (0.05, -20), (1.0, 90)))
    gs += [unary_graph(Op.RELU6, (s, -100), (s, -100)) for s in (2.4000000953674316, 1.7142857313156128, 0.8)]
    gs += [unary_graph(Op.LEAKY_RELU, (0.05, 10), (0.03, -5), O.LeakyReluAttrs(a)) for a in (0.2, 0.01, 1.7, -0.3, 0.0)]
    gs += [unary_graph(Op.LEAKY_RELU, (si, zi), (so, zo), O.LeakyReluAttrs(a))
           for si, zi, so, zo, a in LEAKY_DOUBLE_CASES]  # fmt: skip
    gs += [unary_graph(Op.HARD_SWISH, (si, zi), (so, zo)) for si, zi, so, zo in HARD_SWISH_DOUBLE_CASES]
    hard_swish = [((0.05, 0), (0.025, -50)), ((0.5, 3), (0.3, -90)), ((1e-4, 0), (0.5, 0)), ((0.02, -128), (0.02, 127))]
    gs += [unary_graph(Op.HARD_SWISH, qi, qo) for qi, qo in hard_swish]
    for op in (Op.LOGISTIC, Op.TANH):
        for scale in (1e-5, 0.004, 0.0625, 0.1, 0.7, 3.0, 8.0, 50.0):
            gs += [unary_graph(op, (scale, zp), FIXED_OUTPUT[op]) for zp in (-128, 0, 127)]
    gs += [unary_graph(Op.LOGISTIC, (0.1, 0), (0.5, -128)), unary_graph(Op.TANH, (0.1, 0), (0.25, 40))]
    return gs


def random_graphs(rng: np.random.Generator, count: int):
    gs = []
    while len(gs) < count:
        op = UNARY[int(rng.integers(len(UNARY)))]
        si, so = (float(np.float32(10.0 ** rng.uniform(-6.0, 2.0))) for _ in range(2))
        zi, zo = (int(v) for v in rng.integers(-128, 128, 2))
        attrs = O.LeakyReluAttrs(float(rng.uniform(-1.5, 1.5))) if op == Op.LEAKY_RELU else None
        g = unary_graph(op, (si, zi), FIXED_OUTPUT.get(op, (so, zo)), attrs)
        if op == Op.HARD_SWISH and si / 128.0 / so >= 1.0:
            with pytest.raises(UnsupportedError):  # the emitter refuses what the ref refuses
                emitter(op)(g, g.nodes[0], EmitContext(g))
            continue
        gs.append(g)
    return gs


def test_pinned_configurations_under_sanitizers():
    gs = pinned_graphs()
    check_c(merge(gs), [ALL_INT8] * len(gs), sanitize=True)


def test_random_quantisation():
    gs = random_graphs(np.random.default_rng(21), 120)
    check_c(merge(gs), [ALL_INT8] * len(gs))


@pytest.mark.parametrize("gap", [0, 3])
def test_in_place(gap):
    """The element-wise contract: each output at or below its input's start, overlapping it."""
    leaky = O.LeakyReluAttrs(0.3)
    gs = [unary_graph(op, (0.05, 7), FIXED_OUTPUT.get(op, (0.04, -20)), leaky if op == Op.LEAKY_RELU else None)
          for op in UNARY]  # fmt: skip
    g = merge(gs)
    offsets = {}
    for k, node in enumerate(g.nodes):
        offsets.update({node.outputs[0]: 300 * k, node.inputs[0]: 300 * k + gap})
    xs = [ALL_INT8] * len(gs)
    for a, b in zip(run_layout(g, offsets, 300 * len(gs), xs), run(g, xs)):
        assert np.array_equal(a, b)


def test_kernels_and_no_scratch():
    names = {}
    for op in UNARY:
        g = unary_graph(op, (0.05, 7), FIXED_OUTPUT.get(op, (0.04, -20)))
        call = emitter(op)(g, g.nodes[0], EmitContext(g))
        assert call.scratch_bytes == 0 and dict(call.params)["size"] == "256"
        names[op] = call.kernel
    assert names[Op.LOGISTIC] == "mf_logistic_s8" and names[Op.TANH] == "mf_tanh_s8"
