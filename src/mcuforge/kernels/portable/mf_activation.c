/* RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH on int8 (element-wise
 * memory contract: see mf_activation.h). Each follows the TF-Lite Micro function
 * named in its comment, as mirrored by mcuforge/ref/activations.py. */
#include "mf_activation.h"

#define INT8_LO (-128)
#define INT8_HI 127
#define INT16_LO (-32768)
#define INT16_HI 32767

static int8_t clamp64(int64_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* ReluQuantized: requantise, then clamp to [max(-128, zp_out), 127]. */
void mf_relu_s8(const mf_relu_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = mf_requant(in[i] - p->input_offset, p->output_multiplier, p->output_shift);
        out[i] = clamp64((int64_t)p->output_offset + v, p->act_min, p->act_max);
    }
}

/* ReluQuantized<int16_t>: the int8 arithmetic on int16 (|x - zp| < 2^16 fits int32). */
void mf_relu_s16(const mf_relu_params *p, const int16_t *in, int16_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = mf_requant(in[i] - p->input_offset, p->output_multiplier, p->output_shift);
        const int64_t y = (int64_t)p->output_offset + v;
        out[i] = (int16_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
    }
}

/* Relu6Quantized<int16_t>. */
void mf_relu6_s16(const mf_relu6_params *p, const int16_t *in, int16_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = in[i];
        out[i] = (int16_t)(x > p->six ? p->six : (x < p->zero ? p->zero : x));
    }
}

/* QuantizeLeakyRelu<int16_t>: mf_leaky_relu_s8's arithmetic, clamped to int16. */
void mf_leaky_relu_s16(const mf_leaky_relu_params *p, const int16_t *in, int16_t *out) {
    const int negative_alpha = p->output_multiplier_alpha < 0;
    const int32_t alpha_m = negative_alpha ? -p->output_multiplier_alpha : p->output_multiplier_alpha;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = in[i] - p->input_zero_point;
        int64_t y;
        if (x >= 0) {
            y = mf_requant(x, p->output_multiplier_identity, p->output_shift_identity);
        } else {
            y = mf_requant(x, alpha_m, p->output_shift_alpha);
            y = negative_alpha ? -y : y;
        }
        y += p->output_zero_point;
        out[i] = (int16_t)(y < -32768 ? -32768 : (y > 32767 ? 32767 : y));
    }
}

/* Relu6Quantized: `x > six ? six : x < zero ? zero : x` on the raw values. */
void mf_relu6_s8(const mf_relu6_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = in[i];
        out[i] = (int8_t)(x > p->six ? p->six : (x < p->zero ? p->zero : x));
    }
}

/* reference_ops::QuantizeLeakyRelu: identity multiplier for x >= zp, alpha's below;
 * a negative alpha multiplies by |m| and negates. */
void mf_leaky_relu_s8(const mf_leaky_relu_params *p, const int8_t *in, int8_t *out) {
    const int negative_alpha = p->output_multiplier_alpha < 0;
    const int32_t alpha_m = negative_alpha ? -p->output_multiplier_alpha : p->output_multiplier_alpha;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = in[i] - p->input_zero_point;
        int64_t y;
        if (x >= 0) {
            y = mf_requant(x, p->output_multiplier_identity, p->output_shift_identity);
        } else {
            y = mf_requant(x, alpha_m, p->output_shift_alpha);
            y = negative_alpha ? -y : y;
        }
        out[i] = clamp64(p->output_zero_point + y, INT8_LO, INT8_HI);
    }
}

/* --------------------------------------------------- int16 helpers of HardSwish */
static int32_t wrap16(int32_t x) {
    const int32_t low = x & 0xFFFF;
    return low >= 0x8000 ? low - 0x10000 : low;
}

/* gemmlowp SaturatingRoundingDoublingHighMul<int16_t>. */
static int32_t srdhm16(int32_t a, int32_t b) {
    if (a == INT16_LO && b == INT16_LO) {
        return INT16_HI;
    }
    const int32_t ab = a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return wrap16((ab + nudge) / (1 << 15)); /* C division truncates, as gemmlowp's */
}

