/* 16x8 kernels (see mf_s16.h). */
#include "mf_s16.h"

#define requant64 mf_requant64 /* mf_common.h */

static int16_t out16(int64_t v, int32_t lo, int32_t hi) {
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

void mf_fc_s16(const mf_fc_s16_params *p, const int16_t *in, int16_t *out) {
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *x = in + (size_t)b * (size_t)depth;
        int16_t *y = out + (size_t)b * (size_t)p->output_depth;
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *w = p->weights + (size_t)o * (size_t)depth;
            const int32_t ch = p->per_channel ? o : 0;
            int32_t r;
            if (p->acc64) {
                int64_t acc = p->bias != NULL ? p->bias[o] : 0;
                for (int32_t d = 0; d < depth; ++d) {
                    acc += (int32_t)w[d] * (int32_t)x[d]; /* |w * x| <= 2^22 */
                }
                r = requant64(acc, p->multipliers[ch], p->shifts[ch]);
            } else {
                uint32_t acc = p->bias != NULL ? (uint32_t)p->bias[o] : 0u;
                for (int32_t d = 0; d < depth; ++d) {
                    acc += (uint32_t)((int32_t)w[d] * (int32_t)x[d]); /* wraps as the int32 reference */
                }
                r = mf_requant((int32_t)acc, p->multipliers[ch], p->shifts[ch]);
            }
            y[o] = out16((int64_t)r + p->output_zp, p->act_min, p->act_max);
        }
    }
}

/* ADD (sign 1) or SUB (sign -1) with left_shift 15: |x + offset| <= 65535 and
 * 65535 * 2^15 < 2^31, so the shifted values and the sum of the rescaled ones fit int32. */
static void add_sub(const mf_add_params *p, int sign, const int16_t *in1, const int16_t *in2, int16_t *out) {
    const mf_broadcast *b = &p->b;
    const int32_t rows = ew_rows(b);
    const int32_t n = b->shape[MF_EW_DIMS - 1];
    const int32_t s1 = b->stride1[MF_EW_DIMS - 1];
    const int32_t s2 = b->stride2[MF_EW_DIMS - 1];
    const int32_t scale = (int32_t)1 << p->left_shift;
    for (int32_t r = 0; r < rows; ++r) {
        int32_t o1;
        int32_t o2;
        ew_row_offsets(b, r, &o1, &o2);
        for (int32_t j = 0; j < n; ++j) {
            const int32_t x1 = (in1[o1 + j * s1] + p->input1_offset) * scale;
            const int32_t x2 = (in2[o2 + j * s2] + p->input2_offset) * scale;
            const int32_t a = mf_rdbp(mf_sat_rdhm(x1, p->input1_multiplier), -p->input1_shift);
            const int32_t c = mf_rdbp(mf_sat_rdhm(x2, p->input2_multiplier), -p->input2_shift);
            const int32_t raw = sign > 0 ? a + c : a - c;
            const int32_t y = mf_rdbp(mf_sat_rdhm(raw, p->output_multiplier), -p->output_shift);
            *out++ = out16((int64_t)y + p->output_offset, p->act_min, p->act_max);
        }
    }
}

void mf_add_s16(const mf_add_params *p, const int16_t *in1, const int16_t *in2, int16_t *out) {
    add_sub(p, 1, in1, in2, out);
}

void mf_sub_s16(const mf_add_params *p, const int16_t *in1, const int16_t *in2, int16_t *out) {
    add_sub(p, -1, in1, in2, out);
}

/* MUL: zero points are 0 for int16 (MulPrepare), so the product of two int16 values
 * has |product| <= 2^30 and fits int32. */
void mf_mul_s16(const mf_mul_params *p, const int16_t *in1, const int16_t *in2, int16_t *out) {
    const mf_broadcast *b = &p->b;
    const int32_t rows = ew_rows(b);
    const int32_t n = b->shape[MF_EW_DIMS - 1];
    const int32_t s1 = b->stride1[MF_EW_DIMS - 1];
    const int32_t s2 = b->stride2[MF_EW_DIMS - 1];
    for (int32_t r = 0; r < rows; ++r) {
        int32_t o1;
        int32_t o2;
        ew_row_offsets(b, r, &o1, &o2);
        for (int32_t j = 0; j < n; ++j) {
            const int32_t prod = (in1[o1 + j * s1] - p->input1_zero_point) * (in2[o2 + j * s2] - p->input2_zero_point);
            const int32_t y = mf_requant(prod, p->output_multiplier, p->output_shift);
            *out++ = out16((int64_t)y + p->output_zero_point, p->act_min, p->act_max);
        }
    }
}

