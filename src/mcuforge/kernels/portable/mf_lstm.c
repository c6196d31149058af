/* UNIDIRECTIONAL_SEQUENCE_LSTM, 8x8->16: see mf_lstm.h. */
#include "mf_lstm.h"

#include "mf_common.h"

/* One product row: MultiplyByQuantizedMultiplier of sum w * v + bias, clamped to int16.
 * |sum| <= cols * 128 * 255 + |bias| < 2^31 (checked by the generator). */
static int32_t product(const int8_t *w, const int8_t *v, int32_t cols, int32_t bias, int32_t mult, int32_t shift) {
    int32_t acc = bias;
    for (int32_t d = 0; d < cols; ++d) {
        acc += (int32_t)w[d] * (int32_t)v[d];
    }
    return mf_clamp(mf_requant(acc, mult, shift), -32768, 32767);
}

/* A gate's pre-activation for one batch row: the two products' saturating sum. */
static void gate_row(const mf_lstm_params *p, const mf_lstm_gate *g, const int8_t *x, const int8_t *h, int16_t *out) {
    const int32_t n = p->state_size;
    for (int32_t o = 0; o < n; ++o) {
        const int32_t a = product(g->input_weights + o * p->input_size, x, p->input_size, g->input_bias[o],
                                  g->input_multiplier, g->input_shift);
        const int32_t b = product(g->recurrent_weights + o * n, h, n, g->recurrent_bias[o], g->recurrent_multiplier,
                                  g->recurrent_shift);
        out[o] = (int16_t)mf_clamp(a + b, -32768, 32767);
    }
}

/* MulElementwise: zp + MultiplyByQuantizedMultiplier(a * b), clamped (|a * b| <= 2^30). */
static int32_t mul(int32_t a, int32_t b, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    return mf_clamp(zp + mf_requant(a * b, mult, shift), lo, hi);
}

/* One time step of one batch row: x (input), h and c (its state, updated). */
static void step(const mf_lstm_params *p, const int8_t *x, int8_t *h, int16_t *c, int16_t *scratch) {
    const int32_t n = p->state_size;
    int16_t *gate[4];
    /* Q3.12 in: TF-Lite Micro's power-of-two case, multiplier 3 and no shift */
    mf_sigmoid_s16_params act = {n, 3, 0, p->sigmoid_table};
    for (int k = 0; k < 4; ++k) {
        gate[k] = scratch + k * n;
        gate_row(p, &p->gates[k], x, h, gate[k]);
        if (k == 2) {
            mf_tanh_s16(&act, gate[k], gate[k]);
        } else {
            mf_logistic_s16(&act, gate[k], gate[k]);
        }
    }
    for (int32_t o = 0; o < n; ++o) {
        const int32_t kept = mul(gate[1][o], c[o], p->forget_multiplier, p->forget_shift, 0, -32768, 32767);
        const int32_t added = mul(gate[0][o], gate[2][o], p->input_multiplier, p->input_shift, 0, -32768, 32767);
        int32_t v = mf_clamp(kept + added, -32768, 32767);
        if (p->cell_clip >= 0) {
            v = mf_clamp(v, -p->cell_clip, p->cell_clip);
        }
        c[o] = (int16_t)v;
    }
    /* tanh of the new cell into the forget gate's row (no longer needed) */
    mf_sigmoid_s16_params cell_tanh = {n, p->tanh_multiplier, p->tanh_shift, p->sigmoid_table};
    mf_tanh_s16(&cell_tanh, c, gate[1]);
    for (int32_t o = 0; o < n; ++o) {
        h[o] = (int8_t)mul(gate[1][o], gate[3][o], p->hidden_multiplier, p->hidden_shift, p->hidden_zp, -128, 127);
    }
}

void mf_lstm_s8(const mf_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell,
                int16_t *scratch) {
    const int32_t n = p->state_size;
    for (int32_t t = 0; t < p->time_steps; ++t) {
        for (int32_t b = 0; b < p->batch; ++b) {
            /* row (t, b) of the input and output in either layout */
            const int32_t row = p->time_major ? t * p->batch + b : b * p->time_steps + t;
            int8_t *h = hidden + b * n;
            step(p, input + row * p->input_size, h, cell + b * n, scratch);
            for (int32_t o = 0; o < n; ++o) {
                output[row * n + o] = h[o];
            }
        }
    }
}
