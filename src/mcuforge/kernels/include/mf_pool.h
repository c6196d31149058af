/* mcuforge kernels: AVERAGE_POOL_2D and MAX_POOL_2D, int8.
 *
 * Bit-exact with mcuforge/ref/pool.py (TF-Lite Micro reference_integer_ops::
 * AveragePool / MaxPool). Pooling does not requantise (input and output share
 * scale and zero point). The window is clipped to the image: padded positions
 * count neither in a sum nor in a divisor, nor in a maximum.
 */
#ifndef MF_POOL_H
#define MF_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;  /* padding before; after is implied by out_h/out_w */
    int32_t act_min, act_max;
} mf_pool_params;

/* Average: int32 window sum divided by the in-image count, halves rounded away
 * from zero ((sum + n/2) / n for sum > 0, else (sum - n/2) / n, C division).
 * Every window must hold at least one in-image position (the emitter checks).
 * Max: largest in-image value, starting from -128. Both then clamp to
 * [act_min, act_max]. No scratch; the output must not overlap the input. */
void mf_avgpool_s8(const mf_pool_params *p, const int8_t *in, int8_t *out);
void mf_maxpool_s8(const mf_pool_params *p, const int8_t *in, int8_t *out);

#endif /* MF_POOL_H */
