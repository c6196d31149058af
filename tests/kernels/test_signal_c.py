"""C kernels of the signal family (mf_signal) against the reference executor, bit for bit:
the same one-node graphs as tests/ref/test_signal.py, merged into a few builds, under the
sanitizers."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.ir import Op
from mcuforge.ir import ops as O
from kernels.test_elementwise_c import check_c, merge
from ref import test_signal as T


def _merged(cases):
    return merge([g for g, _ in cases]), [x for _, xs in cases for x in xs]


def test_front_end_ops():
    cases = []
    for shift in (0, 12, 15):
        x, w = T.i16((3, 64)), T.i16((64,))
        cases.append(T.one_op(Op.SIGNAL_WINDOW, [(x, False), (w, True)], [x.shape], ["int16"], O.SignalWindowAttrs(shift)))
    for x in (T.i16((48,)), np.zeros(48, np.int16), np.r_[-32768, T.i16((47,), -50, 50)].astype(np.int16)):
        cases.append(T.one_op(Op.SIGNAL_FFT_AUTO_SCALE, [(x, False)], [x.shape, ()], ["int16", "int32"]))
    for start, end in ((0, 257), (5, 241)):
        x = np.r_[T.i16((510,)), -32768, -32768, 7, -9].astype(np.int16)
        cases.append(T.one_op(Op.SIGNAL_ENERGY, [(x, False)], [(257,)], ["uint32"], O.SignalEnergyAttrs(start, end)))
    g, xs = _merged(cases)
    check_c(g, xs, sanitize=True)


@pytest.mark.parametrize("fft_length,frame", [(512, 480), (64, 64), (24, 20), (40, 33), (120, 100), (4, 4)])
def test_rfft(fft_length, frame):
    cases = [T.one_op(Op.SIGNAL_RFFT, [(T.i16((8, frame), -s, s), False)], [(8, fft_length + 2)], ["int16"],
                      O.SignalRfftAttrs(fft_length)) for s in (32767, 3000, 40)]  # fmt: skip
    g, xs = _merged(cases)
    check_c(g, xs, sanitize=True)


def test_filter_bank_and_after():
    cases = []
    for channels, big in ((1, False), (40, True), (8, False)):
        x = T.RNG.integers(0, 2**32 if big else 2**20, 64, dtype=np.uint64).astype(np.uint32)
        inputs = [(x, False)] + [(t, True) for t in T._filter_bank_tables(64, channels)]
        cases.append(T.one_op(Op.SIGNAL_FILTER_BANK, inputs, [(channels,)], ["uint64"], O.SignalFilterBankAttrs(channels)))
    x = np.r_[0, 1, 2, 3, 2**32 - 1, 2**32, 2**64 - 1, T.RNG.integers(0, 2**63, 25, dtype=np.uint64)].astype(np.uint64)
    for bits in (0, 3, 15):
        cases.append(T.one_op(Op.SIGNAL_FILTER_BANK_SQUARE_ROOT, [(x, False), (np.array(bits, np.int32), True)],
                              [x.shape], ["uint32"]))  # fmt: skip
    for attrs in T.SUBTRACTION:
        x = T.RNG.integers(0, 2**32, 40, dtype=np.uint64).astype(np.uint32)
        cases.append(T.one_op(Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION, [(x, False)], [(40,), (40,)],
                              ["uint32", "uint32"], attrs))  # fmt: skip
    for shift in (0, 6, 12):
        x = T.RNG.integers(0, 2**32, 48, dtype=np.uint64).astype(np.uint32)
        noise = (T.RNG.integers(0, 2**32, 48, dtype=np.uint64) >> T.RNG.integers(0, 32, 48).astype(np.uint64))
        cases.append(T.one_op(Op.SIGNAL_PCAN, [(x, False), (noise.astype(np.uint32), False), (T._pcan_lut(), True)],
                              [(48,)], ["uint32"], O.SignalPcanAttrs(shift)))  # fmt: skip
    for bits, scale in ((0, 64), (3, 64), (3, 1600), (7, 2**20), (0, 2**15), (3, 3 * 2**15)):  # 2^15: rounding ties
        x = np.r_[0, 1, 2, 3, 2**32 - 1, T.RNG.integers(0, 2**32, 27, dtype=np.uint64)].astype(np.uint32)
        cases.append(T.one_op(Op.SIGNAL_FILTER_BANK_LOG, [(x, False)], [x.shape], ["int16"],
                              O.SignalFilterBankLogAttrs(bits, scale)))  # fmt: skip
    g, xs = _merged(cases)
    check_c(g, xs, sanitize=True)


def test_int32_builtins_and_casts():
    cases = [T.int32_binary(*case) for case in T.INT32_CASES]
    cases += [T.one_op(Op.CAST, [(T.cast_input(src), False)], [(64,)], [dst]) for src, dst in T.CASTS]
    g, xs = _merged(cases)
    check_c(g, xs, sanitize=True)


def test_stream_ops():
    cases = []
    for case in T.STREAM:
        g = T.stream_graph(case)
        cases.append((g, [T.i16(g.tensors[g.inputs[0]].shape, -30000, 30000)]))
    g, xs = _merged(cases)
    check_c(g, xs, sanitize=True)
