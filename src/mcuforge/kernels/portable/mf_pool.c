/* mcuforge kernels: AVERAGE_POOL_2D and MAX_POOL_2D (portable C99). See mf_pool.h. */
#include "mf_pool.h"

/* The in-image part [*lo, *hi) of a window starting at `start` of length `len`. */
static void clip_window(int32_t start, int32_t len, int32_t size, int32_t *lo, int32_t *hi) {
    *lo = start < 0 ? 0 : start;
    *hi = start + len > size ? size : start + len;
}

typedef int8_t (*pool_fn)(const int8_t *first, int32_t rows, int32_t cols, size_t row_step, size_t col_step);

/* Window sum over rows x cols in-image values; |sum| <= 128 * rows * cols. */
static int8_t avg_window(const int8_t *first, int32_t rows, int32_t cols, size_t row_step, size_t col_step) {
    int32_t sum = 0;
    for (int32_t y = 0; y < rows; ++y) {
        for (int32_t x = 0; x < cols; ++x) {
            sum += first[(size_t)y * row_step + (size_t)x * col_step];
        }
    }
    const int32_t n = rows * cols;
    /* TFLM AveragePool: (sum +- n/2) / n, C division truncating toward zero. */
    const int32_t avg = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
    /* A rounded mean of int8 values is itself in [-128, 127]. */
    return (int8_t)avg;
}

static int8_t max_window(const int8_t *first, int32_t rows, int32_t cols, size_t row_step, size_t col_step) {
    int8_t m = -128;  /* TFLM MaxPool starts from int8 lowest */
    for (int32_t y = 0; y < rows; ++y) {
        for (int32_t x = 0; x < cols; ++x) {
            const int8_t v = first[(size_t)y * row_step + (size_t)x * col_step];
            m = v > m ? v : m;
        }
    }
    return m;
}

static void pool(const mf_pool_params *p, const int8_t *in, int8_t *out, pool_fn fn) {
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
                const int8_t *first = img + (size_t)y0 * row_step + (size_t)x0 * col_step;
                const size_t px = ((size_t)b * (size_t)p->out_h + (size_t)oy) * (size_t)p->out_w + (size_t)ox;
                int8_t *dst = out + px * col_step;
                for (int32_t c = 0; c < p->channels; ++c) {
                    const int8_t v = fn(first + c, y1 - y0, x1 - x0, row_step, col_step);
                    dst[c] = mf_clamp_s8(v, p->act_min, p->act_max);
                }
            }
        }
    }
}

void mf_avgpool_s8(const mf_pool_params *p, const int8_t *in, int8_t *out) { pool(p, in, out, avg_window); }

void mf_maxpool_s8(const mf_pool_params *p, const int8_t *in, int8_t *out) { pool(p, in, out, max_window); }
