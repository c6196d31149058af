/* mcuforge kernels: CONV_2D for ARMv7E-M (Cortex-M4/M7 with the DSP extension).
 *
 * Same functions, parameters, results and memory contracts as portable/mf_conv.c
 * (see mf_conv.h); chosen at build time (targets/qemu.py). Where the portable
 * kernel takes one pixel at a time, these take groups of 4 consecutive output
 * pixels (the contract in mf_conv.h allows it):
 *
 * 1. Each pixel's input (pointwise) or im2col patch (general) is converted to int16
 *    in scratch, 8 words per 4 elements x0..x3: the even pairs (x0, x2) of pixels
 *    0..3, then the odd pairs (x1, x3). SXTB16 of a weight word w0..w3 gives
 *    (w0, w2), SXTB16 of it rotated by 8 gives (w1, w3): the same pairing, so one
 *    SMLAD adds two products and the weights need no reordering.
 * 2. Per output channel, 4 accumulators (one per pixel) run over the patch: per 4
 *    elements one weight load, 2 SXTB16, 2 LDM of 4 words and 8 SMLAD (16 MACs).
 * 3. Requantisation (see conv_requant): one SMMLAR per output when the emitter
 *    proved |acc| < 2^30 (small_acc), the portable arithmetic otherwise.
 *
 * Grouped convolutions (groups > 1) take a plain C path. All sums wrap modulo 2^32
 * like the reference's int32 accumulator (SMLAD's accumulation wraps; its Q flag
 * is ignored).
 */
#include <string.h>

#include "mf_conv.h"
#include "mf_armv7em.h"

/* The first n (0..3) bytes of p as a little-endian word, the rest 0; reads nothing past p + n. */
static inline uint32_t load_tail(const int8_t *p, int32_t n) {
    uint32_t v = 0u;
    for (int32_t i = 0; i < n; ++i) {
        v |= (uint32_t)(uint8_t)p[i] << (8 * i);
    }
    return v;
}

/* ------------------------------------------------------ requantisation
 * The portable  clamp(RoundingDivideByPOT(SRDHM(acc, m), e) + zp)  for a right shift
 * e = -shift >= 1, exactly, in two forms. Both rest on: gemmlowp's SRDHM is
 * s = floor((acc * m + 2^30) / 2^31) (its nudge rounds half up on both signs), and
 * RDBP(s, e) = (s + 2^(e-1) - [s < 0]) >> e, so with nested floors
 *   y = floor((acc * m + 2^30 + (2^(e-1) - [s < 0]) * 2^31) / 2^(31+e)) + zp.
 * [s < 0] may be replaced by [acc < 0] (m >= 0): they differ only when acc < 0 and
 * s = 0, where both give RDBP = 0.
 * - General (any int32 acc, 2 <= e <= 31; m = 0 channels run with e = 2): the 64-bit
 *   sum acc * m + lo + hi * 2^32 with lo = 2^30 + [acc<0] * 2^31 and
 *   hi = 2^(e-2) - [acc<0] (SMLAL), then y = (hi >> (e-1)) + zp. |hi| < 2^31.
 * - SMMLAR (small_acc, 1 <= e <= 22): s = floor((2 acc * m + 2^31) / 2^32), so
 *   y = SMMLAR(2 acc, m, d - [acc<0]) >> e with d = 2^(e-1) + zp * 2^e; 2 acc, s and
 *   d stay below 2^31.
 * Other channels (left shifts, e = 0, or e = 1 without small_acc) use the portable
 * mf_requant. */
typedef struct {
    int32_t m;     /* Q31 multiplier */
    int32_t e;     /* right shift; 0 when the portable form is needed */
    int32_t aux;   /* SMMLAR form: d; general form: 2^(e-2) */
    int32_t form;  /* 2 SMMLAR, 1 general, 0 portable */
} conv_rq;

