/* mcuforge kernels: CONV_2D (portable C99). See mf_conv.h for the arithmetic. */
#include <string.h>

#include "mf_conv.h"

/* Requantise and clamp one accumulator. Clamping the requantised value to
 * [act_min - zp, act_max - zp] before adding zp equals clamping after the add,
 * and cannot overflow when the multiplier saturates near INT32_MAX (the
 * reference adds in int64; TF-Lite Micro's int32 add would overflow there). */
static inline int8_t conv_out(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    const int32_t r = mf_clamp(mf_requant(acc, mult, shift), lo - zp, hi - zp);
    return (int8_t)(r + zp);
}

/* sum(a[i] * b[i]) added to acc, modulo 2^32: each product fits int32
 * (|128 * 128| = 2^14) and the sum wraps as the reference's int32 accumulator
 * does, without signed-overflow UB. */
static inline uint32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n, uint32_t acc) {
    for (int32_t i = 0; i < n; ++i) {
        acc += (uint32_t)((int32_t)a[i] * (int32_t)b[i]);
    }
    return acc;
}

/* One group's out_c / groups outputs of one pixel from its patch (k_h*k_w*cin_g
 * bytes, OHWI order like the weights). */
static void conv_group(const mf_conv_params *p, const int8_t *patch, int32_t patch_len, int32_t oc0,
                       int32_t oc1, int8_t *out_px) {
    for (int32_t oc = oc0; oc < oc1; ++oc) {
        const uint32_t init = p->acc_init != NULL ? (uint32_t)p->acc_init[oc] : 0u;
        const uint32_t acc = dot_s8(p->weights + (size_t)oc * (size_t)patch_len, patch, patch_len, init);
        out_px[oc] = conv_out((int32_t)acc, p->multipliers[oc], p->shifts[oc], p->output_zp, p->act_min, p->act_max);
    }
}

/* Gather the window of output pixel (oy, ox), channels [c0, c0 + cin_g), into
 * patch in [ky][kx][c] order; taps outside the image get input_zp. */
static void gather_patch(const mf_conv_params *p, const int8_t *in_img, int32_t oy, int32_t ox, int32_t c0,
                         int32_t cin_g, int8_t *patch) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int8_t pad = (int8_t)p->input_zp;
    /* Whole filter row contiguous in the input: one copy per row. */
    const int row_copy = cin_g == p->in_c && p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        int8_t *dst = patch + (size_t)ky * (size_t)p->k_w * (size_t)cin_g;
        if (iy < 0 || iy >= p->in_h) {
            memset(dst, pad, (size_t)p->k_w * (size_t)cin_g);
            continue;
        }
        const int8_t *row = in_img + (size_t)iy * (size_t)p->in_w * (size_t)p->in_c + c0;
        if (row_copy) {
            memcpy(dst, row + (size_t)ix0 * (size_t)p->in_c, (size_t)p->k_w * (size_t)cin_g);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) {
                memset(dst + (size_t)kx * (size_t)cin_g, pad, (size_t)cin_g);
            } else {
                memcpy(dst + (size_t)kx * (size_t)cin_g, row + (size_t)ix * (size_t)p->in_c, (size_t)cin_g);
            }
        }
    }
}

void mf_conv2d_s8(const mf_conv_params *p, const int8_t *in, int8_t *out, void *scratch) {
    int8_t *patch = (int8_t *)scratch;
    const int32_t cin_g = p->in_c / p->groups;
    const int32_t cout_g = p->out_c / p->groups;
    const int32_t patch_len = p->k_h * p->k_w * cin_g;
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * in_img;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                int8_t *out_px = out + (((size_t)b * (size_t)p->out_h + (size_t)oy) * (size_t)p->out_w + (size_t)ox) *
                                           (size_t)p->out_c;
                for (int32_t g = 0; g < p->groups; ++g) {
                    gather_patch(p, img, oy, ox, g * cin_g, cin_g, patch);
                    conv_group(p, patch, patch_len, g * cout_g, (g + 1) * cout_g, out_px);
                }
            }
        }
    }
}

void mf_conv2d_1x1_s8(const mf_conv_params *p, const int8_t *in, int8_t *out, void *scratch) {
    int8_t *px = (int8_t *)scratch;
    const int32_t cin_g = p->in_c / p->groups;
    const int32_t cout_g = p->out_c / p->groups;
    const size_t pixels = (size_t)p->batches * (size_t)p->in_h * (size_t)p->in_w;
    for (size_t q = 0; q < pixels; ++q) {
        /* Read the whole input pixel before writing any of its outputs (the
         * overlap contract in mf_conv.h); memmove is not needed: scratch is
         * never part of the input or output. */
        memcpy(px, in + q * (size_t)p->in_c, (size_t)p->in_c);
        int8_t *out_px = out + q * (size_t)p->out_c;
        for (int32_t g = 0; g < p->groups; ++g) {
            conv_group(p, px + g * cin_g, cin_g, g * cout_g, (g + 1) * cout_g, out_px);
        }
    }
}
