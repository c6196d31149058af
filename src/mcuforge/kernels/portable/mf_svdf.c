/* mcuforge kernels: SVDF (portable C99). See mf_svdf.h for the arithmetic. The two
 * kernels differ only in the state and time-weight type; each is written out in full. */
#include <string.h>

#include "mf_svdf.h"

/* Step 2 for filter f of one batch: the requantised feature dot product, clamped to
 * [lo, hi] (the state type's range), plus the state zero point (not clamped again). */
static int32_t feature(const mf_svdf_params *p, const int8_t *x, int32_t f, int32_t lo, int32_t hi) {
    const int8_t *w = p->weights_feature + (size_t)f * (size_t)p->input_size;
    uint32_t dot = 0u;
    for (int32_t c = 0; c < p->input_size; ++c) {
        dot += (uint32_t)((int32_t)w[c] * ((int32_t)x[c] - p->input_zp));
    }
    return mf_clamp(mf_requant((int32_t)dot, p->mult_1, p->shift_1), lo, hi) + p->state_zp;
}

/* Step 4: one unit's int32 sum (bias plus its rank filter sums, modulo 2^32) to int8. */
static int8_t requant_out(const mf_svdf_params *p, uint32_t acc) {
    const int32_t r = mf_clamp(mf_requant((int32_t)acc, p->mult_2, p->shift_2), -128 - p->output_zp,
                               127 - p->output_zp);
    return (int8_t)(r + p->output_zp);
}

static size_t state_size(const mf_svdf_params *p) {
    return (size_t)p->batch * (size_t)p->filters * (size_t)p->memory;
}

void mf_svdf_s16(const mf_svdf_params *p, const int8_t *in, int16_t *state, int8_t *out) {
    const size_t n = state_size(p), memory = (size_t)p->memory;
    if (n > 1) {
        memmove(state, state + 1, (n - 1) * sizeof(int16_t)); /* step 1 */
    }
    const int16_t *wt = (const int16_t *)p->weights_time;
    for (int32_t b = 0; b < p->batch; ++b) {
        const int8_t *x = in + (size_t)b * (size_t)p->input_size;
        int16_t *s = state + (size_t)b * (size_t)p->filters * memory;
        for (int32_t f = 0; f < p->filters; ++f) { /* the low 16 bits, as for int8 below */
            s[(size_t)f * memory + memory - 1] = (int16_t)(uint16_t)(uint32_t)feature(p, x, f, -32768, 32767);
        }
        for (int32_t u = 0; u < p->units; ++u) {
            uint32_t acc = (uint32_t)p->bias[u];
            for (int32_t r = 0; r < p->rank; ++r) { /* step 3 for filter u * rank + r */
                const size_t f = (size_t)u * (size_t)p->rank + (size_t)r;
                for (size_t m = 0; m < memory; ++m) {
                    acc += (uint32_t)((int32_t)wt[f * memory + m] * ((int32_t)s[f * memory + m] - p->state_zp));
                }
            }
            out[(size_t)b * (size_t)p->units + (size_t)u] = requant_out(p, acc);
        }
    }
}

void mf_svdf_s8(const mf_svdf_params *p, const int8_t *in, int8_t *state, int8_t *out) {
    const size_t n = state_size(p), memory = (size_t)p->memory;
    if (n > 1) {
        memmove(state, state + 1, (n - 1) * sizeof(int8_t)); /* step 1 */
    }
    const int8_t *wt = (const int8_t *)p->weights_time;
    for (int32_t b = 0; b < p->batch; ++b) {
        const int8_t *x = in + (size_t)b * (size_t)p->input_size;
        int8_t *s = state + (size_t)b * (size_t)p->filters * memory;
        for (int32_t f = 0; f < p->filters; ++f) {
            /* zero point + a value clamped to [-128, 127] can leave int8: keep the low byte,
             * as the reference's conversion (two's complement on every target built for) */
            s[(size_t)f * memory + memory - 1] = (int8_t)(uint8_t)(uint32_t)feature(p, x, f, -128, 127);
        }
        for (int32_t u = 0; u < p->units; ++u) {
            uint32_t acc = (uint32_t)p->bias[u];
            for (int32_t r = 0; r < p->rank; ++r) { /* step 3 for filter u * rank + r */
                const size_t f = (size_t)u * (size_t)p->rank + (size_t)r;
                for (size_t m = 0; m < memory; ++m) {
                    acc += (uint32_t)((int32_t)wt[f * memory + m] * ((int32_t)s[f * memory + m] - p->state_zp));
                }
            }
            out[(size_t)b * (size_t)p->units + (size_t)u] = requant_out(p, acc);
        }
    }
}
