/* UNIDIRECTIONAL_SEQUENCE_LSTM, 8x8->16 and 16x8->16: see mf_lstm.h. */
#include "mf_lstm.h"

#include "mf_common.h"

/* One product row, requantised and clamped to int16. s8: |sum| <= cols * 128 * 255 + |bias|
 * < 2^31; s16: int64, below 2^47 for mf_requant64 (both checked by the generator). */
static int16_t product_s8(const int8_t *w, const int8_t *v, int32_t cols, int32_t bias, int32_t mult, int32_t shift) {
    int32_t acc = bias;
    for (int32_t d = 0; d < cols; ++d) {
        acc += (int32_t)w[d] * (int32_t)v[d];
    }
    return (int16_t)mf_clamp(mf_requant(acc, mult, shift), -32768, 32767);
}

static int16_t product_s16(const int8_t *w, const int16_t *v, int32_t cols, int64_t bias, int32_t mult,
                           int32_t shift) {
    int64_t acc = bias;
    for (int32_t d = 0; d < cols; ++d) {
        acc += (int32_t)w[d] * (int32_t)v[d];
    }
    return (int16_t)mf_clamp(mf_requant64(acc, mult, shift), -32768, 32767);
}

/* A gate's pre-activation for one batch row (x and h of int8 or int16 by `wide`): the two
 * products' saturating sum. */
static void gate_row(const mf_lstm_params *p, const mf_lstm_gate *g, const void *x, const void *h, int wide,
                     int16_t *out) {
    const int32_t n = p->state_size, m = p->input_size;
    for (int32_t o = 0; o < n; ++o) {
        const int8_t *wx = g->input_weights + o * m, *wh = g->recurrent_weights + o * n;
        int32_t a, b;
        if (wide) {
            a = product_s16(wx, (const int16_t *)x, m, g->input_bias64[o], g->input_multiplier, g->input_shift);
            b = product_s16(wh, (const int16_t *)h, n, g->recurrent_bias64[o], g->recurrent_multiplier,
                            g->recurrent_shift);
        } else {
            a = product_s8(wx, (const int8_t *)x, m, g->input_bias[o], g->input_multiplier, g->input_shift);
            b = product_s8(wh, (const int8_t *)h, n, g->recurrent_bias[o], g->recurrent_multiplier,
                           g->recurrent_shift);
        }
        out[o] = (int16_t)mf_clamp(a + b, -32768, 32767);
    }
}

/* MulElementwise: zp + MultiplyByQuantizedMultiplier(a * b), clamped (|a * b| <= 2^30). */
static int32_t mul(int32_t a, int32_t b, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    return mf_clamp(zp + mf_requant(a * b, mult, shift), lo, hi);
}

/* The four gates of one batch row into scratch (input, forget, cell, output rows), then the
 * cell update; leaves tanh(new cell) in the forget gate's row (no longer needed). */
static void gates_and_cell(const mf_lstm_params *p, const void *x, const void *h, int wide, int16_t *c,
                           int16_t *scratch) {
    const int32_t n = p->state_size;
    int16_t *gate[4];
    /* Q3.12 in: TF-Lite Micro's power-of-two case, multiplier 3 and no shift */
    mf_sigmoid_s16_params act = {n, 3, 0, p->sigmoid_table};
    for (int k = 0; k < 4; ++k) {
        gate[k] = scratch + k * n;
        gate_row(p, &p->gates[k], x, h, wide, gate[k]);
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
    mf_sigmoid_s16_params cell_tanh = {n, p->tanh_multiplier, p->tanh_shift, p->sigmoid_table};
    mf_tanh_s16(&cell_tanh, c, gate[1]);
}

/* Row (t, b) of the input and output in either layout. */
static int32_t row_of(const mf_lstm_params *p, int32_t t, int32_t b) {
    return p->time_major ? t * p->batch + b : b * p->time_steps + t;
}

/* After gates_and_cell: scratch row 1 holds tanh(cell), row 3 the output gate. */
void mf_lstm_s8(const mf_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell,
                int16_t *scratch) {
    const int32_t n = p->state_size;
    for (int32_t t = 0; t < p->time_steps; ++t) {
        for (int32_t b = 0; b < p->batch; ++b) {
            const int32_t row = row_of(p, t, b);
            int8_t *h = hidden + b * n;
            gates_and_cell(p, input + row * p->input_size, h, 0, cell + b * n, scratch);
            for (int32_t o = 0; o < n; ++o) {
                h[o] = (int8_t)mul(scratch[n + o], scratch[3 * n + o], p->hidden_multiplier, p->hidden_shift,
                                   p->hidden_zp, -128, 127);
                output[row * n + o] = h[o];
            }
        }
    }
}

void mf_lstm_s16(const mf_lstm_params *p, const int16_t *input, int16_t *output, int16_t *hidden, int16_t *cell,
                 int16_t *scratch) {
    const int32_t n = p->state_size;
    for (int32_t t = 0; t < p->time_steps; ++t) {
        for (int32_t b = 0; b < p->batch; ++b) {
            const int32_t row = row_of(p, t, b);
            int16_t *h = hidden + b * n;
            gates_and_cell(p, input + row * p->input_size, h, 1, cell + b * n, scratch);
            for (int32_t o = 0; o < n; ++o) {
                h[o] = (int16_t)mul(scratch[n + o], scratch[3 * n + o], p->hidden_multiplier, p->hidden_shift,
                                    p->hidden_zp, -32768, 32767);
                output[row * n + o] = h[o];
            }
        }
    }
}
