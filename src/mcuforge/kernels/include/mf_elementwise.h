/* mcuforge kernels: ADD, SUB and MUL on int8 with NumPy broadcasting.
 *
 * Bit-exact with mcuforge/ref/elementwise.py (TF-Lite Micro's AddFunc,
 * SubElementwise and MulElementwise). The code generator fills the structs from
 * the ref's prepare_add_sub / prepare_mul, and describes broadcasting as an
 * output shape of MF_EW_DIMS dimensions (leading 1s) with per-dimension element
 * strides for each input, 0 on the dimensions an input is broadcast along.
 *
 * Memory contract: elements are produced in increasing output index order, and
 * both inputs' elements for output i are read before output i is written. So the
 * output may start at or below the start of an input that has the output's full
 * shape (not broadcast) and overlap it. A broadcast input is read again after
 * later outputs are written, so the output must never overlap it. */
#ifndef MF_ELEMENTWISE_H
#define MF_ELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

#define MF_EW_DIMS 6 /* BroadcastBinaryOpSimple's limit, as the ref */

typedef struct {
    int32_t shape[MF_EW_DIMS];   /* output shape, padded with leading 1s */
    int32_t stride1[MF_EW_DIMS]; /* input 1 element strides, 0 where broadcast */
    int32_t stride2[MF_EW_DIMS]; /* input 2 element strides, 0 where broadcast */
} mf_broadcast;

/* OpDataAdd / OpDataSub for int8: offsets are minus the input zero points. */
typedef struct {
    mf_broadcast b;
    int32_t left_shift; /* 20 */
    int32_t input1_offset;
    int32_t input1_multiplier;
    int32_t input1_shift; /* <= 0 */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift; /* <= 0 */
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift; /* <= 0 */
    int32_t act_min;
    int32_t act_max;
} mf_add_params;

/* OpDataMul for int8. */
typedef struct {
    mf_broadcast b;
    int32_t input1_zero_point;
    int32_t input2_zero_point;
    int32_t output_zero_point;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} mf_mul_params;

void mf_add_s8(const mf_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void mf_sub_s8(const mf_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void mf_mul_s8(const mf_mul_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);

/* Helpers shared by the portable and ARMv7E-M kernels of this family. */
/* Number of rows: the product of every dimension but the innermost. */
static inline int32_t ew_rows(const mf_broadcast *b) {
    int32_t rows = 1;
    for (int d = 0; d < MF_EW_DIMS - 1; ++d) {
        rows *= b->shape[d];
    }
    return rows;
}

/* Element offsets of row `row`'s first element in each input. */
static inline void ew_row_offsets(const mf_broadcast *b, int32_t row, int32_t *off1, int32_t *off2) {
    int32_t o1 = 0;
    int32_t o2 = 0;
    for (int d = MF_EW_DIMS - 2; d >= 0; --d) {
        const int32_t i = row % b->shape[d];
        row /= b->shape[d];
        o1 += i * b->stride1[d];
        o2 += i * b->stride2[d];
    }
    *off1 = o1;
    *off2 = o2;
}

/* The output clamp; the sum is in 64 bits, as the ref adds the zero point without wrapping. */
static inline int8_t ew_out(int32_t v, int32_t offset, int32_t lo, int32_t hi) {
    const int64_t y = (int64_t)v + offset;
    return (int8_t)(y < lo ? lo : (y > hi ? hi : y));
}

#endif /* MF_ELEMENTWISE_H */
