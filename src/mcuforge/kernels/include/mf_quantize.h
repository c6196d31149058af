/* mcuforge kernels: QUANTIZE (float32 -> int8/int16, and integer requantisation)
 * and DEQUANTIZE (int8/int16 -> float32).
 *
 * Bit-exact with mcuforge/ref/quantize.py (TF-Lite Micro's AffineQuantize,
 * Requantize and Dequantize) on every input, including the x86-64 behaviour the
 * ref documents for quotients outside int32 and NaN (they become INT32_MIN before
 * the zero point is added), which the code reproduces without relying on the
 * platform's float-to-int conversion. Needs IEEE float32/float64 arithmetic
 * without excess precision or -ffast-math (C99 on x86-64 SSE, Cortex-M4F/M7,
 * or soft float).
 *
 * Memory contract: element-wise (increasing index order, element i read before
 * element i is written) when the output element is no wider than the input
 * element: float32 -> int8, requantisation between equal or narrowing types. The
 * output may then start at or below the start of the input and overlap it.
 * DEQUANTIZE widens, so it walks the other way: decreasing index order, element i
 * read before element i is written; its output may start at or above the start
 * of the input (the same address included) and overlap it. Widening
 * requantisation must not overlap. */
#ifndef MF_QUANTIZE_H
#define MF_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "mf_common.h"

/* Element types of integer tensors. */
#define MF_TYPE_INT8 1
#define MF_TYPE_UINT8 2
#define MF_TYPE_INT16 3
#define MF_TYPE_INT32 4

/* AffineQuantize: q = clamp(round(x / scale) + zero_point), the division in float32. */
typedef struct {
    int32_t size;
    int32_t out_type; /* MF_TYPE_INT8 or MF_TYPE_INT16 */
    float scale;      /* the output scale, float32 */
    int32_t zero_point;
} mf_quantize_params;

/* Requantize: q = clamp(MultiplyByQuantizedMultiplier(x - zp_in, m, s) + zp_out). */
typedef struct {
    int32_t size;
    int32_t in_type;
    int32_t out_type;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} mf_requantize_params;

/* Dequantize: (float)((double)scale * (x - zero_point)). */
typedef struct {
    int32_t size;
    int32_t in_type; /* MF_TYPE_INT8 or MF_TYPE_INT16 */
    float scale;     /* the input scale, float32 (widened to double in the product) */
    int32_t zero_point;
} mf_dequantize_params;

void mf_quantize_f32(const mf_quantize_params *p, const float *in, void *out);
void mf_requantize(const mf_requantize_params *p, const void *in, void *out);
void mf_dequantize_f32(const mf_dequantize_params *p, const void *in, float *out);

#endif /* MF_QUANTIZE_H */
