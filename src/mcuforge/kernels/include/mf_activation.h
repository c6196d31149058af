/* mcuforge kernels: RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH on int8,
 * plus gemmlowp's fixed-point exp / logistic / tanh (fixedpoint.h), which
 * mf_softmax.c shares.
 *
 * Bit-exact with mcuforge/ref/activations.py; the Python twins of the gemmlowp
 * helpers are in mcuforge/quant/gemmlowp.py. A FixedPoint<int32_t, I> value is
 * its raw int32 plus the number of integer bits I: real = raw / 2^(31 - I).
 * Additions wrap as two's complement (done in uint32_t: signed overflow is
 * undefined in C); products are saturating rounding doubling high multiplies.
 *
 * Memory contract of every kernel here: element-wise. Elements are processed in
 * increasing index order and element i is read before element i is written, so
 * the output may start at or below the start of the input and overlap it. */
#ifndef MF_ACTIVATION_H
#define MF_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

/* ------------------------------------------------------------ gemmlowp helpers */
static inline int32_t mf_gl_add(int32_t a, int32_t b) {
    const uint32_t s = (uint32_t)a + (uint32_t)b;
    return s <= (uint32_t)INT32_MAX ? (int32_t)s : (int32_t)(s - 0x80000000u) + INT32_MIN;
}

static inline int32_t mf_gl_sub(int32_t a, int32_t b) {
    const uint32_t s = (uint32_t)a - (uint32_t)b;
    return s <= (uint32_t)INT32_MAX ? (int32_t)s : (int32_t)(s - 0x80000000u) + INT32_MIN;
}

static inline int32_t mf_gl_neg(int32_t a) { return mf_gl_sub(0, a); } /* -INT32_MIN wraps to itself */

