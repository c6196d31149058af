/* Spatial-family kernels (see mf_spatial.h). */
#include "mf_spatial.h"

#include <string.h>

void mf_table_copy(const mf_table_copy_params *p, const void *in, void *out) {
    const uint8_t *src = (const uint8_t *)in;
    uint8_t *dst = (uint8_t *)out;
    const int32_t *t[MF_SPATIAL_DIMS];
    const int32_t *next = p->offsets;
    for (int d = 0; d < MF_SPATIAL_DIMS; ++d) {
        t[d] = next;
        next += p->shape[d];
    }
    const size_t run = (size_t)p->run_bytes;
    for (int32_t i0 = 0; i0 < p->shape[0]; ++i0) {
        for (int32_t i1 = 0; i1 < p->shape[1]; ++i1) {
            const int32_t o1 = t[0][i0] + t[1][i1];
            for (int32_t i2 = 0; i2 < p->shape[2]; ++i2) {
                const int32_t o2 = o1 + t[2][i2];
                for (int32_t i3 = 0; i3 < p->shape[3]; ++i3) {
                    const int32_t o3 = o2 + t[3][i3];
                    for (int32_t i4 = 0; i4 < p->shape[4]; ++i4) {
                        const int32_t o4 = o3 + t[4][i4];
                        for (int32_t i5 = 0; i5 < p->shape[5]; ++i5) {
                            memcpy(dst, src + o4 + t[5][i5], run);
                            dst += run;
                        }
                    }
                }
            }
        }
    }
}

/* One index of `index_bytes` (4: int32, 8: int64), as int64. */
static int64_t index_at(const uint8_t *indices, int32_t i, int32_t index_bytes) {
    if (index_bytes == 8) {
        int64_t v;
        memcpy(&v, indices + (size_t)i * 8u, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, indices + (size_t)i * 4u, 4);
    return v;
}

void mf_gather(const mf_gather_params *p, const void *in, const void *indices, void *out) {
    const uint8_t *src = (const uint8_t *)in;
    const uint8_t *idx = (const uint8_t *)indices;
    uint8_t *dst = (uint8_t *)out;
    const size_t inner = (size_t)p->inner_bytes;
    for (int32_t b = 0; b < p->batch; ++b) {
        for (int32_t o = 0; o < p->outer; ++o) {
            const uint8_t *base = src + ((size_t)b * (size_t)p->outer + (size_t)o) * (size_t)p->axis_size * inner;
            for (int32_t k = 0; k < p->coords; ++k) {
                const int64_t i = index_at(idx, b * p->coords + k, p->index_bytes);
                if (i >= 0 && i < p->axis_size) {
                    memcpy(dst, base + (size_t)i * inner, inner);
                } else {
                    memset(dst, 0, inner);
                }
                dst += inner;
            }
        }
    }
}

void mf_gather_nd(const mf_gather_nd_params *p, const void *in, const void *indices, void *out) {
    const uint8_t *src = (const uint8_t *)in;
    const uint8_t *idx = (const uint8_t *)indices;
    uint8_t *dst = (uint8_t *)out;
    const size_t slice = (size_t)p->slice_bytes;
    for (int32_t s = 0; s < p->slices; ++s) {
        int64_t off = 0;
        int inside = 1;
        for (int32_t k = 0; k < p->depth; ++k) {
            const int64_t i = index_at(idx, s * p->depth + k, p->index_bytes);
            inside &= i >= 0 && i < p->dims[k];
            off += i * p->strides[k];
        }
        if (inside) {
            memcpy(dst, src + off, slice);
        } else {
            memset(dst, 0, slice);
        }
        dst += slice;
    }
}

/* `count` bytes of elements equal to `fill` (elem_size 1 or 4). */
static void fill_pixel(uint8_t *dst, int32_t count, int32_t elem_size, int32_t fill) {
    if (elem_size == 1 || fill == 0) {
        memset(dst, elem_size == 1 ? (int)(uint8_t)(int8_t)fill : 0, (size_t)count);
        return;
    }
    for (int32_t i = 0; i + 4 <= count; i += 4) {
        memcpy(dst + i, &fill, 4);
    }
}

/* LiteRT's reference SpaceToBatchND: one output pixel at a time, copied or filled. */
void mf_space_to_batch(const mf_space_to_batch_params *p, const void *in, void *out) {
    const uint8_t *src = (const uint8_t *)in;
    uint8_t *dst = (uint8_t *)out;
    const size_t depth = (size_t)p->depth_bytes;
    const int32_t out_batch = p->batch * p->block_h * p->block_w;
    for (int32_t ob = 0; ob < out_batch; ++ob) {
        const int32_t n = ob % p->batch;
        const int32_t shift_w = (ob / p->batch) % p->block_w;
        const int32_t shift_h = (ob / p->batch) / p->block_w;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int32_t iy = y * p->block_h + shift_h - p->pad_top;
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t ix = x * p->block_w + shift_w - p->pad_left;
                if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                    fill_pixel(dst, p->depth_bytes, p->elem_size, p->fill);
                } else {
                    const size_t pixel = ((size_t)n * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w + (size_t)ix;
                    memcpy(dst, src + pixel * depth, depth);
                }
                dst += depth;
            }
        }
    }
}
