"""Reference kernels of TF-Lite Micro's signal-library custom operators (family signal):
the audio front end of tflm_audio_preprocessor (signal/src and signal/micro/kernels).

Data is unquantised integers: int16 samples and spectra, uint32 energies, uint64 filter
bank sums. Each kernel does the C's arithmetic, wrap for wrap:
- SignalWindow: (int32(x) * w) >> shift, saturated to int16, the window repeated over x.
- SignalFftAutoScale: x << s with s = 15 - bits(max |x|) (>= 0), and s as an int32 scalar.
  MaxAbs16 keeps its maximum in an int16: -32768 negates to -32768, and any later value
  then beats it (the C's quirk, kept).
- SignalRfft: ref/signal_fft.py, per frame of the last axis, zero padded to fft_length.
- SignalEnergy: re^2 + im^2 (int32, wrapping to uint32) for bins [start_index, end_index);
  TF-Lite Micro leaves the other bins as the arena held them, we write 0.
- SignalFilterBank: per channel c (0..C), sums of weights[ws + j] * x[fs + j] and of
  unweights; channel c's output is its weighted sum plus channel c - 1's unweighted one
  (int16 weights converted to uint64: all in uint64, modulo 2^64), channel 0 dropped.
- SignalFilterBankSquareRoot: Sqrt64 (bitwise, rounded) >> scale_bits.
- SignalFilterBankSpectralSubtraction: a noise estimate per channel, low-pass filtered
  ((x << smoothing_bits) * smoothing + estimate * (1 - smoothing)) >> bits, kept between
  invocations (a variable-tensor input the reader adds, starting at 0; without one, one
  invocation from 0), subtracted with a floor of min_signal_remaining * x. Second output:
  the estimate after this frame.
- SignalPCAN: gain = lut curve of the noise estimate (int16, converted to uint32), snr =
  (x * gain) >> snr_shift, then pcan_shrink.
- SignalFilterBankLog: log32(x << correction_bits, output_scale) capped at 32767; 0 for x <= 1.
"""

from __future__ import annotations

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref import signal_math as sm
from mcuforge.ref.checks import node_label
from mcuforge.ref.signal_fft import rfft_int16, rfft_plan

U64 = (1 << 64) - 1


