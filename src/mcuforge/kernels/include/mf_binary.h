/* mcuforge kernels: the binary family on int8 and bool with NumPy broadcasting:
 * MAXIMUM, MINIMUM, EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL,
 * SELECT_V2, LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT, SQUARED_DIFFERENCE, PRELU,
 * ADD_N and DIV.
 *
 * Bit-exact with mcuforge/ref/binary.py and ref/binary_arith.py (TF-Lite Micro's
 * reference kernels). The code generator fills the structs from the ref's prepare_*
 * functions, and describes broadcasting as an output shape of MF_BIN_DIMS
 * dimensions (leading 1s; neighbouring dimensions merged where every input walks
 * them alike) with per-dimension element strides for each input, 0 on the
 * dimensions an input is broadcast along. bool tensors are uint8_t holding 0 or 1.
 *
 * Memory contract: elements are produced in increasing output index order, and
 * every input's element for output i is read before output i is written. So the
 * output may start at or below the start of an input that has the output's full
 * shape (not broadcast) and overlap it. A broadcast input is read again after
 * later outputs are written, so the output must never overlap it. */
#ifndef MF_BINARY_H
#define MF_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

#define MF_BIN_DIMS 8 /* BroadcastBinaryOpSimple's kMaxRank */

typedef struct {
    int32_t shape[MF_BIN_DIMS];   /* output shape, padded with leading 1s */
    int32_t stride1[MF_BIN_DIMS]; /* input 1 element strides, 0 where broadcast */
    int32_t stride2[MF_BIN_DIMS]; /* input 2 */
    int32_t stride3[MF_BIN_DIMS]; /* input 3 (SELECT_V2's y), zeros otherwise */
} mf_bin_shape;

/* ComparisonParams for int8: offsets are minus the input zero points. */
typedef struct {
    mf_bin_shape b;
    int32_t left_shift; /* 8 */
    int32_t input1_offset;
    int32_t input1_multiplier;
    int32_t input1_shift; /* <= 0 */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift; /* <= 0 */
} mf_compare_params;

/* SQUARED_DIFFERENCE's ArithmeticParams for int8. */
typedef struct {
    mf_bin_shape b;
    int32_t left_shift; /* 7 */
    int32_t input1_offset;
    int32_t input1_multiplier;
    int32_t input1_shift; /* <= 0 */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift; /* <= 0 */
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift; /* any sign */
} mf_sqdiff_params;

/* PreluParams for int8. */
typedef struct {
    mf_bin_shape b;
    int32_t input_offset;
    int32_t alpha_offset;
    int32_t output_offset;
    int32_t output_multiplier_1;
    int32_t output_shift_1;
    int32_t output_multiplier_2;
    int32_t output_shift_2;
} mf_prelu_params;

/* ADD_N for int8: every input has one shape, scale and zero point. */
typedef struct {
    int32_t size;  /* elements per input */
    int32_t count; /* number of inputs */
    int32_t left_shift; /* 20 */
    int32_t input_offset;
    int32_t input_multiplier;
    int32_t input_shift; /* <= 0 */
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift; /* <= 0 */
} mf_add_n_params;

/* DIV for int8 (OpDataDiv). */
typedef struct {
    mf_bin_shape b;
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift; /* <= 22 */
    int32_t act_min;
    int32_t act_max;
} mf_div_params;

void mf_maximum_s8(const mf_bin_shape *b, const int8_t *in1, const int8_t *in2, int8_t *out);
void mf_minimum_s8(const mf_bin_shape *b, const int8_t *in1, const int8_t *in2, int8_t *out);
void mf_maximum_s16(const mf_bin_shape *b, const int16_t *in1, const int16_t *in2, int16_t *out);
void mf_minimum_s16(const mf_bin_shape *b, const int16_t *in1, const int16_t *in2, int16_t *out);
void mf_equal_s8(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out);
void mf_not_equal_s8(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out);
void mf_greater_s8(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out);
void mf_greater_equal_s8(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out);
void mf_less_s8(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out);
void mf_less_equal_s8(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out);
void mf_select_v2_s8(const mf_bin_shape *b, const uint8_t *cond, const int8_t *x, const int8_t *y, int8_t *out);
void mf_logical_and(const mf_bin_shape *b, const uint8_t *in1, const uint8_t *in2, uint8_t *out);
void mf_logical_or(const mf_bin_shape *b, const uint8_t *in1, const uint8_t *in2, uint8_t *out);
void mf_logical_not(int32_t size, const uint8_t *in, uint8_t *out);
void mf_squared_difference_s8(const mf_sqdiff_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void mf_prelu_s8(const mf_prelu_params *p, const int8_t *in, const int8_t *alpha, int8_t *out);
void mf_add_n_s8(const mf_add_n_params *p, const int8_t *const *in, int8_t *out);
void mf_div_s8(const mf_div_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);

#endif /* MF_BINARY_H */
