/* mcuforge kernels: the unary family. ABS, NEG, RSQRT, ELU (a lookup table) on int8;
 * LOG_SOFTMAX and L2_NORMALIZATION per row of the last axis; ZEROS_LIKE, FILL and
 * CAST (int8 <-> int32 / float32).
 *
 * Bit-exact with mcuforge/ref/unary.py and ref/unary_rows.py (TF-Lite Micro's
 * reference kernels; NEG follows TensorFlow Lite's reference_integer_ops::Negate).
 * Needs mf_activation.h for gemmlowp's fixed-point exp and 1/(1+x) (the code
 * generator ships both families).
 *
 * Memory contract. Element-wise kernels (ABS, NEG, RSQRT, ELU, CAST int32 -> int8 and
 * float32 -> int8): elements in increasing index order, element i read before output
 * i is written, so the output may start at or below the start of the input and
 * overlap it. ZEROS_LIKE and FILL read no data input. LOG_SOFTMAX and
 * L2_NORMALIZATION read a whole row before writing any of it, and write output i of a
 * row after reading input i, row by row in order: the same overlap is allowed. CAST
 * to a wider type (int8 -> int32 / float32) must not overlap its input. */
#ifndef MF_UNARY_H
#define MF_UNARY_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

/* ABS (OpDataAbsRsqrt): y = zp_out + |x - zp_in|, requantised when the scales differ. */
typedef struct {
    int32_t size;
    int32_t input_offset;
    int32_t output_offset;
    int32_t needs_rescale; /* 0: the scales are equal, the multiplier is not used */
    int32_t multiplier;
    int32_t shift;
} mf_abs_params;

/* RSQRT (OpDataAbsRsqrt): y = zp_out + 1/sqrt(x - zp_in) times 1 / (sqrt(s_in) * s_out). */
typedef struct {
    int32_t size;
    int32_t input_offset;
    int32_t output_offset;
    int32_t multiplier;
    int32_t shift; /* of the multiplier; the kernel applies it minus 20 */
} mf_rsqrt_params;

/* NEG: y = clamp(zero_point_sum - x), equal input and output scales. */
typedef struct {
    int32_t size;
    int32_t zero_point_sum; /* zp_in + zp_out */
} mf_neg_params;

/* ELU: y = table[x + 128], the table computed by the code generator as TF-Lite
 * Micro's Prepare computes it (in float32). */
typedef struct {
    int32_t size;
    const int8_t *table; /* 256 entries */
} mf_lut_params;

/* LOG_SOFTMAX (LogSoftmaxOpData): output scale 16/256, zero point 127. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t input_multiplier; /* s_in * 2^26 as a Q31 multiplier ... */
    int32_t input_left_shift; /* ... and a left shift */
    int32_t reverse_scaling_divisor;
    int32_t reverse_scaling_right_shift; /* >= 0 */
    int32_t diff_min;                    /* x - max(row) below this contributes nothing */
} mf_log_softmax_params;

/* L2_NORMALIZATION: output scale 1/128, zero point 0. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t input_zero_point;
} mf_l2_norm_params;

/* ZEROS_LIKE, FILL and CAST: element counts. */
typedef struct {
    int32_t size;
} mf_size_params;

void mf_abs_s8(const mf_abs_params *p, const int8_t *in, int8_t *out);
void mf_rsqrt_s8(const mf_rsqrt_params *p, const int8_t *in, int8_t *out);
void mf_neg_s8(const mf_neg_params *p, const int8_t *in, int8_t *out);
void mf_lut_s8(const mf_lut_params *p, const int8_t *in, int8_t *out);
void mf_log_softmax_s8(const mf_log_softmax_params *p, const int8_t *in, int8_t *out);
void mf_l2_norm_s8(const mf_l2_norm_params *p, const int8_t *in, int8_t *out);
void mf_zeros_s8(const mf_size_params *p, int8_t *out);
/* FILL: every element is *value (raw; the quantisation is not read). */
void mf_fill_s8(const mf_size_params *p, const int8_t *value, int8_t *out);
void mf_cast_s8_s32(const mf_size_params *p, const int8_t *in, int32_t *out);
void mf_cast_s8_f32(const mf_size_params *p, const int8_t *in, float *out);
/* int32 -> int8 keeps the low 8 bits (two's complement). */
void mf_cast_s32_s8(const mf_size_params *p, const int32_t *in, int8_t *out);
/* float32 -> int8 truncates toward zero and saturates; NaN gives 0. */
void mf_cast_f32_s8(const mf_size_params *p, const float *in, int8_t *out);

#endif /* MF_UNARY_H */
