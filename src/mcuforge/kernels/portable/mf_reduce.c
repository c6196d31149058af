/* MEAN, SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN and CUMSUM on int8, MEAN and SUM on
 * int16 (see mf_reduce.h). */
#include "mf_reduce.h"

/* Input element offset of output `index` (row-major over the outer dimensions). */
static int32_t outer_offset(const mf_reduce_params *p, int32_t index) {
    int32_t off = 0;
    for (int d = MF_REDUCE_DIMS - 1; d >= 0; --d) {
        off += (index % p->outer_shape[d]) * p->outer_stride[d];
        index /= p->outer_shape[d];
    }
    return off;
}

static int32_t outer_count(const mf_reduce_params *p) {
    int32_t n = 1;
    for (int d = 0; d < MF_REDUCE_DIMS; ++d) {
        n *= p->outer_shape[d];
    }
    return n;
}

enum { REDUCE_SUM, REDUCE_MAX, REDUCE_MIN };

/* The sum (wrapping in 32 bits, as the reference's int32 accumulator), the maximum
 * (starting from -128) or the minimum (from 127) of the elements reduced into one output. */
static int32_t reduce_box(const mf_reduce_params *p, const int8_t *in, int mode) {
    const int32_t *n = p->inner_shape;
    const int32_t *s = p->inner_stride;
    uint32_t sum = 0;
    int32_t max = -128;
    int32_t min = 127;
    for (int32_t a = 0; a < n[0]; ++a) {
        for (int32_t b = 0; b < n[1]; ++b) {
            for (int32_t c = 0; c < n[2]; ++c) {
                for (int32_t d = 0; d < n[3]; ++d) {
                    const int8_t *row = in + a * s[0] + b * s[1] + c * s[2] + d * s[3];
                    for (int32_t e = 0; e < n[4]; ++e) {
                        const int32_t v = row[e * s[4]];
                        if (mode == REDUCE_MAX) {
                            max = v > max ? v : max;
                        } else if (mode == REDUCE_MIN) {
                            min = v < min ? v : min;
                        } else {
                            sum += (uint32_t)v;
                        }
                    }
                }
            }
        }
    }
    if (mode != REDUCE_SUM) {
        return mode == REDUCE_MAX ? max : min;
    }
    return sum <= (uint32_t)INT32_MAX ? (int32_t)sum : (int32_t)(sum - 0x80000000u) + INT32_MIN;
}

/* reference_ops::QuantizedMeanOrSum (compute_sum = false):
 * y = MultiplyByQuantizedMultiplier(sum - zp_in * count, m, s) + zp_out, where
 * the subtraction wraps in int32 as the reference's does. */
void mf_mean_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out) {
    const int32_t outputs = outer_count(p);
    const uint32_t zp_times_count = (uint32_t)((int64_t)p->input_zero_point * p->num_elements);
    for (int32_t i = 0; i < outputs; ++i) {
        if (p->num_elements == 0) {
            out[i] = 0; /* nothing to average: the reference writes zeros */
            continue;
        }
        const uint32_t diff = (uint32_t)reduce_box(p, in + outer_offset(p, i), REDUCE_SUM) - zp_times_count;
        const int32_t shifted =
            diff <= (uint32_t)INT32_MAX ? (int32_t)diff : (int32_t)(diff - 0x80000000u) + INT32_MIN;
        const int64_t y = (int64_t)mf_requant(shifted, p->multiplier, p->shift) + p->output_zero_point;
        out[i] = (int8_t)(y < -128 ? -128 : (y > 127 ? 127 : y));
    }
}

/* The int16 box sum, wrapping in 32 bits (|sum| < 2^31 below 2^16 elements). */
static int32_t sum_box16(const mf_reduce_params *p, const int16_t *in) {
    const int32_t *n = p->inner_shape;
    const int32_t *s = p->inner_stride;
    uint32_t sum = 0;
    for (int32_t a = 0; a < n[0]; ++a) {
        for (int32_t b = 0; b < n[1]; ++b) {
            for (int32_t c = 0; c < n[2]; ++c) {
                for (int32_t d = 0; d < n[3]; ++d) {
                    const int16_t *row = in + a * s[0] + b * s[1] + c * s[2] + d * s[3];
                    for (int32_t e = 0; e < n[4]; ++e) {
                        sum += (uint32_t)(int32_t)row[e * s[4]];
                    }
                }
            }
        }
    }
    return sum <= (uint32_t)INT32_MAX ? (int32_t)sum : (int32_t)(sum - 0x80000000u) + INT32_MIN;
}

