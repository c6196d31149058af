/* mcuforge kernels: AVERAGE_POOL_2D and MAX_POOL_2D for ARMv7E-M (Cortex-M4/M7, DSP).
 *
 * Same functions, parameters and results as portable/mf_pool.c (see mf_pool.h).
 * Four channels at a time: one word load per window position, then
 * - average: SXTAB16 adds the even and the odd channels into two int16-lane sums
 *   (exact while the window has at most 256 positions: |sum| <= 128 * 256 = 2^15,
 *   and -32768 itself fits); the divide is the portable one, per channel;
 * - max: SSUB8 sets a GE flag per byte where the new value is >= the maximum and
 *   SEL keeps the larger byte.
 * Windows of a pixel are read before its outputs are written, channels in order, as
 * the portable kernels do; remaining channels (channels % 4) take the portable path.
 */
#include <string.h>

#include "mf_pool.h"
#include "mf_armv7em.h"

/* Bytewise signed maximum of a and b. */
static inline uint32_t max_s8x4(uint32_t a, uint32_t b) {
    uint32_t d, r;
    __asm__("ssub8 %0, %2, %3\n\t"
            "sel   %1, %2, %3"
            : "=&r"(d), "=r"(r)
            : "r"(a), "r"(b)
            : "cc");
    (void)d;
    return r;
}

static void clip_window(int32_t start, int32_t len, int32_t size, int32_t *lo, int32_t *hi) {
    *lo = start < 0 ? 0 : start;
    *hi = start + len > size ? size : start + len;
}

/* TFLM AveragePool rounding: (sum +- n/2) / n, C division truncating toward zero. */
static inline int8_t avg_of(int32_t sum, int32_t n, const mf_pool_params *p) {
    const int32_t avg = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
    return mf_clamp_s8(avg, p->act_min, p->act_max);
}

/* One output pixel: the window [y0, y1) x [x0, x1) starting at `first`. */
static void avg_pixel(const mf_pool_params *p, const int8_t *first, int32_t rows, int32_t cols, size_t row_step,
                      int8_t *dst) {
    const size_t col_step = (size_t)p->channels;
    const int32_t n = rows * cols;
    int32_t c = 0;
    if (n <= 256) {
        for (; c + 4 <= p->channels; c += 4) {
            int32_t even = 0, odd = 0;
            for (int32_t y = 0; y < rows; ++y) {
                const int8_t *q = first + (size_t)y * row_step + (size_t)c;
                for (int32_t x = 0; x < cols; ++x) {
                    const uint32_t v = load_u32(q);
                    even = __sxtab16(even, v);
                    odd = sxtab16_ror8(odd, v);
                    q += col_step;
                }
            }
            dst[c] = avg_of((int16_t)even, n, p);
            dst[c + 1] = avg_of((int16_t)odd, n, p);
            dst[c + 2] = avg_of(even >> 16, n, p);
            dst[c + 3] = avg_of(odd >> 16, n, p);
        }
    }
    for (; c < p->channels; ++c) {
        int32_t sum = 0;
        for (int32_t y = 0; y < rows; ++y) {
            for (int32_t x = 0; x < cols; ++x) {
                sum += first[(size_t)y * row_step + (size_t)x * col_step + (size_t)c];
            }
        }
        dst[c] = avg_of(sum, n, p);
    }
}

static void max_pixel(const mf_pool_params *p, const int8_t *first, int32_t rows, int32_t cols, size_t row_step,
                      int8_t *dst) {
    const size_t col_step = (size_t)p->channels;
    int32_t c = 0;
    for (; c + 4 <= p->channels; c += 4) {
        uint32_t m = 0x80808080u; /* TFLM MaxPool starts from int8 lowest */
        for (int32_t y = 0; y < rows; ++y) {
            const int8_t *q = first + (size_t)y * row_step + (size_t)c;
            for (int32_t x = 0; x < cols; ++x) {
                m = max_s8x4(load_u32(q), m);
                q += col_step;
            }
        }
        for (int32_t i = 0; i < 4; ++i) {
            dst[c + i] = mf_clamp_s8((int8_t)(m >> (8 * i)), p->act_min, p->act_max);
        }
    }
    for (; c < p->channels; ++c) {
        int8_t m = -128;
        for (int32_t y = 0; y < rows; ++y) {
            for (int32_t x = 0; x < cols; ++x) {
                const int8_t v = first[(size_t)y * row_step + (size_t)x * col_step + (size_t)c];
                m = v > m ? v : m;
            }
        }
        dst[c] = mf_clamp_s8(m, p->act_min, p->act_max);
    }
}

typedef void (*pixel_fn)(const mf_pool_params *p, const int8_t *first, int32_t rows, int32_t cols, size_t row_step,
                         int8_t *dst);

static void pool(const mf_pool_params *p, const int8_t *in, int8_t *out, pixel_fn fn) {
    const size_t col_step = (size_t)p->channels;
    const size_t row_step = (size_t)p->in_w * col_step;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * (size_t)p->in_h * row_step;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            int32_t y0, y1;
            clip_window(oy * p->stride_h - p->pad_top, p->filter_h, p->in_h, &y0, &y1);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                int32_t x0, x1;
                clip_window(ox * p->stride_w - p->pad_left, p->filter_w, p->in_w, &x0, &x1);
                const size_t px = ((size_t)b * (size_t)p->out_h + (size_t)oy) * (size_t)p->out_w + (size_t)ox;
                fn(p, img + (size_t)y0 * row_step + (size_t)x0 * col_step, y1 - y0, x1 - x0, row_step,
                   out + px * col_step);
            }
        }
    }
}

void mf_avgpool_s8(const mf_pool_params *p, const int8_t *in, int8_t *out) { pool(p, in, out, avg_pixel); }

void mf_maxpool_s8(const mf_pool_params *p, const int8_t *in, int8_t *out) { pool(p, in, out, max_pixel); }
