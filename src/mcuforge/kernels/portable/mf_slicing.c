/* The slicing family's kernels (see mf_slicing.h). */
#include "mf_slicing.h"

#include <string.h>

void mf_split(const mf_split_params *p, const void *in, void *const *outputs) {
    const uint8_t *src = (const uint8_t *)in;
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->num_outputs; ++k) {
            const size_t n = (size_t)p->out_bytes[k];
            memcpy((uint8_t *)outputs[k] + (size_t)o * n, src, n);
            src += n;
        }
    }
}

/* Tiles dimensions d.. of the input block at `in` into `out` (as TFLite's
 * TileOneDimension): each row of dimension d is tiled first, then the tiled rows are
 * copied multiples[d] - 1 more times. Sets *in_bytes to the bytes of the input block
 * read and returns the bytes written. Recursion depth is at most MF_SLICING_DIMS. */
static size_t tile_dim(const mf_tile_params *p, int d, const uint8_t *in, uint8_t *out, size_t *in_bytes) {
    const size_t n = (size_t)p->in_shape[d];
    const size_t m = (size_t)p->multiples[d];
    size_t read = 0;
    size_t written = 0;
    if (d == MF_SLICING_DIMS - 1) {
        read = written = n * (size_t)p->elem_size;
        memcpy(out, in, read);
    } else {
        for (size_t i = 0; i < n; ++i) {
            size_t used = 0;
            written += tile_dim(p, d + 1, in + read, out + written, &used);
            read += used;
        }
    }
    for (size_t k = 1; k < m; ++k) {
        memcpy(out + k * written, out, written);
    }
    *in_bytes = read;
    return written * m;
}

void mf_tile(const mf_tile_params *p, const void *in, void *out) {
    size_t used = 0;
    (void)tile_dim(p, 0, (const uint8_t *)in, (uint8_t *)out, &used);
}
