"""SignalRfft's int16 arithmetic: KISS FFT 1.3.0 in fixed point (FIXED_POINT 16), the real
FFT TF-Lite Micro's signal library runs (signal/src/rfft_int16.cc, kiss_fftr).

Every value is an int16 (kiss_fft_scalar); C computes in int and stores back, so each
store wraps modulo 2^16 (`w16`). The only rounding is
  sround(x) = (x + 2^14) >> 15        (an int32 product back to Q15, arithmetic shift)
used by complex multiplication (C_MUL: each part one sround of the int32 sum of two
products, which stays inside int32: 2 * 32768 * 32767 < 2^31) and by the per-stage
scaling C_FIXDIV(c, p): c = sround(c * (32767 / p)) (integer division: 16383, 10922,
8191, 6553 for p = 2, 3, 4, 5). HALF_OF(x) is x >> 1 on the int sum.

The twiddles are floor(0.5 + 32767 cos(phase)) (and sin), computed in double with the
host's libm exactly as kiss_fft_alloc / kiss_fftr_alloc do; the C kernel gets them from
`twiddles` as constants, so no target computes a cosine.

The complex FFT of n = fft_length / 2 points factors n into radix 4 first, then 2, 3, 5
(kf_factor); a remaining prime above 5 needs kf_bfly_generic, whose scratch TF-Lite
Micro's patched KISS FFT never allocates, so such lengths are refused. The stages run
bottom-up here: stage s (radix p, m = n / (p_0 ... p_s), fstride = p_0 ... p_(s-1)) does
the same butterflies on each of the fstride blocks of p * m points that kf_work's
recursion does, vectorised over blocks and butterflies (they are independent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mcuforge.errors import UnsupportedError

PI = 3.141592653589793238462643383279502884197169399375105820974944
SAMP_MAX = 32767
RADICES = (2, 3, 4, 5)


def w16(x: np.ndarray) -> np.ndarray:
    """Store into an int16: wrap modulo 2^16 (values kept as int64)."""
    return ((np.asarray(x, np.int64) + 32768) & 0xFFFF) - 32768


def sround(x: np.ndarray) -> np.ndarray:
    return w16((np.asarray(x, np.int64) + (1 << 14)) >> 15)


def c_mul(ar, ai, br, bi):
    return sround(ar * br - ai * bi), sround(ar * bi + ai * br)


def fixdiv(r, i, p: int):
    k = SAMP_MAX // p
    return sround(r * k), sround(i * k)


def kf_factor(n: int) -> list[tuple[int, int]]:
    """(radix, remaining length) pairs, as kf_factor makes them."""
    out, p, floor_sqrt = [], 4, math.floor(math.sqrt(float(n)))
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        out.append((p, n))
        if n <= 1:
            return out


def _cexp(phase: float) -> tuple[int, int]:
    return int(math.floor(0.5 + SAMP_MAX * math.cos(phase))), int(math.floor(0.5 + SAMP_MAX * math.sin(phase)))


@dataclass(frozen=True)
class RfftPlan:
    fft_length: int
    factors: tuple[tuple[int, int], ...]
    twiddles: np.ndarray  # [n, 2] int16 (r, i) of the n-point complex FFT
    super_twiddles: np.ndarray  # [n / 2, 2] int16, kiss_fftr's
    order: np.ndarray  # [n] input index that kf_work's leaves place at each position


def check_fft_length(fft_length: int, what: str) -> None:
    if fft_length < 4 or fft_length % 2:
        raise UnsupportedError(f"{what}: fft_length {fft_length} is not an even number of at least 4.")
    bad = [p for p, _ in kf_factor(fft_length // 2) if p not in RADICES]
    if bad:
        raise UnsupportedError(
            f"{what}: fft_length {fft_length} has the prime factor {bad[0]}; TF-Lite Micro's KISS FFT "
            "runs only lengths 2 n with n a product of 2, 3 and 5."
        )


@lru_cache(maxsize=16)
def rfft_plan(fft_length: int) -> RfftPlan:
    check_fft_length(fft_length, "SignalRfft")
    n = fft_length // 2
    tw = np.array([_cexp(-2 * PI * i / n) for i in range(n)], np.int64).reshape(n, 2)
    sup = np.array([_cexp(-3.14159265358979323846264338327 * ((i + 1) / n + 0.5)) for i in range(n // 2)], np.int64)
    factors = tuple(kf_factor(n))
    return RfftPlan(fft_length, factors, w16(tw), w16(sup.reshape(n // 2, 2)), _leaf_order(n, factors))


def _leaf_order(n: int, factors: tuple[tuple[int, int], ...]) -> np.ndarray:
    """kf_work's recursion on indices: Fout position -> input index."""

    def work(start: int, fstride: int, level: int) -> list[int]:
        p, m = factors[level]
        if m == 1:
            return [start + q * fstride for q in range(p)]
        return [i for q in range(p) for i in work(start + q * fstride, fstride * p, level + 1)]

    return np.array(work(0, 1, 0), np.int64)


