/* The unary family (memory contracts in mf_unary.h). Each kernel follows the TF-Lite
 * Micro function named in its comment, as mirrored by mcuforge/ref/unary.py,
 * ref/unary_rows.py and the fixed-point helpers of ref/unary_math.py. */
#include "mf_unary.h"

#include "mf_activation.h"

#define INT8_LO (-128)
#define INT8_HI 127
#define RSQRT_SHIFT 20              /* kShift of RsqrtEvalQuantized */
#define SCALED_DIFF_INTEGER_BITS 5  /* LOG_SOFTMAX's exp input is Q5.26 */
#define ACCUMULATION_INTEGER_BITS 12 /* its sum of exps is Q12.19 */
#define OUTPUT_INTEGER_BITS 4
#define L2_NORM_OUTPUT_SHIFT 7 /* the L2_NORMALIZATION output is Q0.7 */

/* CountLeadingZeros on uint32_t: 32 for 0. */
static int clz_u32(uint32_t x) {
    int n = 0;
    while (n < 32 && (x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* v + offset clamped to int8, without int32 overflow. */
static int8_t offset_s8(int32_t v, int32_t offset) {
    const int64_t s = (int64_t)v + offset;
    return (int8_t)(s < INT8_LO ? INT8_LO : (s > INT8_HI ? INT8_HI : s));
}

static int32_t sat_add32(int32_t a, int32_t b) {
    const int64_t s = (int64_t)a + b;
    return (int32_t)(s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : s));
}

static int32_t sat_sub32(int32_t a, int32_t b) {
    const int64_t s = (int64_t)a - b;
    return (int32_t)(s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : s));
}

/* GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: 1/sqrt(x) = m * 2^(shift - 31).
 * x is scaled by powers of 4 into [2^27, 2^29) and five Newton-Raphson steps
 * y <- 1.5 y - (x / 2) y^3 run in Q3.28 from y = 1. */
static void inv_sqrt(int32_t x, int32_t *multiplier, int32_t *shift) {
    if (x <= 1) { /* 0 is invalid, 1 would overflow the general path */
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t s = 11;
    while (x >= ((int32_t)1 << 29)) {
        x /= 4;
        ++s;
    }
    const int pairs = (clz_u32((uint32_t)x) - 1) / 2 - 1;
    s -= pairs;
    x <<= 2 * pairs;
    const int32_t half_input = mf_gl_mul_pot(x >> 1, -1);
    const int32_t half_three = ((int32_t)1 << 28) + ((int32_t)1 << 27); /* 1.5 in Q3.28 */
    int32_t y = (int32_t)1 << 28;
    for (int i = 0; i < 5; ++i) {
        const int32_t y3 = mf_gl_mul_pot(mf_sat_rdhm(mf_sat_rdhm(y, y), y), 6);
        y = mf_gl_mul_pot(mf_gl_sub(mf_sat_rdhm(half_three, y), mf_sat_rdhm(half_input, y3)), 3);
    }
    y = mf_sat_rdhm(y, 1518500250); /* times sqrt(2)/2 */
    if (s < 0) {
        y = (int32_t)((uint32_t)y << -s);
        s = 0;
    }
    *multiplier = y;
    *shift = -s;
}

/* log_x_for_x_greater_than_or_equal_to_1_impl<out_bits, in_bits> on raw values:
 * x = r * 2^z with r near sqrt(sqrt(1/2)), log(x) = z log(2) + a rational log(r). */
static int32_t log_x_ge_1(int32_t x, int out_bits, int in_bits) {
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int accum_bits = out_bits + 1;
    const int32_t shifted_quarter = mf_gl_mul_pot(536870912, -accum_bits); /* 1/4 in Q(accum) */
    const int z_a_headroom_plus_1 = clz_u32((uint32_t)x);
    const int32_t r_a_tmp = mf_gl_mul_pot(x, z_a_headroom_plus_1 - 1);
    const int32_t r_a_raw = mf_gl_mul_pot(mf_sat_rdhm(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj =
        sat_add32(mf_gl_mul_pot(in_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter);
    const int32_t z_b = mf_sat_rdhm(x, sqrt_half);
    const int z_b_headroom = clz_u32((uint32_t)z_b) - 1;
    const int32_t r_b_raw = mf_gl_mul_pot(x, z_b_headroom);
    const int32_t z_b_pow_2_adj = sat_sub32(mf_gl_mul_pot(in_bits - z_b_headroom, 31 - accum_bits), shifted_quarter);
    const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
    const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;
    const int32_t p = mf_gl_half_sum(r, sqrt_sqrt_half);
    int32_t q = mf_gl_sub(r, sqrt_sqrt_half);
    q = mf_gl_add(q, q);
    const int32_t common_sq = mf_sat_rdhm(q, q);
    const int32_t num = mf_gl_add(mf_sat_rdhm(q, r), mf_sat_rdhm(mf_sat_rdhm(q, common_sq), alpha_n));
    const int32_t denom_minus_one =
        mf_gl_add(mf_sat_rdhm(p, mf_gl_add(mf_gl_add(alpha_i, q), mf_sat_rdhm(alpha_d, common_sq))),
                  mf_sat_rdhm(alpha_f, q));
    const int32_t recip_denom = mf_gl_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = mf_gl_mul_pot(num, -accum_bits);
    const int32_t sum = mf_gl_add(mf_sat_rdhm(z_pow_2_adj, log_2), mf_sat_rdhm(num_scaled, recip_denom));
    return mf_gl_mul_pot(sum, accum_bits - out_bits);
}

/* ------------------------------------------------------------- element-wise */

/* AbsEvalQuantized<int8_t>. */
void mf_abs_s8(const mf_abs_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t d = in[i] - p->input_offset;
        int32_t v = d < 0 ? -d : d;
        if (p->needs_rescale) {
            v = mf_requant(v, p->multiplier, p->shift);
        }
        out[i] = offset_s8(v, p->output_offset);
    }
}

/* RsqrtEvalQuantized<int8_t>, without TF-Lite Micro's x >= zp_in check (below the zero
 * point it gives the value of x - zp_in = 1, as the reference does). */
void mf_rsqrt_s8(const mf_rsqrt_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t value = in[i] - p->input_offset;
        if (value == 0) {
            out[i] = INT8_HI; /* close to 0: the maximum */
            continue;
        }
        int32_t m, s;
        inv_sqrt(value, &m, &s);
        const int32_t data = mf_requant(1, m, s + RSQRT_SHIFT);
        const int32_t y = mf_requant(data, p->multiplier, p->shift - RSQRT_SHIFT);
        out[i] = offset_s8(y, p->output_offset);
    }
}

/* reference_integer_ops::Negate: zero_point_sum - x, at most 254 + 128 in magnitude. */
void mf_neg_s8(const mf_neg_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = mf_clamp_s8(p->zero_point_sum - in[i], INT8_LO, INT8_HI);
    }
}

/* EvalUsingLookupTable. */
void mf_lut_s8(const mf_lut_params *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = p->table[in[i] + 128];
    }
}

/* ------------------------------------------------------------------- rows */

/* reference_ops::LogSoftmaxQuantized<int8_t>, row by row. */
void mf_log_softmax_s8(const mf_log_softmax_params *p, const int8_t *in, int8_t *out) {
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *x = in + (size_t)r * (size_t)p->depth;
        int8_t *y = out + (size_t)r * (size_t)p->depth;
        int32_t max_in = INT8_LO;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in = x[c] > max_in ? x[c] : max_in;
        }
        int32_t sum = 0; /* Q12.19; each term <= 2^19: no wrap in the <= 4095 columns the generator allows */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in;
            if (diff >= p->diff_min) {
                const int32_t q5 = mf_requant(diff, p->input_multiplier, p->input_left_shift);
                const int32_t e = mf_gl_exp_on_negative_values(q5, SCALED_DIFF_INTEGER_BITS);
                sum = mf_gl_add(sum, mf_gl_rescale(e, 0, ACCUMULATION_INTEGER_BITS));
            }
        }
        const int32_t log_sum = log_x_ge_1(sum, SCALED_DIFF_INTEGER_BITS, ACCUMULATION_INTEGER_BITS);
        const int32_t bound =
            mf_requant(mf_gl_add(log_sum, INT32_MIN), p->reverse_scaling_divisor, -p->reverse_scaling_right_shift);
        const int32_t adjusted_diff_min = p->diff_min - 1 > bound ? p->diff_min - 1 : bound;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in;
            int32_t v = INT8_LO;
            if (diff > adjusted_diff_min) {
                const int32_t q5 = mf_requant(diff, p->input_multiplier, p->input_left_shift);
                v = mf_rdbp(mf_gl_sub(q5, log_sum), 31 - SCALED_DIFF_INTEGER_BITS - OUTPUT_INTEGER_BITS) + INT8_HI;
                v = mf_clamp(v, INT8_LO, INT8_HI);
            }
            y[c] = (int8_t)v;
        }
    }
}

