/* mcuforge kernels: MEAN, SUM, REDUCE_MAX and REDUCE_MIN on int8 over any set of
 * axes; ARG_MAX / ARG_MIN and CUMSUM along one axis.
 *
 * Bit-exact with mcuforge/ref/reduce.py and ref/reduce_index.py (TF-Lite Micro's
 * QuantizedMeanOrSum, ReduceGeneric, ArgMinMax and CumSum). SUM runs mf_mean_s8
 * with the multiplier of s_in / s_out as it is. The code generator splits the input's dimensions into kept
 * ("outer", in output order) and reduced ("inner") ones, merges neighbours
 * where it can, and pads both lists with leading 1s; strides are the input's
 * element strides along each. The 1/count factor of MEAN is already folded
 * into multiplier and shift (QuantizedMeanOrSum's int64 division).
 *
 * Memory contract: the output must not overlap the input (every kernel here). */
#ifndef MF_REDUCE_H
#define MF_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

#define MF_REDUCE_DIMS 5 /* kMaxNumberOfAxis */

typedef struct {
    int32_t outer_shape[MF_REDUCE_DIMS];  /* kept dimensions: the output, row-major */
    int32_t outer_stride[MF_REDUCE_DIMS]; /* their input element strides */
    int32_t inner_shape[MF_REDUCE_DIMS];  /* reduced dimensions */
    int32_t inner_stride[MF_REDUCE_DIMS];
    int32_t num_elements; /* elements reduced into each output */
    int32_t input_zero_point;  /* MEAN only */
    int32_t output_zero_point; /* MEAN only */
    int32_t multiplier;        /* MEAN only: s_in / s_out / num_elements */
    int32_t shift;             /* MEAN only */
} mf_reduce_params;

void mf_mean_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out); /* MEAN and SUM */
/* MEAN / SUM on int16 (QuantizedMeanOrSum<int16_t>): the same, clamped to int16. */
void mf_mean_s16(const mf_reduce_params *p, const int16_t *in, int16_t *out);
void mf_reduce_max_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out);
void mf_reduce_min_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out);

/* The input as [outer][axis_size][inner] around the one axis. */
typedef struct {
    int32_t outer;
    int32_t axis_size; /* at least 1 */
    int32_t inner;
} mf_arg_params;

/* Index of the first largest / smallest value along the axis (ties: the lower index). */
void mf_arg_max_s8_s32(const mf_arg_params *p, const int8_t *in, int32_t *out);
void mf_arg_max_s8_s64(const mf_arg_params *p, const int8_t *in, int64_t *out);
void mf_arg_min_s8_s32(const mf_arg_params *p, const int8_t *in, int32_t *out);
void mf_arg_min_s8_s64(const mf_arg_params *p, const int8_t *in, int64_t *out);

typedef struct {
    int32_t outer;
    int32_t axis_size;
    int32_t inner;
    int32_t exclusive; /* output k holds the sum of the values before k */
    int32_t reverse;   /* sum from the end of the axis */
    int32_t input_offset;      /* -zp_in */
    int32_t input_multiplier;  /* 1/2 as Q31 with input_shift <= 0 */
    int32_t input_shift;
    int32_t output_multiplier; /* 2 s_in / (2^20 s_out), output_shift <= 0 */
    int32_t output_shift;
    int32_t output_offset;     /* zp_out */
} mf_cumsum_params;

/* CUMSUM: ((x - zp_in) << 20) rescaled, summed in int32 from 0 (the code generator
 * refuses axes long enough to overflow), rescaled to the output, clamped. */
void mf_cumsum_s8(const mf_cumsum_params *p, const int8_t *in, int8_t *out);

#endif /* MF_REDUCE_H */
