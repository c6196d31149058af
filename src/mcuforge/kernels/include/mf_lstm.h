/* mcuforge kernels: UNIDIRECTIONAL_SEQUENCE_LSTM with an int16 cell state: int8 activations
 * (TFLite's 8x8->16 integer LSTM, mf_lstm_s8) or int16 activations (16x8->16, mf_lstm_s16).
 * Portable C only.
 *
 * Bit-exact with mcuforge/ref/lstm.py (TF-Lite Micro's lstm_eval.h LstmStep): per gate two
 * products requantised to Q3.12 and clamped to int16 each, their saturating sum, then the
 * int16 sigmoid (tanh for the cell gate) of mf_s16.c; the cell and hidden updates by
 * MulElementwise requantisations. The zero points are folded into the biases at code
 * generation (input_bias = bias - zp_x * rowsum, recurrent_bias = -zp_h * rowsum), so the
 * sums are TF-Lite Micro's (the generator checks that none can overflow): int32 sums and
 * requantisation for s8, int64 sums and the int64 requantisation (mf_requant64) for s16.
 *
 * State: hidden (batch x state, the activation type) and cell (batch x state int16) are
 * read as the state before the sequence and hold the state after it; they persist between
 * calls. Scratch: 4 * state int16 values (one gate row each). The output must not overlap
 * the input or the state. */
#ifndef MF_LSTM_H
#define MF_LSTM_H

#include <stdint.h>

#include "mf_s16.h"

typedef struct {
    int32_t input_multiplier, input_shift;         /* s_x * s_w / 2^-12 */
    int32_t recurrent_multiplier, recurrent_shift; /* s_h * s_w / 2^-12 */
    const int8_t *input_weights;                   /* [state][input] */
    const int8_t *recurrent_weights;               /* [state][state] */
    const int32_t *input_bias;                     /* [state], zero point folded in (s8) */
    const int32_t *recurrent_bias;
    const int64_t *input_bias64;                   /* the same for s16; NULL for s8 */
    const int64_t *recurrent_bias64;
} mf_lstm_gate;

typedef struct {
    int32_t batch, time_steps, input_size, state_size;
    int32_t time_major;      /* 1: input [time][batch][input]; 0: [batch][time][input] */
    mf_lstm_gate gates[4];   /* input, forget, cell, output (TFLite's slot order) */
    int32_t forget_multiplier, forget_shift; /* forget gate x cell -> cell */
    int32_t input_multiplier, input_shift;   /* input gate x cell gate -> cell */
    int32_t hidden_multiplier, hidden_shift; /* tanh(cell) x output gate -> hidden */
    int32_t hidden_zp;
    int32_t cell_clip;                       /* quantised clip; -1: none */
    int32_t tanh_multiplier, tanh_shift;     /* tanh's rescale of the cell state */
    const int32_t *sigmoid_table;            /* mf_s16's 256-entry table */
} mf_lstm_params;

void mf_lstm_s8(const mf_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell,
                int16_t *scratch);
void mf_lstm_s16(const mf_lstm_params *p, const int16_t *input, int16_t *output, int16_t *hidden, int16_t *cell,
                 int16_t *scratch);

#endif
