"""The ARMv7E-M (DSP) kernels (kernels/armv7em) under QEMU, Cortex-M7 and Cortex-M4:
outputs equal to the reference executor's, byte for byte.

The op tests reuse the kernel tests' one-node graphs (merged into one firmware per
test, as tests/kernels does for gcc) and add shapes that reach every path of the
optimised kernels: pixel-group tails, patch lengths that are not a multiple of 4,
odd output widths, all requantisation forms (SMMLAR, 64-bit, portable fallback), and
hand-placed buffers at the tightest overlap the memory contracts allow. Real models
run with the optimised kernels on both cores (a few by default, all when slow tests
are selected).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from kernels.test_conv_c import conv_extras, dw_extras, fc_extras, merge, with_bias, with_out_scale
from real_models import SUPPORTED, make_input
from ref.test_conv import CONV_CASES, DW_CASES, conv_graph
from ref.test_elementwise import ALL_INT8, BROADCASTS, OPS, SUB_DOUBLE_CASES, binary_graph
from ref.test_fc import CASES as FC_CASES
from ref.test_fc import fc_graph
from ref.test_pool import CASES as POOL_CASES
from ref.test_pool import POOLS, pool_graph

from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import Project, generate, project_files
from mcuforge.codegen.ops_conv import EMITTERS, depthwise_plane_bytes
from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.hw.boards import get_board
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Graph
from mcuforge.ref.boundary import to_model_inputs
from mcuforge.ref.conv import prepare_depthwise_conv2d
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets.profile import profile_model
from mcuforge.targets.qemu import build_firmware, missing_tools, output_specs, run_firmware, run_qemu

MISSING = missing_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"QEMU backend unavailable: {MISSING}")

BOARDS = {"m7": "STM32H743", "m4": "NUCLEO-L4R5ZI"}
CORES = list(BOARDS)
# Real models in the default run (both cores): pointwise/depthwise, residual adds, FC only.
FEW = ["mlperf_vww_mbv1_96_int8", "mlperf_ic_resnet8_int8", "mlperf_ad_autoencoder_int8"]
BIG = {"tflm_xtensa_mobilenet_v2_q_224", "tinyengine_mcunetv2_large_224"}


def assert_armv7em_matches_ref(g: Graph, core: str, seed: int = 0, inputs: list[np.ndarray] | None = None) -> None:
    xs = random_inputs(g, seed) if inputs is None else inputs
    big = 4 * 1024 * 1024  # QEMU's whole RAM: merged test graphs keep every output live
    ours = run_qemu(generate(g), get_board(BOARDS[core], big, big), xs, kernels="armv7em")
    for name, a, b in zip(g.outputs, ours, run(g, xs)):
        assert a.shape == b.shape and a.tobytes() == b.tobytes(), f"{name}: {int(np.sum(a != b))} of {a.size} values differ"


# ------------------------------------------------------------ op graphs
def conv_shapes(rng: np.random.Generator) -> list[Graph]:
    """Convolutions reaching every path of armv7em/mf_conv.c."""
    c = Op.CONV_2D
    return [
        conv_graph(rng, c, (1, 5, 5, 8), 16, (1, 1)),  # 25 pixels: a 1-pixel tail group
        conv_graph(rng, c, (1, 3, 2, 12), 7, (1, 1)),  # 6 pixels: a 2-pixel tail
        conv_graph(rng, c, (1, 4, 5, 6), 5, (1, 1)),  # in_c not a multiple of 4
        conv_graph(rng, c, (1, 4, 4, 36), 9, (1, 1)),  # 9 blocks: odd chunk entry
        conv_graph(rng, c, (1, 3, 5, 40), 12, (1, 1), in_q=(0.02, -128)),
        conv_graph(rng, c, (1, 7, 7, 3), 8, (3, 3), stride=(2, 2)),  # K = 27
        conv_graph(rng, c, (1, 6, 6, 4), 12, (3, 3)),  # K = 36
        conv_graph(rng, c, (1, 6, 5, 1), 16, (4, 2), stride=(2, 1)),  # K = 8, in_c 1
        conv_graph(rng, c, (1, 9, 9, 16), 4, (1, 1), stride=(2, 2)),  # strided 1x1: the general kernel
        # huge bias: |acc| >= 2^30 (no small_acc), the 64-bit requantisation
        with_bias(conv_graph(rng, c, (1, 4, 4, 8), 8, (1, 1)), 2**30 + 12345),
        with_bias(conv_graph(rng, c, (1, 5, 4, 4), 8, (3, 3)), -(2**30) - 999),
        # tiny scale: right shifts beyond 22; scale about 0.3: right shift 1
        with_out_scale(conv_graph(rng, c, (1, 4, 4, 8), 4, (1, 1), w_scale=(1e-6, 1e-6)), 1e3),
        with_out_scale(conv_graph(rng, c, (1, 4, 4, 8), 4, (1, 1), w_scale=(0.01, 0.01)), 1.7e-3),
    ]


def dw_shapes(rng: np.random.Generator) -> list[Graph]:
    """Depthwise shapes for the 3x3 assembly (odd/even widths, one-column outputs) and the generic path."""
    d = Op.DEPTHWISE_CONV_2D
    return [
        conv_graph(rng, d, (1, 7, 9, 4), 4, (3, 3)),  # odd width
        conv_graph(rng, d, (1, 25, 5, 4), 4, (3, 3)),  # narrow: transposed plane
        conv_graph(rng, d, (1, 12, 3, 3), 3, (3, 3), stride=(2, 2)),
        conv_graph(rng, d, (1, 9, 4, 2), 2, (3, 3), stride=(2, 2), padding=O.Padding.VALID),
        conv_graph(rng, d, (1, 6, 8, 3), 3, (3, 3)),  # even width
        conv_graph(rng, d, (1, 5, 1, 2), 2, (3, 3)),  # one column
        conv_graph(rng, d, (1, 1, 5, 2), 2, (3, 3)),  # one row
        conv_graph(rng, d, (1, 11, 9, 3), 3, (3, 3), stride=(2, 2)),
        conv_graph(rng, d, (1, 8, 10, 2), 2, (3, 3), stride=(2, 2), padding=O.Padding.VALID),
        conv_graph(rng, d, (1, 10, 10, 3), 3, (5, 5)),  # 5x5 and 7x7, stride 1 and 2, odd and even widths
        conv_graph(rng, d, (1, 7, 9, 2), 2, (5, 5)),
        conv_graph(rng, d, (1, 9, 9, 2), 2, (7, 7), stride=(2, 2)),
        conv_graph(rng, d, (1, 10, 12, 2), 2, (7, 7), stride=(2, 2)),
        conv_graph(rng, d, (1, 6, 6, 2), 2, (7, 7)),
        conv_graph(rng, d, (1, 5, 3, 2), 2, (7, 7)),
        conv_graph(rng, d, (1, 11, 10, 2), 2, (5, 5), stride=(2, 2)),
        conv_graph(rng, d, (1, 6, 7, 2), 2, (5, 5), stride=(2, 2), padding=O.Padding.VALID),
        conv_graph(rng, d, (1, 9, 9, 1), 8, (3, 3), stride=(2, 2), padding=O.Padding.VALID),  # multiplier 8
        conv_graph(rng, d, (1, 10, 9, 1), 4, (3, 3), stride=(2, 2)),  # one input channel: interior + border
        conv_graph(rng, d, (1, 7, 8, 1), 3, (3, 3)),
        with_bias(conv_graph(rng, d, (1, 6, 6, 3), 3, (3, 3)), 2**30 + 77),
        with_out_scale(conv_graph(rng, d, (1, 6, 6, 3), 3, (3, 3), w_scale=(0.01, 0.01)), 1.7e-3),  # right shift 1
    ]


def inplace(graphs: list[Graph]) -> list[Graph]:
    """The multiplier-1 graphs flagged in place: the plane kernel."""
    out = []
    for g in graphs:
        n = g.nodes[0]
        if g.tensors[n.outputs[0]].shape[3] == g.tensors[n.inputs[0]].shape[3]:
            n.inplace = True
            out.append(g)
    return out


@pytest.mark.parametrize("core", CORES)
def test_conv2d(core):
    rng = np.random.default_rng(40)
    graphs = [conv_graph(rng, Op.CONV_2D, **kw) for kw in CONV_CASES.values()] + conv_extras(rng) + conv_shapes(rng)
    assert_armv7em_matches_ref(merge(graphs), core, seed=1)


@pytest.mark.parametrize("core", CORES)
def test_depthwise(core):
    rng = np.random.default_rng(41)
    direct = [conv_graph(rng, Op.DEPTHWISE_CONV_2D, **kw) for kw in DW_CASES.values()] + dw_extras(rng) + dw_shapes(rng)
    planes = inplace([conv_graph(rng, Op.DEPTHWISE_CONV_2D, **kw) for kw in DW_CASES.values()] + dw_extras(rng) + dw_shapes(rng))
    g = merge(direct + planes)
    kernels = {EMITTERS[n.op](g, n, EmitContext(g)).kernel for n in g.nodes}
    assert kernels == {"mf_depthwise_s8", "mf_depthwise_plane_s8", "mf_depthwise_plane_large_s8"}
    assert_armv7em_matches_ref(g, core, seed=2)


@pytest.mark.parametrize("core", CORES)
def test_fully_connected_and_pools(core):
    rng = np.random.default_rng(42)
    graphs = [fc_graph(rng, **kw) for kw in FC_CASES.values()] + fc_extras(rng)
    graphs += [fc_graph(rng, (1, 640), 16), fc_graph(rng, (1, 130), 9), fc_graph(rng, (2, 37), 5)]
    graphs += [pool_graph(op, **kw) for op in POOLS for kw in POOL_CASES.values()]
    assert_armv7em_matches_ref(merge(graphs), core, seed=3)


@pytest.mark.parametrize("core", CORES)
def test_elementwise(core):
    """Broadcasts of every op, and every int8 input pair of ADD and SUB under fused
    activations, edge zero points and the scales where double and float32 multipliers differ."""
    graphs, inputs = [], []
    for op in OPS:
        for case in sorted(BROADCASTS):
            s1, s2, so = BROADCASTS[case]
            qo = (0.09 if op != Op.MUL else 0.01, 11)
            for g in (binary_graph(op, s1, s2, so, (0.03, 5), (0.07, -20), qo),
                      binary_graph(op, s2, s1, so, (0.05, -7), (0.02, 100), qo, O.Act.RELU6)):  # fmt: skip
                graphs.append(g)
                inputs += random_inputs(g, len(graphs))
    pairs = [ALL_INT8.reshape(256, 1), ALL_INT8.reshape(1, 256)]
    quants = [((0.04, 17), (0.025, -60), (0.04, -3), act) for act in O.Act]
    quants += [((0.02, -128), (0.03, 127), (0.05, 0), O.Act.NONE), ((0.1, 0), (0.1, 0), (0.02, 0), O.Act.NONE)]
    for op in (Op.ADD, Op.SUB):
        for q1, q2, qo, act in quants + [(*q, O.Act.NONE) for q in SUB_DOUBLE_CASES]:
            graphs.append(binary_graph(op, (256, 1), (1, 256), (256, 256), q1, q2, qo, act))
            inputs += pairs
    assert_armv7em_matches_ref(merge(graphs), core, inputs=inputs)


# ------------------------------------------------------- hand-placed buffers
def layout_project(g: Graph, offsets: dict[str, int], scratch_offset: int, arena: int, wide: bool = False) -> Project:
    """g (one node) compiled with hand-placed buffers (`wide`: the node's wide variant)."""
    base = generate(g)
    ctx = EmitContext(g, offsets=offsets, scratch_offsets={0: scratch_offset}, wide=frozenset({0} if wide else ()))
    call = EMITTERS[g.nodes[0].op](g, g.nodes[0], ctx)
    assert scratch_offset + call.scratch_bytes <= arena
    files = project_files(g, [0], {0: call}, ctx, arena)
    return replace(base, files=files, calls={0: call}, memory=replace(base.memory, arena_bytes=arena))


def run_layout(
    g: Graph, offsets: dict[str, int], scratch_offset: int, arena: int, core: str, wide: bool = False
) -> np.ndarray:
    project = layout_project(g, offsets, scratch_offset, arena, wide)
    with tempfile.TemporaryDirectory(prefix="mcuforge-armv7em-") as tmp:
        fw = build_firmware(project, get_board(BOARDS[core]), Path(tmp), profile=False, kernels="armv7em")
        assert "mf_conv.c" in fw.optimised or "mf_depthwise.c" in fw.optimised
        return run_firmware(fw, output_specs(project), random_inputs(g, 6)).outputs[0]


@pytest.mark.parametrize("c_in, c_out, hw", [(8, 48, 7), (16, 8, 6), (12, 12, 5)], ids=["expand", "project", "same"])
def test_pointwise_output_overlapping_input(c_in, c_out, hw):
    """The output starts P * max(0, Cout - Cin) bytes below the input: a group of 4
    pixels must be converted before any of its outputs is written."""
    rng = np.random.default_rng(c_in * c_out)
    g = conv_graph(rng, Op.CONV_2D, (1, hw, hw, c_in), c_out, (1, 1))
    x, y = g.inputs[0], g.outputs[0]
    pixels = hw * hw
    gap = pixels * max(0, c_out - c_in)
    top = max(gap + pixels * c_in, pixels * c_out)
    top = (top + 7) // 8 * 8
    scratch = EMITTERS[Op.CONV_2D](g, g.nodes[0], EmitContext(g)).scratch_bytes
    out = run_layout(g, {y: 0, x: gap}, top, top + scratch, "m7")
    assert np.array_equal(out, run(g, random_inputs(g, 6))[0])


# In-place layers for the wide variant (four channel planes, gathered four channels per
# pass): channel counts with and without a remainder of 4, transposed planes (taller
# than wide), 5x5 and 7x7, stride 1 and 2, odd widths, two batches.
DW_WIDE_CASES = {
    "s1_c12": dict(in_shape=(1, 9, 8, 12), out_c=12, k=(3, 3)),
    "s2_c10_odd": dict(in_shape=(1, 11, 9, 10), out_c=10, k=(3, 3), stride=(2, 2)),
    "tall_c8": dict(in_shape=(1, 14, 5, 8), out_c=8, k=(3, 3)),
    "k5_s2_c6": dict(in_shape=(1, 9, 11, 6), out_c=6, k=(5, 5), stride=(2, 2)),
    "k7_s1_c8": dict(in_shape=(1, 6, 7, 8), out_c=8, k=(7, 7)),
    "tiny_c16": dict(in_shape=(1, 3, 3, 16), out_c=16, k=(3, 3)),
    "batch2_c4": dict(in_shape=(2, 5, 6, 4), out_c=4, k=(3, 3)),
}


@pytest.mark.parametrize(
    "name, wide",
    [(n, False) for n in ["same_s1", "same_s2_odd", "valid_s2", "5x5", "batch2"]] + [(n, True) for n in DW_WIDE_CASES],
)
def test_depthwise_in_place(name, wide):
    """Output on the input, scratch right after it (the planes are filled and read
    while the outputs overwrite the input)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    g = conv_graph(rng, Op.DEPTHWISE_CONV_2D, **(DW_WIDE_CASES if wide else DW_CASES)[name])
    g.nodes[0].inplace = True
    x, y = g.inputs[0], g.outputs[0]
    size = (g.tensors[x].nbytes + 7) // 8 * 8
    scratch = EMITTERS[Op.DEPTHWISE_CONV_2D](g, g.nodes[0], EmitContext(g, wide=frozenset({0} if wide else ()))).scratch_bytes
    assert scratch >= (4 if wide else 1) * depthwise_plane_bytes(prepare_depthwise_conv2d(g, g.nodes[0]))
    out = run_layout(g, {x: 0, y: 0}, size, size + scratch, "m4", wide)
    assert np.array_equal(out, run(g, random_inputs(g, 6))[0])


# -------------------------------------------------------------- real models
def _check_real(models_dir: Path, model: str, core: str) -> None:
    g = load(models_dir / f"{model}.tflite")
    c = compile_graph(g)
    size = 4 * 1024 * 1024 if model in BIG else None
    board = get_board(BOARDS[core], size, size)
    name = SUPPORTED[model][0]
    p = profile_model(c, board, to_model_inputs(c.io, make_input(models_dir, g, name)), kernels="armv7em")
    # family signal: the audio front end uses no kernel family that has an ARMv7E-M version
    assert p["kernels"] == ("portable" if model == "tflm_audio_preprocessor_int8" else "armv7em")
    assert p["matches_reference"], f"{model} on {core}: outputs differ from the reference executor"


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("model", FEW)
def test_real_models(models_dir, model, core):
    _check_real(models_dir, model, core)


@pytest.mark.slow
@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("model", [m for m in SUPPORTED if m not in FEW])
def test_all_real_models(models_dir, model, core):
    _check_real(models_dir, model, core)
