/* RESIZE_BILINEAR on int8 (see mf_resize.h). */
#include "mf_resize.h"

/* (v + (v > 0 ? 2^19 : -2^19)) / 2^20 in C division: halves away from zero. */
static int8_t round_20(int32_t v) {
    const int32_t r = v > 0 ? (1 << 19) : -(1 << 19);
    return (int8_t)((v + r) / (1 << 20));
}

void mf_resize_bilinear_s8(const mf_resize_bilinear_params *p, const int8_t *in, int8_t *out) {
    const int32_t depth = p->depth;
    for (int32_t b = 0; b < p->batch; ++b) {
        const int8_t *image = in + (int64_t)b * p->in_image;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *top = image + p->rows[3 * y];
            const int8_t *bottom = image + p->rows[3 * y + 1];
            const int32_t fy = p->rows[3 * y + 2];
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t x0 = p->cols[3 * x];
                const int32_t x1 = p->cols[3 * x + 1];
                const int32_t fx = p->cols[3 * x + 2];
                const int32_t w00 = (1024 - fy) * (1024 - fx);
                const int32_t w10 = fy * (1024 - fx);
                const int32_t w01 = (1024 - fy) * fx;
                const int32_t w11 = fy * fx;
                for (int32_t c = 0; c < depth; ++c) {
                    const int32_t v = top[x0 + c] * w00 + bottom[x0 + c] * w10 + top[x1 + c] * w01 +
                                      bottom[x1 + c] * w11;
                    *out++ = round_20(v);
                }
            }
        }
    }
}
