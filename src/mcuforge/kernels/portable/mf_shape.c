/* Data-movement kernels (see mf_shape.h). */
#include "mf_shape.h"

#include <string.h>

void mf_copy(const mf_copy_params *p, const void *in, void *out) {
    memmove(out, in, (size_t)p->bytes);
}

/* Rows are every output dimension but the innermost, walked in row-major order. */
static int32_t rows_of(const int32_t *shape) {
    int32_t rows = 1;
    for (int d = 0; d < MF_SHAPE_DIMS - 1; ++d) {
        rows *= shape[d];
    }
    return rows;
}

void mf_strided_copy(const mf_strided_copy_params *p, const void *in, void *out) {
    const uint8_t *src = (const uint8_t *)in;
    uint8_t *dst = (uint8_t *)out;
    const int32_t es = p->elem_size;
    const int32_t n = p->shape[MF_SHAPE_DIMS - 1];
    const int32_t step = p->stride[MF_SHAPE_DIMS - 1];
    const int32_t rows = rows_of(p->shape);
    for (int32_t r = 0; r < rows; ++r) {
        int32_t off = p->offset;
        int32_t rest = r;
        for (int d = MF_SHAPE_DIMS - 2; d >= 0; --d) {
            off += (rest % p->shape[d]) * p->stride[d];
            rest /= p->shape[d];
        }
        if (step == es) { /* contiguous innermost run */
            memcpy(dst, src + off, (size_t)n * (size_t)es);
            dst += (size_t)n * (size_t)es;
        } else if (es == 1) {
            for (int32_t j = 0; j < n; ++j) {
                *dst++ = src[off + j * step];
            }
        } else {
            for (int32_t j = 0; j < n; ++j) {
                memcpy(dst, src + off + j * step, (size_t)es);
                dst += es;
            }
        }
    }
}

/* `count` elements of the fill pattern. */
static uint8_t *fill_run(uint8_t *dst, const uint8_t *pattern, int32_t es, int32_t count) {
    if (es == 1) {
        memset(dst, pattern[0], (size_t)count);
        return dst + count;
    }
    for (int32_t i = 0; i < count; ++i) {
        memcpy(dst, pattern, (size_t)es);
        dst += es;
    }
    return dst;
}

/* TF-Lite Micro's reference Pad, one output row (innermost dimension) at a time. */
void mf_pad(const mf_pad_params *p, const void *in, void *out) {
    uint8_t pattern[4];
    const int8_t f8 = (int8_t)p->fill;
    const int16_t f16 = (int16_t)p->fill;
    const int32_t f32 = p->fill;
    const int32_t es = p->elem_size;
    memcpy(pattern, es == 1 ? (const void *)&f8 : es == 2 ? (const void *)&f16 : (const void *)&f32, (size_t)es);

    int32_t out_shape[MF_SHAPE_DIMS];
    int32_t in_stride[MF_SHAPE_DIMS]; /* input byte stride of each dimension */
    int32_t stride = es;
    for (int d = MF_SHAPE_DIMS - 1; d >= 0; --d) {
        out_shape[d] = p->before[d] + p->in_shape[d] + p->after[d];
        in_stride[d] = stride;
        stride *= p->in_shape[d];
    }
    const int last = MF_SHAPE_DIMS - 1;
    const int32_t row_elems = out_shape[last];
    const int32_t rows = rows_of(out_shape);
    const uint8_t *src = (const uint8_t *)in;
    uint8_t *dst = (uint8_t *)out;
    for (int32_t r = 0; r < rows; ++r) {
        int32_t off = 0;
        int inside = 1;
        int32_t rest = r;
        for (int d = last - 1; d >= 0; --d) {
            const int32_t i = rest % out_shape[d] - p->before[d];
            rest /= out_shape[d];
            inside = inside && i >= 0 && i < p->in_shape[d];
            off += i * in_stride[d];
        }
        if (!inside) {
            dst = fill_run(dst, pattern, es, row_elems);
            continue;
        }
        dst = fill_run(dst, pattern, es, p->before[last]);
        memcpy(dst, src + off, (size_t)p->in_shape[last] * (size_t)es);
        dst += (size_t)p->in_shape[last] * (size_t)es;
        dst = fill_run(dst, pattern, es, p->after[last]);
    }
}

void mf_concat(const mf_concat_params *p, const void *const *inputs, void *out) {
    uint8_t *dst = (uint8_t *)out;
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->num_inputs; ++k) {
            const size_t n = (size_t)p->in_bytes[k];
            memcpy(dst, (const uint8_t *)inputs[k] + (size_t)o * n, n);
            dst += n;
        }
    }
}

void mf_resize_nearest(const mf_resize_nearest_params *p, const void *in, void *out) {
    const uint8_t *src = (const uint8_t *)in;
    uint8_t *dst = (uint8_t *)out;
    const size_t pixel = (size_t)p->depth * (size_t)p->elem_size;
    for (int32_t b = 0; b < p->batch; ++b) {
        for (int32_t y = 0; y < p->out_h; ++y) {
            const uint8_t *row = src + ((size_t)b * (size_t)p->in_h + (size_t)p->rows[y]) * (size_t)p->in_w * pixel;
            for (int32_t x = 0; x < p->out_w; ++x) {
                memcpy(dst, row + (size_t)p->cols[x] * pixel, pixel);
                dst += pixel;
            }
        }
    }
}