/* reference_ops::SaturatingDoublingHighMul (hard_swish.h): truncating, not rounding. */
static int32_t sdhm16(int32_t a, int32_t b) {
    if (a == INT16_LO && b == INT16_LO) {
        return INT16_HI;
    }
    return wrap16((a * b) / (1 << 15));
}

/* gemmlowp RoundingDivideByPOT<int16_t>: its mask 2^exponent - 1 is an int16, so
 * from exponent 16 on it wraps to -1 (non-negative x then gives 1, negative -1). */
static int32_t rdbp16(int32_t x, int exponent) {
    const int32_t mask = wrap16((int32_t)(((1LL << exponent) - 1) & 0xFFFF));
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return wrap16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* reference_ops::SaturatingLeftShift: 64-bit product clamped to int16. */
static int32_t sat_lshift16(int32_t x, int amount) {
    const int64_t v = (int64_t)x * ((int64_t)1 << amount);
    return (int32_t)(v < INT16_LO ? INT16_LO : (v > INT16_HI ? INT16_HI : v));
}

/* reference_ops::HardSwish<int8_t>: x * relu6(x + 3) / 6 in a 16-bit pipeline.
 * |x - zp| <= 255, so x * 2^7 fits int16. */
void mf_hard_swish_s8(const mf_hard_swish_params *p, const int8_t *in, int8_t *out) {
    const int e = p->reluish_multiplier_exponent;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t hires = (in[i] - p->input_zero_point) * (1 << 7);
        const int32_t preshift_output = srdhm16(hires, p->output_multiplier_fixedpoint_int16);
        int32_t reluish = hires;
        if (e > 0) { /* saturating left shift by e - 1 now, the last bit after the multiply */
            reluish = sat_lshift16(reluish, e - 1);
        }
        reluish = srdhm16(reluish, p->reluish_multiplier_fixedpoint_int16);
        if (e > 0) {
            reluish = sat_lshift16(reluish, 1);
        }
        if (e < 0) {
            reluish = rdbp16(reluish, -e);
        }
        reluish = (reluish + (1 << 15)) >> 1; /* [-1, 1] -> [0, 1] in Q0.15 */
        const int32_t preshift = sdhm16(reluish, preshift_output);
        const int32_t y = wrap16(rdbp16(preshift, -p->output_multiplier_exponent) + p->output_zero_point);
        out[i] = (int8_t)(y < INT8_LO ? INT8_LO : (y > INT8_HI ? INT8_HI : y));
    }
}

/* ------------------------------------------------------------- LOGISTIC, TANH */
#define SIGMOID_TANH_INPUT_INTEGER_BITS 4 /* the input is rescaled to Q4.27 */

/* reference_integer_ops::Logistic (int8): Q0.31 -> Q0.8 with rounding, zero point -128. */
void mf_logistic_s8(const mf_sigmoid_tanh_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = in[i] - p->input_zero_point;
        int32_t y;
        if (x <= -p->input_range_radius) {
            y = INT8_LO;
        } else if (x >= p->input_range_radius) {
            y = INT8_HI;
        } else {
            const int32_t q4 = mf_requant(x, p->input_multiplier, p->input_left_shift);
            y = mf_clamp(mf_rdbp(mf_gl_logistic(q4, SIGMOID_TANH_INPUT_INTEGER_BITS), 31 - 8) + INT8_LO, INT8_LO,
                         INT8_HI);
        }
        out[i] = (int8_t)y;
    }
}

/* reference_integer_ops::Tanh (int8): Q0.31 -> Q0.7 with rounding, zero point 0. */
void mf_tanh_s8(const mf_sigmoid_tanh_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = in[i] - p->input_zero_point;
        int32_t y;
        if (x <= -p->input_range_radius) {
            y = INT8_LO;
        } else if (x >= p->input_range_radius) {
            y = INT8_HI;
        } else {
            const int32_t q4 = mf_requant(x, p->input_multiplier, p->input_left_shift);
            y = mf_clamp(mf_rdbp(mf_gl_tanh(q4, SIGMOID_TANH_INPUT_INTEGER_BITS), 31 - 7), INT8_LO, INT8_HI);
        }
        out[i] = (int8_t)y;
    }
}
