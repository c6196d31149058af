/* TF-Lite Micro's signal-library operators and the int32 builtins of the audio front end
 * (mf_signal.h). The arithmetic is mcuforge/ref/signal*.py's, step for step. */
#include "mf_signal.h"

#include <string.h>

/* ------------------------------------------------------------ window, auto scale */
void mf_signal_window(const mf_signal_window_params *p, const int16_t *x, const int16_t *w, int16_t *y) {
    for (int32_t i = 0; i < p->size; ++i) {
        int32_t v = ((int32_t)x[i] * w[i % p->window]) >> p->shift;
        y[i] = (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
    }
}

static uint32_t msb32(uint32_t x) { /* TF-Lite Micro's GCC build: 32 for 0 */
    return x ? 32u - (uint32_t)__builtin_clz(x) : 32u;
}

static uint32_t msb64(uint64_t x) {
    return x ? 64u - (uint32_t)__builtin_clzll(x) : 64u;
}

void mf_signal_fft_auto_scale(const mf_signal_size_params *p, const int16_t *x, int16_t *y, int32_t *scale_bits) {
    int16_t peak = 0; /* an int16 maximum: -(-32768) wraps back to -32768 */
    for (int32_t i = 0; i < p->size; ++i) {
        if (x[i] > peak) {
            peak = x[i];
        } else if (-x[i] > peak) {
            peak = (int16_t)-x[i];
        }
    }
    int32_t s = 16 - (int32_t)msb32((uint32_t)(int32_t)peak) - 1;
    if (s < 0) s = 0;
    for (int32_t i = 0; i < p->size; ++i) y[i] = (int16_t)(x[i] * (1 << s));
    *scale_bits = s;
}

/* ------------------------------------------------------------ rfft (KISS FFT, fixed point) */
typedef struct {
    int16_t r, i;
} mf_cpx;

static int16_t sround(int32_t x) { return (int16_t)((x + (1 << 14)) >> 15); }

static mf_cpx cmul(mf_cpx a, mf_cpx b) {
    mf_cpx m = {sround(a.r * b.r - a.i * b.i), sround(a.r * b.i + a.i * b.r)};
    return m;
}

static mf_cpx fixdiv(mf_cpx c, int32_t radix) {
    int32_t k = 32767 / radix;
    mf_cpx m = {sround(c.r * k), sround(c.i * k)};
    return m;
}

static mf_cpx cadd(mf_cpx a, mf_cpx b) {
    mf_cpx m = {(int16_t)(a.r + b.r), (int16_t)(a.i + b.i)};
    return m;
}

static mf_cpx csub(mf_cpx a, mf_cpx b) {
    mf_cpx m = {(int16_t)(a.r - b.r), (int16_t)(a.i - b.i)};
    return m;
}

static int16_t smul(int16_t a, int16_t b) { return sround((int32_t)a * b); }

static void bfly2(mf_cpx *f, int32_t fs, int32_t m, const mf_cpx *tw) {
    for (int32_t k = 0; k < m; ++k) {
        mf_cpx a = fixdiv(f[k], 2), t = cmul(fixdiv(f[k + m], 2), tw[k * fs]);
        f[k + m] = csub(a, t);
        f[k] = cadd(a, t);
    }
}

static void bfly4(mf_cpx *f, int32_t fs, int32_t m, const mf_cpx *tw) {
    for (int32_t k = 0; k < m; ++k) {
        mf_cpx f0 = fixdiv(f[k], 4);
        mf_cpx s0 = cmul(fixdiv(f[k + m], 4), tw[k * fs]);
        mf_cpx s1 = cmul(fixdiv(f[k + 2 * m], 4), tw[2 * k * fs]);
        mf_cpx s2 = cmul(fixdiv(f[k + 3 * m], 4), tw[3 * k * fs]);
        mf_cpx s5 = csub(f0, s1);
        f0 = cadd(f0, s1);
        mf_cpx s3 = cadd(s0, s2), s4 = csub(s0, s2);
        f[k + 2 * m] = csub(f0, s3);
        f[k] = cadd(f0, s3);
        f[k + m].r = (int16_t)(s5.r + s4.i);
        f[k + m].i = (int16_t)(s5.i - s4.r);
        f[k + 3 * m].r = (int16_t)(s5.r - s4.i);
        f[k + 3 * m].i = (int16_t)(s5.i + s4.r);
    }
}

static void bfly3(mf_cpx *f, int32_t fs, int32_t m, const mf_cpx *tw) {
    mf_cpx epi3 = tw[fs * m];
    for (int32_t k = 0; k < m; ++k) {
        mf_cpx f0 = fixdiv(f[k], 3);
        mf_cpx s1 = cmul(fixdiv(f[k + m], 3), tw[k * fs]);
        mf_cpx s2 = cmul(fixdiv(f[k + 2 * m], 3), tw[2 * k * fs]);
        mf_cpx s3 = cadd(s1, s2), s0 = csub(s1, s2), f1;
        f1.r = (int16_t)(f0.r - (s3.r >> 1));
        f1.i = (int16_t)(f0.i - (s3.i >> 1));
        s0.r = smul(s0.r, epi3.i);
        s0.i = smul(s0.i, epi3.i);
        f[k] = cadd(f0, s3);
        f[k + 2 * m].r = (int16_t)(f1.r + s0.i);
        f[k + 2 * m].i = (int16_t)(f1.i - s0.r);
        f[k + m].r = (int16_t)(f1.r - s0.i);
        f[k + m].i = (int16_t)(f1.i + s0.r);
    }
}

static void bfly5(mf_cpx *f, int32_t fs, int32_t m, const mf_cpx *tw) {
    mf_cpx ya = tw[fs * m], yb = tw[2 * fs * m];
    for (int32_t u = 0; u < m; ++u) {
        mf_cpx s[13];
        s[0] = fixdiv(f[u], 5);
        for (int32_t q = 1; q < 5; ++q) s[q] = cmul(fixdiv(f[u + q * m], 5), tw[q * u * fs]);
        s[7] = cadd(s[1], s[4]);
        s[10] = csub(s[1], s[4]);
        s[8] = cadd(s[2], s[3]);
        s[9] = csub(s[2], s[3]);
        f[u].r = (int16_t)(s[0].r + s[7].r + s[8].r);
        f[u].i = (int16_t)(s[0].i + s[7].i + s[8].i);
        s[5].r = (int16_t)(s[0].r + smul(s[7].r, ya.r) + smul(s[8].r, yb.r));
        s[5].i = (int16_t)(s[0].i + smul(s[7].i, ya.r) + smul(s[8].i, yb.r));
        s[6].r = (int16_t)(smul(s[10].i, ya.i) + smul(s[9].i, yb.i));
        s[6].i = (int16_t)(-smul(s[10].r, ya.i) - smul(s[9].r, yb.i));
        f[u + m] = csub(s[5], s[6]);
        f[u + 4 * m] = cadd(s[5], s[6]);
        s[11].r = (int16_t)(s[0].r + smul(s[7].r, yb.r) + smul(s[8].r, ya.r));
        s[11].i = (int16_t)(s[0].i + smul(s[7].i, yb.r) + smul(s[8].i, ya.r));
        s[12].r = (int16_t)(-smul(s[10].i, yb.i) + smul(s[9].i, ya.i));
        s[12].i = (int16_t)(smul(s[10].r, yb.i) - smul(s[9].r, ya.i));
        f[u + 2 * m] = cadd(s[11], s[12]);
        f[u + 3 * m] = csub(s[11], s[12]);
    }
}

/* One level of the decimation in time: radix sub-FFTs of the decimated input, then the butterflies. */
static void fft_work(mf_cpx *out, const mf_cpx *in, int32_t fs, const int32_t *factors, const mf_cpx *tw) {
    int32_t radix = factors[0], m = factors[1];
    for (int32_t q = 0; q < radix; ++q) {
        if (m == 1) {
            out[q] = in[q * fs];
        } else {
            fft_work(out + q * m, in + q * fs, fs * radix, factors + 2, tw);
        }
    }
    switch (radix) {
        case 2: bfly2(out, fs, m, tw); break;
        case 3: bfly3(out, fs, m, tw); break;
        case 4: bfly4(out, fs, m, tw); break;
        default: bfly5(out, fs, m, tw); break;
    }
}

void mf_signal_rfft(const mf_signal_rfft_params *p, const int16_t *x, int16_t *y, void *scratch) {
    int32_t n = p->fft_length / 2;
    int16_t *frame = (int16_t *)scratch;            /* fft_length samples */
    mf_cpx *tmp = (mf_cpx *)(frame + p->fft_length); /* n complex values */
    const mf_cpx *tw = (const mf_cpx *)p->twiddles, *super = (const mf_cpx *)p->super_twiddles;
    for (int32_t f = 0; f < p->frames; ++f) {
        memcpy(frame, x + f * p->frame_len, sizeof(int16_t) * (size_t)p->frame_len);
        memset(frame + p->frame_len, 0, sizeof(int16_t) * (size_t)(p->fft_length - p->frame_len));
        fft_work(tmp, (const mf_cpx *)frame, 1, p->factors, tw);
        mf_cpx *out = (mf_cpx *)(y + f * (p->fft_length + 2));
        mf_cpx dc = fixdiv(tmp[0], 2);
        out[0].r = (int16_t)(dc.r + dc.i);
        out[n].r = (int16_t)(dc.r - dc.i);
        out[0].i = out[n].i = 0;
        for (int32_t k = 1; k <= n / 2; ++k) {
            mf_cpx fpk = fixdiv(tmp[k], 2), fpnk = {tmp[n - k].r, (int16_t)-tmp[n - k].i};
            fpnk = fixdiv(fpnk, 2);
            mf_cpx f1 = cadd(fpk, fpnk), t = cmul(csub(fpk, fpnk), super[k - 1]);
            out[k].r = (int16_t)((f1.r + t.r) >> 1);
            out[k].i = (int16_t)((f1.i + t.i) >> 1);
            out[n - k].r = (int16_t)((f1.r - t.r) >> 1);
            out[n - k].i = (int16_t)((t.i - f1.i) >> 1);
        }
    }
}

/* ------------------------------------------------------------ energy, filter bank */
void mf_signal_energy(const mf_signal_energy_params *p, const int16_t *x, uint32_t *y) {
    for (int32_t i = 0; i < p->bins; ++i) {
        int32_t re = x[2 * i], im = x[2 * i + 1];
        y[i] = (i >= p->start && i < p->end) ? (uint32_t)re * (uint32_t)re + (uint32_t)im * (uint32_t)im : 0u;
    }
}

void mf_signal_filter_bank(const mf_signal_filter_bank_params *p, const uint32_t *x, const int16_t *weights,
                           const int16_t *unweights, const int16_t *freq_starts, const int16_t *weight_starts,
                           const int16_t *widths, uint64_t *y) {
    uint64_t carry = 0; /* channel c - 1's unweighted sum */
    for (int32_t c = 0; c <= p->num_channels; ++c) {
        uint64_t w = carry, u = 0;
        for (int32_t j = 0; j < widths[c]; ++j) {
            uint64_t v = x[freq_starts[c] + j];
            w += (uint64_t)(int64_t)weights[weight_starts[c] + j] * v;
            u += (uint64_t)(int64_t)unweights[weight_starts[c] + j] * v;
        }
        if (c > 0) y[c - 1] = w;
        carry = u;
    }
}

/* ------------------------------------------------------------ square root */
static uint32_t isqrt_bits(uint64_t num, int32_t top, uint32_t msb, uint64_t cap) {
    uint64_t res = 0;
    int32_t max_bit = (int32_t)((uint32_t)(top + 1) - msb) | 1;
    uint64_t bit = (uint64_t)1 << (top - max_bit);
    for (int32_t it = (top - max_bit) / 2 + 1; it > 0; --it) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != cap) ++res;
    return (uint32_t)res;
}

