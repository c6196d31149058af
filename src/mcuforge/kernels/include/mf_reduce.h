/* mcuforge kernels: MEAN and REDUCE_MAX on int8 over any set of axes.
 *
 * Bit-exact with mcuforge/ref/reduce.py (TF-Lite Micro's QuantizedMeanOrSum and
 * ReduceGeneric). The code generator splits the input's dimensions into kept
 * ("outer", in output order) and reduced ("inner") ones, merges neighbours
 * where it can, and pads both lists with leading 1s; strides are the input's
 * element strides along each. The 1/count factor of MEAN is already folded
 * into multiplier and shift (QuantizedMeanOrSum's int64 division).
 *
 * Memory contract: the output must not overlap the input. */
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

void mf_mean_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out);
void mf_reduce_max_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out);

#endif /* MF_REDUCE_H */