static inline conv_rq rq_channel(const mf_conv_params *p, int32_t oc) {
    conv_rq q;
    q.m = p->multipliers[oc];
    q.e = -p->shifts[oc];
    if (q.m == 0) {
        q.e = 2; /* y = zp whatever the shift */
    }
    if (p->small_acc && q.e >= 1 && q.e <= 22) {
        q.form = 2;
        q.aux = (int32_t)((uint32_t)(2 * p->output_zp + 1) << (q.e - 1));
    } else if (q.e >= 2 && q.e <= 31) {
        q.form = 1;
        q.aux = 1 << (q.e - 2);
    } else {
        q.form = 0;
        q.aux = 0;
    }
    return q;
}

/* One output, any form, clamped to the activation range. */
static inline int8_t rq_one(const mf_conv_params *p, const conv_rq *q, int32_t acc, int32_t oc) {
    int32_t y;
    if (q->form == 2) {
        const int32_t c = q->aux - (int32_t)((uint32_t)acc >> 31);
        y = smmlar((int32_t)((uint32_t)acc << 1), q->m, c) >> q->e;
    } else if (q->form == 1) {
        const int64_t k = ((int64_t)q->aux << 32) + (1 << 30) - (acc < 0 ? ((int64_t)1 << 31) : 0);
        y = ((int32_t)(((int64_t)acc * q->m + k) >> 32) >> (q->e - 1)) + p->output_zp;
    } else {
        y = mf_clamp(mf_requant(acc, p->multipliers[oc], p->shifts[oc]), -128 - p->output_zp, 127 - p->output_zp) +
            p->output_zp;
    }
    return (int8_t)mf_clamp(__ssat(y, 8), p->act_min, p->act_max);
}

/* ----------------------------------------------------- int16 packing */
/* Lane q (0..3) of the packed buffer from len int8 values; the last block is padded with 0. */
static void pack_lane(const int8_t *src, int32_t len, int32_t q, int32_t *buf) {
    int32_t *dst = buf + q;
    int32_t nb = len >> 2;
    for (; nb > 0; --nb) {
        const uint32_t x = load_u32(src);
        src += 4;
        dst[0] = __sxtb16(x);
        dst[4] = sxtb16_ror8(x);
        dst += 8;
    }
    if (len & 3) {
        const uint32_t x = load_tail(src, len & 3);
        dst[0] = __sxtb16(x);
        dst[4] = sxtb16_ror8(x);
    }
}

static void zero_lane(int32_t len, int32_t q, int32_t *buf) {
    int32_t *dst = buf + q;
    for (int32_t nb = (len + 3) >> 2; nb > 0; --nb) {
        dst[0] = 0;
        dst[4] = 0;
        dst += 8;
    }
}

/* ---------------------------------------- the whole group in assembly
 * All channels of a group (4 pixel lanes, every channel in one requantisation form,
 * full int8 activation range) in one asm routine, so that no C variable lives across
 * the 13-register MAC loop. The routine copies its context to its own stack frame and
 * keeps, across channels, the weight pointer in r4, the channel index (counting up
 * to 0) in r6 and the output pointer in lr. The MAC loop is unrolled 4 blocks deep
 * and entered at block 4 - (ceil(K/4) mod 4), so no counter register is needed; a
 * chunk ends when the packed buffer pointer reaches its end. Every instruction in a
 * block is 32-bit, so a block is 13 * 4 = 52 bytes. When K is not a multiple of 4 the
 * last block's weight word takes up to 3 bytes past the row (the next row's, or for
 * the last row up to 3 bytes after the weights array): the packed lanes there are 0,
 * and the weight pointer steps back by the padding before the next row. */
typedef struct {
    const int32_t *init_end; /* 0: acc_init + out_c (indexed by r6 = oc - out_c) */
    const int32_t *mult_end; /* 4 */
    const int32_t *shift_end; /* 8 */
    const int32_t *buf;      /* 12 */
    const int32_t *buf_end;  /* 16: buf + 8 * ceil(K/4) */
    int32_t pad;             /* 20: ceil(K/4) * 4 - K, weight bytes read past a row */
    int32_t z;               /* 24: SMMLAR form 2 * zp + 1; general form zp */
    int32_t step;            /* 28: out_c */
    int32_t neg_nch;         /* 32: -out_c */
    const int8_t *w;         /* 36 */
    int8_t *out_end;         /* 40: out_px + out_c */
    uint32_t entry;          /* 44: bytes of the unrolled body skipped on entry; the routine
                                makes it the entry address */
} group_ctx;

