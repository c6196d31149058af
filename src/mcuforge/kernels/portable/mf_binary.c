/* The binary family on int8 and bool (see mf_binary.h for the memory contract).
 *
 * Broadcasting follows BroadcastBinaryOpSimple: the code generator merges dimensions
 * so the innermost one is as long as possible, and every kernel walks the others row
 * by row (BIN_LOOP). The arithmetic follows TF-Lite Micro's reference kernels as
 * mcuforge/ref/binary.py and ref/binary_arith.py mirror them. */
#include "mf_binary.h"

#include "mf_activation.h" /* gemmlowp's 1 / (1 + x), for DIV's reciprocal */

/* Rows: the product of every dimension but the innermost. */
static int32_t bin_rows(const mf_bin_shape *b) {
    int32_t rows = 1;
    for (int d = 0; d < MF_BIN_DIMS - 1; ++d) {
        rows *= b->shape[d];
    }
    return rows;
}

/* Element offsets of row `row`'s first element in each of the three inputs. */
static void bin_offsets(const mf_bin_shape *b, int32_t row, int32_t off[3]) {
    off[0] = off[1] = off[2] = 0;
    for (int d = MF_BIN_DIMS - 2; d >= 0; --d) {
        const int32_t i = row % b->shape[d];
        row /= b->shape[d];
        off[0] += i * b->stride1[d];
        off[1] += i * b->stride2[d];
        off[2] += i * b->stride3[d];
    }
}

/* Run BODY for every output element in order, with i1, i2, i3 the elements' indices
 * in the three inputs; the output pointer advances by one after each. */
#define BIN_LOOP(b, BODY)                                                  \
    do {                                                                   \
        const int32_t rows_ = bin_rows(b);                                 \
        const int32_t n_ = (b)->shape[MF_BIN_DIMS - 1];                    \
        const int32_t s1_ = (b)->stride1[MF_BIN_DIMS - 1];                 \
        const int32_t s2_ = (b)->stride2[MF_BIN_DIMS - 1];                 \
        const int32_t s3_ = (b)->stride3[MF_BIN_DIMS - 1];                 \
        for (int32_t r_ = 0; r_ < rows_; ++r_) {                           \
            int32_t o_[3];                                                 \
            bin_offsets(b, r_, o_);                                        \
            for (int32_t j_ = 0; j_ < n_; ++j_) {                          \
                const int32_t i1 = o_[0] + j_ * s1_;                       \
                const int32_t i2 = o_[1] + j_ * s2_;                       \
                const int32_t i3 = o_[2] + j_ * s3_;                       \
                (void)i3;                                                  \
                BODY;                                                      \
            }                                                              \
        }                                                                  \
    } while (0)

/* v + offset clamped to [lo, hi]; the sum in 64 bits, as the ref adds without wrapping. */
static int8_t bin_out(int32_t v, int32_t offset, int32_t lo, int32_t hi) {
    const int64_t y = (int64_t)v + offset;
    return (int8_t)(y < lo ? lo : (y > hi ? hi : y));
}

