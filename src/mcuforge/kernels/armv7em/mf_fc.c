/* mcuforge kernels: FULLY_CONNECTED for ARMv7E-M (Cortex-M4/M7 with the DSP extension).
 *
 * Same function, parameters and results as portable/mf_fc.c (see mf_fc.h), chosen at
 * build time. With batch 1 every weight is used once, so the cost is the weights:
 * the usual SXTB16 + SMLAD per 2 weights is 1 instruction per MAC. With the pair
 * layout (weights_paired, codegen/ops_conv.py fc_pairs) a weight word w0..w3 read
 * raw has the int16 halves H = (w0 + 256 w1, w2 + 256 w3), and SXTB16 of it gives
 * E = (w0, w2). The input row is converted once to
 *   Y = (x1 - 127, x3 - 127),   Z = (256 x0 - x1 + 127, 256 x2 - x3 + 127)
 * (both in int16: 256 x0 - x1 + 127 lies in [-32768, 32767]), and
 *   SMLAD(H, Y) + SMLAD(E, Z) = 256 * (w . x) - 256 * 127 * (w1 + w3),
 * 3 instructions per 4 MACs. The 256-scaled sum fits int32 because the emitter
 * checked 255 * sum|w| < 2^23; pair_init = acc_init + 127 * sum(odd weights) puts the
 * 127 back. Depth is padded to 16 in the converted row with Y = Z = 0 (odd inputs
 * 127, even 0), so the weight bytes read past a row's end (the next row's) add 0;
 * the last row, whose over-read would leave the array, runs in C.
 *
 * Everything else (per-channel quantisation, a filter offset, unaligned weights,
 * depth not a multiple of 4, other requantisation forms) runs in plain C.
 */
#include <string.h>

#include "mf_fc.h"
#include "mf_armv7em.h"

/* One output in the portable arithmetic (mf_fc.h). */
static inline int8_t fc_out(const mf_fc_params *p, int32_t acc, int32_t ch) {
    const int32_t r = mf_clamp(mf_requant(acc, p->multipliers[ch], p->shifts[ch]), p->act_min - p->output_zp,
                               p->act_max - p->output_zp);
    return (int8_t)(r + p->output_zp);
}

/* Row o of batch row x in plain C (any layout). */
static int8_t row_c(const mf_fc_params *p, const int8_t *x, int32_t o, uint32_t x_term) {
    uint32_t acc = (p->acc_init != NULL ? (uint32_t)p->acc_init[o] : 0u) + x_term;
    for (int32_t d = 0; d < p->accum_depth; ++d) {
        acc += (uint32_t)(mf_fc_weight(p, o, d) * (int32_t)x[d]);
    }
    return fc_out(p, (int32_t)acc, p->per_channel ? o : 0);
}

/* Y and Z words (see above) of n16 / 4 blocks of 4 inputs, padding past depth. */
static void convert_row(const int8_t *x, int32_t depth, int32_t n16, int32_t *buf) {
    for (int32_t d = 0; d < n16; d += 4) {
        uint32_t v = 0u;
        for (int32_t i = 0; i < 4; ++i) {
            const uint32_t byte = d + i < depth ? (uint32_t)(uint8_t)x[d + i] : ((i & 1) ? 127u : 0u);
            v |= byte << (8 * i);
        }
        const int32_t y = __ssub16(sxtb16_ror8(v), 0x007F007F);
        *buf++ = y;
        *buf++ = __ssub16((int32_t)((v << 8) & 0xFF00FF00u), y);
    }
}

/* ------------------------------------------------------- all rows in asm */
typedef struct {
    const int8_t *w;        /* 0: first row */
    const int32_t *xbuf;    /* 4 */
    const int32_t *xend;    /* 8 */
    uint32_t entry;         /* 12: body address + skipped bytes, Thumb bit set */
    const int32_t *pi_end;  /* 16: pair_init + rows (indexed by lr = row - rows) */
    int32_t pad;            /* 20: bytes read past a row (16-padding) */
    int32_t m, d, e;        /* 24: SMMLAR requantisation */
    int8_t *out_end;        /* 36: out + rows */
    int32_t neg_rows;       /* 40 */
} fc_ctx;

