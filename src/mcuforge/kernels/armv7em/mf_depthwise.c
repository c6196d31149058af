/* mcuforge kernels: DEPTHWISE_CONV_2D for ARMv7E-M (Cortex-M4/M7 with the DSP extension).
 *
 * Same functions, parameters, results and memory contracts as
 * portable/mf_depthwise.c (see mf_depthwise.h), chosen at build time.
 *
 * The in-place kernels (mf_depthwise_plane_s8, and mf_depthwise_plane_large_s8 for
 * 5x5 and 7x7 filters) work channel by channel, as the portable one: the plane
 * (scratch) gets its input_zp padding once per call, then per channel an assembly
 * loop copies the image part in. Outputs are computed two at a time along a row from
 * 4 plane bytes per filter row: SXTB16 of x0..x3 gives E = (x0, x2) and, rotated,
 * O = (x1, x3), so for a 3-tap row
 *   o0 = SMLAD(E, (w0, w2)) + O.lo * w1,   o1 = SMLAD(O, (w0, w2)) + E.hi * w1
 * (stride 2: o1 = E.hi * w0 + O.hi * w1 + x4 * w2; 5 and 7 taps: see dwk_ctx). The
 * weights are doubled when packed, so the accumulator holds 2 * acc and the
 * requantisation is one SMMLAR (see dw_rq). An odd-width row ends with a single
 * output (3x3) or a pair stepped back by one output, which writes one output twice
 * with the same value (5x5, 7x7). Outputs narrower than tall run on a transposed
 * plane (3x3; plane rows are image columns, the filter is transposed), which gives
 * fewer, longer rows. Channels or shapes the assembly does not take run in C.
 *
 * The plane holds raw values (input_zp in the padding) and the sum starts from
 * bias - input_zp * sum(w), modulo 2^32, exactly as the portable plane kernel.
 *
 * mf_depthwise_s8 (output apart from the input) with one input channel reads the
 * input itself as the plane: the assembly takes the outputs whose windows lie inside
 * the image, C the border (same packed weights).
 *
 * Reads past the data: a row's single last output loads 4 bytes of which it uses 3,
 * and the 5x5 rows load 8 bytes for 5 taps: up to 3 bytes past a plane (or input)
 * row, inside the next row or the arena, never used in a sum.
 */
#include <arm_acle.h>
#include <string.h>

#include "mf_depthwise.h"

static inline int32_t sxtb16_ror8(uint32_t x) {
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* SMMLAR: (c * 2^32 + a * b + 2^31) >> 32. */
static inline int32_t smmlar(int32_t a, int32_t b, int32_t c) {
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

static inline uint32_t load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4); /* unaligned LDR */
    return v;
}

