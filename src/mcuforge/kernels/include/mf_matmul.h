/* mcuforge kernels: TRANSPOSE_CONV and BATCH_MATMUL, int8.
 *
 * Bit-exact with mcuforge/ref/matmul.py (TF-Lite Micro reference_integer_ops::
 * TransposeConv and reference_ops::BatchMatMul with int32 accumulators). Every
 * quantisation parameter and stride comes from the code generator
 * (mcuforge/codegen/ops_matmul.py), which takes them from the ref's prepare_*.
 * Sums are kept in uint32_t, which wraps modulo 2^32 exactly as the reference's
 * int32 arithmetic. */
#ifndef MF_MATMUL_H
#define MF_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

/* TRANSPOSE_CONV: every input pixel scatters into an int32 buffer of the output's size,
 *   acc[n][iy*stride_h - pad_top + fy][ix*stride_w - pad_left + fx][o]
 *       += (x[n][iy][ix][i] - input_zp) * w[o][fy][fx][i]
 * (positions outside the output dropped), then
 *   y = clamp(MultiplyByQuantizedMultiplier(acc + bias[o], m[o], shift[o]) + output_zp,
 *             act_min, act_max).
 * scratch: batches * out_h * out_w * out_c int32 (4-byte aligned), as TF-Lite Micro's.
 * Memory contract: all of the input is read (into scratch) before any output is
 * written, so the output may overlap the input anywhere; scratch overlaps neither. */
typedef struct {
    int32_t batches, in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w;
    int32_t pad_top, pad_left;     /* ComputePaddingHeightWidth on the output size */
    int32_t input_zp, output_zp;
    int32_t act_min, act_max;
    const int8_t *weights;         /* [out_c][k_h][k_w][in_c] */
    const int32_t *bias;           /* [out_c], or NULL */
    const int32_t *multipliers;    /* Q31, [out_c] */
    const int32_t *shifts;         /* > 0 left, < 0 right */
} mf_tconv_params;

void mf_transpose_conv_s8(const mf_tconv_params *p, const int8_t *in, int8_t *out, void *scratch);

/* BATCH_MATMUL: out[b][m][n] = clamp(MultiplyByQuantizedMultiplier(
 *     sum_k (lhs[b][m][k] + lhs_offset) * (rhs[b][k][n] + rhs_offset), multiplier, shift)
 *     + output_zp, -128, 127).
 * Element (m, k) of the left matrix of batch (b0, b1, b2) is
 *   lhs[b0 * lhs_batch_stride[0] + b1 * ... + m * lhs_row_stride + k * lhs_depth_stride],
 * and (k, n) of the right one rhs[... + k * rhs_depth_stride + n * rhs_col_stride]:
 * strides in elements, 0 along a broadcast batch dimension, so adj_x / adj_y and
 * broadcasting cost no copy. The output is written contiguously, [batch][rows][cols].
 * Memory contract: the output must not overlap either input. */
#define MF_MATMUL_BATCH_DIMS 3

typedef struct {
    int32_t batch[MF_MATMUL_BATCH_DIMS];             /* output batch dims, leading 1s */
    int32_t lhs_batch_stride[MF_MATMUL_BATCH_DIMS];
    int32_t rhs_batch_stride[MF_MATMUL_BATCH_DIMS];
    int32_t rows, depth, cols;                       /* M, K, N */
    int32_t lhs_row_stride, lhs_depth_stride;
    int32_t rhs_depth_stride, rhs_col_stride;
    int32_t lhs_offset, rhs_offset;                  /* -zero points */
    int32_t output_zp;
    int32_t multiplier, shift;
} mf_bmm_params;

void mf_batch_matmul_s8(const mf_bmm_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *out);
/* int16 (zero points 0): an int64 sum and mf_requant64, clamped to int16. */
void mf_batch_matmul_s16(const mf_bmm_params *p, const int16_t *lhs, const int16_t *rhs, int16_t *out);

#endif /* MF_MATMUL_H */