/* The requantised, clamped output of one convolution accumulator. The int32 path takes
 * the sum modulo 2^32, which is what the reference's int32 accumulator holds. */
static int16_t conv_out(const mf_conv_s16_params *p, int64_t acc, int32_t c) {
    const int32_t r = p->acc64 ? requant64(acc, p->multipliers[c], p->shifts[c])
                               : mf_requant((int32_t)(uint32_t)(uint64_t)acc, p->multipliers[c], p->shifts[c]);
    return out16(r, p->act_min, p->act_max);
}

void mf_conv_s16(const mf_conv_s16_params *p, const int16_t *in, int16_t *out) {
    const int32_t cw = p->in_c / p->groups;
    const int32_t per_group = p->out_c / p->groups;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *img = in + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t c0 = (oc / per_group) * cw;
                    int64_t acc = p->bias != NULL ? p->bias[oc] : 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const int16_t *x = img + ((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->in_c + c0;
                            const int8_t *w = p->weights + (((size_t)oc * p->k_h + ky) * p->k_w + kx) * (size_t)cw;
                            for (int32_t ci = 0; ci < cw; ++ci) {
                                acc += (int32_t)w[ci] * (int32_t)x[ci]; /* |w * x| <= 2^22 */
                            }
                        }
                    }
                    *out++ = conv_out(p, acc, oc);
                }
            }
        }
    }
}

/* Channel by channel: input channel ic (copied to scratch as a plane when given) makes
 * output channels ic * M .. ic * M + M - 1. */
void mf_depthwise_s16(const mf_conv_s16_params *p, const int16_t *in, int16_t *out, int16_t *scratch) {
    const size_t plane = (size_t)p->in_h * (size_t)p->in_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *img = in + (size_t)b * plane * (size_t)p->in_c;
        int16_t *dst = out + (size_t)b * (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
        for (int32_t ic = 0; ic < p->in_c; ++ic) {
            const int16_t *src = img + ic;
            size_t step = (size_t)p->in_c;
            if (scratch != NULL) {
                for (size_t i = 0; i < plane; ++i) {
                    scratch[i] = img[i * (size_t)p->in_c + (size_t)ic];
                }
                src = scratch;
                step = 1;
            }
            for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                const int32_t oc = ic * p->depth_multiplier + m;
                for (int32_t oy = 0; oy < p->out_h; ++oy) {
                    for (int32_t ox = 0; ox < p->out_w; ++ox) {
                        int64_t acc = p->bias != NULL ? p->bias[oc] : 0;
                        for (int32_t ky = 0; ky < p->k_h; ++ky) {
                            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
                            if (iy < 0 || iy >= p->in_h) {
                                continue;
                            }
                            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                                const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
                                if (ix < 0 || ix >= p->in_w) {
                                    continue;
                                }
                                const int32_t w = p->weights[((size_t)ky * p->k_w + kx) * (size_t)p->out_c + oc];
                                acc += w * (int32_t)src[((size_t)iy * (size_t)p->in_w + (size_t)ix) * step];
                            }
                        }
                        const size_t at = ((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)p->out_c + (size_t)oc;
                        dst[at] = conv_out(p, acc, oc);
                    }
                }
            }
        }
    }
}

/* The input in units of 1/(3 * 4096); |x * multiplier| <= 2^15 * 2^15 fits int32. */
static int32_t sigmoid_input(const mf_sigmoid_s16_params *p, int16_t x) {
    const int32_t round = p->input_shift > 0 ? (int32_t)1 << (p->input_shift - 1) : 0;
    return ((int32_t)x * p->input_multiplier + round) >> p->input_shift;
}

/* 9 fractional bits per table step; negative inputs mirror as 1 - sigmoid(|x|). */
void mf_logistic_s16(const mf_sigmoid_s16_params *p, const int16_t *in, int16_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = sigmoid_input(p, in[i]);
        const uint32_t a = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
        const uint32_t uh = a >> 9;
        uint32_t r;
        if (uh >= 255u) {
            r = 0x7FFFu << 10;
        } else {
            const uint32_t ua = (uint32_t)p->table[uh];
            const uint32_t ub = (uint32_t)p->table[uh + 1u];
            r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
        }
        r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
        out[i] = (int16_t)(uint16_t)(r >> 10);
    }
}