/* QuantizedMeanOrSum<int16_t>: mf_mean_s8's arithmetic on int16, clamped to int16. */
void mf_mean_s16(const mf_reduce_params *p, const int16_t *in, int16_t *out) {
    const int32_t outputs = outer_count(p);
    const uint32_t zp_times_count = (uint32_t)((int64_t)p->input_zero_point * p->num_elements);
    for (int32_t i = 0; i < outputs; ++i) {
        if (p->num_elements == 0) {
            out[i] = 0;
            continue;
        }
        const uint32_t diff = (uint32_t)sum_box16(p, in + outer_offset(p, i)) - zp_times_count;
        const int32_t shifted =
            diff <= (uint32_t)INT32_MAX ? (int32_t)diff : (int32_t)(diff - 0x80000000u) + INT32_MIN;
        const int64_t y = (int64_t)mf_requant(shifted, p->multiplier, p->shift) + p->output_zero_point;
        out[i] = (int16_t)(y < -32768 ? -32768 : (y > 32767 ? 32767 : y));
    }
}

/* reference_ops::ReduceGeneric with max and the initial value -128. */
void mf_reduce_max_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out) {
    const int32_t outputs = outer_count(p);
    for (int32_t i = 0; i < outputs; ++i) {
        out[i] = (int8_t)reduce_box(p, in + outer_offset(p, i), REDUCE_MAX);
    }
}

/* reference_ops::ReduceGeneric with min and the initial value 127. */
void mf_reduce_min_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out) {
    const int32_t outputs = outer_count(p);
    for (int32_t i = 0; i < outputs; ++i) {
        out[i] = (int8_t)reduce_box(p, in + outer_offset(p, i), REDUCE_MIN);
    }
}

/* reference_ops::ArgMinMax: a strict comparison keeps the first extreme index. */
#define MF_ARG_KERNEL(name, index_t, better)                                      \
    void name(const mf_arg_params *p, const int8_t *in, index_t *out) {          \
        for (int32_t o = 0; o < p->outer; ++o) {                                 \
            const int8_t *slab = in + (int64_t)o * p->axis_size * p->inner;      \
            for (int32_t j = 0; j < p->inner; ++j) {                             \
                int8_t best = slab[j];                                           \
                index_t at = 0;                                                  \
                for (int32_t k = 1; k < p->axis_size; ++k) {                     \
                    const int8_t v = slab[(int64_t)k * p->inner + j];            \
                    if (v better best) {                                         \
                        best = v;                                                \
                        at = (index_t)k;                                         \
                    }                                                            \
                }                                                                \
                *out++ = at;                                                     \
            }                                                                    \
        }                                                                        \
    }

MF_ARG_KERNEL(mf_arg_max_s8_s32, int32_t, >)
MF_ARG_KERNEL(mf_arg_max_s8_s64, int64_t, >)
MF_ARG_KERNEL(mf_arg_min_s8_s32, int32_t, <)
MF_ARG_KERNEL(mf_arg_min_s8_s64, int64_t, <)

/* MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0). */
static int32_t requant_down(int32_t x, int32_t mult, int32_t shift) {
    return mf_rdbp(mf_sat_rdhm(x, mult), -shift);
}

/* reference_ops::CumSum (int8) with the accumulator starting at 0. */
void mf_cumsum_s8(const mf_cumsum_params *p, const int8_t *in, int8_t *out) {
    const int32_t n = p->axis_size;
    const int32_t step = p->reverse ? -p->inner : p->inner;
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t j = 0; j < p->inner; ++j) {
            const int32_t first = (o * n + (p->reverse ? n - 1 : 0)) * p->inner + j;
            int32_t acc = 0;
            for (int32_t k = 0, at = first; k < n; ++k, at += step) {
                const int32_t shifted = (int32_t)((uint32_t)(p->input_offset + in[at]) << 20);
                const int32_t scaled = requant_down(shifted, p->input_multiplier, p->input_shift);
                const int32_t sum = acc + scaled;
                const int32_t value = p->exclusive ? acc : sum;
                acc = sum;
                const int32_t y = requant_down(value, p->output_multiplier, p->output_shift) + p->output_offset;
                out[at] = (int8_t)mf_clamp(y, -128, 127);
            }
        }
    }
}
