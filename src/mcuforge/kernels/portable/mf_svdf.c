/* mcuforge kernels: SVDF (portable C99). See mf_svdf.h for the arithmetic. */
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

/* Step 4 for one batch: bias plus each unit's rank filter sums (t, steps 3), requantised. */
static void output(const mf_svdf_params *p, const uint32_t *t_of_unit, int8_t *y) {
    for (int32_t u = 0; u < p->units; ++u) {
        const uint32_t acc = (uint32_t)p->bias[u] + t_of_unit[u];
        const int32_t r = mf_clamp(mf_requant((int32_t)acc, p->mult_2, p->shift_2),
                                   -128 - p->output_zp, 127 - p->output_zp);
        y[u] = (int8_t)(r + p->output_zp);
    }
}

/* The body of both kernels: STATE_T is the state and time-weight type. The new value is
 * stored through a conversion to STATE_T, which for int8 keeps the low byte (two's
 * complement, as the reference's C++ conversion on every target we build for). The per-
 * unit sums need units words of stack: at most MF_SVDF_MAX_UNITS per pass of units. */
#define MF_SVDF_MAX_UNITS 64
#define MF_SVDF_BODY(STATE_T, LO, HI)                                                          \
    const size_t n = (size_t)p->batch * (size_t)p->filters * (size_t)p->memory;                \
    if (n > 1) {                                                                               \
        memmove(state, state + 1, (n - 1) * sizeof(STATE_T));                                  \
    }                                                                                          \
    const STATE_T *wt = (const STATE_T *)p->weights_time;                                      \
    for (int32_t b = 0; b < p->batch; ++b) {                                                   \
        const int8_t *x = in + (size_t)b * (size_t)p->input_size;                              \
        STATE_T *s = state + (size_t)b * (size_t)p->filters * (size_t)p->memory;               \
        for (int32_t f = 0; f < p->filters; ++f) {                                             \
            s[(size_t)f * (size_t)p->memory + (size_t)p->memory - 1] =                         \
                (STATE_T)(uint32_t)feature(p, x, f, LO, HI);                                   \
        }                                                                                      \
        for (int32_t u0 = 0; u0 < p->units; u0 += MF_SVDF_MAX_UNITS) {                         \
            uint32_t t[MF_SVDF_MAX_UNITS];                                                     \
            const int32_t nu = p->units - u0 < MF_SVDF_MAX_UNITS ? p->units - u0 : MF_SVDF_MAX_UNITS; \
            for (int32_t k = 0; k < nu; ++k) {                                                 \
                t[k] = 0u;                                                                     \
                for (int32_t r = 0; r < p->rank; ++r) {                                        \
                    const size_t f = (size_t)(u0 + k) * (size_t)p->rank + (size_t)r;           \
                    const STATE_T *row = s + f * (size_t)p->memory;                            \
                    const STATE_T *w = wt + f * (size_t)p->memory;                             \
                    for (int32_t m = 0; m < p->memory; ++m) {                                  \
                        t[k] += (uint32_t)((int32_t)w[m] * ((int32_t)row[m] - p->state_zp));   \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
            mf_svdf_params q = *p;                                                             \
            q.units = nu;                                                                      \
            q.bias = p->bias + u0;                                                             \
            output(&q, t, out + (size_t)b * (size_t)p->units + (size_t)u0);                    \
        }                                                                                      \
    }

void mf_svdf_s16(const mf_svdf_params *p, const int8_t *in, int16_t *state, int8_t *out) {
    MF_SVDF_BODY(int16_t, -32768, 32767)
}

void mf_svdf_s8(const mf_svdf_params *p, const int8_t *in, int8_t *state, int8_t *out) {
    MF_SVDF_BODY(int8_t, -128, 127)
}
