/* mcuforge kernels: FULLY_CONNECTED, int8 activations, int8 weights.
 *
 * Bit-exact with mcuforge/ref/fc.py (TF-Lite Micro reference_integer_ops::
 * FullyConnected and FullyConnectedPerChannel): the input is a (batches,
 * accum_depth) matrix and, per batch b and output unit o,
 *
 *   acc = sum_d (w[o][d] + filter_offset) * (x[b][d] + input_offset) + bias[o]  (int32, wraps)
 *   y   = clamp(MultiplyByQuantizedMultiplier(acc, m, shift) + output_zp, act_min, act_max)
 *
 * Expanding the product, the emitter folds every input-independent term into
 *   acc_init[o] = bias[o] + input_offset * sum_d w[o][d]
 *                 + accum_depth * filter_offset * input_offset          (mod 2^32)
 * and the kernel adds sum_d w * x + filter_offset * sum_d x[b][d], all modulo
 * 2^32, which equals the reference's wrapped int32 sum exactly.
 */
#ifndef MF_FC_H
#define MF_FC_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t filter_offset;       /* -filter zero point (per-tensor weights); 0 per channel */
    int32_t output_zp;
    int32_t act_min, act_max;
    int32_t per_channel;         /* 1: one multiplier/shift per unit; 0: one in all */
    const int8_t *weights;       /* [output_depth][accum_depth] */
    const int32_t *acc_init;     /* [output_depth], see above; NULL means all 0 */
    const int32_t *multipliers;  /* Q31 */
    const int32_t *shifts;       /* > 0 left, < 0 right */
    int32_t small_acc;           /* 1: |acc| < 2^30 for every input (emitter-checked):
                                    optimised kernels may double it */
    int32_t weights_paired;      /* 1: in each row, byte 2i+1 holds w[2i+1] - (w[2i] < 0), so
                                    bytes (2i, 2i+1) read as the int16 w[2i] + 256 * w[2i+1];
                                    mf_fc_weight() gives the true weight either way */
    const int32_t *pair_init;    /* paired: acc_init + 127 * sum of the row's odd weights (the
                                    armv7em kernel's start, codegen/ops_conv.py); else NULL */
} mf_fc_params;

/* Weight d of row o, undoing the pair adjustment. */
static inline int32_t mf_fc_weight(const mf_fc_params *p, int32_t o, int32_t d) {
    const int8_t *row = p->weights + (size_t)o * (size_t)p->accum_depth;
    const int32_t w = row[d];
    return (p->weights_paired && (d & 1)) ? w + (row[d - 1] < 0 ? 1 : 0) : w;
}

/* scratch: codegen/ops_conv.py fc_scratch_bytes (the portable kernel uses none; the
 * armv7em one holds one batch row as int16). The output must not overlap the input. */
void mf_fc_s8(const mf_fc_params *p, const int8_t *in, int8_t *out, void *scratch);

#endif /* MF_FC_H */
