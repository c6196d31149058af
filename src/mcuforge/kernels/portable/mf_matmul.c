/* mcuforge kernels: TRANSPOSE_CONV and BATCH_MATMUL (portable C99). See mf_matmul.h. */
#include "mf_matmul.h"

void mf_transpose_conv_s8(const mf_tconv_params *p, const int8_t *in, int8_t *out, void *scratch) {
    uint32_t *acc = (uint32_t *)scratch;
    const int32_t in_c = p->in_c, out_c = p->out_c;
    const size_t out_image = (size_t)p->out_h * (size_t)p->out_w * (size_t)out_c;
    const size_t total = (size_t)p->batches * out_image;
    for (size_t e = 0; e < total; ++e) {
        acc[e] = 0u;
    }
    /* Scatter: every input pixel, in input order (TF-Lite Micro's loop order; the sum
     * modulo 2^32 does not depend on it). */
    for (int32_t n = 0; n < p->batches; ++n) {
        uint32_t *acc_n = acc + (size_t)n * out_image;
        for (int32_t iy = 0; iy < p->in_h; ++iy) {
            for (int32_t ix = 0; ix < p->in_w; ++ix) {
                const size_t pixel = ((size_t)n * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w + (size_t)ix;
                const int8_t *x = in + pixel * (size_t)in_c;
                for (int32_t fy = 0; fy < p->k_h; ++fy) {
                    const int32_t oy = iy * p->stride_h - p->pad_top + fy;
                    if (oy < 0 || oy >= p->out_h) {
                        continue;
                    }
                    for (int32_t fx = 0; fx < p->k_w; ++fx) {
                        const int32_t ox = ix * p->stride_w - p->pad_left + fx;
                        if (ox < 0 || ox >= p->out_w) {
                            continue;
                        }
                        uint32_t *a = acc_n + ((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)out_c;
                        for (int32_t o = 0; o < out_c; ++o) {
                            const size_t tap = ((size_t)o * (size_t)p->k_h + (size_t)fy) * (size_t)p->k_w + (size_t)fx;
                            const int8_t *w = p->weights + tap * (size_t)in_c;
                            uint32_t sum = 0u;
                            for (int32_t i = 0; i < in_c; ++i) {
                                /* |(x - zp) * w| <= 255 * 128 fits int32. */
                                sum += (uint32_t)(((int32_t)x[i] - p->input_zp) * (int32_t)w[i]);
                            }
                            a[o] += sum;
                        }
                    }
                }
            }
        }
    }
    /* Requantise every element (the output may lie on the input: it is read no more). */
    for (size_t e = 0; e < total; ++e) {
        const int32_t o = (int32_t)(e % (size_t)out_c);
        const uint32_t v = acc[e] + (p->bias != NULL ? (uint32_t)p->bias[o] : 0u);
        /* Clamp to [act_min - zp, act_max - zp] before adding zp: the same as clamping
         * after, without int32 overflow (see mf_conv.c). */
        const int32_t r = mf_clamp(mf_requant((int32_t)v, p->multipliers[o], p->shifts[o]),
                                   p->act_min - p->output_zp, p->act_max - p->output_zp);
        out[e] = (int8_t)(r + p->output_zp);
    }
}

void mf_batch_matmul_s8(const mf_bmm_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *out) {
    int8_t *y = out;
    for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {
        for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {
            for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
                const int8_t *l = lhs + (ptrdiff_t)b0 * p->lhs_batch_stride[0]
                                  + (ptrdiff_t)b1 * p->lhs_batch_stride[1] + (ptrdiff_t)b2 * p->lhs_batch_stride[2];
                const int8_t *r = rhs + (ptrdiff_t)b0 * p->rhs_batch_stride[0]
                                  + (ptrdiff_t)b1 * p->rhs_batch_stride[1] + (ptrdiff_t)b2 * p->rhs_batch_stride[2];
                for (int32_t m = 0; m < p->rows; ++m) {
                    const int8_t *lm = l + (ptrdiff_t)m * p->lhs_row_stride;
                    for (int32_t n = 0; n < p->cols; ++n) {
                        const int8_t *rn = r + (ptrdiff_t)n * p->rhs_col_stride;
                        uint32_t acc = 0u;
                        for (int32_t k = 0; k < p->depth; ++k) {
                            /* |(l - zp) * (r - zp)| <= 255 * 255 fits int32. */
                            const int32_t a = (int32_t)lm[(ptrdiff_t)k * p->lhs_depth_stride] + p->lhs_offset;
                            const int32_t c = (int32_t)rn[(ptrdiff_t)k * p->rhs_depth_stride] + p->rhs_offset;
                            acc += (uint32_t)(a * c);
                        }
                        const int32_t v = mf_clamp(mf_requant((int32_t)acc, p->multiplier, p->shift),
                                                   -128 - p->output_zp, 127 - p->output_zp);
                        *y++ = (int8_t)(v + p->output_zp);
                    }
                }
            }
        }
    }
}

/* BatchMatMul<int16_t, int64_t>: zero points 0, an int64 sum (|term| <= 2^30), the int64
 * requantisation, clamped to int16. */
void mf_batch_matmul_s16(const mf_bmm_params *p, const int16_t *lhs, const int16_t *rhs, int16_t *out) {
    int16_t *y = out;
    for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {
        for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {
            for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
                const int16_t *l = lhs + (ptrdiff_t)b0 * p->lhs_batch_stride[0]
                                   + (ptrdiff_t)b1 * p->lhs_batch_stride[1] + (ptrdiff_t)b2 * p->lhs_batch_stride[2];
                const int16_t *r = rhs + (ptrdiff_t)b0 * p->rhs_batch_stride[0]
                                   + (ptrdiff_t)b1 * p->rhs_batch_stride[1] + (ptrdiff_t)b2 * p->rhs_batch_stride[2];
                for (int32_t m = 0; m < p->rows; ++m) {
                    const int16_t *lm = l + (ptrdiff_t)m * p->lhs_row_stride;
                    for (int32_t n = 0; n < p->cols; ++n) {
                        const int16_t *rn = r + (ptrdiff_t)n * p->rhs_col_stride;
                        int64_t acc = 0;
                        for (int32_t k = 0; k < p->depth; ++k) {
                            acc += (int64_t)lm[(ptrdiff_t)k * p->lhs_depth_stride] * rn[(ptrdiff_t)k * p->rhs_depth_stride];
                        }
                        const int32_t v = mf_requant64(acc, p->multiplier, p->shift);
                        *y++ = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
                    }
                }
            }
        }
    }
}
