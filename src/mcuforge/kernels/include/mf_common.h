/* mcuforge kernels: shared fixed-point helpers (TFLite int8 arithmetic).
 *
 * These follow TF-Lite Micro's reference kernels, which round twice: a saturating
 * rounding doubling high multiply (gemmlowp), then a rounding right shift. The
 * Python twin of every function is in mcuforge/quant/fixedpoint.py; the two must
 * stay bit-identical. */
#ifndef MF_COMMON_H
#define MF_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32 with rounding;
 * the one overflow case (INT32_MIN * INT32_MIN) saturates. */
static inline int32_t mf_sat_rdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* C division truncates toward zero, as gemmlowp relies on. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, halves rounded away from zero. */
static inline int32_t mf_rdbp(int32_t x, int exponent) {
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier: shift > 0 shifts left before the multiply
 * (in 32-bit arithmetic, wrapping as the reference does), shift < 0 right after. */
static inline int32_t mf_requant(int32_t acc, int32_t mult, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)acc << left);
    return mf_rdbp(mf_sat_rdhm(shifted, mult), right);
}

/* CountLeadingZeros on uint32_t (TFLite's): 32 for 0. */
static inline int mf_clz32(uint32_t x) {
    int n = 0;
    while (n < 32 && (x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* MultiplyByQuantizedMultiplier(int64_t x, ...), the 16x8 requantisation: the Q31
 * multiplier rounded to Q15 (0x7FFF from 0x7FFF0000 up), then one rounding shift by
 * 15 - shift (8..46 for QuantizeMultiplier's shifts). |x| < 2^47 keeps the product
 * below 2^62. The right shift of a negative value is arithmetic (gcc, clang,
 * arm-none-eabi-gcc), as the reference's; the cast to int32 wraps as the reference's. */
static inline int32_t mf_requant64(int64_t x, int32_t mult, int32_t shift) {
    const int64_t reduced = mult < 0x7FFF0000 ? ((int64_t)mult + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total = 15 - shift;
    const int64_t r = (x * reduced + ((int64_t)1 << (total - 1))) >> total;
    return (int32_t)(uint32_t)(uint64_t)r;
}

static inline int32_t mf_clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

static inline int8_t mf_clamp_s8(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)mf_clamp(v, lo, hi);
}

#endif /* MF_COMMON_H */