def _bfly(r: np.ndarray, i: np.ndarray, p: int, m: int, fstride: int, tw: np.ndarray) -> None:
    """One stage on views [blocks, p, m] (in place)."""
    k = np.arange(m)
    fr, fi = [r[:, q, :] for q in range(p)], [i[:, q, :] for q in range(p)]
    for q in range(p):
        fr[q][...], fi[q][...] = fixdiv(fr[q], fi[q], p)
    t = [(fr[0].copy(), fi[0].copy())]
    for q in range(1, p):
        t.append(c_mul(fr[q], fi[q], tw[q * k * fstride, 0], tw[q * k * fstride, 1]))
    if p == 2:
        (ar, ai), (br, bi) = t
        fr[1][...], fi[1][...] = w16(ar - br), w16(ai - bi)
        fr[0][...], fi[0][...] = w16(ar + br), w16(ai + bi)
    elif p == 4:
        (f0r, f0i), (s0r, s0i), (s1r, s1i), (s2r, s2i) = t
        s5r, s5i = w16(f0r - s1r), w16(f0i - s1i)
        f0r, f0i = w16(f0r + s1r), w16(f0i + s1i)
        s3r, s3i, s4r, s4i = w16(s0r + s2r), w16(s0i + s2i), w16(s0r - s2r), w16(s0i - s2i)
        fr[2][...], fi[2][...] = w16(f0r - s3r), w16(f0i - s3i)
        fr[0][...], fi[0][...] = w16(f0r + s3r), w16(f0i + s3i)
        fr[1][...], fi[1][...] = w16(s5r + s4i), w16(s5i - s4r)
        fr[3][...], fi[3][...] = w16(s5r - s4i), w16(s5i + s4r)
    elif p == 3:
        _bfly3(fr, fi, t, tw[fstride * m])
    else:
        _bfly5(fr, fi, t, tw[fstride * m], tw[2 * fstride * m])


def _bfly3(fr, fi, t, epi3) -> None:
    (f0r, f0i), (s1r, s1i), (s2r, s2i) = t
    s3r, s3i, s0r, s0i = w16(s1r + s2r), w16(s1i + s2i), w16(s1r - s2r), w16(s1i - s2i)
    m1r, m1i = w16(f0r - (s3r >> 1)), w16(f0i - (s3i >> 1))
    s0r, s0i = sround(s0r * epi3[1]), sround(s0i * epi3[1])
    fr[0][...], fi[0][...] = w16(f0r + s3r), w16(f0i + s3i)
    fr[2][...], fi[2][...] = w16(m1r + s0i), w16(m1i - s0r)
    fr[1][...], fi[1][...] = w16(m1r - s0i), w16(m1i + s0r)


def _bfly5(fr, fi, t, ya, yb) -> None:
    (s0r, s0i), (s1r, s1i), (s2r, s2i), (s3r, s3i), (s4r, s4i) = t

    def sm(a, b):  # S_MUL
        return sround(a * b)

    s7r, s7i, s10r, s10i = w16(s1r + s4r), w16(s1i + s4i), w16(s1r - s4r), w16(s1i - s4i)
    s8r, s8i, s9r, s9i = w16(s2r + s3r), w16(s2i + s3i), w16(s2r - s3r), w16(s2i - s3i)
    fr[0][...], fi[0][...] = w16(s0r + s7r + s8r), w16(s0i + s7i + s8i)
    s5r, s5i = w16(s0r + sm(s7r, ya[0]) + sm(s8r, yb[0])), w16(s0i + sm(s7i, ya[0]) + sm(s8i, yb[0]))
    s6r, s6i = w16(sm(s10i, ya[1]) + sm(s9i, yb[1])), w16(-sm(s10r, ya[1]) - sm(s9r, yb[1]))
    fr[1][...], fi[1][...] = w16(s5r - s6r), w16(s5i - s6i)
    fr[4][...], fi[4][...] = w16(s5r + s6r), w16(s5i + s6i)
    s11r, s11i = w16(s0r + sm(s7r, yb[0]) + sm(s8r, ya[0])), w16(s0i + sm(s7i, yb[0]) + sm(s8i, ya[0]))
    s12r, s12i = w16(-sm(s10i, yb[1]) + sm(s9i, ya[1])), w16(sm(s10r, yb[1]) - sm(s9r, ya[1]))
    fr[2][...], fi[2][...] = w16(s11r + s12r), w16(s11i + s12i)
    fr[3][...], fi[3][...] = w16(s11r - s12r), w16(s11i - s12i)


def complex_fft(plan: RfftPlan, r: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kiss_fft of n points (int16 values as int64 arrays)."""
    n = plan.fft_length // 2
    r, i = r[plan.order].copy(), i[plan.order].copy()
    fstrides = np.cumprod([1] + [p for p, _ in plan.factors])
    for s in reversed(range(len(plan.factors))):
        p, m = plan.factors[s]
        fs = int(fstrides[s])
        _bfly(r.reshape(n // (p * m), p, m), i.reshape(n // (p * m), p, m), p, m, fs, plan.twiddles)
    return r, i


def rfft_int16(plan: RfftPlan, x: np.ndarray) -> np.ndarray:
    """kiss_fftr of one frame of fft_length int16 samples: [fft_length / 2 + 1, 2] int16 (r, i)."""
    n = plan.fft_length // 2
    x = np.asarray(x, np.int64).reshape(n, 2)
    tr, ti = complex_fft(plan, x[:, 0], x[:, 1])
    out = np.zeros((n + 1, 2), np.int64)
    dr, di = fixdiv(tr[0], ti[0], 2)
    out[0, 0], out[n, 0] = w16(dr + di), w16(dr - di)
    k = np.arange(1, n // 2 + 1)
    pr, pi = fixdiv(tr[k], ti[k], 2)
    nr, ni = fixdiv(tr[n - k], w16(-ti[n - k]), 2)
    f1r, f1i, f2r, f2i = w16(pr + nr), w16(pi + ni), w16(pr - nr), w16(pi - ni)
    twr, twi = c_mul(f2r, f2i, plan.super_twiddles[k - 1, 0], plan.super_twiddles[k - 1, 1])
    out[k, 0], out[k, 1] = w16((f1r + twr) >> 1), w16((f1i + twi) >> 1)
    out[n - k, 0], out[n - k, 1] = w16((f1r - twr) >> 1), w16((twi - f1i) >> 1)  # k = n / 2: this write wins
    return out.astype(np.int16)