def eval_window(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    x, w = inputs
    w = np.asarray(w, np.int64).reshape(-1)
    frames = np.asarray(x, np.int64).reshape(-1, w.size)
    y = np.clip((frames * w) >> node.attrs.shift, -32768, 32767)
    return [y.astype(np.int16)]


def fft_auto_scale_bits(x: np.ndarray) -> int:
    peak = 0  # MaxAbs16's int16 maximum
    for v in np.asarray(x, np.int64).reshape(-1).tolist():
        if v > peak:
            peak = v
        elif -v > peak:
            peak = sm.i16(-v)
    return max(16 - sm.msb32(peak) - 1, 0)


def eval_fft_auto_scale(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    x = np.asarray(inputs[0], np.int64)
    s = fft_auto_scale_bits(x)
    y = ((x * (1 << s) + 32768) & 0xFFFF) - 32768
    return [y.astype(np.int16), np.array(s, np.int32)]


def eval_rfft(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    a = node.attrs
    if x.dtype != np.int16:
        raise UnsupportedError(f"{node_label(node)}: only the int16 SignalRfft is supported, not {x.dtype}.")
    plan = rfft_plan(a.fft_length)
    frames = x.reshape(-1, x.shape[-1])
    if frames.shape[1] > a.fft_length:
        raise UnsupportedError(f"{node_label(node)}: frames of {frames.shape[1]} samples exceed fft_length {a.fft_length}.")
    out = np.zeros((frames.shape[0], a.fft_length + 2), np.int16)
    for f, frame in enumerate(frames):
        padded = np.zeros(a.fft_length, np.int16)
        padded[: frame.size] = frame
        out[f] = rfft_int16(plan, padded).reshape(-1)
    return [out]


def eval_energy(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    a = node.attrs
    z = np.asarray(inputs[0], np.int64).reshape(-1, 2)
    y = np.zeros(z.shape[0], np.uint64)
    lo, hi = a.start_index, a.end_index
    if lo < hi:
        y[lo:hi] = (z[lo:hi, 0] ** 2 + z[lo:hi, 1] ** 2) & 0xFFFFFFFF
    return [y.astype(np.uint32)]


def eval_filter_bank(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    check_filter_bank(g, node)
    x, weights, unweights, freq_starts, weight_starts, widths = (np.asarray(v).reshape(-1) for v in inputs)
    c = node.attrs.num_channels
    x = [int(v) for v in x]
    wts, uwts = [int(v) & U64 for v in weights], [int(v) & U64 for v in unweights]
    out, carry = [], 0
    for i in range(c + 1):
        fs, ws, n = int(freq_starts[i]), int(weight_starts[i]), int(widths[i])
        acc_w, acc_u = carry, 0
        for j in range(n):
            acc_w = (acc_w + wts[ws + j] * x[fs + j]) & U64
            acc_u = (acc_u + uwts[ws + j] * x[fs + j]) & U64
        out.append(acc_w)
        carry = acc_u
    return [np.array(out[1:], np.uint64)]


def check_filter_bank(g: Graph, node: Node) -> None:
    """Every index the channels read lies inside its tensor (TF-Lite Micro does not check)."""
    n_in = g.tensors[node.inputs[0]].size
    n_w = g.tensors[node.inputs[1]].size
    starts, wstarts, widths = (g.tensors[n].data for n in node.inputs[3:6])
    c = node.attrs.num_channels
    if any(d is None for d in (starts, wstarts, widths)):
        raise UnsupportedError(f"{node_label(node)}: the filter bank's channel tables must be constant.")
    for i in range(c + 1):
        fs, ws, n = int(starts[i]), int(wstarts[i]), max(int(widths[i]), 0)
        if n and not (0 <= fs and fs + n <= n_in and 0 <= ws and ws + n <= n_w):
            raise UnsupportedError(f"{node_label(node)}: channel {i} reads past its input or weights.")


def eval_filter_bank_square_root(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    x, bits = inputs
    s = int(np.asarray(bits).reshape(-1)[0])
    return [np.array([sm.sqrt64(int(v)) >> s for v in np.asarray(x).reshape(-1)], np.uint32)]


def spectral_subtraction(a, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame: (output, new noise estimate) from the estimate `state` (uint32 [C])."""
    out, est = [], []
    bits, sbits = a.smoothing_bits, a.spectral_subtraction_bits
    for i, (v, noise) in enumerate(zip(np.asarray(x).reshape(-1).tolist(), np.asarray(state).reshape(-1).tolist())):
        smooth, rest = (a.smoothing, a.one_minus_smoothing) if i % 2 == 0 else (
            a.alternate_smoothing, a.alternate_one_minus_smoothing)  # fmt: skip
        up = (v << bits) & sm.M32
        noise = (((up * (smooth & sm.M32) + noise * (rest & sm.M32)) & U64) >> sbits) & sm.M32
        estimate = noise
        if estimate > up:
            estimate = up
            if a.clamping:
                noise = estimate
        floor = ((v * (a.min_signal_remaining & sm.M32)) >> sbits) & sm.M32
        out.append(max((up - estimate) >> bits, floor))
        est.append(noise)
    return np.array(out, np.uint32), np.array(est, np.uint32)


def eval_spectral_subtraction(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """With a state input (a variable tensor) the estimate carries over and is updated in
    place; without, one invocation from TF-Lite Micro's reset state (0)."""
    x = inputs[0]
    state = inputs[1] if len(inputs) > 1 else np.zeros(node.attrs.num_channels, np.uint32)
    out, est = spectral_subtraction(node.attrs, x, state)
    state[...] = est
    return [out, est]


def eval_pcan(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    x, noise, lut = (np.asarray(v).reshape(-1) for v in inputs)
    lut = [int(v) for v in lut]
    out = []
    for v, n in zip(x.tolist(), noise.tolist()):
        gain = sm.wide_dynamic_function(int(n), lut) & sm.M32
        snr = ((int(v) * gain) >> node.attrs.snr_shift) & sm.M32
        out.append(sm.pcan_shrink(snr))
    return [np.array(out, np.uint32)]


def eval_filter_bank_log(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    a = node.attrs
    out = []
    for v in np.asarray(inputs[0]).reshape(-1).tolist():
        scaled = (v << a.input_correction_bits) & sm.M32
        out.append(min(sm.log32(scaled, a.output_scale), 32767) if scaled > 1 else 0)
    return [np.array(out, np.int16)]


KERNELS = {
    Op.SIGNAL_WINDOW: eval_window,
    Op.SIGNAL_FFT_AUTO_SCALE: eval_fft_auto_scale,
    Op.SIGNAL_RFFT: eval_rfft,
    Op.SIGNAL_ENERGY: eval_energy,
    Op.SIGNAL_FILTER_BANK: eval_filter_bank,
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT: eval_filter_bank_square_root,
    Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION: eval_spectral_subtraction,
    Op.SIGNAL_PCAN: eval_pcan,
    Op.SIGNAL_FILTER_BANK_LOG: eval_filter_bank_log,
}
