/* mcuforge kernels: TF-Lite Micro's signal-library operators (the audio front end of
 * tflm_audio_preprocessor) and the unquantised int32 builtins around them. Portable C only.
 *
 * Bit-exact with mcuforge/ref/signal.py, ref/signal_fft.py, ref/signal_math.py and
 * ref/signal_int.py; the arithmetic (every wrap and shift) is documented there. Integer
 * conversions to narrower types wrap modulo 2^bits, as gcc defines them.
 *
 * SignalRfft: KISS FFT's fixed-point real FFT; its twiddles and factors come from the
 * code generator as constants (no cosine at run time). Scratch: 2 * fft_length int16.
 * SignalFilterBankSpectralSubtraction: the noise estimate (num_channels uint32) is the
 * node's state variable in the arena (reset = 0: mf_reset zeroes it, it persists between
 * calls), or, for a node without one, its scratch, zeroed at every call (reset = 1).
 *
 * Memory contract: no output overlaps an input. */
#ifndef MF_SIGNAL_H
#define MF_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t size;   /* samples in x */
    int32_t window; /* samples in w; size is a multiple */
    int32_t shift;
} mf_signal_window_params;

typedef struct {
    int32_t size;
} mf_signal_size_params;

typedef struct {
    int32_t frames, frame_len, fft_length;
    int32_t num_factors;
    const int32_t *factors;        /* (radix, remaining length) pairs of fft_length / 2 */
    const int16_t *twiddles;       /* fft_length / 2 (re, im) pairs */
    const int16_t *super_twiddles; /* fft_length / 4 (re, im) pairs */
} mf_signal_rfft_params;

typedef struct {
    int32_t bins, start, end;
} mf_signal_energy_params;

typedef struct {
    int32_t num_channels;
} mf_signal_filter_bank_params;

typedef struct {
    int32_t num_channels;
    uint32_t smoothing, one_minus_smoothing, alternate_smoothing, alternate_one_minus_smoothing;
    uint32_t smoothing_bits, min_signal_remaining, spectral_subtraction_bits;
    int32_t clamping;
} mf_signal_spectral_subtraction_params;

typedef struct {
    int32_t size;
    int32_t snr_shift;
} mf_signal_pcan_params;

typedef struct {
    int32_t size;
    uint32_t input_correction_bits;
    uint32_t output_scale;
} mf_signal_log_params;

enum { MF_S32_MUL, MF_S32_ADD, MF_S32_DIV, MF_S32_MIN, MF_S32_MAX };
typedef struct {
    int32_t op, size;
    int32_t a_step, b_step; /* 1: full-size operand, 0: one value broadcast */
    int32_t act_min, act_max;
} mf_s32_binary_params;

enum { MF_INT_S8, MF_INT_S16, MF_INT_S32, MF_INT_U32 };
typedef struct {
    int32_t size, from, to;
} mf_int_cast_params;

void mf_signal_window(const mf_signal_window_params *p, const int16_t *x, const int16_t *w, int16_t *y);
void mf_signal_fft_auto_scale(const mf_signal_size_params *p, const int16_t *x, int16_t *y, int32_t *scale_bits);
void mf_signal_rfft(const mf_signal_rfft_params *p, const int16_t *x, int16_t *y, void *scratch);
void mf_signal_energy(const mf_signal_energy_params *p, const int16_t *x, uint32_t *y);
void mf_signal_filter_bank(const mf_signal_filter_bank_params *p, const uint32_t *x, const int16_t *weights,
                           const int16_t *unweights, const int16_t *freq_starts, const int16_t *weight_starts,
                           const int16_t *widths, uint64_t *y);
void mf_signal_filter_bank_sqrt(const mf_signal_size_params *p, const uint64_t *x, const int32_t *scale_bits,
                                uint32_t *y);
void mf_signal_spectral_subtraction(const mf_signal_spectral_subtraction_params *p, const uint32_t *x, uint32_t *y,
                                    uint32_t *noise_out, uint32_t *state, int32_t reset);
void mf_signal_pcan(const mf_signal_pcan_params *p, const uint32_t *x, const uint32_t *noise, const int16_t *lut,
                    uint32_t *y);
void mf_signal_filter_bank_log(const mf_signal_log_params *p, const uint32_t *x, int16_t *y);
void mf_s32_binary(const mf_s32_binary_params *p, const int32_t *a, const int32_t *b, int32_t *y);
void mf_int_cast(const mf_int_cast_params *p, const void *x, void *y);

#endif
