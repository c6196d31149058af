"""C kernels of the 16x8 scheme (mf_s16: FULLY_CONNECTED, ADD, SUB, MUL on int16) and the
int16 QUANTIZE / DEQUANTIZE chain against the reference executor, bit for bit; every case
in one merged build (gcc is the cost), under the sanitizers."""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path

import numpy as np

from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.codegen.call import EmitContext
from mcuforge.codegen.generate import project_files
from mcuforge.codegen.table import emitter
from mcuforge.ir.builder import GraphBuilder, quant
from mcuforge.passes import inplace_depthwise
from mcuforge.ref.interpreter import run
from mcuforge.targets.host import build, execute
from kernels.test_elementwise_c import check_c, merge_with_inputs
from ref.test_int16 import (
    CONV_CASES,
    DW_CASES,
    EW_CASES,
    FC_CASES,
    MUL_CASES,
    binary16,
    conv16_graph,
    fc16_graph,
    x16,
)


def _inputs(g, rng):
    return [x16(rng, g.tensors[n].shape) for n in g.inputs]


def fc_cases():
    cases = []
    for name, kw in FC_CASES.items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        g = fc16_graph(rng, **kw)
        cases.append((g, _inputs(g, rng)))
    # int32 accumulators that wrap (3000 * 127 * 32767 > 2^31): the ref wraps as C's int32 sum
    rng = np.random.default_rng(9)
    g = fc16_graph(rng, (1, 3000), 4, bias="int32", out_gain=1 / 64)
    x = np.full((1, 3000), I16_MAX, np.int16)
    g.tensors[g.nodes[0].inputs[1]].data[:] = 127
    cases.append((g, [x]))
    return cases


I16_MAX = 32767


def ew_cases():
    cases = []
    for op in (Op.ADD, Op.SUB):
        for name, kw in EW_CASES.items():
            rng = np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode()))
            g = binary16(op, **kw)
            cases.append((g, _inputs(g, rng)))
        g = binary16(op, (50,), (50,), (50,), 1e-3, 2e-3, 2.5e-3, zps=(100, -2000, 37))
        cases.append((g, _inputs(g, np.random.default_rng(2))))
    for op in (Op.MAXIMUM, Op.MINIMUM):
        g = binary16(op, (3, 1, 5), (1, 4, 1), (3, 4, 5), 1e-3, 1e-3, 1e-3)
        cases.append((g, _inputs(g, np.random.default_rng(11))))
    for name, kw in MUL_CASES.items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        g = binary16(Op.MUL, **kw)
        cases.append((g, _inputs(g, rng)))
    return cases


def quantize_chain():
    b = GraphBuilder()
    x = b.input((1, 40), "float32")
    a = b.op(Op.QUANTIZE, [x], (1, 40), "int16", quant(1 / 4096, 0))
    c = b.op(Op.QUANTIZE, [a], (1, 40), "int8", quant(0.02, -3))
    d = b.op(Op.QUANTIZE, [c], (1, 40), "int16", quant(1 / 8192, 0))
    e = b.op(Op.QUANTIZE, [d], (1, 40), "int32", quant(1e-5, 0))
    f = b.op(Op.DEQUANTIZE, [d], (1, 40), "float32")
    b.output(e, f)
    return b.graph, [np.linspace(-9, 9, 40, dtype=np.float32).reshape(1, 40)]


def conv_cases():
    cases = []
    for op, table in ((Op.CONV_2D, CONV_CASES), (Op.DEPTHWISE_CONV_2D, DW_CASES)):
        for name, kw in table.items():
            rng = np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode()))
            g = conv16_graph(rng, op, **kw)
            cases.append((g, _inputs(g, rng)))
    return cases


def sigmoid_cases():
    from ref.test_int16_ops import ALL_INT16, RELU_SCALES, unary16

    cases = [(unary16(op, (ALL_INT16.size,), s), [ALL_INT16]) for op in (Op.LOGISTIC, Op.TANH)
             for s in (2.0**-12, 2.0**-11, 2.0**-13, 0.0007, 3e-5, 0.01)]
    cases += [(unary16(op, (ALL_INT16.size,), *s), [ALL_INT16]) for op in (Op.RELU, Op.RELU6) for s in RELU_SCALES]
    from ref.test_int16_ops import LEAKY_CASES, leaky16

    return cases + [(leaky16(*c), [ALL_INT16]) for c in LEAKY_CASES]


