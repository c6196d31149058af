/* mcuforge kernels: DEPTHWISE_CONV_2D (portable C99). See mf_depthwise.h. */
#include <string.h>

#include "mf_depthwise.h"

/* Requantise and clamp; clamping to [act_min - zp, act_max - zp] before adding
 * zp equals clamping after, without int32 overflow (see mf_conv.c). */
static inline int8_t dw_out(const mf_depthwise_params *p, uint32_t acc, int32_t oc) {
    const int32_t r = mf_clamp(mf_requant((int32_t)acc, p->multipliers[oc], p->shifts[oc]),
                               p->act_min - p->output_zp, p->act_max - p->output_zp);
    return (int8_t)(r + p->output_zp);
}

static inline uint32_t dw_bias(const mf_depthwise_params *p, int32_t oc) {
    return p->bias != NULL ? (uint32_t)p->bias[oc] : 0u;
}

void mf_depthwise_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out) {
    const int32_t mult = p->depth_multiplier;
    const int32_t input_offset = -p->input_zp;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const size_t px = ((size_t)b * (size_t)p->out_h + (size_t)oy) * (size_t)p->out_w + (size_t)ox;
                int8_t *out_px = out + px * (size_t)p->out_c;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t ic = oc / mult;
                    uint32_t acc = dw_bias(p, oc);
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * p->dil_h;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;  /* taps outside the image are skipped, as the reference does */
                        }
                        const int8_t *x_row = img + (size_t)iy * (size_t)p->in_w * (size_t)p->in_c + (size_t)ic;
                        const int8_t *w_row = p->weights + ((size_t)oc * (size_t)p->k_h + (size_t)ky) * (size_t)p->k_w;
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = ix0 + kx * p->dil_w;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const int32_t x = x_row[(size_t)ix * (size_t)p->in_c];
                            const int32_t w = w_row[kx];
                            /* |w * (x - zp)| <= 128 * 255 < 2^15: the product fits int32. */
                            acc += (uint32_t)(w * (x + input_offset));
                        }
                    }
                    out_px[oc] = dw_out(p, acc, oc);
                }
            }
        }
    }
}

/* Copy input channel ic of one image into the plane, input_zp outside the image. */
static void gather_plane(const mf_depthwise_params *p, const int8_t *img, int32_t ic, int8_t *plane, int32_t ph,
                         int32_t pw) {
    const int8_t pad = (int8_t)p->input_zp;
    for (int32_t py = 0; py < ph; ++py) {
        const int32_t iy = py - p->pad_top;
        int8_t *dst = plane + (size_t)py * (size_t)pw;
        if (iy < 0 || iy >= p->in_h) {
            memset(dst, pad, (size_t)pw);
            continue;
        }
        const int8_t *src = img + (size_t)iy * (size_t)p->in_w * (size_t)p->in_c + (size_t)ic;
        for (int32_t px = 0; px < pw; ++px) {
            const int32_t ix = px - p->pad_left;
            dst[px] = (ix >= 0 && ix < p->in_w) ? src[(size_t)ix * (size_t)p->in_c] : pad;
        }
    }
}

/* All output pixels of output channel oc from the plane. The plane holds raw
 * values (input_zp in the padding), so acc starts at bias - input_zp * sum(w),
 * modulo 2^32: then sum(w * plane) adds exactly sum(w * (x - input_zp)) over
 * in-image taps, and 0 for padded ones. */
static void plane_channel(const mf_depthwise_params *p, const int8_t *plane, int32_t pw, int32_t oc, int8_t *out_img) {
    const int8_t *w = p->weights + (size_t)oc * (size_t)p->k_h * (size_t)p->k_w;
    uint32_t wsum = 0u;
    for (int32_t t = 0; t < p->k_h * p->k_w; ++t) {
        wsum += (uint32_t)(int32_t)w[t];
    }
    const uint32_t init = dw_bias(p, oc) - (uint32_t)p->input_zp * wsum;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int8_t *row0 = plane + (size_t)oy * (size_t)p->stride_h * (size_t)pw;
        int8_t *dst = out_img + (size_t)oy * (size_t)p->out_w * (size_t)p->out_c + (size_t)oc;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int8_t *win = row0 + (size_t)ox * (size_t)p->stride_w;
            uint32_t acc = init;
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int8_t *r = win + (size_t)ky * (size_t)p->dil_h * (size_t)pw;
                const int8_t *wr = w + (size_t)ky * (size_t)p->k_w;
                for (int32_t kx = 0; kx < p->k_w; ++kx) {
                    acc += (uint32_t)((int32_t)r[(size_t)kx * (size_t)p->dil_w] * (int32_t)wr[kx]);
                }
            }
            dst[(size_t)ox * (size_t)p->out_c] = dw_out(p, acc, oc);
        }
    }
}

void mf_depthwise_plane_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    int8_t *plane = (int8_t *)scratch;
    const int32_t ph = MF_DW_PLANE_H(p);
    const int32_t pw = MF_DW_PLANE_W(p);
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const size_t out_img = (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t ic = 0; ic < p->in_c; ++ic) {
            /* Channel ic is read completely before any of its outputs is written. */
            gather_plane(p, in + (size_t)b * in_img, ic, plane, ph, pw);
            for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                plane_channel(p, plane, pw, ic * p->depth_multiplier + m, out + (size_t)b * out_img);
            }
        }
    }
}

void mf_depthwise_plane_large_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    mf_depthwise_plane_s8(p, in, out, scratch); /* the portable kernel takes any filter */
}

void mf_depthwise_quad_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    mf_depthwise_plane_s8(p, in, out, scratch); /* four channels at once is an optimisation only */
}