/* SaturatingRoundingMultiplyByPOT<exponent>: saturating left shift or rounding right shift. */
static inline int32_t mf_gl_mul_pot(int32_t x, int exponent) {
    if (exponent < 0) {
        return mf_rdbp(x, -exponent);
    }
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)((1LL << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Rescale<dst>(FixedPoint<src>): change the number of integer bits, saturating. */
static inline int32_t mf_gl_rescale(int32_t x, int src_bits, int dst_bits) {
    return mf_gl_mul_pot(x, src_bits - dst_bits);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
static inline int32_t mf_gl_exp_quarter(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;              /* 1/3 in Q0.31 */
    const int32_t x = mf_gl_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = mf_sat_rdhm(x, x);
    const int32_t x3 = mf_sat_rdhm(x2, x);
    const int32_t x4 = mf_sat_rdhm(x2, x2);
    const int32_t x4_over_4 = mf_rdbp(x4, 2);
    const int32_t poly = mf_rdbp(mf_gl_add(mf_sat_rdhm(mf_gl_add(x4_over_4, x3), one_third), x2), 1);
    return mf_gl_add(exp_minus_one_eighth, mf_sat_rdhm(exp_minus_one_eighth, mf_gl_add(x, poly)));
}

/* exp(a) for a <= 0 given with `int_bits` integer bits (<= 26); result Q0.31.
 * The part of a below a multiple of 1/4 goes through the Taylor expansion; each
 * set bit of the rest multiplies by exp(-2^k), k = -2 .. 4 (the barrel shifter). */
static inline int32_t mf_gl_exp_on_negative_values(int32_t a, int int_bits) {
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac_bits = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = mf_gl_sub(a & (one_quarter - 1), one_quarter);
    int32_t result = mf_gl_exp_quarter(mf_gl_rescale(a_mod_quarter_minus_one_quarter, int_bits, 0));
    const int32_t remainder = mf_gl_sub(a_mod_quarter_minus_one_quarter, a);
    for (int k = -2; k <= 4; ++k) {
        if (int_bits > k && (remainder & ((int32_t)1 << (frac_bits + k))) != 0) {
            result = mf_sat_rdhm(result, barrel[k + 2]);
        }
    }
    if (int_bits > 5 && a < -((int32_t)1 << (36 - int_bits))) {
        result = 0; /* below -32 */
    }
    return a == 0 ? INT32_MAX : result;
}

/* RoundingHalfSum: (a + b) / 2 rounded away from zero, in 64 bits. */
static inline int32_t mf_gl_half_sum(int32_t a, int32_t b) {
    const int64_t s = (int64_t)a + b;
    return (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
}

/* 1 / half_denominator by three Newton-Raphson steps from 48/17 - 32/17 x; Q2.29. */
static inline int32_t mf_gl_newton_reciprocal(int32_t a) {
    const int32_t half_denominator = mf_gl_half_sum(a, INT32_MAX);
    int32_t x = mf_gl_add(1515870810, mf_sat_rdhm(half_denominator, -1010580540)); /* 48/17, -32/17 */
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = mf_gl_sub((int32_t)1 << 29, mf_sat_rdhm(half_denominator, x));
        x = mf_gl_add(x, mf_gl_rescale(mf_sat_rdhm(x, one_minus), 4, 2));
    }
    return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t mf_gl_one_over_one_plus_x(int32_t a) {
    return mf_gl_rescale(mf_gl_newton_reciprocal(a), 1, 0);
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t mf_gl_one_minus_x_over_one_plus_x(int32_t a) {
    return mf_gl_rescale(mf_gl_sub(mf_gl_newton_reciprocal(a), (int32_t)1 << 29), 2, 0);
}

/* gemmlowp::logistic of FixedPoint<int32_t, int_bits>; result Q0.31. */
static inline int32_t mf_gl_logistic(int32_t a, int int_bits) {
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    const int32_t abs_a = a > 0 ? a : mf_gl_neg(a);
    const int32_t if_positive = mf_gl_one_over_one_plus_x(mf_gl_exp_on_negative_values(mf_gl_neg(abs_a), int_bits));
    return a > 0 ? if_positive : mf_gl_sub(INT32_MAX, if_positive);
}

/* gemmlowp::tanh of FixedPoint<int32_t, int_bits>; result Q0.31. Doubling the
 * argument adds one integer bit with the raw value unchanged (ExactMulByPot<1>). */
static inline int32_t mf_gl_tanh(int32_t a, int int_bits) {
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : mf_gl_neg(a);
    const int32_t t = mf_gl_one_minus_x_over_one_plus_x(mf_gl_exp_on_negative_values(n, int_bits + 1));
    return a < 0 ? mf_gl_neg(t) : t;
}

/* ------------------------------------------------------------------ kernels */

/* ReluOpData: y = zp_out + MultiplyByQuantizedMultiplier(x - zp_in), clamped. */
typedef struct {
    int32_t size;
    int32_t input_offset; /* the input zero point (subtracted) */
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} mf_relu_params;

/* Relu6OpData: clamp the raw input to [zero, six] (input quantisation). */
typedef struct {
    int32_t size;
    int32_t zero;
    int32_t six;
} mf_relu6_params;

typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t output_multiplier_alpha; /* negative for a negative alpha */
    int32_t output_shift_alpha;
    int32_t output_multiplier_identity;
    int32_t output_shift_identity;
} mf_leaky_relu_params;

/* HardSwishParams: two Q15 multipliers and their exponents. */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t reluish_multiplier_fixedpoint_int16;
    int32_t reluish_multiplier_exponent;
    int32_t output_multiplier_fixedpoint_int16;
    int32_t output_multiplier_exponent; /* <= 0 */
} mf_hard_swish_params;

/* OpDataLogistic / Tanh's OpData: the input rescaled to Q4.27. */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t input_range_radius; /* |x - zp| at or beyond this saturates */
    int32_t input_multiplier;
    int32_t input_left_shift;
} mf_sigmoid_tanh_params;

void mf_relu_s8(const mf_relu_params *p, const int8_t *in, int8_t *out);
void mf_relu6_s8(const mf_relu6_params *p, const int8_t *in, int8_t *out);
/* The same on int16 tensors (act_min / act_max / six within int16). */
void mf_relu_s16(const mf_relu_params *p, const int16_t *in, int16_t *out);
void mf_relu6_s16(const mf_relu6_params *p, const int16_t *in, int16_t *out);
void mf_leaky_relu_s16(const mf_leaky_relu_params *p, const int16_t *in, int16_t *out);
void mf_leaky_relu_s8(const mf_leaky_relu_params *p, const int8_t *in, int8_t *out);
void mf_hard_swish_s8(const mf_hard_swish_params *p, const int8_t *in, int8_t *out);
void mf_logistic_s8(const mf_sigmoid_tanh_params *p, const int8_t *in, int8_t *out);
void mf_tanh_s8(const mf_sigmoid_tanh_params *p, const int8_t *in, int8_t *out);

#endif /* MF_ACTIVATION_H */