def softmax_cases():
    from ref.test_int16_ops import SOFTMAX_CASES, softmax16

    cases = []
    for name, kw in SOFTMAX_CASES.items():
        g = softmax16(**kw)
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        cases.append((g, [rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)]))
    from ref.test_int16_ops import SOFTMAX16_CASES

    for name, kw in SOFTMAX16_CASES.items():
        g = softmax16(**kw, in_dtype="int16", s_out=1 / 32768, zp_out=0)
        cases.append((g, _inputs(g, np.random.default_rng(zlib.crc32(name.encode())))))
    low = np.arange(-32768, 32767, 7, dtype=np.int16)
    x = np.stack([low, np.full(low.size, 32767, np.int16)], axis=1)
    cases.append((softmax16(x.shape, 10 / 65535, in_dtype="int16", s_out=1 / 32768, zp_out=0), [x]))
    return cases


def pool_cases():
    from ref.test_int16_ops import POOL_CASES, pool16

    cases = []
    for op in (Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D):
        for name, kw in POOL_CASES.items():
            g = pool16(op, **kw)
            cases.append((g, _inputs(g, np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode())))))
    return cases


def movement_cases():
    from ref.test_int16_ops import movement_graph

    from ref.test_int16_ops import slicing_graph

    cases = [(movement_graph(zp), [x16(np.random.default_rng(zp), (1, 4, 6))]) for zp in (0, 77)]
    return [*cases, (slicing_graph(), [x16(np.random.default_rng(3), (3, 8, 5))])]


def bmm_cases():
    from ref.test_int16_ops import BMM_CASES, bmm16_case

    return [bmm16_case(name) for name in BMM_CASES]


def mean_cases():
    from ref.test_int16_ops import MEAN_CASES, mean16

    cases = []
    for op in (Op.MEAN, Op.SUM):
        for name, kw in MEAN_CASES.items():
            g = mean16(op, **kw)
            cases.append((g, _inputs(g, np.random.default_rng(zlib.crc32(f"{op.value}{name}".encode())))))
    return cases


def test_int16_kernels_match_the_reference():
    cases = [*fc_cases(), *ew_cases(), *conv_cases(), *sigmoid_cases(), *softmax_cases(), *pool_cases()]
    g, xs = merge_with_inputs([*cases, *movement_cases(), *mean_cases(), *bmm_cases(), quantize_chain()])
    check_c(g, xs, sanitize=True)


def test_depthwise_s16_in_place():
    """With the in-place allowance the kernel copies each channel plane to scratch first:
    output placed exactly on the input (and, second, a smaller output overlapping it)."""
    for stride, pad in (((1, 1), O.Padding.SAME), ((2, 2), O.Padding.VALID)):
        g = conv16_graph(np.random.default_rng(4), Op.DEPTHWISE_CONV_2D, (1, 7, 6, 3), 3, (3, 3), stride=stride,
                         padding=pad)
        g = inplace_depthwise(g)
        assert g.nodes[0].inplace
        x = x16(np.random.default_rng(5), (1, 7, 6, 3))
        y_bytes = g.tensors[g.outputs[0]].nbytes
        scratch_at = x.nbytes + 8
        ctx = EmitContext(g, offsets={g.inputs[0]: 0, g.outputs[0]: 0}, scratch_offsets={0: scratch_at})
        call = emitter(Op.DEPTHWISE_CONV_2D)(g, g.nodes[0], ctx)
        assert call.kernel == "mf_depthwise_s16" and call.scratch_bytes == 2 * 7 * 6
        files = project_files(g, [0], {0: call}, ctx, scratch_at + call.scratch_bytes)
        with tempfile.TemporaryDirectory(prefix="mcuforge-s16-") as tmp:
            d = Path(tmp)
            for name, text in files.items():
                (d / name).write_text(text)
            ours = execute(build(d, sanitize=True), g, [x], d)[0]
        assert y_bytes <= x.nbytes
        assert ours.tobytes() == run(g, [x])[0].tobytes()



def test_plan_counts_two_bytes_per_int16_element():
    """An int16 FULLY_CONNECTED (input and output live together): the arena holds both at
    2 bytes per element, twice what the same shapes take in int8."""
    from mcuforge.plan.memory import plan_graph
    from ref.test_fc import fc_graph

    g16 = fc16_graph(np.random.default_rng(0), (1, 100), 60)
    g8 = fc_graph(np.random.default_rng(0), (1, 100), 60)
    a16, a8 = plan_graph(g16, {}).arena_bytes, plan_graph(g8, {}).arena_bytes
    assert a16 >= 2 * (100 + 60) and a8 < 2 * (100 + 60) <= a16