/* 16 inputs: 4 weight words, 2 x 2 (Y, Z) pairs. 15 instructions, 60 bytes. */
#define FC_BLOCK                                           \
    "ldmia.w  r10!, {r1-r4}\n\t"                           \
    "ldmia.w  r11!, {r5-r8}\n\t"                           \
    "smlad.w  r0, r1, r5, r0\n\t"                          \
    "sxtb16.w r9, r1\n\t"                                  \
    "smlad.w  r0, r9, r6, r0\n\t"                          \
    "smlad.w  r0, r2, r7, r0\n\t"                          \
    "sxtb16.w r9, r2\n\t"                                  \
    "smlad.w  r0, r9, r8, r0\n\t"                          \
    "ldmia.w  r11!, {r5-r8}\n\t"                           \
    "smlad.w  r0, r3, r5, r0\n\t"                          \
    "sxtb16.w r9, r3\n\t"                                  \
    "smlad.w  r0, r9, r6, r0\n\t"                          \
    "smlad.w  r0, r4, r7, r0\n\t"                          \
    "sxtb16.w r9, r4\n\t"                                  \
    "smlad.w  r0, r9, r8, r0\n\t"

static void fc_rows(fc_ctx *ctx) {
    register fc_ctx *c __asm__("r0") = ctx;
    __asm__ volatile(
        "sub      sp, sp, #44\n\t"
        "ldmia.w  r0, {r1-r11}\n\t"
        "stmia.w  sp, {r1-r11}\n\t"
        "adr.w    r1, 5f\n\t"
        "add      r4, r4, r1\n\t"
        "str      r4, [sp, #12]\n\t"
        "ldr      r10, [sp, #0]\n\t"
        "ldr      r12, [sp, #8]\n\t"
        "ldr      lr, [sp, #40]\n\t"
        "1:\n\t"
        "movs     r0, #0\n\t"
        "ldr      r11, [sp, #4]\n\t"
        "ldr      pc, [sp, #12]\n\t"
        ".p2align 2\n\t"
        "5:\n\t"
        FC_BLOCK FC_BLOCK
        "cmp      r11, r12\n\t"
        "bne      5b\n\t"
        /* acc = pair_init[row] + sum / 256; skip the padding bytes; requantise */
        "add      r9, sp, #16\n\t"
        "ldmia.w  r9, {r1-r5}\n\t"
        "ldr      r1, [r1, lr, lsl #2]\n\t"
        "add      r0, r1, r0, asr #8\n\t"
        "sub      r10, r10, r2\n\t"
        "sub      r6, r4, r0, lsr #31\n\t"
        "lsl      r0, r0, #1\n\t"
        "smmlar   r0, r0, r3, r6\n\t"
        "asr      r0, r0, r5\n\t"
        "ssat     r0, #8, r0\n\t"
        "ldr      r1, [sp, #36]\n\t"
        "strb     r0, [r1, lr]\n\t"
        "adds     lr, lr, #1\n\t"
        "bne      1b\n\t"
        "add      sp, sp, #44\n\t"
        : "+r"(c)
        :
        : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

void mf_fc_s8(const mf_fc_params *p, const int8_t *in, int8_t *out, void *scratch) {
    const int32_t depth = p->accum_depth;
    const int32_t n16 = (depth + 15) & ~15;
    const int32_t e = p->multipliers[0] == 0 ? 2 : -p->shifts[0];
    /* scratch is NULL when the emitter gave the row no widening buffer (ops_conv.py). */
    const int fast = scratch != NULL && p->weights_paired && p->pair_init != NULL && !p->per_channel && p->filter_offset == 0 &&
                     p->small_acc && depth % 4 == 0 && ((uintptr_t)p->weights & 3u) == 0 && e >= 2 && e <= 22 &&
                     p->act_min == -128 && p->act_max == 127;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = in + (size_t)b * (size_t)depth;
        int8_t *y = out + (size_t)b * (size_t)p->output_depth;
        int32_t o = 0;
        if (fast) {
            int32_t *buf = (int32_t *)scratch;
            convert_row(x, depth, n16, buf);
            /* The last row over-reads n16 - depth bytes past it: C unless there are none. */
            const int32_t rows = n16 == depth ? p->output_depth : p->output_depth - 1;
            if (rows > 0) {
                const int32_t blocks = n16 >> 4;
                fc_ctx c = {
                    .w = p->weights,
                    .xbuf = buf,
                    .xend = buf + 2 * (n16 >> 2),
                    .entry = (uint32_t)((blocks & 1) * 60) | 1u, /* an odd count enters at the second block */
                    .pi_end = p->pair_init + rows,
                    .pad = n16 - depth,
                    .m = p->multipliers[0],
                    .d = (int32_t)((uint32_t)(2 * p->output_zp + 1) << (e - 1)),
                    .e = e,
                    .out_end = y + rows,
                    .neg_rows = -rows,
                };
                fc_rows(&c);
                o = rows;
            }
        }
        /* filter_offset * sum(x): the only input-dependent part of the fold (mf_fc.h). */
        uint32_t xsum = 0u;
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) {
                xsum += (uint32_t)(int32_t)x[d];
            }
        }
        for (; o < p->output_depth; ++o) {
            y[o] = row_c(p, x, o, (uint32_t)p->filter_offset * xsum);
        }
    }
}