/* tanh(x) = 2 sigmoid(2x) - 1: 8 fractional bits per step, centred on 2^23. */
void mf_tanh_s16(const mf_sigmoid_s16_params *p, const int16_t *in, int16_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = sigmoid_input(p, in[i]);
        const uint32_t a = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
        const uint32_t uh = a >> 8;
        int32_t r;
        if (uh >= 255u) {
            r = (int32_t)(0xFFFFu << 8);
        } else {
            const uint32_t ua = (uint32_t)p->table[uh];
            const uint32_t ub = (uint32_t)p->table[uh + 1u];
            r = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
        }
        r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        out[i] = (int16_t)(uint16_t)((uint32_t)(r >> 8) & 0xFFFFu); /* arithmetic shift, wrapping store */
    }
}

/* One pooling window, clipped to the image: the sum (|sum| < 2^31 for windows below
 * 2^16 positions) or the maximum, and the number of positions. */
static void pool_window(const mf_pool_s16_params *p, const int16_t *img, int32_t oy, int32_t ox, int32_t c,
                        int32_t *sum, int32_t *max, int32_t *count) {
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    int32_t s = 0;
    int32_t m = -32768;
    int32_t n = 0;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = y0 + fy;
        if (iy < 0 || iy >= p->in_h) {
            continue;
        }
        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = x0 + fx;
            if (ix < 0 || ix >= p->in_w) {
                continue;
            }
            const int32_t v = img[((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->channels + (size_t)c];
            s += v;
            m = v > m ? v : m;
            ++n;
        }
    }
    *sum = s;
    *max = m;
    *count = n;
}

static void pool(const mf_pool_s16_params *p, const int16_t *in, int16_t *out, int average) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *img = in + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->channels;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t c = 0; c < p->channels; ++c) {
                    int32_t sum;
                    int32_t max;
                    int32_t n;
                    pool_window(p, img, oy, ox, c, &sum, &max, &n);
                    int32_t v = max;
                    if (average) { /* the emitter refuses windows with no position in the image */
                        v = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
                    }
                    *out++ = out16(v, p->act_min, p->act_max);
                }
            }
        }
    }
}

void mf_avgpool_s16(const mf_pool_s16_params *p, const int16_t *in, int16_t *out) {
    pool(p, in, out, 1);
}

void mf_maxpool_s16(const mf_pool_s16_params *p, const int16_t *in, int16_t *out) {
    pool(p, in, out, 0);
}

/* LUTLookup for int16: 9 bits of index, 7 of interpolation (arithmetic shifts). */
static int16_t lut_lookup(int32_t v, const int32_t *lut) {
    const int32_t index = 256 + (v >> 7);
    const int32_t offset = v & 0x7F;
    const int32_t base = lut[index];
    const int32_t slope = lut[index + 1] - base;
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

static int32_t clamp16(int32_t v) {
    return v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
}

void mf_softmax_s16(const mf_softmax_s16_params *p, const int16_t *in, int16_t *out) {
    for (int32_t r = 0; r < p->rows; ++r) {
        const int16_t *x = in + (size_t)r * (size_t)p->depth;
        int16_t *y = out + (size_t)r * (size_t)p->depth;
        int32_t max_in = -32768;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in = x[c] > max_in ? x[c] : max_in;
        }
        int32_t sum = 0; /* Q16.15; each term is below 2^15 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t scaled = mf_requant(x[c] - max_in, p->input_multiplier, p->input_left_shift);
            y[c] = lut_lookup(clamp16(scaled + 32767), p->exp_lut);
            sum += y[c];
        }
        int hp1 = 0; /* CountLeadingZeros; sum >= 1 (the maximum's exponential) */
        while (hp1 < 32 && ((uint32_t)sum & (0x80000000u >> hp1)) == 0) {
            ++hp1;
        }
        const int32_t shifted = (int32_t)((((int64_t)sum << (hp1 - 1)) + (1 << 13)) >> 14);
        const int32_t recip = lut_lookup(clamp16(shifted - ((1 << 15) + (1 << 16))), p->inv_lut);
        const int right = 31 - hp1;
        const int64_t round = (int64_t)1 << (right - 1);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t v = (int32_t)(((int64_t)y[c] * recip + round) >> right);
            y[c] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
        }
    }
}