/* (lo, hi) as two int16 lanes. */
static inline int32_t pack16(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* ------------------------------------------------------ requantisation
 * As in armv7em/mf_conv.c: for e = -shift in 1..22 (m = 0 channels use e = 2, which
 * gives y = zp for any shift) and |acc| < 2^30 (small_acc),
 *   clamp(RDBP(SRDHM(acc, m), e) + zp) = ssat8(SMMLAR(2 acc, m, d - [acc < 0]) >> e),
 * d = 2^(e-1) + zp * 2^e. Here 2 acc comes from doubled weights. Otherwise the
 * channel runs in C with the portable mf_requant. */
typedef struct {
    int32_t m, d, e;
    int fast;
} dw_rq;

static inline __attribute__((always_inline)) dw_rq rq_channel(const mf_depthwise_params *p, int32_t oc) {
    dw_rq q;
    q.m = p->multipliers[oc];
    q.e = q.m == 0 ? 2 : -p->shifts[oc];
    q.fast = p->small_acc && q.e >= 1 && q.e <= 22;
    q.d = q.fast ? (int32_t)((uint32_t)(2 * p->output_zp + 1) << (q.e - 1)) : 0;
    return q;
}

/* One output from its accumulator (doubled when q->fast), clamped to the activation range. */
static inline int8_t rq_out(const mf_depthwise_params *p, const dw_rq *q, int32_t acc, int32_t oc) {
    int32_t y;
    if (q->fast) {
        y = __ssat(smmlar(acc, q->m, q->d - (int32_t)((uint32_t)acc >> 31)) >> q->e, 8);
    } else {
        y = mf_clamp(mf_requant(acc, p->multipliers[oc], p->shifts[oc]), -128 - p->output_zp, 127 - p->output_zp) +
            p->output_zp;
    }
    return (int8_t)mf_clamp(y, p->act_min, p->act_max);
}

/* ------------------------------------------------- 3x3 rows in assembly
 * One call computes a whole output channel. Per output pair: one LDRD of the two
 * accumulator starts, per filter row one LDR, two SXTB16 and four multiply-adds,
 * then SMMLAR requantisation of both and two STRB (38 instructions for 18 MACs at
 * stride 1). Rows hold out_w / 2 pairs; an odd width adds a single output (31). */
typedef struct {
    int32_t w[5];         /* 0: (w00, w02), (w10, w12), (w20, w22), (w01, w11), (w21, 0), doubled */
    int32_t init2[2];     /* 20: 2 * (bias - zp * sum(w)), twice (one LDRD per pair) */
    int32_t m, d;         /* 28 */
    int32_t e, step;      /* 36: step = out_c */
    const int8_t *row;    /* 44: plane row 0 of the first output row */
    int32_t pw;           /* 48: plane width */
    int32_t row_skip;     /* 52: plane bytes from a row's end to the next row's start */
    int32_t o_skip;       /* 56: output bytes likewise */
    int8_t *o;            /* 60: first output */
    int32_t pair_span;    /* 64: 2 * (width / 2) * out_c, the output bytes of a row's pairs */
    int32_t rows;         /* 68 */
    int32_t odd;          /* 72: width is odd */
    int32_t o_end;        /* 76: (work) o after the row's last pair */
    int32_t spare;        /* 80: keeps the frame copy at 21 words */
} dw3_ctx;

/* Copy the context to a new stack frame, load the weights into r7-r11, point r0-r2 at
 * the three plane rows and r12 at the output. */
#define DW3_PROLOGUE                                       \
    "sub      sp, sp, #88\n\t"                             \
    "ldmia.w  r0!, {r1-r12}\n\t"                           \
    "stmia.w  sp, {r1-r12}\n\t"                            \
    "ldmia.w  r0, {r1-r9}\n\t"                             \
    "add      r10, sp, #48\n\t"                            \
    "stmia.w  r10, {r1-r9}\n\t"                            \
    "ldmia.w  sp, {r7-r11}\n\t"                            \
    "ldrd     r0, r3, [sp, #44]\n\t"                       \
    "add      r1, r0, r3\n\t"                              \
    "add      r2, r1, r3\n\t"                              \
    "ldr      r12, [sp, #60]\n\t"                          \
    "1:\n\t"                                               \
    "ldr      r3, [sp, #64]\n\t"                           \
    "add      r3, r3, r12\n\t"                             \
    "str      r3, [sp, #76]\n\t"                           \
    "2:\n\t"                                               \
    "ldrd     r5, r6, [sp, #20]\n\t"

/* One output (the last of an odd-width row) into r5: filter row from rp, no advance. */
#define DW3_ONE(rp, W, W1, sel)                            \
    "ldr      r3, [" rp "]\n\t"                            \
    "sxtb16   r4, r3\n\t"                                  \
    "sxtb16   r3, r3, ror #8\n\t"                          \
    "smlad    r5, r4, " W ", r5\n\t"                       \
    "smlab" sel " r5, r3, " W1 ", r5\n\t"

/* Requantise the pair (r5, r6), store it, next pair; an odd row's last output; next row. */
#define DW3_EPILOGUE(back)                                 \
    "ldrd     r3, r4, [sp, #28]\n\t"                       \
    "sub      lr, r4, r5, lsr #31\n\t"                     \
    "smmlar   r5, r5, r3, lr\n\t"                          \
    "sub      lr, r4, r6, lsr #31\n\t"                     \
    "smmlar   r6, r6, r3, lr\n\t"                          \
    "ldrd     r3, r4, [sp, #36]\n\t"                       \
    "asr      r5, r5, r3\n\t"                              \
    "asr      r6, r6, r3\n\t"                              \
    "ssat     r5, #8, r5\n\t"                              \
    "ssat     r6, #8, r6\n\t"                              \
    "strb     r5, [r12]\n\t"                               \
    "strb     r6, [r12, r4]\n\t"                           \
    "add      r12, r12, r4, lsl #1\n\t"                    \
    "ldr      r3, [sp, #76]\n\t"                           \
    "cmp      r12, r3\n\t"                                 \
    "bne      2b\n\t"                                      \
    "ldr      r3, [sp, #72]\n\t" /* odd width: one more output */ \
    "cbz      r3, 3f\n\t"                                  \
    "ldr      r5, [sp, #20]\n\t"                           \
    DW3_ONE("r0", "r7", "r10", "b")                        \
    DW3_ONE("r1", "r8", "r10", "t")                        \
    DW3_ONE("r2", "r9", "r11", "b")                        \
    "ldrd     r3, r4, [sp, #28]\n\t"                       \
    "sub      lr, r4, r5, lsr #31\n\t"                     \
    "smmlar   r5, r5, r3, lr\n\t"                          \
    "ldrd     r3, r4, [sp, #36]\n\t"                       \
    "asr      r5, r5, r3\n\t"                              \
    "ssat     r5, #8, r5\n\t"                              \
    "strb     r5, [r12]\n\t"                               \
    "add      r12, r12, r4\n\t"                            \
    "add      r0, r0, #" back "\n\t"                       \
    "add      r1, r1, #" back "\n\t"                       \
    "add      r2, r2, #" back "\n\t"                       \
    "3:\n\t"                                               \
    "ldrd     r3, r4, [sp, #52]\n\t"                       \
    "add      r0, r0, r3\n\t"                              \
    "add      r1, r1, r3\n\t"                              \
    "add      r2, r2, r3\n\t"                              \
    "add      r12, r12, r4\n\t"                            \
    "ldr      r3, [sp, #68]\n\t"                           \
    "subs     r3, r3, #1\n\t"                              \
    "str      r3, [sp, #68]\n\t"                           \
    "bne      1b\n\t"                                      \
    "add      sp, sp, #88\n\t"

/* Stride 1, one filter row: rp = row pointer, W = (w0, w2), w1 = "b"/"t" half of W1. */
#define DW3_S1_ROW(rp, W, W1, sel_lo, sel_hi)              \
    "ldr      r3, [" rp "], #2\n\t"                        \
    "sxtb16   r4, r3\n\t"                                  \
    "sxtb16   r3, r3, ror #8\n\t"                          \
    "smlad    r5, r4, " W ", r5\n\t"                       \
    "smlab" sel_lo " r5, r3, " W1 ", r5\n\t"               \
    "smlad    r6, r3, " W ", r6\n\t"                       \
    "smlat" sel_hi " r6, r4, " W1 ", r6\n\t"

static void dw3_s1(dw3_ctx *ctx) {
    register dw3_ctx *c __asm__("r0") = ctx;
    __asm__ volatile(
        DW3_PROLOGUE
        DW3_S1_ROW("r0", "r7", "r10", "b", "b")
        DW3_S1_ROW("r1", "r8", "r10", "t", "t")
        DW3_S1_ROW("r2", "r9", "r11", "b", "b")
        DW3_EPILOGUE("1")
        : "+r"(c)
        :
        : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* Stride 2, one filter row: o0 at x0, o1 at x2 (x4 from the next word). */
#define DW3_S2_ROW(rp, W, W1, sel)                         \
    "ldr      r3, [" rp "], #4\n\t"                        \
    "sxtb16   r4, r3\n\t"                                  \
    "sxtb16   r3, r3, ror #8\n\t"                          \
    "smlad    r5, r4, " W ", r5\n\t"                       \
    "smlab" sel " r5, r3, " W1 ", r5\n\t"                  \
    "smlatb   r6, r4, " W ", r6\n\t"                       \
    "smlat" sel " r6, r3, " W1 ", r6\n\t"                  \
    "ldrsb    r4, [" rp "]\n\t"                            \
    "smlabt   r6, r4, " W ", r6\n\t"

static void dw3_s2(dw3_ctx *ctx) {
    register dw3_ctx *c __asm__("r0") = ctx;
    __asm__ volatile(
        DW3_PROLOGUE
        DW3_S2_ROW("r0", "r7", "r10", "b")
        DW3_S2_ROW("r1", "r8", "r10", "t")
        DW3_S2_ROW("r2", "r9", "r11", "b")
        DW3_EPILOGUE("2")
        : "+r"(c)
        :
        : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* ------------------------------------------- 5x5 and 7x7 in assembly
 * Same pairing as the 3x3 routine, per filter row two words x0..x7 of the plane:
 * E0 = (x0, x2), O0 = (x1, x3), E1 = (x4, x6), O1 = (x5, x7), weights per row
 * A = (w0, w2), B = (w1, w3), C = (w4, w6), D = (w5, 0) (doubled; k = 5 has
 * C = (w4, 0) and no D). The second output's pairs that straddle the words are
 * built with PKHBT in reversed lane order and taken by SMLADX:
 *   stride 1: o1 = SMLAD(O0, A) + SMLADX(PKHBT(E1, E0), B) + SMLAD(O1, C) + E1.hi * w5
 *   stride 2: o1 = SMLADX(PKHBT(E1, E0), A) + SMLADX(PKHBT(O1, O0), B)
 *                + SMLADX(PKHBT(x8, E1), C) + O1.hi * w5
 * (k = 5 drops the w5, w6 terms). Weights come per filter row with one LDM. The
 * context lives in the routine's stack frame; r0 walks the filter rows, r1 the
 * weights, lr holds the plane width. Bytes read past a window (k = 5: up to 2) only
 * meet zero weights. */
typedef struct {
    const int32_t *w;     /* 0: packed weights, k rows of k_words words */
    int32_t init2[2];     /* 4 */
    int32_t m, d;         /* 12 */
    int32_t e, step;      /* 20 */
    const int8_t *row;    /* 28: plane position of the current row's first window */
    int32_t pw;           /* 32 */
    int32_t row_adv;      /* 36: stride * pw */
    int8_t *o;            /* 40: (work) output of the next pair */
    int32_t o_adv;        /* 44: out_w * out_c */
    int32_t pair_span;    /* 48 */
    int32_t rows;         /* 52 */
    int32_t odd;          /* 56 */
    int32_t o_end;        /* 60: (work) */
    int32_t odd_left;     /* 64: (work) */
    const int8_t *pbase;  /* 68: (work) window of the next pair */
    int8_t *o_row;        /* 72: output of the current row's first pixel */
} dwk_ctx;

#define DWK_S1K5                                           \
    "ldmia.w  r1!, {r2-r4}\n\t"                            \
    "ldr      r6, [r0]\n\t"                                \
    "ldr      r8, [r0, #4]\n\t"                            \
    "add      r0, r0, lr\n\t"                              \
    "sxtb16   r7, r6, ror #8\n\t"                          \
    "sxtb16   r6, r6\n\t"                                  \
    "sxtb16   r9, r8, ror #8\n\t"                          \
    "sxtb16   r8, r8\n\t"                                  \
    "smlad    r11, r6, r2, r11\n\t"                        \
    "smlad    r11, r7, r3, r11\n\t"                        \
    "smlabb   r11, r8, r4, r11\n\t"                        \
    "smlad    r12, r7, r2, r12\n\t"                        \
    "pkhbt    r10, r8, r6\n\t"                             \
    "smladx   r12, r10, r3, r12\n\t"                       \
    "smlabb   r12, r9, r4, r12\n\t"

#define DWK_S1K7                                           \
    "ldmia.w  r1!, {r2-r5}\n\t"                            \
    "ldr      r6, [r0]\n\t"                                \
    "ldr      r8, [r0, #4]\n\t"                            \
    "add      r0, r0, lr\n\t"                              \
    "sxtb16   r7, r6, ror #8\n\t"                          \
    "sxtb16   r6, r6\n\t"                                  \
    "sxtb16   r9, r8, ror #8\n\t"                          \
    "sxtb16   r8, r8\n\t"                                  \
    "smlad    r11, r6, r2, r11\n\t"                        \
    "smlad    r11, r7, r3, r11\n\t"                        \
    "smlad    r11, r8, r4, r11\n\t"                        \
    "smlabb   r11, r9, r5, r11\n\t"                        \
    "smlad    r12, r7, r2, r12\n\t"                        \
    "pkhbt    r10, r8, r6\n\t"                             \
    "smladx   r12, r10, r3, r12\n\t"                       \
    "smlad    r12, r9, r4, r12\n\t"                        \
    "smlatb   r12, r8, r5, r12\n\t"

#define DWK_S2K5                                           \
    "ldmia.w  r1!, {r2-r4}\n\t"                            \
    "ldr      r6, [r0]\n\t"                                \
    "ldr      r8, [r0, #4]\n\t"                            \
    "add      r0, r0, lr\n\t"                              \
    "sxtb16   r7, r6, ror #8\n\t"                          \
    "sxtb16   r6, r6\n\t"                                  \
    "sxtb16   r9, r8, ror #8\n\t"                          \
    "sxtb16   r8, r8\n\t"                                  \
    "smlad    r11, r6, r2, r11\n\t"                        \
    "smlad    r11, r7, r3, r11\n\t"                        \
    "smlabb   r11, r8, r4, r11\n\t"                        \
    "pkhbt    r10, r8, r6\n\t"                             \
    "smladx   r12, r10, r2, r12\n\t"                       \
    "pkhbt    r10, r9, r7\n\t"                             \
    "smladx   r12, r10, r3, r12\n\t"                       \
    "smlatb   r12, r8, r4, r12\n\t"

#define DWK_S2K7                                           \
    "ldmia.w  r1!, {r2-r5}\n\t"                            \
    "ldr      r6, [r0]\n\t"                                \
    "ldr      r8, [r0, #4]\n\t"                            \
    "sxtb16   r7, r6, ror #8\n\t"                          \
    "sxtb16   r6, r6\n\t"                                  \
    "sxtb16   r9, r8, ror #8\n\t"                          \
    "sxtb16   r8, r8\n\t"                                  \
    "smlad    r11, r6, r2, r11\n\t"                        \
    "smlad    r11, r7, r3, r11\n\t"                        \
    "smlad    r11, r8, r4, r11\n\t"                        \
    "smlabb   r11, r9, r5, r11\n\t"                        \
    "pkhbt    r10, r8, r6\n\t"                             \
    "smladx   r12, r10, r2, r12\n\t"                       \
    "pkhbt    r10, r9, r7\n\t"                             \
    "smladx   r12, r10, r3, r12\n\t"                       \
    "ldrsb    r10, [r0, #8]\n\t"                           \
    "pkhbt    r10, r10, r8\n\t"                            \
    "smladx   r12, r10, r4, r12\n\t"                       \
    "smlatb   r12, r9, r5, r12\n\t"                        \
    "add      r0, r0, lr\n\t"

/* The pair/row loops around k filter rows; `s2` = 2 * stride, `s1` = stride. */
#define DWK_FUNC(name, ROWS, s2, s1)                                               \
    static void name(dwk_ctx *ctx) {                                                    \
        register dwk_ctx *c __asm__("r0") = ctx;                                        \
        __asm__ volatile(                                                               \
            "sub      sp, sp, #80\n\t"                                                  \
            "ldmia.w  r0!, {r1-r12}\n\t"                                                \
            "stmia.w  sp, {r1-r12}\n\t"                                                 \
            "ldmia.w  r0, {r1-r7}\n\t"                                                  \
            "add      r8, sp, #48\n\t"                                                  \
            "stmia.w  r8, {r1-r7}\n\t"                                                  \
            "ldr      lr, [sp, #32]\n\t"                                                \
            "1:\n\t" /* row */                                                          \
            "ldr      r0, [sp, #28]\n\t"                                                \
            "str      r0, [sp, #68]\n\t"                                                \
            "ldr      r1, [sp, #72]\n\t"                                                \
            "str      r1, [sp, #40]\n\t"                                                \
            "ldr      r2, [sp, #48]\n\t"                                                \
            "add      r1, r1, r2\n\t"                                                   \
            "str      r1, [sp, #60]\n\t"                                                \
            "ldr      r1, [sp, #56]\n\t"                                                \
            "str      r1, [sp, #64]\n\t"                                                \
            "2:\n\t" /* pair */                                                         \
            "ldrd     r11, r12, [sp, #4]\n\t"                                           \
            "ldr      r0, [sp, #68]\n\t"                                                \
            "ldr      r1, [sp, #0]\n\t"                                                 \
            ROWS                                                                        \
            "ldr      r0, [sp, #68]\n\t"                                                \
            "add      r0, r0, #" s2 "\n\t"                                              \
            "str      r0, [sp, #68]\n\t"                                                \
            "ldrd     r2, r3, [sp, #12]\n\t"                                            \
            "sub      r4, r3, r11, lsr #31\n\t"                                         \
            "smmlar   r11, r11, r2, r4\n\t"                                             \
            "sub      r4, r3, r12, lsr #31\n\t"                                         \
            "smmlar   r12, r12, r2, r4\n\t"                                             \
            "ldrd     r2, r3, [sp, #20]\n\t"                                            \
            "asr      r11, r11, r2\n\t"                                                 \
            "asr      r12, r12, r2\n\t"                                                 \
            "ssat     r11, #8, r11\n\t"                                                 \
            "ssat     r12, #8, r12\n\t"                                                 \
            "ldr      r4, [sp, #40]\n\t"                                                \
            "strb     r11, [r4]\n\t"                                                    \
            "strb     r12, [r4, r3]\n\t"                                                \
            "add      r4, r4, r3, lsl #1\n\t"                                           \
            "str      r4, [sp, #40]\n\t"                                                \
            "ldr      r5, [sp, #60]\n\t"                                                \
            "cmp      r4, r5\n\t"                                                       \
            "bne      2b\n\t"                                                           \
            "ldr      r5, [sp, #64]\n\t" /* odd width: one pair stepped back */         \
            "cbz      r5, 3f\n\t"                                                       \
            "movs     r5, #0\n\t"                                                       \
            "str      r5, [sp, #64]\n\t"                                                \
            "ldr      r0, [sp, #68]\n\t"                                                \
            "sub      r0, r0, #" s1 "\n\t"                                              \
            "str      r0, [sp, #68]\n\t"                                                \
            "sub      r4, r4, r3\n\t"                                                   \
            "str      r4, [sp, #40]\n\t"                                                \
            "add      r5, r4, r3, lsl #1\n\t"                                           \
            "str      r5, [sp, #60]\n\t"                                                \
            "b        2b\n\t"                                                           \
            "3:\n\t" /* next row */                                                     \
            "ldr      r0, [sp, #28]\n\t"                                                \
            "ldr      r1, [sp, #36]\n\t"                                                \
            "add      r0, r0, r1\n\t"                                                   \
            "str      r0, [sp, #28]\n\t"                                                \
            "ldr      r0, [sp, #72]\n\t"                                                \
            "ldr      r1, [sp, #44]\n\t"                                                \
            "add      r0, r0, r1\n\t"                                                   \
            "str      r0, [sp, #72]\n\t"                                                \
            "ldr      r0, [sp, #52]\n\t"                                                \
            "subs     r0, r0, #1\n\t"                                                   \
            "str      r0, [sp, #52]\n\t"                                                \
            "bne      1b\n\t"                                                           \
            "add      sp, sp, #80\n\t"                                                  \
            : "+r"(c)                                                                   \
            :                                                                           \
            : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory"); \
    }

#define R5(x) x x x x x
#define R7(x) x x x x x x x
DWK_FUNC(dwk_s1k5, R5(DWK_S1K5), "2", "1")
DWK_FUNC(dwk_s1k7, R7(DWK_S1K7), "2", "1")
DWK_FUNC(dwk_s2k5, R5(DWK_S2K5), "4", "2")
DWK_FUNC(dwk_s2k7, R7(DWK_S2K7), "4", "2")

/* ------------------------------------------------------ generic channel */
/* Output channel oc, all pixels, any filter shape, plain C (channels and layers the
 * assembly does not take): acc starts from init (doubled with the weights when q->fast). */
static void channel_generic(const mf_depthwise_params *p, const int8_t *plane, int32_t pw, int32_t oc,
                            const dw_rq *q, uint32_t init, int8_t *out_img) {
    const size_t wstep = (size_t)p->out_c;
    const int32_t scale = q->fast ? 2 : 1;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int8_t *win = plane + (size_t)oy * (size_t)p->stride_h * (size_t)pw + (size_t)ox * (size_t)p->stride_w;
            uint32_t acc = (uint32_t)scale * init;
            const int8_t *w = p->weights + oc;
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int8_t *r = win + (size_t)ky * (size_t)p->dil_h * (size_t)pw;
                for (int32_t kx = 0; kx < p->k_w; ++kx, w += wstep) {
                    acc += (uint32_t)(scale * *w * r[(size_t)kx * (size_t)p->dil_w]);
                }
            }
            out_img[((size_t)oy * (size_t)p->out_w + (size_t)ox) * wstep + (size_t)oc] = rq_out(p, q, (int32_t)acc, oc);
        }
    }
}

/* ------------------------------------------------------ 3x3 rectangles */
/* 2 * sum(w) and the packed 3x3 weights of channel oc, doubled with SADD16; with tr
 * the filter is transposed (for a transposed plane). */
static inline __attribute__((always_inline)) int32_t pack3x3(const mf_depthwise_params *p, int32_t oc, int tr,
                                                             int32_t w5[5]) {
    const int8_t *w = p->weights + oc;
    const size_t s = (size_t)p->out_c;
    const size_t a1 = tr ? 3 : 1, a2 = tr ? 6 : 2; /* tap offsets along a filter row */
    const size_t b1 = tr ? 1 : 3, b2 = tr ? 2 : 6; /* and between filter rows */
    const int32_t a = pack16(w[0], w[a2 * s]), b = pack16(w[b1 * s], w[(b1 + a2) * s]);
    const int32_t c = pack16(w[b2 * s], w[(b2 + a2) * s]);
    const int32_t d = pack16(w[a1 * s], w[(b1 + a1) * s]), e = pack16(w[(b2 + a1) * s], 0);
    w5[0] = __sadd16(a, a);
    w5[1] = __sadd16(b, b);
    w5[2] = __sadd16(c, c);
    w5[3] = __sadd16(d, d);
    w5[4] = __sadd16(e, e);
    /* sum of all nine, doubled: SMUAD against (1, 1) adds a word's two lanes */
    return __smlad(w5[0], 0x00010001, __smlad(w5[1], 0x00010001, __smlad(w5[2], 0x00010001,
           __smlad(w5[3], 0x00010001, __smuad(w5[4], 0x00010001)))));
}

/* Whether the layer's 3x3 channels can run in assembly (each channel also needs q.fast). */
static int layer_3x3(const mf_depthwise_params *p) {
    return p->small_acc && p->k_h == 3 && p->k_w == 3 && p->dil_h == 1 && p->dil_w == 1 &&
           p->stride_h == p->stride_w && (p->stride_h == 1 || p->stride_h == 2) && p->act_min == -128 &&
           p->act_max == 127;
}

/* The layer part of the 3x3 context for a rectangle `width` outputs wide (>= 2) in a
 * plane pw wide; outputs along a row are `step` bytes apart and rows start
 * `row_step` bytes apart. A row's pairs and its single odd output advance the row
 * pointers by stride bytes and the output by step bytes per output. */
static void rect3x3_layer(const mf_depthwise_params *p, int32_t pw, int32_t width, int32_t step, int32_t row_step,
                          dw3_ctx *c) {
    const int32_t s = p->stride_h;
    c->step = step;
    c->pw = pw;
    c->row_skip = s * pw - width * s;
    c->o_skip = row_step - width * step;
    c->pair_span = (width & ~1) * step;
    c->odd = width & 1;
}

/* Channel oc over `rows` output rows of the rectangle set up in c: the window of its
 * first output starts at `row` in a plane pw wide; o is that output's address. */
static inline __attribute__((always_inline)) void rect3x3(const mf_depthwise_params *p, dw3_ctx *c, const dw_rq *q,
                                                           int32_t oc, int tr, const int8_t *row, int32_t rows,
                                                           int8_t *o) {
    const uint32_t bias = p->bias != NULL ? (uint32_t)p->bias[oc] : 0u;
    const int32_t wsum2 = pack3x3(p, oc, tr, c->w);
    c->init2[0] = c->init2[1] = (int32_t)(2u * bias - (uint32_t)p->input_zp * (uint32_t)wsum2);
    c->m = q->m;
    c->d = q->d;
    c->e = q->e;
    c->row = row;
    c->o = o;
    c->rows = rows;
    (p->stride_h == 1 ? dw3_s1 : dw3_s2)(c);
}

/* ------------------------------------------------------ in-place kernel */
/* Fill rows [y0, y1) x columns [x0, x1) of the plane with v. */
static void fill_rect(int8_t *plane, int32_t pw, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int8_t v) {
    for (int32_t y = y0; y < y1; ++y) {
        for (int32_t x = x0; x < x1; ++x) {
            plane[(size_t)y * (size_t)pw + (size_t)x] = v;
        }
    }
}

/* The plane in the orientation it is computed in: `rows` rows of `len` bytes; the
 * image part starts at (pad_r, pad_c), is img_r x img_c, and consecutive image
 * elements along a plane row / column are src_c / src_r bytes apart in the input.
 * Transposed (tr), plane rows are image columns. */
typedef struct {
    int32_t rows, len, pad_r, pad_c, img_r, img_c, src_r, src_c;
} plane_geo;

static plane_geo plane_geometry(const mf_depthwise_params *p, int tr) {
    const int32_t ph = MF_DW_PLANE_H(p), pw = MF_DW_PLANE_W(p);
    const int32_t img_h = p->in_h < ph - p->pad_top ? p->in_h : ph - p->pad_top;
    const int32_t img_w = p->in_w < pw - p->pad_left ? p->in_w : pw - p->pad_left;
    const int32_t row_bytes = p->in_w * p->in_c;
    if (tr) {
        return (plane_geo){pw, ph, p->pad_left, p->pad_top, img_w, img_h, p->in_c, row_bytes};
    }
    return (plane_geo){ph, pw, p->pad_top, p->pad_left, img_h, img_w, row_bytes, p->in_c};
}

/* Set the plane's padding (everything outside the image part that gather_channel
 * writes) to input_zp, once per call. */
static void fill_padding(const plane_geo *q, int8_t *plane, int8_t zp) {
    fill_rect(plane, q->len, 0, q->pad_r, 0, q->len, zp);
    fill_rect(plane, q->len, q->pad_r + q->img_r, q->rows, 0, q->len, zp);
    fill_rect(plane, q->len, q->pad_r, q->pad_r + q->img_r, 0, q->pad_c, zp);
    fill_rect(plane, q->len, q->pad_r, q->pad_r + q->img_r, q->pad_c + q->img_c, q->len, zp);
}

/* Copying the image part of one channel into the plane (whose padding already holds
 * zp): per row, 4 strided byte loads and one word store per 4 columns, then single
 * bytes. The constants are set once per call (gather_init). */
typedef struct {
    int32_t c, c2, c3, c4;  /* 0: input stride along a plane row and its multiples */
    int32_t words;          /* 16: image columns / 4 */
    int32_t tail;           /* 20: image columns % 4 */
    int32_t src_skip;       /* 24: input bytes from after a row's last column to the next row */
    int32_t dst_skip;       /* 28: plane bytes likewise */
    int32_t rows;           /* 32 */
    int8_t *dst;            /* 36: plane position of the image's first element */
} gather_ctx;

static void gather_init(const plane_geo *q, int8_t *plane, gather_ctx *g) {
    g->c = q->src_c;
    g->c2 = 2 * q->src_c;
    g->c3 = 3 * q->src_c;
    g->c4 = 4 * q->src_c;
    g->words = q->img_c >> 2;
    g->tail = q->img_c & 3;
    g->src_skip = q->src_r - q->img_c * q->src_c;
    g->dst_skip = q->len - q->img_c;
    g->rows = q->img_r;
    g->dst = plane + (size_t)q->pad_r * (size_t)q->len + (size_t)q->pad_c;
}

/* Copy channel (src = the image + the channel index) into the plane. */
static void gather_channel(const gather_ctx *g, const int8_t *src) {
    register const gather_ctx *r0 __asm__("r0") = g;
    register const int8_t *r1 __asm__("r1") = src;
    if (g->rows <= 0 || g->words + g->tail <= 0) {
        return;
    }
    __asm__ volatile(
        "ldmia.w  r0, {r4-r12}\n\t" /* c c2 c3 c4 words tail src_skip dst_skip rows */
        "ldr      r0, [r0, #36]\n\t"
        "1:\n\t"
        "movs     r3, r8\n\t"
        "beq      3f\n\t"
        "2:\n\t"
        "ldrb     r2, [r1]\n\t"
        "ldrb     lr, [r1, r4]\n\t"
        "orr      r2, r2, lr, lsl #8\n\t"
        "ldrb     lr, [r1, r5]\n\t"
        "orr      r2, r2, lr, lsl #16\n\t"
        "ldrb     lr, [r1, r6]\n\t"
        "orr      r2, r2, lr, lsl #24\n\t"
        "add      r1, r1, r7\n\t"
        "str      r2, [r0], #4\n\t"
        "subs     r3, r3, #1\n\t"
        "bne      2b\n\t"
        "3:\n\t"
        "movs     r3, r9\n\t"
        "beq      5f\n\t"
        "4:\n\t"
        "ldrb     r2, [r1]\n\t"
        "add      r1, r1, r4\n\t"
        "strb     r2, [r0], #1\n\t"
        "subs     r3, r3, #1\n\t"
        "bne      4b\n\t"
        "5:\n\t"
        "add      r1, r1, r10\n\t"
        "add      r0, r0, r11\n\t"
        "subs     r12, r12, #1\n\t"
        "bne      1b\n\t"
        : "+r"(r0), "+r"(r1)
        :
        : "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* Whether every channel requantises in the SMMLAR form (then the plane may be transposed). */
static int all_fast(const mf_depthwise_params *p) {
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        if (!rq_channel(p, oc).fast) {
            return 0;
        }
    }
    return 1;
}

void mf_depthwise_plane_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    int8_t *plane = (int8_t *)scratch;
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const size_t out_img = (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
    const int asm3 = layer_3x3(p) && p->out_w >= 2;
    /* Narrow outputs run transposed: rows along the longer side have fewer row
     * overheads and odd tails. */
    const int tr = asm3 && p->out_w < p->out_h && all_fast(p);
    const plane_geo geo = plane_geometry(p, tr);
    dw3_ctx c;
    if (asm3) {
        const int32_t row_step = p->out_w * p->out_c;
        if (tr) {
            rect3x3_layer(p, geo.len, p->out_h, row_step, p->out_c, &c);
        } else {
            rect3x3_layer(p, geo.len, p->out_w, p->out_c, row_step, &c);
        }
    }
    /* Padding: set once; the channel copies only write the image part. */
    fill_padding(&geo, plane, (int8_t)p->input_zp);
    gather_ctx g;
    gather_init(&geo, plane, &g);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t ic = 0; ic < p->in_c; ++ic) {
            /* Channel ic is read completely before any of its outputs is written. */
            gather_channel(&g, in + (size_t)b * in_img + ic);
            for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                const int32_t oc = ic * p->depth_multiplier + m;
                const dw_rq q = rq_channel(p, oc);
                if (asm3 && q.fast) {
                    rect3x3(p, &c, &q, oc, tr, plane, tr ? p->out_w : p->out_h, out + (size_t)b * out_img + (size_t)oc);
                    continue;
                }
                uint32_t wsum = 0u;
                for (int32_t t = 0; t < p->k_h * p->k_w; ++t) {
                    wsum += (uint32_t)(int32_t)p->weights[(size_t)t * (size_t)p->out_c + (size_t)oc];
                }
                const uint32_t bias = p->bias != NULL ? (uint32_t)p->bias[oc] : 0u;
                channel_generic(p, plane, geo.len, oc, &q, bias - (uint32_t)p->input_zp * wsum,
                                out + (size_t)b * out_img);
            }
        }
    }
}

/* ------------------------------------------ in-place kernel, 5x5 / 7x7 */
/* Output channel oc of a k x k layer (k <= 7, dilation 1) for the channels the
 * assembly does not take: each filter row is read in words of 4 taps, one SMLAD per
 * pair (doubled weights when q->fast). */
static void channel_packed(const mf_depthwise_params *p, const int8_t *plane, int32_t pw, int32_t oc,
                           const dw_rq *q, uint32_t init, int8_t *out_img) {
    const int32_t k = p->k_h;
    const int32_t scale = q->fast ? 2 : 1;
    int32_t wp[7][4]; /* per filter row: (w0, w2), (w1, w3), (w4, w6), (w5, 0) */
    for (int32_t ky = 0; ky < k; ++ky) {
        int32_t v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int32_t kx = 0; kx < k; ++kx) {
            v[kx] = scale * p->weights[(size_t)(ky * k + kx) * (size_t)p->out_c + (size_t)oc];
        }
        wp[ky][0] = pack16(v[0], v[2]);
        wp[ky][1] = pack16(v[1], v[3]);
        wp[ky][2] = pack16(v[4], v[6]);
        wp[ky][3] = pack16(v[5], v[7]);
    }
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int8_t *win = plane + (size_t)oy * (size_t)p->stride_h * (size_t)pw + (size_t)ox * (size_t)p->stride_w;
            int32_t acc = (int32_t)((uint32_t)scale * init);
            for (int32_t ky = 0; ky < k; ++ky, win += pw) {
                const uint32_t x0 = load_u32(win), x1 = load_u32(win + 4); /* past k taps: zero weights */
                acc = __smlad(__sxtb16(x0), wp[ky][0], __smlad(sxtb16_ror8(x0), wp[ky][1], acc));
                acc = __smlad(__sxtb16(x1), wp[ky][2], __smlad(sxtb16_ror8(x1), wp[ky][3], acc));
            }
            out_img[((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)p->out_c + (size_t)oc] = rq_out(p, q, acc, oc);
        }
    }
}