/* reference_integer_ops::L2Normalization: x / sqrt(sum of squares) in Q0.7. The sum
 * is at most 255^2 * depth; the code generator refuses rows where it could overflow. */
void mf_l2_norm_s8(const mf_l2_norm_params *p, const int8_t *in, int8_t *out) {
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *x = in + (size_t)r * (size_t)p->depth;
        int8_t *y = out + (size_t)r * (size_t)p->depth;
        int32_t acc = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t v = x[c] - p->input_zero_point;
            acc += v * v;
        }
        int32_t m, s;
        inv_sqrt(acc, &m, &s);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t v = mf_requant(x[c] - p->input_zero_point, m, s + L2_NORM_OUTPUT_SHIFT);
            y[c] = mf_clamp_s8(v, INT8_LO, INT8_HI);
        }
    }
}

/* ------------------------------------------------- ZEROS_LIKE, FILL, CAST */

void mf_zeros_s8(const mf_size_params *p, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = 0;
    }
}

void mf_fill_s8(const mf_size_params *p, const int8_t *value, int8_t *out) {
    const int8_t v = *value;
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = v;
    }
}

void mf_cast_s8_s32(const mf_size_params *p, const int8_t *in, int32_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = in[i];
    }
}

void mf_cast_s8_f32(const mf_size_params *p, const int8_t *in, float *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (float)in[i]; /* exact */
    }
}

void mf_cast_s32_s8(const mf_size_params *p, const int32_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const uint32_t low = (uint32_t)in[i] & 0xFFu;
        out[i] = (int8_t)(low >= 128u ? (int32_t)low - 256 : (int32_t)low);
    }
}

void mf_cast_f32_s8(const mf_size_params *p, const float *in, int8_t *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const float v = in[i];
        int32_t q;
        if (v != v) {
            q = 0; /* NaN */
        } else if (v >= 127.0f) {
            q = INT8_HI;
        } else if (v <= -128.0f) {
            q = INT8_LO;
        } else {
            q = (int32_t)v; /* in range: truncates toward zero */
        }
        out[i] = (int8_t)q;
    }
}
