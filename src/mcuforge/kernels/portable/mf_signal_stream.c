/* The signal library's streaming operators (mf_signal_stream.h): FIFO queues kept flat
 * (the oldest sample first), and overlap-add's accumulator. */
#include "mf_signal_stream.h"

#include <string.h>

/* A queue: its length minus `base` in two int16 (low, high half of an int32), then the
 * samples; all zeros is the reset state (base zeros queued: the framer's prefill). The
 * layout of mcuforge/ref/signal_stream.py's variable tensors. */
static int32_t q_len(const int16_t *q, int32_t base) {
    return (int32_t)((uint16_t)q[0] | ((uint32_t)(uint16_t)q[1] << 16)) + base;
}

static void q_set_len(int16_t *q, int32_t n, int32_t base) {
    uint32_t v = (uint32_t)(n - base);
    q[0] = (int16_t)(uint16_t)(v & 0xFFFFu);
    q[1] = (int16_t)(uint16_t)(v >> 16);
}

static void q_push(int16_t *q, const int16_t *v, int32_t n, int32_t base) {
    int32_t len = q_len(q, base);
    memcpy(q + 2 + len, v, sizeof(int16_t) * (size_t)n);
    q_set_len(q, len + n, base);
}

static void q_drop(int16_t *q, int32_t n, int32_t base) {
    int32_t len = q_len(q, base);
    memmove(q + 2, q + 2 + n, sizeof(int16_t) * (size_t)(len - n));
    memset(q + 2 + len - n, 0, sizeof(int16_t) * (size_t)n); /* freed samples back to 0, as the ref keeps them */
    q_set_len(q, len - n, base);
}

void mf_signal_framer(const mf_signal_framer_params *p, const int16_t *x, int16_t *y, uint8_t *valid, int16_t *state,
                      int32_t reset) {
    int32_t per_row = p->frame_size + p->frame_step + 2, frames = p->row_len / p->frame_step;
    *valid = 1;
    for (int32_t r = 0; r < p->rows; ++r) {
        int16_t *q = state + r * per_row;
        int32_t base = p->prefill ? p->frame_size - p->frame_step : 0;
        if (reset) memset(q, 0, sizeof(int16_t) * (size_t)per_row);
        for (int32_t f = 0; f < frames; ++f) {
            int16_t *out = y + ((size_t)r * frames + f) * p->frame_size;
            q_push(q, x + (size_t)r * p->row_len + f * p->frame_step, p->frame_step, base);
            if (q_len(q, base) >= p->frame_size) {
                memcpy(out, q + 2, sizeof(int16_t) * (size_t)p->frame_size);
                q_drop(q, p->frame_step, base);
            } else {
                memset(out, 0, sizeof(int16_t) * (size_t)p->frame_size);
                *valid = 0;
            }
        }
    }
}

void mf_signal_stacker(const mf_signal_stacker_params *p, const int16_t *x, int16_t *y, uint8_t *valid,
                       int16_t *state, int32_t reset) {
    int32_t size = p->num_channels * (p->left + p->right + 1);
    int16_t *has_first = state, *q = state + 2;
    if (reset) memset(state, 0, sizeof(int16_t) * (size_t)(size + p->num_channels * (p->left + 1) + 4));
    q_push(q, x, p->num_channels, 0);
    if (!has_first[0]) {
        for (int32_t i = 0; i < p->left; ++i) q_push(q, x, p->num_channels, 0); /* the first frame padded */
        has_first[0] = 1;
    }
    *valid = q_len(q, 0) >= size;
    if (*valid) {
        memcpy(y, q + 2, sizeof(int16_t) * (size_t)size);
        q_drop(q, p->num_channels * p->step, 0);
    } else {
        memset(y, 0, sizeof(int16_t) * (size_t)size);
    }
}

void mf_signal_delay(const mf_signal_delay_params *p, const int16_t *x, int16_t *y, int16_t *state, int16_t *work,
                     int32_t reset) {
    int16_t *line = work; /* delay + row_len samples */
    if (reset) memset(state, 0, sizeof(int16_t) * (size_t)(p->rows * p->delay));
    for (int32_t r = 0; r < p->rows; ++r) {
        int16_t *kept = state + r * p->delay;
        memcpy(line, kept, sizeof(int16_t) * (size_t)p->delay);
        memcpy(line + p->delay, x + (size_t)r * p->row_len, sizeof(int16_t) * (size_t)p->row_len);
        memcpy(y + (size_t)r * p->row_len, line, sizeof(int16_t) * (size_t)p->row_len);
        memcpy(kept, line + p->row_len, sizeof(int16_t) * (size_t)p->delay);
    }
}

void mf_signal_overlap_add(const mf_signal_overlap_add_params *p, const int16_t *x, int16_t *y, int16_t *state,
                           int32_t reset) {
    if (reset) memset(state, 0, sizeof(int16_t) * (size_t)(p->rows * p->frame_size));
    for (int32_t r = 0; r < p->rows; ++r) {
        int16_t *acc = state + r * p->frame_size;
        for (int32_t f = 0; f < p->frames; ++f) {
            const int16_t *in = x + ((size_t)r * p->frames + f) * p->frame_size;
            for (int32_t i = 0; i < p->frame_size; ++i) {
                int32_t v = (int32_t)in[i] + acc[i];
                acc[i] = (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
            }
            memcpy(y + ((size_t)r * p->frames + f) * p->frame_step, acc, sizeof(int16_t) * (size_t)p->frame_step);
            memmove(acc, acc + p->frame_step, sizeof(int16_t) * (size_t)(p->frame_size - p->frame_step));
            memset(acc + p->frame_size - p->frame_step, 0, sizeof(int16_t) * (size_t)p->frame_step);
        }
    }
}