/* A uint32_t holding a two's complement value, as int32_t (no implementation-defined conversion). */
static int32_t as_int32(uint32_t u) {
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

/* (x + offset) * 2^left_shift times a multiplier below one: MultiplyByQuantizedMultiplier
 * SmallerThanOneExp. |x + offset| <= 255 and left_shift <= 20 keep the product in int32. */
static int32_t rescale_input(int32_t x, int32_t offset, int32_t left_shift, int32_t mult, int32_t shift) {
    return mf_rdbp(mf_sat_rdhm((x + offset) * ((int32_t)1 << left_shift), mult), -shift);
}

/* ------------------------------------------------------------------ MAXIMUM, MINIMUM */
void mf_maximum_s8(const mf_bin_shape *b, const int8_t *in1, const int8_t *in2, int8_t *out) {
    BIN_LOOP(b, *out++ = in1[i1] > in2[i2] ? in1[i1] : in2[i2]);
}

void mf_minimum_s8(const mf_bin_shape *b, const int8_t *in1, const int8_t *in2, int8_t *out) {
    BIN_LOOP(b, *out++ = in1[i1] < in2[i2] ? in1[i1] : in2[i2]);
}

void mf_maximum_s16(const mf_bin_shape *b, const int16_t *in1, const int16_t *in2, int16_t *out) {
    BIN_LOOP(b, *out++ = in1[i1] > in2[i2] ? in1[i1] : in2[i2]);
}

void mf_minimum_s16(const mf_bin_shape *b, const int16_t *in1, const int16_t *in2, int16_t *out) {
    BIN_LOOP(b, *out++ = in1[i1] < in2[i2] ? in1[i1] : in2[i2]);
}

/* ------------------------------------------------------------------ comparisons */
/* Both inputs on the common scale ((x - zp) << 8 times the input's own scale), then compared. */
#define COMPARISON(name, OP)                                                                          \
    void name(const mf_compare_params *p, const int8_t *in1, const int8_t *in2, uint8_t *out) {      \
        BIN_LOOP(&p->b, {                                                                             \
            const int32_t a = rescale_input(in1[i1], p->input1_offset, p->left_shift,                 \
                                            p->input1_multiplier, p->input1_shift);                   \
            const int32_t c = rescale_input(in2[i2], p->input2_offset, p->left_shift,                 \
                                            p->input2_multiplier, p->input2_shift);                   \
            *out++ = (uint8_t)(a OP c);                                                               \
        });                                                                                           \
    }

COMPARISON(mf_equal_s8, ==)
COMPARISON(mf_not_equal_s8, !=)
COMPARISON(mf_greater_s8, >)
COMPARISON(mf_greater_equal_s8, >=)
COMPARISON(mf_less_s8, <)
COMPARISON(mf_less_equal_s8, <=)

/* ------------------------------------------------------------------ SELECT_V2, logical */
void mf_select_v2_s8(const mf_bin_shape *b, const uint8_t *cond, const int8_t *x, const int8_t *y, int8_t *out) {
    BIN_LOOP(b, *out++ = cond[i1] ? x[i2] : y[i3]);
}

void mf_logical_and(const mf_bin_shape *b, const uint8_t *in1, const uint8_t *in2, uint8_t *out) {
    BIN_LOOP(b, *out++ = (uint8_t)(in1[i1] && in2[i2]));
}

void mf_logical_or(const mf_bin_shape *b, const uint8_t *in1, const uint8_t *in2, uint8_t *out) {
    BIN_LOOP(b, *out++ = (uint8_t)(in1[i1] || in2[i2]));
}

void mf_logical_not(int32_t size, const uint8_t *in, uint8_t *out) {
    for (int32_t i = 0; i < size; ++i) {
        out[i] = (uint8_t)!in[i];
    }
}

/* ------------------------------------------------------------------ SQUARED_DIFFERENCE */
/* |a|, |c| <= 255 * 2^7 / 2, so (a - c)^2 <= (255 * 2^7)^2 < 2^31. */
void mf_squared_difference_s8(const mf_sqdiff_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    BIN_LOOP(&p->b, {
        const int32_t a = rescale_input(in1[i1], p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift);
        const int32_t c = rescale_input(in2[i2], p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift);
        const int32_t d = a - c;
        *out++ = bin_out(mf_requant(d * d, p->output_multiplier, p->output_shift), p->output_offset, -128, 127);
    });
}

/* ------------------------------------------------------------------ PRELU */
/* |v| <= 255 and |alpha + offset| <= 255: the product fits int32. */
void mf_prelu_s8(const mf_prelu_params *p, const int8_t *in, const int8_t *alpha, int8_t *out) {
    BIN_LOOP(&p->b, {
        const int32_t v = in[i1] + p->input_offset;
        const int32_t y = v >= 0 ? mf_requant(v, p->output_multiplier_1, p->output_shift_1)
                                 : mf_requant(v * (alpha[i2] + p->alpha_offset), p->output_multiplier_2,
                                              p->output_shift_2);
        *out++ = bin_out(y, p->output_offset, -128, 127);
    });
}

/* ------------------------------------------------------------------ ADD_N */
/* Each rescaled term is at most 255 * 2^19; the sum wraps in uint32_t beyond 16 inputs,
 * as the ref's int32 does. */
void mf_add_n_s8(const mf_add_n_params *p, const int8_t *const *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        uint32_t acc = 0;
        for (int32_t k = 0; k < p->count; ++k) {
            acc += (uint32_t)rescale_input(in[k][i], p->input_offset, p->left_shift, p->input_multiplier,
                                           p->input_shift);
        }
        const int32_t y = mf_rdbp(mf_sat_rdhm(as_int32(acc), p->output_multiplier), -p->output_shift);
        out[i] = bin_out(y, p->output_offset, -128, 127);
    }
}

/* ------------------------------------------------------------------ DIV */
/* CountLeadingSignBits: 31 for 0 and -1. */
static int clrsb32(int32_t x) {
    return mf_clz32((uint32_t)(x < 0 ? ~x : x)) - 1;
}

/* DivElementwise for offset values v1, v2: the quotient by GetReciprocal(v2, 31). The final
 * RoundingDivideByPOT exponent is >= 0 (headroom >= 23, recip_shift >= -1, shift <= 22);
 * above 31 the quotient of an int32 by 2^exponent rounds to 0 (-1 only for INT32_MIN / 2^32). */
static int8_t div_one(const mf_div_params *p, int32_t v1, int32_t v2) {
    if (v2 < 0) {
        v1 = -v1;
        v2 = -v2;
    }
    const int headroom_plus_one = mf_clz32((uint32_t)v2); /* 32 for v2 = 0 */
    const int recip_shift = 31 - headroom_plus_one;
    const uint32_t shifted = headroom_plus_one >= 32 ? 0u : (uint32_t)v2 << headroom_plus_one;
    const int32_t inv = mf_gl_one_over_one_plus_x(as_int32(shifted - 0x80000000u));
    const int headroom = clrsb32(v1);
    const int32_t q = mf_sat_rdhm(as_int32((uint32_t)v1 << headroom), inv);
    const int32_t m = mf_sat_rdhm(q, p->output_multiplier);
    const int exponent = recip_shift + headroom - p->output_shift;
    int32_t y;
    if (exponent > 31) {
        y = (m == INT32_MIN && exponent == 32) ? -1 : 0;
    } else {
        y = mf_rdbp(m, exponent);
    }
    return bin_out(y, p->output_offset, p->act_min, p->act_max);
}

void mf_div_s8(const mf_div_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    BIN_LOOP(&p->b, *out++ = div_one(p, in1[i1] + p->input1_offset, in2[i2] + p->input2_offset));
}