#define GBLOCK                                             \
    "ldr.w    r12, [r4], #4\n\t"                           \
    "sxtb16.w r11, r12\n\t"                                \
    "sxtb16.w r12, r12, ror #8\n\t"                        \
    "ldmia.w  r5!, {r7, r8, r9, r10}\n\t"                  \
    "smlad.w  r0, r7, r11, r0\n\t"                         \
    "smlad.w  r1, r8, r11, r1\n\t"                         \
    "smlad.w  r2, r9, r11, r2\n\t"                         \
    "smlad.w  r3, r10, r11, r3\n\t"                        \
    "ldmia.w  r5!, {r7, r8, r9, r10}\n\t"                  \
    "smlad.w  r0, r7, r12, r0\n\t"                         \
    "smlad.w  r1, r8, r12, r1\n\t"                         \
    "smlad.w  r2, r9, r12, r2\n\t"                         \
    "smlad.w  r3, r10, r12, r3\n\t"

/* Prologue: copy the context below sp, compute the body entry (Thumb bit set). */
#define GROUP_PROLOGUE(tag)                                \
    "sub      sp, sp, #48\n\t"                             \
    "ldmia.w  r0, {r1-r12}\n\t"                            \
    "stmia.w  sp, {r1-r12}\n\t"                            \
    "adr.w    r1, " tag "_body\n\t"                        \
    "add      r1, r1, r12\n\t" /* entry = body + skip */  \
    "orr      r1, r1, #1\n\t"                              \
    "str      r1, [sp, #44]\n\t"                           \
    "ldr      r4, [sp, #36]\n\t"                           \
    "ldr      r6, [sp, #32]\n\t"                           \
    "ldr      lr, [sp, #40]\n\t"                           \
    "add      lr, lr, r6\n\t"                              \
    tag "_chan:\n\t"                                       \
    "ldr      r1, [sp, #0]\n\t"                            \
    "ldr      r0, [r1, r6, lsl #2]\n\t"                    \
    "mov      r1, r0\n\t"                                  \
    "mov      r2, r0\n\t"                                  \
    "mov      r3, r0\n\t"                                  \
    "ldr      r5, [sp, #12]\n\t"                           \
    "ldr      pc, [sp, #44]\n\t"                           \
    ".p2align 2\n\t"                                       \
    tag "_body:\n\t"                                       \
    GBLOCK GBLOCK GBLOCK GBLOCK                            \
    "ldrd     r11, r12, [sp, #16]\n\t"                     \
    "cmp      r5, r11\n\t"                                 \
    "bne      " tag "_body\n\t"                            \
    "sub      r4, r4, r12\n\t" /* back to the next row */  \
    /* m in r8, shift in r9 (m == 0: shift -2, giving y = zp) */ \
    "ldrd     r5, r7, [sp, #4]\n\t"                        \
    "ldr      r8, [r5, r6, lsl #2]\n\t"                    \
    "ldr      r9, [r7, r6, lsl #2]\n\t"                    \
    "cmp      r8, #0\n\t"                                  \
    "it       eq\n\t"                                      \
    "mvneq    r9, #1\n\t"                                  \
    "ldrd     r11, r12, [sp, #24]\n\t"

#define GROUP_EPILOGUE(tag)                                \
    "add      lr, lr, #1\n\t"                              \
    "adds     r6, r6, #1\n\t"                              \
    "bne      " tag "_chan\n\t"                            \
    "add      sp, sp, #48\n\t"

/* SMMLAR form: r10 = e, r9 = e - 1 -> r11 = d = (2 zp + 1) << (e - 1). */
#define RQ_SMMLAR(acc, dst)                                \
    "sub      r5, r11, " acc ", lsr #31\n\t"               \
    "lsl      r7, " acc ", #1\n\t"                         \
    "smmlar   r7, r7, r8, r5\n\t"                          \
    "asr      r7, r7, r10\n\t"                             \
    "ssat     r7, #8, r7\n\t"                              \
    "strb     r7, " dst "\n\t"

