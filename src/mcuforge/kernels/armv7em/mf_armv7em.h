/* mcuforge kernels: primitives shared by the ARMv7E-M kernel files (Cortex-M4/M7 with
 * the DSP extension) that arm_acle.h does not provide. Copied into a firmware build
 * together with the kernel files that replace the portable ones (targets/qemu.py). */
#ifndef MF_ARMV7EM_H
#define MF_ARMV7EM_H

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

/* SXTB16 of x rotated by 8: bytes 1 and 3, sign-extended, as two int16 lanes. */
static inline int32_t sxtb16_ror8(uint32_t x) {
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* a + SXTB16 of x rotated by 8, lane by lane. */
static inline int32_t sxtab16_ror8(int32_t a, uint32_t x) {
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SMMLAR: (c * 2^32 + a * b + 2^31) >> 32, the high word of a rounded 64-bit sum. */
static inline int32_t smmlar(int32_t a, int32_t b, int32_t c) {
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

/* Four bytes from any address: an unaligned LDR, which ARMv7-M allows. */
static inline uint32_t load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#endif /* MF_ARMV7EM_H */
