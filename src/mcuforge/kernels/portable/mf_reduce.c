/* MEAN and REDUCE_MAX on int8 (see mf_reduce.h). */
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

/* The sum (wrapping in 32 bits, as the reference's int32 accumulator) or the
 * maximum (starting from -128) of the elements reduced into one output. */
static int32_t reduce_box(const mf_reduce_params *p, const int8_t *in, int is_max) {
    const int32_t *n = p->inner_shape;
    const int32_t *s = p->inner_stride;
    uint32_t sum = 0;
    int32_t max = -128;
    for (int32_t a = 0; a < n[0]; ++a) {
        for (int32_t b = 0; b < n[1]; ++b) {
            for (int32_t c = 0; c < n[2]; ++c) {
                for (int32_t d = 0; d < n[3]; ++d) {
                    const int8_t *row = in + a * s[0] + b * s[1] + c * s[2] + d * s[3];
                    for (int32_t e = 0; e < n[4]; ++e) {
                        const int32_t v = row[e * s[4]];
                        if (is_max) {
                            max = v > max ? v : max;
                        } else {
                            sum += (uint32_t)v;
                        }
                    }
                }
            }
        }
    }
    if (is_max) {
        return max;
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
        const uint32_t diff = (uint32_t)reduce_box(p, in + outer_offset(p, i), 0) - zp_times_count;
        const int32_t shifted =
            diff <= (uint32_t)INT32_MAX ? (int32_t)diff : (int32_t)(diff - 0x80000000u) + INT32_MIN;
        const int64_t y = (int64_t)mf_requant(shifted, p->multiplier, p->shift) + p->output_zero_point;
        out[i] = (int8_t)(y < -128 ? -128 : (y > 127 ? 127 : y));
    }
}

/* reference_ops::ReduceGeneric with max and the initial value -128. */
void mf_reduce_max_s8(const mf_reduce_params *p, const int8_t *in, int8_t *out) {
    const int32_t outputs = outer_count(p);
    for (int32_t i = 0; i < outputs; ++i) {
        out[i] = (int8_t)reduce_box(p, in + outer_offset(p, i), 1);
    }
}