static void group_smmlar(group_ctx *ctx) {
    register group_ctx *c __asm__("r0") = ctx;
    __asm__ volatile(
        GROUP_PROLOGUE("gs")
        "rsb      r10, r9, #0\n\t"
        "mvn      r9, r9\n\t"
        "lsl      r11, r11, r9\n\t"
        RQ_SMMLAR("r0", "[lr]")
        RQ_SMMLAR("r1", "[lr, r12]")
        "add      r9, lr, r12, lsl #1\n\t"
        RQ_SMMLAR("r2", "[r9]")
        RQ_SMMLAR("r3", "[r9, r12]")
        GROUP_EPILOGUE("gs")
        : "+r"(c)
        :
        : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* General form: r10 = e - 1, r9 = 2^(e-2); lo = 2^30 | (acc & 2^31), hi = 2^(e-2) + (acc >> 31). */
#define RQ_GENERAL(acc, dst)                               \
    "and      r5, " acc ", #0x80000000\n\t"                \
    "orr      r5, r5, #0x40000000\n\t"                     \
    "add      r7, r9, " acc ", asr #31\n\t"                \
    "smlal    r5, r7, " acc ", r8\n\t"                     \
    "asr      r7, r7, r10\n\t"                             \
    "add      r7, r7, r11\n\t"                             \
    "ssat     r7, #8, r7\n\t"                              \
    "strb     r7, " dst "\n\t"

static void group_general(group_ctx *ctx) {
    register group_ctx *c __asm__("r0") = ctx;
    __asm__ volatile(
        GROUP_PROLOGUE("gg")
        "mvn      r10, r9\n\t"
        "sub      r9, r10, #1\n\t"
        "mov      r5, #1\n\t"
        "lsl      r9, r5, r9\n\t"
        RQ_GENERAL("r0", "[lr]")
        RQ_GENERAL("r1", "[lr, r12]")
        "add      r12, lr, r12, lsl #1\n\t"
        RQ_GENERAL("r2", "[r12]")
        "ldr      r2, [sp, #28]\n\t" /* r2 is free once its output is stored */
        RQ_GENERAL("r3", "[r12, r2]")
        GROUP_EPILOGUE("gg")
        : "+r"(c)
        :
        : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* Which asm routine can take every channel of the layer: 2 SMMLAR, 1 general, 0 none. */
static int layer_form(const mf_conv_params *p, int32_t K) {
    if (K == 0 || p->acc_init == NULL || p->act_min != -128 || p->act_max != 127) {
        return 0;
    }
    int smmlar_ok = p->small_acc, general_ok = 1;
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        const int32_t e = p->multipliers[oc] == 0 ? 2 : -p->shifts[oc];
        smmlar_ok = smmlar_ok && e >= 1 && e <= 22;
        general_ok = general_ok && e >= 2 && e <= 31;
    }
    return smmlar_ok ? 2 : (general_ok ? 1 : 0);
}

/* Channels [oc0, oc0 + nch) of a group: lane i of channel oc0 + j goes to
 * out[j + i * step]. */
static void group_asm(const mf_conv_params *p, int form, const int32_t *buf, int32_t K, int32_t oc0, int32_t nch,
                      int8_t *out, int32_t step) {
    const int32_t nblk = (K + 3) >> 2;
    group_ctx ctx = {
        .init_end = p->acc_init + oc0 + nch,
        .mult_end = p->multipliers + oc0 + nch,
        .shift_end = p->shifts + oc0 + nch,
        .buf = buf,
        .buf_end = buf + 8 * nblk,
        .pad = 4 * nblk - K,
        .z = form == 2 ? 2 * p->output_zp + 1 : p->output_zp,
        .step = step,
        .neg_nch = -nch,
        .w = p->weights + (size_t)oc0 * (size_t)K,
        .out_end = out + nch,
        .entry = (uint32_t)(((4 - (nblk & 3)) & 3) * 52),
    };
    if (form == 2) {
        group_smmlar(&ctx);
    } else {
        group_general(&ctx);
    }
}

/* Lane i's element j of the packed buffer (see pack_lane). */
static inline int32_t packed_at(const int32_t *buf, int32_t i, int32_t j) {
    const int16_t *h = (const int16_t *)(buf + 8 * (j >> 2) + 4 * (j & 1) + i);
    return h[(j >> 1) & 1];
}

#define PARTIAL_CHANNELS 32 /* channels per pass of a partial group (a 4 x 32 B stack buffer) */

/* All out_c channels of a group of n (1..4) pixels from the packed buffer (patches of
 * K elements); pixel i's outputs go to out_px + i * out_c. A partial group runs the
 * assembly into a stack buffer (its empty lanes are 0) and copies n lanes out. */
static void pixels4(const mf_conv_params *p, int form, const int32_t *buf, int32_t K, int8_t *out_px, int32_t n) {
    if (form != 0 && n == 4) {
        group_asm(p, form, buf, K, 0, p->out_c, out_px, p->out_c);
        return;
    }
    if (form != 0) {
        int8_t tmp[4 * PARTIAL_CHANNELS];
        for (int32_t oc0 = 0; oc0 < p->out_c; oc0 += PARTIAL_CHANNELS) {
            const int32_t nch = p->out_c - oc0 < PARTIAL_CHANNELS ? p->out_c - oc0 : PARTIAL_CHANNELS;
            group_asm(p, form, buf, K, oc0, nch, tmp, PARTIAL_CHANNELS);
            for (int32_t i = 0; i < n; ++i) {
                memcpy(out_px + (size_t)i * (size_t)p->out_c + (size_t)oc0, tmp + i * PARTIAL_CHANNELS, (size_t)nch);
            }
        }
        return;
    }
    /* Channels the assembly cannot requantise: plain C from the packed lanes. */
    const int8_t *w = p->weights;
    for (int32_t oc = 0; oc < p->out_c; ++oc, w += K) {
        const conv_rq q = rq_channel(p, oc);
        for (int32_t i = 0; i < n; ++i) {
            uint32_t acc = p->acc_init != NULL ? (uint32_t)p->acc_init[oc] : 0u;
            for (int32_t j = 0; j < K; ++j) {
                acc += (uint32_t)(w[j] * packed_at(buf, i, j));
            }
            out_px[(size_t)i * (size_t)p->out_c + (size_t)oc] = rq_one(p, &q, (int32_t)acc, oc);
        }
    }
}

/* ------------------------------------------------ grouped (plain C) path */
static inline uint32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n, uint32_t acc) {
    for (int32_t i = 0; i < n; ++i) {
        acc += (uint32_t)((int32_t)a[i] * (int32_t)b[i]);
    }
    return acc;
}

static void conv_group(const mf_conv_params *p, const int8_t *patch, int32_t patch_len, int32_t oc0, int32_t oc1,
                       int8_t *out_px) {
    for (int32_t oc = oc0; oc < oc1; ++oc) {
        const uint32_t init = p->acc_init != NULL ? (uint32_t)p->acc_init[oc] : 0u;
        const int32_t acc = (int32_t)dot_s8(p->weights + (size_t)oc * (size_t)patch_len, patch, patch_len, init);
        const int32_t r = mf_clamp(mf_requant(acc, p->multipliers[oc], p->shifts[oc]), p->act_min - p->output_zp,
                                   p->act_max - p->output_zp);
        out_px[oc] = (int8_t)(r + p->output_zp);
    }
}

static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        const uint32_t v = load_u32(src);
        memcpy(dst, &v, 4);
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
}

static inline void fill_bytes(int8_t *dst, int8_t v, int32_t n) {
    for (; n > 0; --n) {
        *dst++ = v;
    }
}

/* The window of output pixel (oy, ox), channels [c0, c0 + cin_g), in [ky][kx][c]
 * order; taps outside the image get input_zp (whose share the acc_init fold cancels). */
static void gather_patch(const mf_conv_params *p, const int8_t *img, int32_t oy, int32_t ox, int32_t c0,
                         int32_t cin_g, int8_t *patch) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int8_t pad = (int8_t)p->input_zp;
    const int32_t row_len = p->k_w * cin_g;
    const int row_copy = cin_g == p->in_c && p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        int8_t *dst = patch + ky * row_len;
        if (iy < 0 || iy >= p->in_h) {
            fill_bytes(dst, pad, row_len);
            continue;
        }
        const int8_t *row = img + (size_t)iy * (size_t)p->in_w * (size_t)p->in_c + c0;
        if (row_copy) {
            copy_bytes(dst, row + (size_t)ix0 * (size_t)p->in_c, row_len);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) {
                fill_bytes(dst + kx * cin_g, pad, cin_g);
            } else {
                copy_bytes(dst + kx * cin_g, row + (size_t)ix * (size_t)p->in_c, cin_g);
            }
        }
    }
}

