/* QUANTIZE and DEQUANTIZE (see mf_quantize.h). */
#include "mf_quantize.h"

/* Two's complement wrap of a 64-bit value to int32 (the C++ int32 addition's result). */
static int32_t wrap32(int64_t v) {
    const uint32_t u = (uint32_t)v;
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

static int32_t load(int32_t type, const void *base, int32_t i) {
    switch (type) {
    case MF_TYPE_INT8:
        return ((const int8_t *)base)[i];
    case MF_TYPE_UINT8:
        return ((const uint8_t *)base)[i];
    case MF_TYPE_INT16:
        return ((const int16_t *)base)[i];
    default:
        return ((const int32_t *)base)[i];
    }
}

/* Clamp to the type's range and store. */
static void store(int32_t type, void *base, int32_t i, int32_t v) {
    switch (type) {
    case MF_TYPE_INT8:
        ((int8_t *)base)[i] = (int8_t)mf_clamp(v, -128, 127);
        break;
    case MF_TYPE_UINT8:
        ((uint8_t *)base)[i] = (uint8_t)mf_clamp(v, 0, 255);
        break;
    case MF_TYPE_INT16:
        ((int16_t *)base)[i] = (int16_t)mf_clamp(v, -32768, 32767);
        break;
    default:
        ((int32_t *)base)[i] = v;
        break;
    }
}

/* round(q) halving away from zero, as an int32; INT32_MIN when the result does not
 * fit (or q is NaN), which is what x86-64's cvttss2si gives TF-Lite Micro's cast.
 * For a float32 q below 2^31, |q| + 0.5 is computed exactly enough in double that
 * truncation equals std::round (the ref performs the same double operations). */
static int32_t round_to_int32(float q) {
    const double a = q < 0.0f ? -(double)q : (double)q;
    const double v = a + 0.5;
    if (!(v < 2147483648.0)) { /* also true for NaN */
        return INT32_MIN;
    }
    const int32_t t = (int32_t)v; /* truncation = floor for v >= 0 */
    return q < 0.0f ? -t : t;
}

/* reference_ops::AffineQuantize. */
void mf_quantize_f32(const mf_quantize_params *p, const float *in, void *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const float q = in[i] / p->scale; /* float32 division, as TF-Lite Micro's */
        store(p->out_type, out, i, wrap32((int64_t)round_to_int32(q) + p->zero_point));
    }
}

/* reference_ops::Requantize (its int8 <-> uint8 shortcut gives the same values). */
void mf_requantize(const mf_requantize_params *p, const void *in, void *out) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = wrap32((int64_t)load(p->in_type, in, i) - p->input_zero_point);
        const int64_t q = (int64_t)mf_requant(v, p->multiplier, p->shift) + p->output_zero_point;
        store(p->out_type, out, i, wrap32(q));
    }
}

/* reference_ops::Dequantize: the product of a float32 scale and an integer below
 * 2^17 is exact in double, so the result is the correctly rounded float32.
 * Elements go in decreasing index order (see the memory contract in the header). */
void mf_dequantize_f32(const mf_dequantize_params *p, const void *in, float *out) {
    const double scale = (double)p->scale;
    for (int32_t i = p->size - 1; i >= 0; --i) {
        out[i] = (float)(scale * (double)(load(p->in_type, in, i) - p->zero_point));
    }
}
