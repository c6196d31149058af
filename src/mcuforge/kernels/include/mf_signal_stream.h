/* mcuforge kernels: the signal library's streaming operators (SignalFramer, SignalStacker,
 * SignalDelay, SignalOverlapAdd), int16. Portable C only; bit-exact with
 * mcuforge/ref/signal_stream.py, whose docstring states the arithmetic.
 *
 * Each keeps its state (TF-Lite Micro's circular buffers, overlap-add's accumulator) in a
 * buffer the caller passes; with reset = 1 the kernel first puts it in TF-Lite Micro's
 * reset state (all zeros: a queue stores its length minus the framer's prefill). Nodes
 * read from a .tflite get their state as a variable tensor in the arena (reset = 0;
 * mf_reset zeroes it, it persists between calls); a node without one gets the node's
 * scratch with reset = 1: one invocation from the reset state. State sizes in int16
 * values: MF_SIGNAL_*_STATE.
 *
 * Memory contract: no output overlaps the input or the state. */
#ifndef MF_SIGNAL_STREAM_H
#define MF_SIGNAL_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t rows, row_len; /* the input: rows of row_len samples, row_len / frame_step frames each */
    int32_t frame_size, frame_step, prefill;
} mf_signal_framer_params;

typedef struct {
    int32_t num_channels, left, right, step;
} mf_signal_stacker_params;

typedef struct {
    int32_t rows, row_len, delay;
} mf_signal_delay_params;

typedef struct {
    int32_t rows, frames, frame_size, frame_step;
} mf_signal_overlap_add_params;

/* int16 values of state each needs */
#define MF_SIGNAL_FRAMER_STATE(rows, frame_size, frame_step) ((rows) * ((frame_size) + (frame_step) + 2))
#define MF_SIGNAL_STACKER_STATE(size, channels, left) ((size) + (channels) * ((left) + 1) + 4) /* has_first, 0, queue */
#define MF_SIGNAL_DELAY_STATE(rows, delay) ((rows) * (delay)) /* plus work: row_len + delay values */
#define MF_SIGNAL_OVERLAP_ADD_STATE(rows, frame_size) ((rows) * (frame_size))

void mf_signal_framer(const mf_signal_framer_params *p, const int16_t *x, int16_t *y, uint8_t *valid, int16_t *state,
                      int32_t reset);
void mf_signal_stacker(const mf_signal_stacker_params *p, const int16_t *x, int16_t *y, uint8_t *valid,
                       int16_t *state, int32_t reset);
void mf_signal_delay(const mf_signal_delay_params *p, const int16_t *x, int16_t *y, int16_t *state, int16_t *work,
                     int32_t reset);
void mf_signal_overlap_add(const mf_signal_overlap_add_params *p, const int16_t *x, int16_t *y, int16_t *state,
                           int32_t reset);

#endif