/* Doubled packed weights of channel oc (k rows of (w0, w2), (w1, w3), (w4, w6), (w5, 0);
 * k = 5 stops after (w4, 0)) and 2 * sum(w). */
static int32_t pack_kxk(const mf_depthwise_params *p, int32_t oc, int32_t k, int32_t *w) {
    const int32_t words = k == 7 ? 4 : 3;
    int32_t sum = 0;
    for (int32_t ky = 0; ky < k; ++ky) {
        int32_t v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int32_t kx = 0; kx < k; ++kx) {
            v[kx] = 2 * p->weights[(size_t)(ky * k + kx) * (size_t)p->out_c + (size_t)oc];
            sum += v[kx];
        }
        int32_t *row = w + ky * words;
        row[0] = pack16(v[0], v[2]);
        row[1] = pack16(v[1], v[3]);
        row[2] = pack16(v[4], v[6]);
        if (words == 4) {
            row[3] = pack16(v[5], 0);
        }
    }
    return sum;
}

void mf_depthwise_plane_large_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    const int32_t k = p->k_h;
    const int32_t s = p->stride_h;
    void (*run)(dwk_ctx *) = NULL;
    if (p->small_acc && k == p->k_w && (k == 5 || k == 7) && p->dil_h == 1 && p->dil_w == 1 && s == p->stride_w &&
        (s == 1 || s == 2) && p->out_w >= 2 && p->act_min == -128 && p->act_max == 127) {
        run = s == 1 ? (k == 5 ? dwk_s1k5 : dwk_s1k7) : (k == 5 ? dwk_s2k5 : dwk_s2k7);
    }
    if (run == NULL) {
        mf_depthwise_plane_s8(p, in, out, scratch);
        return;
    }
    int8_t *plane = (int8_t *)scratch;
    const int32_t pw = MF_DW_PLANE_W(p);
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const size_t out_img = (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
    int32_t wpk[7 * 4];
    dwk_ctx c;
    c.w = wpk;
    c.step = p->out_c;
    c.pw = pw;
    c.row_adv = s * pw;
    c.o_adv = p->out_w * p->out_c;
    c.pair_span = 2 * (p->out_w >> 1) * p->out_c;
    c.odd = p->out_w & 1;
    const plane_geo geo = plane_geometry(p, 0);
    fill_padding(&geo, plane, (int8_t)p->input_zp);
    gather_ctx g;
    gather_init(&geo, plane, &g);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t ic = 0; ic < p->in_c; ++ic) {
            gather_channel(&g, in + (size_t)b * in_img + ic);
            for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                const int32_t oc = ic * p->depth_multiplier + m;
                const dw_rq q = rq_channel(p, oc);
                const uint32_t bias = p->bias != NULL ? (uint32_t)p->bias[oc] : 0u;
                int8_t *o_img = out + (size_t)b * out_img;
                if (!q.fast) {
                    uint32_t wsum = 0u;
                    for (int32_t t = 0; t < k * k; ++t) {
                        wsum += (uint32_t)(int32_t)p->weights[(size_t)t * (size_t)p->out_c + (size_t)oc];
                    }
                    channel_packed(p, plane, pw, oc, &q, bias - (uint32_t)p->input_zp * wsum, o_img);
                    continue;
                }
                const int32_t wsum2 = pack_kxk(p, oc, k, wpk);
                c.init2[0] = c.init2[1] = (int32_t)(2u * bias - (uint32_t)p->input_zp * (uint32_t)wsum2);
                c.m = q.m;
                c.d = q.d;
                c.e = q.e;
                c.row = plane;
                c.o_row = o_img + oc;
                c.rows = p->out_h;
                run(&c);
            }
        }
    }
}

