/* mcuforge kernels: RESIZE_BILINEAR on int8 NHWC.
 *
 * Bit-exact with mcuforge/ref/resize.py (TF-Lite Micro's ResizeBilinearInteger).
 * The code generator computes TF-Lite Micro's fixed-point positions for every
 * output row and column (units of 1/1024 pixel) and stores, per row,
 * {offset of input row y0, offset of input row y1, f} with f the weight of y1 out
 * of 1024 (y0 weighs 1024 - f; f < 0 only where y0 == y1), offsets in elements of
 * the input image; per column alike, offsets of columns x0, x1. Every sum of the
 * four products stays below 2^31 in magnitude, so int32 arithmetic is exact.
 *
 * Memory contract: the output must not overlap the input. */
#ifndef MF_RESIZE_H
#define MF_RESIZE_H

#include <stdint.h>

#include "mf_common.h"

typedef struct {
    int32_t batch;
    int32_t in_image; /* elements of one input image (in_h * in_w * depth) */
    int32_t depth;
    int32_t out_h;
    int32_t out_w;
    const int32_t *rows; /* 3 * out_h: y0 offset, y1 offset, f */
    const int32_t *cols; /* 3 * out_w: x0 offset, x1 offset, f */
} mf_resize_bilinear_params;

void mf_resize_bilinear_s8(const mf_resize_bilinear_params *p, const int8_t *in, int8_t *out);

#endif /* MF_RESIZE_H */