/* ------------------------------------------------------------- kernels */
void mf_conv2d_s8(const mf_conv_params *p, const int8_t *in, int8_t *out, void *scratch) {
    const int32_t cin_g = p->in_c / p->groups;
    const int32_t K = p->k_h * p->k_w * cin_g;
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const int32_t pixels = p->out_h * p->out_w;
    if (p->groups != 1) {
        const int32_t cout_g = p->out_c / p->groups;
        int8_t *patch = (int8_t *)scratch;
        for (int32_t b = 0; b < p->batches; ++b) {
            for (int32_t px = 0; px < pixels; ++px) {
                int8_t *out_px = out + ((size_t)b * (size_t)pixels + (size_t)px) * (size_t)p->out_c;
                for (int32_t g = 0; g < p->groups; ++g) {
                    gather_patch(p, in + (size_t)b * in_img, px / p->out_w, px % p->out_w, g * cin_g, cin_g, patch);
                    conv_group(p, patch, K, g * cout_g, (g + 1) * cout_g, out_px);
                }
            }
        }
        return;
    }
    const int form = layer_form(p, K);
    const int32_t K4 = (K + 3) & ~3;
    int32_t *buf = (int32_t *)scratch;           /* 2 * K4 words: 4 packed patches */
    int8_t *patch = (int8_t *)(buf + 2 * K4);    /* K4 bytes: one int8 patch */
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * in_img;
        int8_t *out_img = out + (size_t)b * (size_t)pixels * (size_t)p->out_c;
        for (int32_t px0 = 0; px0 < pixels; px0 += 4) {
            const int32_t n = pixels - px0 < 4 ? pixels - px0 : 4;
            for (int32_t q = 0; q < 4; ++q) {
                if (q < n) {
                    const int32_t px = px0 + q;
                    gather_patch(p, img, px / p->out_w, px % p->out_w, 0, p->in_c, patch);
                    pack_lane(patch, K, q, buf);
                } else {
                    zero_lane(K, q, buf);
                }
            }
            pixels4(p, form, buf, K, out_img + (size_t)px0 * (size_t)p->out_c, n);
        }
    }
}

