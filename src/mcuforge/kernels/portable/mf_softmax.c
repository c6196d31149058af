/* SOFTMAX int8 -> int8 (and int8 -> int16), following TF-Lite Micro's reference_ops::Softmax for
 * int8 (softmax.h) as mirrored by mcuforge/ref/softmax.py, row by row:
 *
 *   diff = x - max(row)                       (<= 0; skipped below diff_min)
 *   e    = exp(diff * multiplier << shift)    (input Q5.26, result Q0.31)
 *   sum  = sum of Rescale<12>(e)              (Q12.19, int32 wraparound)
 *   y    = RoundingDivideByPOT(1/sum * e, num_bits_over_unit + 23) - 128
 * (int16 output: num_bits_over_unit + 15 and - 32768). */
#include "mf_softmax.h"

#include "mf_activation.h"

#define SCALED_DIFF_INTEGER_BITS 5  /* kScaledDiffIntegerBits */
#define ACCUMULATION_INTEGER_BITS 12 /* kAccumulationIntegerBits */

/* exp of a row element's scaled difference (MultiplyByQuantizedMultiplierGreaterThanOne:
 * the shift is in 32-bit arithmetic; diff >= diff_min guarantees it does not overflow). */
static int32_t scaled_exp(const mf_softmax_params *p, int32_t diff) {
    const int32_t shifted = (int32_t)((uint32_t)diff << p->input_left_shift);
    return mf_gl_exp_on_negative_values(mf_sat_rdhm(shifted, p->input_multiplier), SCALED_DIFF_INTEGER_BITS);
}

/* Softmax<int8_t, OutputT> for OutputT int8 (out8) or int16 (out16, the other NULL). */
static void softmax_rows(const mf_softmax_params *p, const int8_t *in, int8_t *out8, int16_t *out16) {
    const int32_t out_min = out16 != NULL ? -32768 : -128;
    const int32_t out_max = out16 != NULL ? 32767 : 127;
    const int out_bits = out16 != NULL ? 16 : 8;
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *x = in + (size_t)r * (size_t)p->depth;
        const size_t row = (size_t)r * (size_t)p->depth;
        int32_t max_in = -128;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in = x[c] > max_in ? x[c] : max_in;
        }
        /* Each term is at most 2^19, so the sum only wraps beyond 4096 columns;
         * it wraps in uint32_t like the reference's int32 FixedPoint additions. */
        int32_t sum = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in;
            if (diff >= p->diff_min) {
                const int32_t e = mf_gl_rescale(scaled_exp(p, diff), 0, ACCUMULATION_INTEGER_BITS);
                sum = mf_gl_add(sum, e);
            }
        }
        /* GetReciprocal: 1/sum as a Q0.31 value in [0.5, 1) and a power of two. */
        const int headroom_plus_one = mf_clz32((uint32_t)sum);
        const int num_bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom_plus_one;
        const uint32_t shifted_sum = headroom_plus_one >= 32 ? 0u : (uint32_t)sum << headroom_plus_one;
        /* shifted_sum - 1.0 in Q0.31, wrapping in uint32_t then read as int32_t. */
        const uint32_t minus_one = shifted_sum - 0x80000000u;
        const int32_t shifted_sum_minus_one =
            minus_one <= (uint32_t)INT32_MAX ? (int32_t)minus_one : (int32_t)(minus_one - 0x80000000u) + INT32_MIN;
        const int32_t shifted_scale = mf_gl_one_over_one_plus_x(shifted_sum_minus_one);
        /* The sum is at least 2^19 (the maximum contributes exp(0)), so the exponent is
         * >= 23 (int8; >= 15 for int16). TF-Lite Micro aborts when it exceeds 31 (int8:
         * a sum of 2^28 or more, depth >= 512 with near-equal values; never for int16),
         * and the ref refuses; we clamp it to 31, which gives -128 or -127, the right
         * answer to within one unit. */
        int exponent = num_bits_over_unit + 31 - out_bits;
        exponent = exponent < 0 ? 0 : (exponent > 31 ? 31 : exponent);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in;
            int32_t v = out_min;
            if (diff >= p->diff_min) {
                v = mf_rdbp(mf_sat_rdhm(shifted_scale, scaled_exp(p, diff)), exponent) + out_min;
                v = mf_clamp(v, out_min, out_max);
            }
            if (out16 != NULL) {
                out16[row + (size_t)c] = (int16_t)v;
            } else {
                out8[row + (size_t)c] = (int8_t)v;
            }
        }
    }
}

void mf_softmax_s8(const mf_softmax_params *p, const int8_t *in, int8_t *out) {
    softmax_rows(p, in, out, NULL);
}

void mf_softmax_s8_s16(const mf_softmax_params *p, const int8_t *in, int16_t *out) {
    softmax_rows(p, in, NULL, out);
}