/* ------------------------------------------------------- direct kernel */
/* Output (oy, ox) of channel oc from the image: taps outside it are skipped. */
static int8_t dw_point(const mf_depthwise_params *p, const int8_t *img, int32_t oc, int32_t oy, int32_t ox,
                       const dw_rq *q) {
    const int32_t ic = oc / p->depth_multiplier;
    const int32_t scale = q->fast ? 2 : 1;
    uint32_t acc = (uint32_t)scale * (p->bias != NULL ? (uint32_t)p->bias[oc] : 0u);
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                continue;
            }
            const int32_t x = img[((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->in_c + (size_t)ic];
            const int32_t w = p->weights[(size_t)(ky * p->k_w + kx) * (size_t)p->out_c + (size_t)oc];
            acc += (uint32_t)(scale * w * (x - p->input_zp));
        }
    }
    return rq_out(p, q, (int32_t)acc, oc);
}

/* A border output of a one-channel 3x3 layer with the packed doubled weights and
 * start in c (set by rect3x3): each window row as one word, input_zp outside. */
static int8_t border3x3(const mf_depthwise_params *p, const int8_t *img, const dw3_ctx *c, const dw_rq *q,
                        int32_t oc, int32_t oy, int32_t ox) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t acc = c->init2[0];
    for (int32_t r = 0; r < 3; ++r) {
        const int32_t iy = iy0 + r;
        uint32_t v = 0u;
        for (int32_t k = 0; k < 3; ++k) {
            const int32_t ix = ix0 + k;
            const int in_img = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
            v |= (uint32_t)(uint8_t)(in_img ? img[(size_t)iy * (size_t)p->in_w + (size_t)ix] : p->input_zp) << (8 * k);
        }
        const int32_t e = __sxtb16(v), o = sxtb16_ror8(v);
        acc = __smlad(e, c->w[r], acc);
        acc = r == 1 ? __smlabt(o, c->w[3], acc) : __smlabb(o, c->w[r == 0 ? 3 : 4], acc);
    }
    return rq_out(p, q, acc, oc);
}