void mf_conv2d_1x1_s8(const mf_conv_params *p, const int8_t *in, int8_t *out, void *scratch) {
    const int32_t cin = p->in_c;
    const size_t pixels = (size_t)p->batches * (size_t)p->in_h * (size_t)p->in_w;
    if (p->groups != 1) {
        const int32_t cin_g = cin / p->groups;
        const int32_t cout_g = p->out_c / p->groups;
        int8_t *px = (int8_t *)scratch;
        for (size_t q = 0; q < pixels; ++q) {
            memcpy(px, in + q * (size_t)cin, (size_t)cin); /* the whole pixel before its outputs */
            for (int32_t g = 0; g < p->groups; ++g) {
                conv_group(p, px + g * cin_g, cin_g, g * cout_g, (g + 1) * cout_g, out + q * (size_t)p->out_c);
            }
        }
        return;
    }
    int32_t *buf = (int32_t *)scratch;
    const int form = layer_form(p, cin);
    for (size_t q0 = 0; q0 < pixels; q0 += 4) {
        const int32_t n = pixels - q0 < 4 ? (int32_t)(pixels - q0) : 4;
        /* All n pixels are converted before any of their outputs is written (mf_conv.h). */
        for (int32_t q = 0; q < 4; ++q) {
            if (q < n) {
                pack_lane(in + (q0 + (size_t)q) * (size_t)cin, cin, q, buf);
            } else {
                zero_lane(cin, q, buf);
            }
        }
        pixels4(p, form, buf, cin, out + q0 * (size_t)p->out_c, n);
    }
}
