"""C kernels of the 16x8 scheme (mf_s16: FULLY_CONNECTED, ADD, SUB, MUL on int16) and the
int16 QUANTIZE / DEQUANTIZE chain against the reference executor, bit for bit; every case
in one merged build (gcc is the cost), under the sanitizers."""

from __future__ import annotations

import zlib

import numpy as np

from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.builder import GraphBuilder, quant
from kernels.test_elementwise_c import check_c, merge_with_inputs
from ref.test_int16 import EW_CASES, FC_CASES, MUL_CASES, binary16, fc16_graph, x16


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


def test_int16_kernels_match_the_reference():
    g, xs = merge_with_inputs([*fc_cases(), *ew_cases(), quantize_chain()])
    check_c(g, xs, sanitize=True)

