"""C kernel for SOFTMAX (mf_softmax) against the reference executor, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.table import emitter
from mcuforge.errors import UnsupportedError
from mcuforge.ir import Op
from mcuforge.ref.interpreter import run
from mcuforge.ref.softmax import prepare_softmax
from mcuforge.targets.host import run_c
from kernels.test_elementwise_c import check_c, merge, run_layout
from ref.test_softmax import softmax_graph

SHAPES = [(1, 10), (2, 3, 7), (1, 250), (4, 1), (1, 2, 2, 16), (5,)]
SCALES = [(0.1, 0), (0.0625, -128), (1e-3, 127), (0.5, 20)]


def rand(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def test_shapes_and_scales_under_sanitizers():
    rng = np.random.default_rng(31)
    gs = [softmax_graph(shape, qi) for shape in SHAPES for qi in SCALES]
    gs.append(softmax_graph((2, 1001), (0.1, 0)))  # long rows (the sum of exps stays below 512)
    gs.append(softmax_graph((1, 256), (2.0, 0)))  # only the 8 largest differences enter the sum
    gs.append(softmax_graph((2, 50), (1.0, 0), beta=1000.0))  # the capped multiplier
    xs = [rand(rng, g.tensors[g.inputs[0]].shape) for g in gs]
    xs[-2] = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    check_c(merge(gs), xs, sanitize=True)


def test_random_rows():
    rng = np.random.default_rng(32)
    gs, xs = [], []
    while len(gs) < 40:
        depth = int(rng.integers(1, 301))
        g = softmax_graph((3, depth), (float(np.float32(10.0 ** rng.uniform(-3.0, 1.0))), int(rng.integers(-128, 128))),
                          float(rng.uniform(0.1, 10.0)))  # fmt: skip
        x = rand(rng, (3, depth))
        x[1] = x[1, 0]  # an all-equal row
        x[2, : depth // 2] = -128  # a long tail at the minimum
        try:
            prepare_softmax(g, g.nodes[0])
            run(g, [x])
        except UnsupportedError:
            continue  # TF-Lite Micro rejects or aborts on these; so does the ref
        gs.append(g)
        xs.append(x)
    check_c(merge(gs), xs)


def test_sum_of_exps_beyond_the_output_exponent_is_clamped():
    """1000 equal values: TF-Lite Micro aborts and the ref refuses; the C kernel clamps
    the exponent to 31, which leaves each output at -128 or -127 (exactly 0.256 units)."""
    g = softmax_graph((1, 1000), (0.1, 0))
    y = run_c(g, [np.zeros((1, 1000), np.int8)])[0]
    assert set(np.unique(y).tolist()) <= {-128, -127}


@pytest.mark.parametrize("gap", [0, 3])
def test_output_overlapping_the_input(gap):
    """The element-wise contract: the output starts `gap` bytes below the input."""
    g = softmax_graph((3, 20), (0.1, 4))
    x = np.random.default_rng(33).integers(-128, 128, (3, 20)).astype(np.int8)
    out = run_layout(g, {g.outputs[0]: 0, g.inputs[0]: gap}, gap + 60, [x])
    assert np.array_equal(out[0], run(g, [x])[0])


def test_emitter_rows_and_depth():
    g = softmax_graph((2, 3, 7), (0.1, 0))
    call = emitter(Op.SOFTMAX)(g, g.nodes[0], EmitContext(g))
    fields = dict(call.params)
    assert (fields["rows"], fields["depth"]) == ("6", "7") and call.scratch_bytes == 0
    assert set(call.sources) == {"mf_softmax", "mf_activation"}
