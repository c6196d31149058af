/* mcuforge kernels: SOFTMAX int8 -> int8 over the last axis (rows x depth).
 *
 * Bit-exact with mcuforge/ref/softmax.py (TF-Lite Micro's reference_ops::Softmax
 * for int8). The output quantisation is fixed: scale 1/256, zero point -128.
 * Needs mf_activation.h for gemmlowp's exp (the code generator ships both).
 *
 * Memory contract: element-wise, like the activations. Rows go in increasing
 * order; a row is read whole (its maximum, its sum of exponentials) before any
 * of its outputs is written, and its last pass reads element i before writing
 * output i. So the output may start at or below the start of the input and
 * overlap it: every write lands on input already consumed. */
#ifndef MF_SOFTMAX_H
#define MF_SOFTMAX_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

/* SoftmaxParams for int8 input and output. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t input_multiplier; /* beta * s_in * 2^26 as a Q31 multiplier ... */
    int32_t input_left_shift; /* ... and a left shift (QuantizeMultiplierGreaterThanOne) */
    int32_t diff_min;         /* x - max(row) below this contributes nothing */
} mf_softmax_params;

void mf_softmax_s8(const mf_softmax_params *p, const int8_t *in, int8_t *out);
/* int8 in, int16 out (zero point -32768, scale 1/65536): the same, rounded to 16 bits. */
void mf_softmax_s8_s16(const mf_softmax_params *p, const int8_t *in, int16_t *out);

#endif /* MF_SOFTMAX_H */