static uint32_t sqrt64(uint64_t num) {
    if ((num >> 32) == 0) {
        return num == 0 ? 0u : (uint16_t)isqrt_bits(num, 31, msb32((uint32_t)num), 0xFFFFu);
    }
    return isqrt_bits(num, 63, msb64(num), 0xFFFFFFFFu);
}

void mf_signal_filter_bank_sqrt(const mf_signal_size_params *p, const uint64_t *x, const int32_t *scale_bits,
                                uint32_t *y) {
    for (int32_t i = 0; i < p->size; ++i) y[i] = sqrt64(x[i]) >> *scale_bits;
}

/* ------------------------------------------------------------ noise reduction, PCAN, log */
void mf_signal_spectral_subtraction(const mf_signal_spectral_subtraction_params *p, const uint32_t *x, uint32_t *y,
                                    uint32_t *noise_out, uint32_t *state, int32_t reset) {
    if (reset) memset(state, 0, sizeof(uint32_t) * (size_t)p->num_channels); /* TF-Lite Micro's reset state */
    for (int32_t i = 0; i < p->num_channels; ++i) {
        uint32_t smooth = (i & 1) ? p->alternate_smoothing : p->smoothing;
        uint32_t rest = (i & 1) ? p->alternate_one_minus_smoothing : p->one_minus_smoothing;
        uint32_t up = x[i] << p->smoothing_bits;
        state[i] = (uint32_t)(((uint64_t)up * smooth + (uint64_t)state[i] * rest) >> p->spectral_subtraction_bits);
        uint32_t estimate = state[i];
        if (estimate > up) {
            estimate = up;
            if (p->clamping) state[i] = estimate;
        }
        uint32_t floor = (uint32_t)(((uint64_t)x[i] * p->min_signal_remaining) >> p->spectral_subtraction_bits);
        uint32_t sub = (up - estimate) >> p->smoothing_bits;
        y[i] = sub > floor ? sub : floor;
        noise_out[i] = state[i];
    }
}

