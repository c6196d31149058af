"""Sample-rate conversion in NumPy: a polyphase windowed-sinc resampler.

Rates in and out are reduced to L / M (out / in, divided by their gcd). Output sample
n sits at input time t = n * M / L; it is the sum of the input samples within HALF_ZEROS
zero crossings of t, each weighted by a low-pass kernel

    h(d) = fc * sinc(fc * d) * kaiser(d / half_width),   d = t - j  (input samples)

with cutoff fc = ROLLOFF * min(1, L / M) of the input's Nyquist frequency, so that a
down-conversion removes what the new rate cannot hold instead of folding it back
(aliasing). t's fractional part takes only L values, so the kernel is tabulated once
per phase; each phase's taps are scaled to sum to 1 so that a constant signal stays
exactly constant. The input is taken as zero outside its ends. Results are rounded to
the nearest integer and saturated to int16.
"""

from __future__ import annotations

from math import gcd

import numpy as np

ROLLOFF = 0.9  # passband edge as a share of the lower Nyquist frequency (7.2 kHz at 16 kHz out)
HALF_ZEROS = 16  # zero crossings of the sinc on each side: the filter's length and steepness
KAISER_BETA = 8.0  # window shape: stopband around -80 dB
CHUNK = 4096  # output samples computed at once (bounds the (CHUNK, taps) work arrays)


def kaiser(u: np.ndarray) -> np.ndarray:
    """Kaiser window at u in [-1, 1] (0 outside)."""
    inside = np.abs(u) <= 1.0
    arg = np.sqrt(np.where(inside, 1.0 - u * u, 0.0))
    return np.where(inside, np.i0(KAISER_BETA * arg) / np.i0(KAISER_BETA), 0.0)


def phase_table(up: int, down: int) -> tuple[np.ndarray, int]:
    """(taps, K): taps[p, k] weights input sample base - K + 1 + k for an output sample
    whose input time is base + p / up."""
    fc = ROLLOFF * min(1.0, up / down)
    half_width = HALF_ZEROS / fc  # in input samples
    k = int(np.ceil(half_width))
    frac = np.arange(up, dtype=np.float64)[:, None] / up
    d = frac + (k - 1 - np.arange(2 * k, dtype=np.float64))[None, :]  # t - j for j = base - K + 1 + k
    taps = fc * np.sinc(fc * d) * kaiser(d / half_width)
    return taps / taps.sum(axis=1, keepdims=True), k


def resample(x: np.ndarray, rate_in: int, rate_out: int = 16000) -> np.ndarray:
    """int16 samples at rate_in -> int16 samples at rate_out, ceil(len * out / in) of them."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError("resample takes a 1-D array of samples")
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, not {rate_in} and {rate_out}")
    if rate_in == rate_out:
        return x.astype(np.int16, copy=True)
    g = gcd(int(rate_in), int(rate_out))
    up, down = int(rate_out) // g, int(rate_in) // g
    n_out = -(-x.size * up // down)
    taps, k = phase_table(up, down)
    padded = np.concatenate([np.zeros(k, np.float64), x.astype(np.float64), np.zeros(k + 1, np.float64)])
    out = np.empty(n_out, dtype=np.int16)
    offsets = np.arange(2 * k)
    for start in range(0, n_out, CHUNK):
        n = np.arange(start, min(start + CHUNK, n_out), dtype=np.int64)
        base, phase = (n * down) // up, (n * down) % up
        window = padded[(base + 1)[:, None] + offsets[None, :]]  # padded index of base - K + 1 + k is base + 1 + k
        y = np.einsum("ij,ij->i", window, taps[phase])
        out[start : start + n.size] = np.clip(np.rint(y), -32768, 32767).astype(np.int16)
    return out
