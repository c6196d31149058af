"""RESIZE_BILINEAR against TF-Lite Micro, bit for bit: every option combination, up and
down scaling, odd sizes."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.ir.shapes import infer_shapes
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.ref.resize import KERNELS, axis_table, prepare_resize_bilinear
from oracle_util import assert_matches_oracles, assert_matches_tflm

OPTIONS = [(False, False), (True, False), (False, True)]  # (align_corners, half_pixel_centers)


def resize_graph(shape, size, align_corners=False, half_pixel_centers=False, q=(0.05, -3), qo=None):
    n, _h, _w, c = shape
    b = GraphBuilder()
    x = b.input(shape, "int8", *q)
    sz = b.const(np.array(size, dtype=np.int32))
    attrs = O.ResizeAttrs(align_corners, half_pixel_centers)
    b.output(b.op(Op.RESIZE_BILINEAR, [x, sz], (n, *size, c), q=quant(*(qo or q)), attrs=attrs))
    return b.graph


def rand(shape, seed):
    return np.random.default_rng(seed).integers(-128, 128, shape).astype(np.int8)


SIZES = {
    "up2": ((1, 4, 4, 3), (8, 8)),
    "up_odd": ((1, 3, 5, 2), (7, 11)),
    "down2": ((1, 8, 8, 3), (4, 4)),
    "down_odd": ((1, 9, 7, 2), (4, 3)),
    "mixed": ((2, 5, 6, 3), (9, 4)),
    "same": ((1, 5, 5, 1), (5, 5)),
    "to_one": ((1, 6, 7, 2), (1, 1)),
    "from_one": ((1, 1, 1, 4), (3, 5)),
    "one_row": ((1, 1, 6, 2), (1, 13)),
    "up_large": ((1, 2, 3, 2), (33, 47)),
    "prime": ((1, 13, 11, 3), (17, 7)),
}


@pytest.mark.parametrize("case", sorted(SIZES))
@pytest.mark.parametrize("options", OPTIONS)
def test_resize_bilinear(case, options):
    shape, size = SIZES[case]
    g = resize_graph(shape, size, *options)
    assert_matches_tflm(g, [rand(shape, len(case))], KERNELS)


@pytest.mark.parametrize("options", OPTIONS)
def test_extreme_values_and_zero_points(options):
    shape, size = (1, 4, 5, 2), (7, 9)
    for zp in (-128, 0, 127):
        g = resize_graph(shape, size, *options, q=(0.1, zp))
        for x in (np.full(shape, -128, np.int8), np.full(shape, 127, np.int8), rand(shape, zp & 7)):
            assert_matches_tflm(g, [x], KERNELS)
    # halves: neighbours one apart put many exact .5 results on both signs
    x = np.tile(np.array([-3, -2, -1, 0, 1], np.int8).reshape(1, 1, 5, 1), (1, 4, 1, 2))
    assert_matches_tflm(resize_graph(shape, (8, 10), *options), [x], KERNELS)


@pytest.mark.parametrize("options", OPTIONS)
def test_all_sizes_up_to_12(options):
    # every (in, out) pair for rows, every (in, out) pair for columns, in few TF-Lite Micro runs
    for h_in in range(1, 13):
        for h_out in range(1, 13):
            shape = (1, h_in, 13 - h_in, 1)
            g = resize_graph(shape, (h_out, 13 - h_out), *options)
            assert_matches_tflm(g, [rand(shape, h_in * 13 + h_out)], KERNELS)


def test_litert_agrees():
    for options in OPTIONS:
        g = resize_graph((1, 5, 6, 3), (9, 4), *options)
        assert_matches_oracles(g, [rand((1, 5, 6, 3), 3)], kernels=KERNELS)


def test_half_pixel_centers_start_before_the_first_pixel():
    t = axis_table(4, 8, False, True)  # scale 512: the first row sits at -256
    assert (t.lo[0], t.hi[0], t.frac[0]) == (0, 0, -256)
    t = axis_table(3, 7, True, False)  # scale (2048 + 3) / 6 = 341: the last row is not quite row 2
    assert (t.lo[-1], t.hi[-1], t.frac[-1]) == (1, 2, 1022)


def test_unsupported_forms():
    g = resize_graph((1, 4, 4, 2), (8, 8), q=(0.05, 0), qo=(0.1, 0))
    x = np.zeros((1, 4, 4, 2), np.int8)
    with pytest.raises(UnsupportedError, match="quantisation"):
        prepare_resize_bilinear(g, g.nodes[0])
    g = resize_graph((1, 1, 1, 1), (1, 2048))  # scale 1/1024: column 1024 reads input column 1
    with pytest.raises(UnsupportedError, match="past the input"):
        prepare_resize_bilinear(g, g.nodes[0])
    g = resize_graph((1, 4, 4, 2), (8, 8))
    g.tensors[g.nodes[0].inputs[1]].data = np.array([8, 8], np.int64)
    g.tensors[g.nodes[0].inputs[1]].dtype = "int64"
    with pytest.raises(UnsupportedError, match="constant int32"):
        prepare_resize_bilinear(g, g.nodes[0])
    assert not run_tflm_isolated(write(g), [x]).ok
    g = resize_graph((1, 4, 4, 2), (8, 8), True, True)
    with pytest.raises(ModelFormatError, match="both"):
        infer_shapes(g, g.nodes[0])
    assert not run_tflm_isolated(write(g), [x]).ok


def test_random_sizes():
    rng = np.random.default_rng(7)
    for i in range(40):
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        h, w, oh, ow = (int(v) for v in rng.integers(1, 40, 4))
        g = resize_graph((n, h, w, c), (oh, ow), *OPTIONS[i % 3], q=(0.02, int(rng.integers(-128, 128))))
        assert_matches_tflm(g, [rand((n, h, w, c), i)], KERNELS)
