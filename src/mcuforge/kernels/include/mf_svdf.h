/* mcuforge kernels: SVDF, int8 input and output, int16 or int8 time weights and state.
 *
 * Bit-exact with mcuforge/ref/svdf.py (TF-Lite Micro EvalIntegerSvdfReference). The
 * state (batch x filters x memory, in the arena) persists between invocations; each
 * call, for each batch b:
 *
 *   1. the whole state buffer moves down one element (each filter row drops its oldest);
 *   2. newest[f] = (state type)(state_zp + clamp(requant(sum_c wf[f][c] * (x[c] - input_zp),
 *                  mult_1, shift_1), state type range))   -- an int8 state wraps mod 256;
 *   3. t[f] = sum_m wt[f][m] * (state[f][m] - state_zp)                      (int32, wraps)
 *   4. y[u] = clamp(requant(bias[u] + sum_{r < rank} t[u * rank + r], mult_2, shift_2)
 *                   + output_zp, -128, 127).
 *
 * No fused activation: TF-Lite Micro's integer kernel applies none. Sums are formed in
 * uint32 arithmetic, so they wrap modulo 2^32 as the reference's int32 sums. */
#ifndef MF_SVDF_H
#define MF_SVDF_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

typedef struct {
    int32_t batch;
    int32_t input_size;
    int32_t filters;            /* units * rank */
    int32_t units;
    int32_t memory;
    int32_t rank;
    int32_t input_zp;
    int32_t state_zp;
    int32_t output_zp;
    int32_t mult_1, shift_1;    /* feature pass -> state (effective_scale_1) */
    int32_t mult_2, shift_2;    /* time pass -> output (effective_scale_2) */
    const int8_t *weights_feature; /* [filters][input_size] */
    const void *weights_time;   /* [filters][memory], int16_t (mf_svdf_s16) or int8_t (mf_svdf_s8) */
    const int32_t *bias;        /* [units] */
} mf_svdf_params;

/* int16 time weights and state (the keyword models' form). */
void mf_svdf_s16(const mf_svdf_params *p, const int8_t *in, int16_t *state, int8_t *out);
/* int8 time weights and state. */
void mf_svdf_s8(const mf_svdf_params *p, const int8_t *in, int8_t *state, int8_t *out);

#endif