static int16_t wide_dynamic(uint32_t x, const int16_t *lut) {
    if (x <= 2) return lut[x];
    int32_t interval = (int32_t)msb32(x);
    lut += 4 * interval - 6;
    int32_t frac = (int32_t)(((interval < 11) ? (x << (11 - interval)) : (x >> (interval - 11))) & 0x3FF);
    int32_t r = ((int32_t)lut[2] * frac) >> 5;
    r = (int32_t)((uint32_t)r + ((uint32_t)(int32_t)lut[1] << 5));
    r = (int32_t)((uint32_t)r * (uint32_t)frac);
    r = (int32_t)((uint32_t)r + (1u << 14)) >> 15;
    return (int16_t)(r + lut[0]);
}

static uint32_t pcan_shrink(uint32_t x) {
    if (x < (2u << 12)) return (x * x) >> (2 + 2 * 12 - 6);
    return (x >> (12 - 6)) - (1u << 6);
}

void mf_signal_pcan(const mf_signal_pcan_params *p, const uint32_t *x, const uint32_t *noise, const int16_t *lut,
                    uint32_t *y) {
    for (int32_t i = 0; i < p->size; ++i) {
        uint32_t gain = (uint32_t)(int32_t)wide_dynamic(noise[i], lut);
        uint32_t snr = (uint32_t)(((uint64_t)x[i] * gain) >> p->snr_shift);
        y[i] = pcan_shrink(snr);
    }
}

