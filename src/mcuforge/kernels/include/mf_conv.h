/* mcuforge kernels: CONV_2D, int8 activations, int8 per-channel weights.
 *
 * Bit-exact with mcuforge/ref/conv.py (TF-Lite Micro reference_integer_ops::
 * ConvPerChannel). Per output element:
 *
 *   acc = sum over taps inside the image of w * (x - input_zp) + bias[c]   (int32, wraps)
 *   y   = clamp(MultiplyByQuantizedMultiplier(acc, m[c], shift[c]) + output_zp,
 *               act_min, act_max)
 *
 * The emitter folds the input zero point into the bias at compile time:
 *   acc_init[c] = bias[c] - input_zp * sum(weights of channel c)        (mod 2^32)
 * so the kernels accumulate sum(w * x) on the raw int8 input and start from
 * acc_init[c]. Padded taps read the value input_zp, whose w * input_zp term
 * cancels its share of the fold, so padding still contributes exactly 0. Every
 * sum is done modulo 2^32, so the result equals the reference's int32 wrap.
 */
#ifndef MF_CONV_H
#define MF_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;   /* padding before; after is implied by out_h/out_w */
    int32_t groups;              /* in_c / filter input channels; out_c % groups == 0 */
    int32_t input_zp;            /* value of a padded tap */
    int32_t output_zp;
    int32_t act_min, act_max;
    const int8_t *weights;       /* OHWI: [out_c][k_h][k_w][in_c / groups] */
    const int32_t *acc_init;     /* [out_c], see above; NULL means all 0 */
    const int32_t *multipliers;  /* [out_c], Q31 */
    const int32_t *shifts;       /* [out_c], > 0 left, < 0 right */
    int32_t small_acc;           /* 1: |acc| < 2^30 for every input (the emitter checked
                                    |acc_init| + 128 * sum|w|): optimised kernels may double it */
} mf_conv_params;

/* Any CONV_2D. scratch: codegen/ops_conv.py conv_scratch_bytes (at least one
 * im2col patch, k_h * k_w * (in_c / groups) bytes). Output pixels are produced in
 * increasing order, in groups of at most 4 consecutive pixels whose windows are all
 * gathered before any output of the group is written (the portable kernel: groups
 * of 1); windows of later groups are read after. */
void mf_conv2d_s8(const mf_conv_params *p, const int8_t *in, int8_t *out, void *scratch);

/* Pointwise CONV_2D: 1x1 kernel, stride 1, no padding (out_h == in_h,
 * out_w == in_w), any groups. scratch: conv_scratch_bytes (at least in_c bytes).
 * Memory contract: pixels are processed in increasing order, in groups of at most 4
 * consecutive pixels (the portable kernel: 1), and all input bytes of a group's
 * pixels are copied to scratch before any output byte of the group is written, so
 * the output may overlap the input when it starts at least
 * max(0, P * (out_c - in_c)) bytes below the input's start (P = batches * h * w). */
void mf_conv2d_1x1_s8(const mf_conv_params *p, const int8_t *in, int8_t *out, void *scratch);

#endif /* MF_CONV_H */
