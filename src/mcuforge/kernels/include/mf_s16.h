/* mcuforge kernels: TFLite's 16x8 scheme, int16 activations (zero point 0 where
 * TF-Lite Micro requires it) with int8 weights. Portable C only.
 *
 * Bit-exact with mcuforge/ref/fc.py and ref/elementwise.py on int16 tensors
 * (TF-Lite Micro's reference_integer_ops::FullyConnected / FullyConnectedPerChannel
 * instantiated for int16, reference_ops::Add / Sub for int16 and
 * reference_integer_ops::MulElementwise for int16).
 *
 * FULLY_CONNECTED: acc = sum_d w[o][d] * x[b][d] (+ bias[o]). With acc64 = 0 (an int32
 * bias) the sum wraps modulo 2^32 and takes the int32 MultiplyByQuantizedMultiplier;
 * with acc64 = 1 (an int64 bias or none) it is an int64 and takes the int64 overload:
 * the multiplier rounded to Q15, one rounding shift by 15 - shift.
 *
 * CONV_2D / DEPTHWISE_CONV_2D (int16 ConvPerChannel / DepthwiseConvPerChannel): no input
 * or output offset; taps outside the image are skipped; the accumulator as above (the
 * depthwise one is always int64).
 *
 * LOGISTIC / TANH: reference_integer_ops::Logistic / Tanh for int16 (element-wise, in
 * increasing index order: the output may lie on the input).
 *
 * ADD / SUB / MUL take mf_elementwise.h's parameter structs (left_shift 15 for int16)
 * and broadcast description.
 *
 * Memory contract: FULLY_CONNECTED's, CONV_2D's and the pools' output must not overlap the input.
 * DEPTHWISE_CONV_2D with scratch (in_h * in_w int16 values) copies each input channel
 * plane there before writing that channel's outputs, so with depth multiplier 1 its
 * output may lie on its input (the in-place allowance); without scratch (NULL) it reads
 * the input directly and must not overlap it. ADD / SUB / MUL
 * follow mf_elementwise.h's contract (output at or below the start of a full-shape
 * input). */
#ifndef MF_S16_H
#define MF_S16_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"
#include "mf_elementwise.h"

typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t output_zp;
    int32_t act_min, act_max;
    int32_t per_channel;        /* 1: one multiplier/shift per unit; 0: one in all */
    int32_t acc64;              /* 1: int64 accumulator and requantisation (see above) */
    const int8_t *weights;      /* [output_depth][accum_depth] */
    const int64_t *bias;        /* [output_depth] (int32 values when acc64 = 0); NULL: none */
    const int32_t *multipliers; /* Q31 */
    const int32_t *shifts;      /* > 0 left, < 0 right */
} mf_fc_s16_params;

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t groups;             /* CONV_2D: in_c / filter input channels (1 for DEPTHWISE) */
    int32_t depth_multiplier;   /* DEPTHWISE_CONV_2D: out_c / in_c (1 for CONV_2D) */
    int32_t act_min, act_max;
    int32_t acc64;              /* 1: int64 accumulator and requantisation */
    const int8_t *weights;      /* CONV_2D [out_c][k_h][k_w][in_c / groups]; DEPTHWISE [k_h][k_w][out_c] */
    const int64_t *bias;        /* [out_c] (int32 values when acc64 = 0); NULL: none */
    const int32_t *multipliers; /* Q31, one per output channel */
    const int32_t *shifts;
} mf_conv_s16_params;

/* LOGISTIC / TANH on int16: x' = (x * input_multiplier + round) >> input_shift, then the
 * 256-entry sigmoid table (0.16 fixed point, emitted as const data) interpolated on |x'|. */
typedef struct {
    int32_t size;
    int32_t input_multiplier;
    int32_t input_shift;
    const int32_t *table; /* sigmoid(i / 24) in 0.16 fixed point, 256 entries */
} mf_sigmoid_s16_params;

void mf_logistic_s16(const mf_sigmoid_s16_params *p, const int16_t *in, int16_t *out);
void mf_tanh_s16(const mf_sigmoid_s16_params *p, const int16_t *in, int16_t *out);

/* AVERAGE_POOL_2D / MAX_POOL_2D on int16 (reference_integer_ops::AveragePool / MaxPool
 * for int16): windows clipped to the image; the average rounds halves away from zero. */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} mf_pool_s16_params;

void mf_avgpool_s16(const mf_pool_s16_params *p, const int16_t *in, int16_t *out);
void mf_maxpool_s16(const mf_pool_s16_params *p, const int16_t *in, int16_t *out);

/* SOFTMAX int16 -> int16 (reference_ops::SoftmaxInt16) with TF-Lite Micro's two
 * 513-entry tables (exp on [-10, 0], 1 / (1 + x) on [0, 1]), emitted as const data. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    const int32_t *exp_lut; /* 513 entries */
    const int32_t *inv_lut; /* 513 entries */
} mf_softmax_s16_params;

/* The output is used as scratch for the row's exponentials (as the reference does); it
 * must not overlap the input. */
void mf_softmax_s16(const mf_softmax_s16_params *p, const int16_t *in, int16_t *out);

void mf_conv_s16(const mf_conv_s16_params *p, const int16_t *in, int16_t *out);
void mf_depthwise_s16(const mf_conv_s16_params *p, const int16_t *in, int16_t *out, int16_t *scratch);
void mf_fc_s16(const mf_fc_s16_params *p, const int16_t *in, int16_t *out);
void mf_add_s16(const mf_add_params *p, const int16_t *in1, const int16_t *in2, int16_t *out);
void mf_sub_s16(const mf_add_params *p, const int16_t *in1, const int16_t *in2, int16_t *out);
void mf_mul_s16(const mf_mul_params *p, const int16_t *in1, const int16_t *in2, int16_t *out);

#endif /* MF_S16_H */