/* First and last output index along an axis whose window lies inside the image. */
static void interior(int32_t size, int32_t out, int32_t stride, int32_t pad, int32_t k, int32_t *lo, int32_t *hi) {
    *lo = (pad + stride - 1) / stride;
    *hi = (size - k + pad) / stride;
    if (*hi > out - 1) {
        *hi = out - 1;
    }
}

/* Direct depthwise (output not on the input). One input channel whose output does not
 * overlap the input: the input is a plane, so 3x3 channels run the assembly over the
 * interior outputs and C over the border, channel by channel. Otherwise outputs go
 * in (pixel, channel) order, each after its window (the mf_depthwise.h contract). */
void mf_depthwise_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out) {
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const size_t out_img = (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
    const int apart = out + p->batches * out_img <= in || in + p->batches * in_img <= out;
    int32_t y0, y1, x0, x1;
    interior(p->in_h, p->out_h, p->stride_h, p->pad_top, 3, &y0, &y1);
    interior(p->in_w, p->out_w, p->stride_w, p->pad_left, 3, &x0, &x1);
    if (p->in_c == 1 && apart && layer_3x3(p) && y1 >= y0 && x1 - x0 >= 1) {
        dw3_ctx c;
        rect3x3_layer(p, p->in_w, x1 - x0 + 1, p->out_c, p->out_w * p->out_c, &c);
        for (int32_t b = 0; b < p->batches; ++b) {
            const int8_t *img = in + (size_t)b * in_img;
            int8_t *o_img = out + (size_t)b * out_img;
            for (int32_t oc = 0; oc < p->out_c; ++oc) {
                const dw_rq q = rq_channel(p, oc);
                if (q.fast) {
                    const int8_t *row = img + (size_t)(y0 * p->stride_h - p->pad_top) * (size_t)p->in_w +
                                        (size_t)(x0 * p->stride_w - p->pad_left);
                    rect3x3(p, &c, &q, oc, 0, row, y1 - y0 + 1,
                            o_img + ((size_t)y0 * (size_t)p->out_w + (size_t)x0) * (size_t)p->out_c + (size_t)oc);
                }
                for (int32_t oy = 0; oy < p->out_h; ++oy) {
                    /* Inside the rectangle only the columns left and right of it. */
                    const int inner = q.fast && oy >= y0 && oy <= y1;
                    for (int32_t ox = 0; ox < p->out_w; ++ox) {
                        if (inner && ox == x0) {
                            ox = x1; /* the assembly's part */
                            continue;
                        }
                        o_img[((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)p->out_c + (size_t)oc] =
                            q.fast ? border3x3(p, img, &c, &q, oc, oy, ox) : dw_point(p, img, oc, oy, ox, &q);
                    }
                }
            }
        }
        return;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * in_img;
        int8_t *o = out + (size_t)b * out_img;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const dw_rq q = rq_channel(p, oc);
                    *o++ = dw_point(p, img, oc, oy, ox, &q);
                }
            }
        }
    }
}