static const uint16_t LOG_LUT[130] = {
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087,
    3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864,
    4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595,
    5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470,
    5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630,
    4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186,
    3084, 2981, 2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224,
    1094, 963, 830, 695, 559, 421, 282, 142, 0, 0};

static uint32_t log32(uint32_t x, uint32_t out_scale) {
    uint32_t integer = msb32(x) - 1;
    int32_t frac = (int32_t)(x - ((uint32_t)1 << integer));
    frac = integer < 16 ? (int32_t)((uint32_t)frac << (16 - integer)) : frac >> (integer - 16);
    uint32_t seg = (uint32_t)frac >> 9;
    int32_t c0 = LOG_LUT[seg], c1 = LOG_LUT[seg + 1];
    int32_t rel = (int32_t)((uint32_t)(c1 - c0) * (uint32_t)(frac - (int32_t)(512 * seg))) >> 16;
    uint32_t log2 = (integer << 16) + (uint32_t)(frac + c0 + rel);
    uint32_t loge = (uint32_t)(((uint64_t)45426 * log2 + 32768u) >> 16);
    return (out_scale * loge + 32768u) >> 16;
}

void mf_signal_filter_bank_log(const mf_signal_log_params *p, const uint32_t *x, int16_t *y) {
    for (int32_t i = 0; i < p->size; ++i) {
        uint32_t scaled = x[i] << p->input_correction_bits;
        uint32_t v = scaled > 1 ? log32(scaled, p->output_scale) : 0u;
        y[i] = (int16_t)(v < 32767u ? v : 32767u);
    }
}

/* ------------------------------------------------------------ int32 builtins */
void mf_s32_binary(const mf_s32_binary_params *p, const int32_t *a, const int32_t *b, int32_t *y) {
    for (int32_t i = 0; i < p->size; ++i) {
        int32_t u = a[i * p->a_step], v = b[i * p->b_step], r;
        switch (p->op) {
            case MF_S32_MUL: r = (int32_t)((uint32_t)u * (uint32_t)v); break;
            case MF_S32_ADD: r = (int32_t)((uint32_t)u + (uint32_t)v); break;
            case MF_S32_DIV: r = (v == 0) ? 0 : (v == -1) ? (int32_t)(0u - (uint32_t)u) : u / v; break; /* 0: undefined */
            case MF_S32_MIN: r = u < v ? u : v; break;
            default: r = u > v ? u : v; break;
        }
        y[i] = r < p->act_min ? p->act_min : r > p->act_max ? p->act_max : r;
    }
}

static int64_t int_load(const void *x, int32_t type, int32_t i) {
    switch (type) {
        case MF_INT_S8: return ((const int8_t *)x)[i];
        case MF_INT_S16: return ((const int16_t *)x)[i];
        case MF_INT_S32: return ((const int32_t *)x)[i];
        default: return ((const uint32_t *)x)[i];
    }
}

void mf_int_cast(const mf_int_cast_params *p, const void *x, void *y) {
    for (int32_t i = 0; i < p->size; ++i) {
        uint32_t v = (uint32_t)int_load(x, p->from, i); /* modulo 2^32, then narrowed */
        switch (p->to) {
            case MF_INT_S8: ((int8_t *)y)[i] = (int8_t)v; break;
            case MF_INT_S16: ((int16_t *)y)[i] = (int16_t)v; break;
            case MF_INT_S32: ((int32_t *)y)[i] = (int32_t)v; break;
            default: ((uint32_t *)y)[i] = v; break;
        }
    }
}
