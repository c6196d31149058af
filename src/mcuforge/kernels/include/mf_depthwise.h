/* mcuforge kernels: DEPTHWISE_CONV_2D, int8 activations, int8 per-channel weights.
 *
 * Bit-exact with mcuforge/ref/conv.py (TF-Lite Micro reference_integer_ops::
 * DepthwiseConvPerChannel). Output channel oc = ic * depth_multiplier + m reads
 * input channel ic:
 *
 *   acc = sum over taps inside the image of w[ky][kx][oc] * (x - input_zp) + bias[oc]
 *   y   = clamp(MultiplyByQuantizedMultiplier(acc, m[oc], shift[oc]) + output_zp,
 *               act_min, act_max)
 *
 * with the int32 accumulator wrapping modulo 2^32 as the reference's does.
 */
#ifndef MF_DEPTHWISE_H
#define MF_DEPTHWISE_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;  /* out_c = in_c * depth_multiplier */
    int32_t depth_multiplier;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;    /* padding before; after is implied by out_h/out_w */
    int32_t input_zp;
    int32_t output_zp;
    int32_t act_min, act_max;
    const int8_t *weights;        /* [out_c][k_h][k_w]: each output channel's filter
                                     contiguous (the code generator reorders TFLite's
                                     [1][k_h][k_w][out_c]) */
    const int32_t *bias;          /* [out_c]; NULL means no bias */
    const int32_t *multipliers;   /* [out_c], Q31 */
    const int32_t *shifts;        /* [out_c], > 0 left, < 0 right */
    int32_t small_acc;            /* 1: |acc| < 2^30 for every input, whether the sum starts
                                     from bias (taps x - input_zp) or from bias - input_zp *
                                     sum(w) (raw taps): optimised kernels may double it */
    int32_t planes;               /* 1, or 4 for the wide variant: the scratch of the plane
                                     kernels holds that many channel planes (see
                                     MF_DW_SCRATCH), and optimised kernels may gather four
                                     channels per pass */
} mf_depthwise_params;

/* Rows and columns of the zero-point-padded plane that mf_depthwise_plane_s8
 * keeps in scratch: exactly what the output grid's windows reach, i.e.
 * (out - 1) * stride + (k - 1) * dilation + 1, starting pad_top / pad_left
 * before the image. scratch = plane_h * plane_w bytes. */
#define MF_DW_PLANE_H(p) (((p)->out_h - 1) * (p)->stride_h + ((p)->k_h - 1) * (p)->dil_h + 1)
#define MF_DW_PLANE_W(p) (((p)->out_w - 1) * (p)->stride_w + ((p)->k_w - 1) * (p)->dil_w + 1)

/* Scratch bytes of the plane kernels: one plane, or for planes = 4 the larger of four
 * planes and four channels of the whole image (4 bytes per pixel) plus 8 bytes per
 * filter tap (codegen/ops_conv.py depthwise_scratch_bytes computes the same). */
#define MF_DW_PLANE_BYTES(p) (MF_DW_PLANE_H(p) * MF_DW_PLANE_W(p))
#define MF_DW_QUAD_BYTES(p) (4 * (p)->in_h * (p)->in_w + 8 * (p)->k_h * (p)->k_w)
#define MF_DW_SCRATCH(p)                                                                         \
    ((p)->planes < 4 ? MF_DW_PLANE_BYTES(p)                                                       \
     : 4 * MF_DW_PLANE_BYTES(p) > MF_DW_QUAD_BYTES(p) ? 4 * MF_DW_PLANE_BYTES(p) : MF_DW_QUAD_BYTES(p))

/* Direct depthwise: no scratch; the output must not overlap the input. */
void mf_depthwise_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out);

/* Channel-by-channel depthwise (TinyEngine's in-place scheme), any depth
 * multiplier. For each batch and input channel ic: gather channel ic (a strided
 * HWC read) into scratch as a plane padded with input_zp, then compute output
 * channels ic * M .. ic * M + M - 1 from the plane and write them (strided).
 * Memory contract: with depth_multiplier 1 the output may start at the same
 * address as the input (stride 1: same size; stride > 1: smaller): the only
 * bytes written while channel ic is processed are channel-ic bytes of the
 * current or an earlier batch, which are already in scratch or consumed.
 * scratch: MF_DW_SCRATCH(p) bytes; with planes = 4 a kernel may gather up to four
 * channels before it writes any of their outputs. */
void mf_depthwise_plane_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch);

/* mf_depthwise_plane_s8 for square 5x5 and 7x7 filters (the code generator picks it
 * for those): same results, scratch and memory contract. A separate entry point lets
 * optimised kernel sets specialise it without linking that code into models that
 * have no such layer. */
void mf_depthwise_plane_large_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch);

/* mf_depthwise_plane_large_s8 for layers where taps outside the image are the majority
 * (large filters on small maps; the code generator picks it): same results and memory
 * contract; scratch MF_DW_SCRATCH(p) with planes = 4 (optimised kernels copy four
 * channels and compute them together, skipping the taps outside the image). */
void mf_depthwise_quad_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch);

#endif /* MF_DEPTHWISE_H */
