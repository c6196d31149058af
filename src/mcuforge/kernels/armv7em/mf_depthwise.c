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
#include <string.h>

#include "mf_depthwise.h"
#include "mf_armv7em.h"

/* (lo, hi) as two int16 lanes. */
static inline int32_t pack16(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* Output channel oc's filter: k_h * k_w contiguous weights (channel-major, mf_depthwise.h). */
static inline const int8_t *filter(const mf_depthwise_params *p, int32_t oc) {
    return p->weights + (size_t)oc * (size_t)p->k_h * (size_t)p->k_w;
}

/* bias - input_zp * sum(w) of channel oc, modulo 2^32: the sum's start over a plane of
 * raw values (input_zp in the padding). */
static uint32_t raw_init(const mf_depthwise_params *p, int32_t oc) {
    const int8_t *w = filter(p, oc);
    uint32_t wsum = 0u;
    for (int32_t t = 0; t < p->k_h * p->k_w; ++t) {
        wsum += (uint32_t)(int32_t)w[t];
    }
    return (p->bias != NULL ? (uint32_t)p->bias[oc] : 0u) - (uint32_t)p->input_zp * wsum;
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
    int32_t row_step;     /* 84: output bytes between output rows (dw3x2_s1) */
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

/* Stride 1, one output row at a time (rect3x3 takes it for the last row of an odd count,
 * and for all rows when two-row blocks would recompute too much). */
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

/* Stride 1, two output rows at once: a block of 2 x 2 outputs per step reads four plane
 * rows (the middle two serve both output rows), so per 36 MACs four LDR, eight SXTB16
 * and 24 multiply-adds, then SMMLAR requantisation of the four (71 instructions, about
 * 1.97 per MAC against 38 per 18 for one row). A row's pairs end with one pair stepped
 * back by one output when the width is odd (that output is written twice, with the
 * same value). One call computes one block of two rows (rect3x3 walks the rows; an odd
 * count ends with one row of dw3_s1). Plane rows are pw bytes apart. */
static void dw3x2_s1(const dw3_ctx *ctx, const int8_t *plane, int8_t *o) {
    register const dw3_ctx *a0 __asm__("r0") = ctx;
    register const int8_t *a1 __asm__("r1") = plane;
    register int8_t *a2 __asm__("r2") = o;
    __asm__ volatile(
        "sub      sp, sp, #44\n\t"
        "add      r12, r0, #20\n\t"
        "ldmia.w  r12, {r3-r8}\n\t"          /* init2, init2, m, d, e, step */
        "stmia.w  sp, {r3-r8}\n\t"           /* frame 0..23 */
        "ldr      r3, [r0, #48]\n\t"
        "str      r3, [sp, #24]\n\t"         /* pw */
        "ldr      r3, [r0, #84]\n\t"
        "str      r3, [sp, #28]\n\t"         /* output row step */
        "ldr      r3, [r0, #64]\n\t"
        "add      r3, r3, r2\n\t"
        "str      r3, [sp, #32]\n\t"         /* o after the row's even pairs */
        "ldr      r3, [r0, #72]\n\t"
        "str      r3, [sp, #36]\n\t"         /* odd width */
        "str      r2, [sp, #40]\n\t"         /* o of the next pair */
        "ldmia.w  r0, {r7-r11}\n\t"          /* weights */
        "mov      r0, r1\n\t"
        "1:\n\t"
        "ldr      r1, [sp, #24]\n\t"
        "add      r2, r0, r1, lsl #1\n\t"
        "ldrd     r5, r6, [sp, #0]\n\t"
        "ldrd     r12, lr, [sp, #0]\n\t"
        "ldr      r3, [r0]\n\t"               /* plane row 0: A with filter row 0 */
        "sxtb16   r4, r3\n\t"
        "sxtb16   r3, r3, ror #8\n\t"
        "smlad    r5, r4, r7, r5\n\t"
        "smlabb   r5, r3, r10, r5\n\t"
        "smlad    r6, r3, r7, r6\n\t"
        "smlatb   r6, r4, r10, r6\n\t"
        "ldr      r3, [r0, r1]\n\t"           /* row 1: A with filter row 1, B with row 0 */
        "sxtb16   r4, r3\n\t"
        "sxtb16   r3, r3, ror #8\n\t"
        "smlad    r5, r4, r8, r5\n\t"
        "smlabt   r5, r3, r10, r5\n\t"
        "smlad    r6, r3, r8, r6\n\t"
        "smlatt   r6, r4, r10, r6\n\t"
        "smlad    r12, r4, r7, r12\n\t"
        "smlabb   r12, r3, r10, r12\n\t"
        "smlad    lr, r3, r7, lr\n\t"
        "smlatb   lr, r4, r10, lr\n\t"
        "ldr      r3, [r2]\n\t"               /* row 2: A with filter row 2, B with row 1 */
        "sxtb16   r4, r3\n\t"
        "sxtb16   r3, r3, ror #8\n\t"
        "smlad    r5, r4, r9, r5\n\t"
        "smlabb   r5, r3, r11, r5\n\t"
        "smlad    r6, r3, r9, r6\n\t"
        "smlatb   r6, r4, r11, r6\n\t"
        "smlad    r12, r4, r8, r12\n\t"
        "smlabt   r12, r3, r10, r12\n\t"
        "smlad    lr, r3, r8, lr\n\t"
        "smlatt   lr, r4, r10, lr\n\t"
        "ldr      r3, [r2, r1]\n\t"           /* row 3: B with filter row 2 */
        "sxtb16   r4, r3\n\t"
        "sxtb16   r3, r3, ror #8\n\t"
        "smlad    r12, r4, r9, r12\n\t"
        "smlabb   r12, r3, r11, r12\n\t"
        "smlad    lr, r3, r9, lr\n\t"
        "smlatb   lr, r4, r11, lr\n\t"
        "add      r0, r0, #2\n\t"
        /* SMMLAR(acc, m, d - [acc < 0]) = SMMLAR(acc, m, d) + (acc >> 31) */
        "ldrd     r3, r4, [sp, #8]\n\t"
        "smmlar   r1, r5, r3, r4\n\t"
        "add      r1, r1, r5, asr #31\n\t"
        "smmlar   r5, r6, r3, r4\n\t"
        "add      r5, r5, r6, asr #31\n\t"
        "smmlar   r6, r12, r3, r4\n\t"
        "add      r6, r6, r12, asr #31\n\t"
        "smmlar   r12, lr, r3, r4\n\t"
        "add      r12, r12, lr, asr #31\n\t"
        "ldrd     r3, r4, [sp, #16]\n\t"      /* e, step */
        "asr      r1, r1, r3\n\t"
        "asr      r5, r5, r3\n\t"
        "asr      r6, r6, r3\n\t"
        "asr      r12, r12, r3\n\t"
        "ssat     r1, #8, r1\n\t"
        "ssat     r5, #8, r5\n\t"
        "ssat     r6, #8, r6\n\t"
        "ssat     r12, #8, r12\n\t"
        "ldr      lr, [sp, #40]\n\t"
        "ldr      r3, [sp, #28]\n\t"
        "strb     r1, [lr]\n\t"
        "strb     r5, [lr, r4]\n\t"
        "add      r3, r3, lr\n\t"
        "strb     r6, [r3]\n\t"
        "strb     r12, [r3, r4]\n\t"
        "add      lr, lr, r4, lsl #1\n\t"
        "str      lr, [sp, #40]\n\t"
        "ldr      r3, [sp, #32]\n\t"
        "cmp      lr, r3\n\t"
        "bne      1b\n\t"
        "ldr      r3, [sp, #36]\n\t"          /* odd width: one more pair, stepped back */
        "cbz      r3, 2f\n\t"
        "movs     r3, #0\n\t"
        "str      r3, [sp, #36]\n\t"
        "sub      r0, r0, #1\n\t"
        "sub      lr, lr, r4\n\t"
        "str      lr, [sp, #40]\n\t"
        "add      lr, lr, r4, lsl #1\n\t"
        "str      lr, [sp, #32]\n\t"
        "b        1b\n\t"
        "2:\n\t"
        "add      sp, sp, #44\n\t"
        : "+r"(a0), "+r"(a1), "+r"(a2)
        :
        : "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
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

/* One filter row: its packed weights into r2.. (3 words for k = 5, 4 for k = 7), the
 * plane words x0..x3, x4..x7 split into E0 = r6, O0 = r7, E1 = r8, O1 = r9. */
#define DWK_LOAD(wregs) \
    "ldmia.w  r1!, {" wregs "}\n\t" \
    "ldr      r6, [r0]\n\t" \
    "ldr      r8, [r0, #4]\n\t" \
    "sxtb16   r7, r6, ror #8\n\t" \
    "sxtb16   r6, r6\n\t" \
    "sxtb16   r9, r8, ror #8\n\t" \
    "sxtb16   r8, r8\n\t"

/* The first output of the pair (both strides). */
#define DWK_O0_K5 \
    "smlad    r11, r6, r2, r11\n\t" \
    "smlad    r11, r7, r3, r11\n\t" \
    "smlabb   r11, r8, r4, r11\n\t"

#define DWK_O0_K7 \
    "smlad    r11, r6, r2, r11\n\t" \
    "smlad    r11, r7, r3, r11\n\t" \
    "smlad    r11, r8, r4, r11\n\t" \
    "smlabb   r11, r9, r5, r11\n\t"

#define DWK_S1K5 \
    DWK_LOAD("r2-r4") \
    "add      r0, r0, lr\n\t" \
    DWK_O0_K5 \
    "smlad    r12, r7, r2, r12\n\t" \
    "pkhbt    r10, r8, r6\n\t" \
    "smladx   r12, r10, r3, r12\n\t" \
    "smlabb   r12, r9, r4, r12\n\t"

#define DWK_S1K7 \
    DWK_LOAD("r2-r5") \
    "add      r0, r0, lr\n\t" \
    DWK_O0_K7 \
    "smlad    r12, r7, r2, r12\n\t" \
    "pkhbt    r10, r8, r6\n\t" \
    "smladx   r12, r10, r3, r12\n\t" \
    "smlad    r12, r9, r4, r12\n\t" \
    "smlatb   r12, r8, r5, r12\n\t"

#define DWK_S2K5 \
    DWK_LOAD("r2-r4") \
    "add      r0, r0, lr\n\t" \
    DWK_O0_K5 \
    "pkhbt    r10, r8, r6\n\t" \
    "smladx   r12, r10, r2, r12\n\t" \
    "pkhbt    r10, r9, r7\n\t" \
    "smladx   r12, r10, r3, r12\n\t" \
    "smlatb   r12, r8, r4, r12\n\t"

#define DWK_S2K7 \
    DWK_LOAD("r2-r5") \
    DWK_O0_K7 \
    "pkhbt    r10, r8, r6\n\t" \
    "smladx   r12, r10, r2, r12\n\t" \
    "pkhbt    r10, r9, r7\n\t" \
    "smladx   r12, r10, r3, r12\n\t" \
    "ldrsb    r10, [r0, #8]\n\t" \
    "pkhbt    r10, r10, r8\n\t" \
    "smladx   r12, r10, r4, r12\n\t" \
    "smlatb   r12, r9, r5, r12\n\t" \
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
    const int32_t scale = q->fast ? 2 : 1;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int8_t *win = plane + (size_t)oy * (size_t)p->stride_h * (size_t)pw + (size_t)ox * (size_t)p->stride_w;
            uint32_t acc = (uint32_t)scale * init;
            const int8_t *w = filter(p, oc);
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int8_t *r = win + (size_t)ky * (size_t)p->dil_h * (size_t)pw;
                for (int32_t kx = 0; kx < p->k_w; ++kx, ++w) {
                    acc += (uint32_t)(scale * *w * r[(size_t)kx * (size_t)p->dil_w]);
                }
            }
            out_img[((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)p->out_c + (size_t)oc] = rq_out(p, q, (int32_t)acc, oc);
        }
    }
}

/* ------------------------------------------------------ 3x3 rectangles */
/* 2 * sum(w) and the packed 3x3 weights of channel oc (doubled with SADD16) from its
 * nine contiguous weights; with tr the filter is transposed (for a transposed plane).
 * Three word loads (at 0, 3 and 5) stay inside the nine bytes. */
static inline __attribute__((always_inline)) int32_t pack3x3(const mf_depthwise_params *p, int32_t oc, int tr,
                                                             int32_t w5[5]) {
    const int8_t *w = filter(p, oc);
    const uint32_t l0 = load_u32(w), l3 = load_u32(w + 3), l5 = load_u32(w + 5);
    /* l0 = (w00 w01 w02 w10), l3 = (w10 w11 w12 w20), l5 = (w12 w20 w21 w22) */
    const int32_t e0 = __sxtb16(l0), o0 = sxtb16_ror8(l0); /* (w00, w02), (w01, w10) */
    const int32_t e3 = __sxtb16(l3), o3 = sxtb16_ror8(l3); /* (w10, w12), (w11, w20) */
    const int32_t e5 = __sxtb16(l5), o5 = sxtb16_ror8(l5); /* (w12, w21), (w20, w22) */
    int32_t a, b, c, d, e;
    if (!tr) { /* (w00, w02), (w10, w12), (w20, w22), (w01, w11), (w21, 0) */
        a = e0;
        b = e3;
        c = o5;
        d = pack16(o0, o3);
        e = (int32_t)((uint32_t)e5 >> 16);
    } else { /* (w00, w20), (w01, w21), (w02, w22), (w10, w11), (w12, 0) */
        a = pack16(e0, o3 >> 16);
        b = pack16(o0, e5 >> 16);
        c = pack16(e0 >> 16, o5 >> 16);
        d = pack16(e3, o3);
        e = pack16(e5, 0);
    }
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
    c->row_step = row_step;
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
    if (p->stride_h == 2) {
        dw3_s2(c);
        return;
    }
    /* Two-row blocks pay for their call from six outputs a row; narrower rows go one
     * at a time. */
    const int32_t blocks = c->pair_span >= 6 * c->step ? rows >> 1 : 0;
    for (int32_t y = 0; y < 2 * blocks; y += 2) {
        dw3x2_s1(c, row + (size_t)y * (size_t)c->pw, o + (size_t)y * (size_t)c->row_step);
    }
    if (rows > 2 * blocks) { /* the rows left: all, or the last of an odd count */
        c->row = row + (size_t)(2 * blocks) * (size_t)c->pw;
        c->o = o + (size_t)(2 * blocks) * (size_t)c->row_step;
        c->rows = rows - 2 * blocks;
        dw3_s1(c);
    }
}

/* ------------------------------------------------------ in-place kernel */
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
    int32_t pl, pl3;        /* 40: plane size and 3 x (gather4: four planes) */
} gather_ctx;

static void gather_init(const plane_geo *q, int8_t *plane, int32_t plane_bytes, gather_ctx *g) {
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
    g->pl = plane_bytes;
    g->pl3 = 3 * plane_bytes;
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

/* Copying four channels (ic .. ic + 3, input_c % 4 == 0 not needed, ic + 3 < in_c) into
 * four planes P bytes apart in one pass: per 4 image elements along a plane row, four
 * word loads (4 channels each) and a 4 x 4 byte transpose,
 *   p = (a0 a1 c0 c1) = PKHBT(a, c << 16),  q = (b0 b1 d0 d1) = PKHBT(b, d << 16),
 *   (a0 b0 c0 d0) = UXTAB16((q << 8) & 0xFF00FF00, p),  (a1 b1 c1 d1) = UXTAB16(q & 0xFF00FF00, p ror 8),
 * and likewise channels 2 and 3 from the high halves (PKHTB); then single elements. */
static void gather4(const gather_ctx *g, const int8_t *src) {
    register const gather_ctx *r0 __asm__("r0") = g;
    register const int8_t *r1 __asm__("r1") = src;
    if (g->rows <= 0 || g->words + g->tail <= 0) {
        return;
    }
    __asm__ volatile(
        "mov      r11, r0\n\t"
        "ldr      r2, [r11]\n\t"      /* c */
        "ldrd     r3, r5, [r11, #40]\n\t" /* plane size, 3 x */
        "mov      r4, #0xFF00FF00\n\t"
        "ldrd     lr, r0, [r11, #32]\n\t" /* rows, dst */
        "1:\n\t"
        "ldr      r12, [r11, #16]\n\t"
        "cmp      r12, #0\n\t"
        "beq      3f\n\t"
        "2:\n\t"
        "ldr      r6, [r1]\n\t"
        "ldr      r7, [r1, r2]\n\t"
        "add      r1, r1, r2, lsl #1\n\t"
        "ldr      r8, [r1]\n\t"
        "ldr      r9, [r1, r2]\n\t"
        "add      r1, r1, r2, lsl #1\n\t"
        "pkhtb    r10, r8, r6, asr #16\n\t" /* (a2 a3 c2 c3) */
        "pkhbt    r6, r6, r8, lsl #16\n\t"  /* (a0 a1 c0 c1) */
        "pkhtb    r8, r9, r7, asr #16\n\t"  /* (b2 b3 d2 d3) */
        "pkhbt    r7, r7, r9, lsl #16\n\t"  /* (b0 b1 d0 d1) */
        "and      r9, r4, r7, lsl #8\n\t"
        "uxtab16  r9, r9, r6\n\t"
        "str      r9, [r0]\n\t"
        "and      r9, r7, r4\n\t"
        "uxtab16  r9, r9, r6, ror #8\n\t"
        "str      r9, [r0, r3]\n\t"
        "and      r9, r4, r8, lsl #8\n\t"
        "uxtab16  r9, r9, r10\n\t"
        "str      r9, [r0, r3, lsl #1]\n\t"
        "and      r9, r8, r4\n\t"
        "uxtab16  r9, r9, r10, ror #8\n\t"
        "str      r9, [r0, r5]\n\t"
        "add      r0, r0, #4\n\t"
        "subs     r12, r12, #1\n\t"
        "bne      2b\n\t"
        "3:\n\t"
        "ldr      r12, [r11, #20]\n\t"
        "cmp      r12, #0\n\t"
        "beq      5f\n\t"
        "4:\n\t"
        "ldr      r6, [r1]\n\t"
        "add      r1, r1, r2\n\t"
        "strb     r6, [r0]\n\t"
        "lsr      r7, r6, #8\n\t"
        "strb     r7, [r0, r3]\n\t"
        "lsr      r7, r6, #16\n\t"
        "strb     r7, [r0, r3, lsl #1]\n\t"
        "lsr      r7, r6, #24\n\t"
        "strb     r7, [r0, r5]\n\t"
        "add      r0, r0, #1\n\t"
        "subs     r12, r12, #1\n\t"
        "bne      4b\n\t"
        "5:\n\t"
        "ldrd     r6, r7, [r11, #24]\n\t"
        "add      r1, r1, r6\n\t"
        "add      r0, r0, r7\n\t"
        "subs     lr, lr, #1\n\t"
        "bne      1b\n\t"
        : "+r"(r0), "+r"(r1)
        :
        : "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* ------------------------------------- four channels at once (small maps)
 * For small maps the per-channel costs of the plane kernels (gather, weight packing,
 * row loops, odd tails) dominate, and padding taps are a large share of the MACs. Here
 * four channels are copied (one word per pixel) and computed together, straight from
 * the image part (no padding: taps outside the image are skipped, as the reference
 * does): per tap one word of 4 channels, SXTAB16 with (-zp, -zp) gives
 * (x0 - zp, x2 - zp) and (x1 - zp, x3 - zp), and SMLABB / SMLATT against the tap's
 * packed weights (w0, w2), (w1, w3) add one MAC per channel; the sums start from the
 * bias. The code generator picks it (mf_depthwise_quad_s8) where taps outside the image
 * are the majority; elsewhere the plane kernels cost fewer instructions. */
/* Channels ic .. ic + 3 of one image (img): buf (the scratch, MF_DW_QUAD_BYTES at least)
 * gets the image part the windows reach (img_r x img_c pixels, one word of the four
 * channels each), followed by 2 * k_h * k_w words of packed weights. */
static void dw_quad(const mf_depthwise_params *p, const int8_t *img, uint32_t *buf, int32_t ic, int8_t *out_img) {
    const plane_geo geo = plane_geometry(p, 0);
    const int32_t img_r = geo.img_r, img_c = geo.img_c;
    uint32_t *dst = buf;
    for (int32_t r = 0; r < img_r; ++r) {
        const int8_t *src = img + (size_t)r * (size_t)geo.src_r + (size_t)ic;
        for (int32_t c = 0; c < img_c; ++c, src += p->in_c) {
            *dst++ = load_u32(src);
        }
    }
    const int32_t kk = p->k_h * p->k_w;
    int32_t *wt = (int32_t *)(buf + img_r * img_c); /* per tap (w0, w2), (w1, w3) of the four channels */
    dw_rq q[4];
    int dbl = 1;
    for (int32_t j = 0; j < 4; ++j) {
        q[j] = rq_channel(p, ic + j);
        dbl &= q[j].fast;
    }
    int32_t init[4];
    const int8_t *f = filter(p, ic);
    for (int32_t j = 0; j < 4; ++j) {
        q[j].fast = dbl;
        init[j] = (p->bias != NULL ? p->bias[ic + j] : 0) << dbl;
    }
    for (int32_t t = 0; t < kk; ++t) {
        const int32_t w02 = pack16(f[t], f[2 * kk + t]), w13 = pack16(f[kk + t], f[3 * kk + t]);
        wt[2 * t] = dbl ? __sadd16(w02, w02) : w02;
        wt[2 * t + 1] = dbl ? __sadd16(w13, w13) : w13;
    }
    const int32_t nzp = pack16(-p->input_zp, -p->input_zp);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t ky0 = y0 < 0 ? -y0 : 0, ky1 = img_r - y0 < p->k_h ? img_r - y0 : p->k_h;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = img_c - x0 < p->k_w ? img_c - x0 : p->k_w;
            int32_t a0 = init[0], a1 = init[1], a2 = init[2], a3 = init[3];
            for (int32_t ky = ky0; ky < ky1; ++ky) {
                const uint32_t *x = buf + (y0 + ky) * img_c + x0 + kx0;
                const int32_t *w = wt + 2 * (ky * p->k_w + kx0);
                for (int32_t n = kx1 - kx0; n > 0; --n, w += 2) {
                    const uint32_t v = *x++;
                    const int32_t e = __sxtab16(nzp, v), o = sxtab16_ror8(nzp, v);
                    a0 = __smlabb(e, w[0], a0);
                    a2 = __smlatt(e, w[0], a2);
                    a1 = __smlabb(o, w[1], a1);
                    a3 = __smlatt(o, w[1], a3);
                }
            }
            int8_t *y = out_img + ((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)p->out_c + (size_t)ic;
            y[0] = rq_out(p, &q[0], a0, ic);
            y[1] = rq_out(p, &q[1], a1, ic + 1);
            y[2] = rq_out(p, &q[2], a2, ic + 2);
            y[3] = rq_out(p, &q[3], a3, ic + 3);
        }
    }
}

/* Computes output channel oc from its input channel's plane (out_img: the batch's output). */
typedef void (*channel_fn)(const mf_depthwise_params *p, void *layer, const int8_t *plane, int32_t oc,
                           int8_t *out_img);

typedef void (*quad_fn)(const mf_depthwise_params *p, const int8_t *img, uint32_t *buf, int32_t ic, int8_t *out_img);

/* The in-place scheme: per batch, gather input channels into the planes (four per pass
 * when the scratch holds four planes, else one), then compute their output channels;
 * with `quad`, groups of four channels are copied and computed four at once instead.
 * Channels are read completely before any of their outputs is written. */
static void run_planes(const mf_depthwise_params *p, const int8_t *in, int8_t *out, int8_t *scratch, int tr,
                       channel_fn fn, void *layer, quad_fn quad) {
    const size_t in_img = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const size_t out_img = (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
    const plane_geo geo = plane_geometry(p, tr);
    const int32_t plane_bytes = MF_DW_PLANE_BYTES(p);
    const int32_t group = p->planes >= 4 && p->in_c >= 4 ? 4 : 1;
    /* Padding: the planes are set to input_zp once; the channel copies only write the
     * image part. */
    memset(scratch, (int8_t)p->input_zp, (size_t)group * (size_t)plane_bytes);
    gather_ctx g;
    gather_init(&geo, scratch, plane_bytes, &g);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * in_img;
        int32_t ic = 0;
        for (; quad != NULL && ic + 4 <= p->in_c; ic += 4) {
            quad(p, img, (uint32_t *)(void *)scratch, ic, out + (size_t)b * out_img);
        }
        if (quad != NULL && ic < p->in_c) {
            memset(scratch, (int8_t)p->input_zp, (size_t)plane_bytes); /* the copies overwrote plane 0 */
        }
        while (ic < p->in_c) {
            const int32_t n = group == 4 && ic + 4 <= p->in_c ? 4 : 1;
            if (n == 4) {
                gather4(&g, img + ic);
            } else {
                gather_channel(&g, img + ic);
            }
            for (int32_t k = 0; k < n; ++k, ++ic) {
                for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                    fn(p, layer, scratch + (size_t)k * (size_t)plane_bytes, ic * p->depth_multiplier + m,
                       out + (size_t)b * out_img);
                }
            }
        }
    }
}

typedef struct {
    dw3_ctx c;
    int asm3, tr;
    int32_t pw;
} plane3_layer;

static void plane3_channel(const mf_depthwise_params *p, void *layer, const int8_t *plane, int32_t oc,
                           int8_t *out_img) {
    plane3_layer *l = (plane3_layer *)layer;
    const dw_rq q = rq_channel(p, oc);
    if (l->asm3 && q.fast) {
        rect3x3(p, &l->c, &q, oc, l->tr, plane, l->tr ? p->out_w : p->out_h, out_img + oc);
    } else {
        channel_generic(p, plane, l->pw, oc, &q, raw_init(p, oc), out_img);
    }
}

static void plane3_run(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch, quad_fn quad) {
    plane3_layer l;
    l.asm3 = layer_3x3(p) && p->out_w >= 2;
    /* Narrow outputs run transposed: rows along the longer side have fewer row
     * overheads and odd tails. */
    l.tr = l.asm3 && p->out_w < p->out_h && all_fast(p);
    l.pw = plane_geometry(p, l.tr).len;
    if (l.asm3) {
        const int32_t row_step = p->out_w * p->out_c;
        if (l.tr) {
            rect3x3_layer(p, l.pw, p->out_h, row_step, p->out_c, &l.c);
        } else {
            rect3x3_layer(p, l.pw, p->out_w, p->out_c, row_step, &l.c);
        }
    }
    run_planes(p, in, out, (int8_t *)scratch, l.tr, plane3_channel, &l, quad);
}

void mf_depthwise_plane_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    plane3_run(p, in, out, scratch, NULL);
}

/* ------------------------------------------ in-place kernel, 5x5 / 7x7 */
/* Packed weights of channel oc of a k x k layer (k = 5 or 7) from its contiguous
 * filter, doubled when `doubled`: per filter row (w0, w2), (w1, w3), (w4, w6) and, with
 * words = 4, (w5, 0) (k = 5: w5 = w6 = 0); returns the sum of the packed weights. Word
 * loads stay inside each row (k = 5 reads x1..x4 for w4, k = 7 x3..x6 for w4..w6). */
static int32_t pack_kxk(const mf_depthwise_params *p, int32_t oc, int32_t words, int doubled, int32_t *w) {
    const int32_t k = p->k_h;
    const int8_t *f = filter(p, oc);
    int32_t sum = 0;
    for (int32_t ky = 0; ky < k; ++ky, f += k, w += words) {
        const uint32_t l0 = load_u32(f);
        int32_t v[4] = {__sxtb16(l0), sxtb16_ror8(l0), 0, 0};
        if (k == 7) {
            const uint32_t l3 = load_u32(f + 3);
            v[2] = sxtb16_ror8(l3);
            v[3] = (int32_t)((uint32_t)__sxtb16(l3) >> 16);
        } else {
            v[2] = (int32_t)((uint32_t)sxtb16_ror8(load_u32(f + 1)) >> 16);
        }
        for (int32_t j = 0; j < 4; ++j) {
            v[j] = doubled ? __sadd16(v[j], v[j]) : v[j];
            sum = __smlad(v[j], 0x00010001, sum);
            if (j < words) {
                w[j] = v[j];
            }
        }
    }
    return sum;
}

/* Output channel oc of a k x k layer for the channels the assembly does not take: each
 * filter row is read in words of 4 taps, one SMLAD per pair (doubled weights when
 * q->fast). */
static void channel_packed(const mf_depthwise_params *p, const int8_t *plane, int32_t pw, int32_t oc,
                           const dw_rq *q, uint32_t init, int8_t *out_img) {
    const int32_t k = p->k_h;
    const int32_t scale = q->fast ? 2 : 1;
    int32_t wp[7][4];
    pack_kxk(p, oc, 4, q->fast, &wp[0][0]);
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

typedef struct {
    dwk_ctx c;
    void (*run)(dwk_ctx *);
    int32_t wpk[7 * 4];
} large_layer;

static void large_channel(const mf_depthwise_params *p, void *layer, const int8_t *plane, int32_t oc,
                          int8_t *out_img) {
    large_layer *l = (large_layer *)layer;
    const dw_rq q = rq_channel(p, oc);
    if (!q.fast) {
        channel_packed(p, plane, l->c.pw, oc, &q, raw_init(p, oc), out_img);
        return;
    }
    const uint32_t bias = p->bias != NULL ? (uint32_t)p->bias[oc] : 0u;
    const int32_t wsum2 = pack_kxk(p, oc, p->k_h == 7 ? 4 : 3, 1, l->wpk);
    l->c.init2[0] = l->c.init2[1] = (int32_t)(2u * bias - (uint32_t)p->input_zp * (uint32_t)wsum2);
    l->c.m = q.m;
    l->c.d = q.d;
    l->c.e = q.e;
    l->c.row = plane;
    l->c.o_row = out_img + oc;
    l->c.rows = p->out_h;
    l->run(&l->c);
}

static void large_run(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch, quad_fn quad) {
    const int32_t k = p->k_h;
    const int32_t s = p->stride_h;
    large_layer l;
    l.run = NULL;
    if (p->small_acc && k == p->k_w && (k == 5 || k == 7) && p->dil_h == 1 && p->dil_w == 1 && s == p->stride_w &&
        (s == 1 || s == 2) && p->out_w >= 2 && p->act_min == -128 && p->act_max == 127) {
        l.run = s == 1 ? (k == 5 ? dwk_s1k5 : dwk_s1k7) : (k == 5 ? dwk_s2k5 : dwk_s2k7);
    }
    if (l.run == NULL) {
        plane3_run(p, in, out, scratch, quad);
        return;
    }
    const int32_t pw = MF_DW_PLANE_W(p);
    l.c.w = l.wpk;
    l.c.step = p->out_c;
    l.c.pw = pw;
    l.c.row_adv = s * pw;
    l.c.o_adv = p->out_w * p->out_c;
    l.c.pair_span = 2 * (p->out_w >> 1) * p->out_c;
    l.c.odd = p->out_w & 1;
    run_planes(p, in, out, (int8_t *)scratch, 0, large_channel, &l, quad);
}

void mf_depthwise_plane_large_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    large_run(p, in, out, scratch, NULL);
}

/* Groups of four channels four at once (dw_quad), the rest as mf_depthwise_plane_large_s8. */
void mf_depthwise_quad_s8(const mf_depthwise_params *p, const int8_t *in, int8_t *out, void *scratch) {
    large_run(p, in, out, scratch, p->planes >= 4 && p->depth_multiplier == 1 ? dw_quad : NULL);
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
            const int32_t w = filter(p, oc)[ky * p->k_w + kx];
            acc += (uint32_t)(scale * w * (x - p->input_zp));
        }
    }
    return rq_out(p, q, (int32_t)acc, oc);
}

/* Output (oy, ox) of channels oc .. oc + 3 (depth multiplier 1) into y[0..3], straight
 * from the image: per tap inside it one word of the four channels, SXTAB16 with
 * (-zp, -zp) for (x0 - zp, x2 - zp) and (x1 - zp, x3 - zp), the four weights packed as
 * (w0, w2), (w1, w3), and SMLABB / SMLATT per channel; taps outside the image are
 * skipped, so the sums start from the bias (doubled at the end for the SMMLAR form). */
static void direct_quad(const mf_depthwise_params *p, const int8_t *img, int32_t oc, int32_t oy, int32_t ox,
                        int8_t *y) {
    const int32_t kk = p->k_h * p->k_w, dh = p->dil_h, dw = p->dil_w;
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    const int32_t ky0 = y0 < 0 ? (-y0 + dh - 1) / dh : 0, kx0 = x0 < 0 ? (-x0 + dw - 1) / dw : 0;
    const int32_t ky1 = mf_clamp((p->in_h - y0 + dh - 1) / dh, 0, p->k_h);
    const int32_t kx1 = mf_clamp((p->in_w - x0 + dw - 1) / dw, 0, p->k_w);
    const int8_t *f = filter(p, oc);
    const int32_t nzp = pack16(-p->input_zp, -p->input_zp);
    const size_t xstep = (size_t)dw * (size_t)p->in_c;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    if (p->bias != NULL) {
        a0 = p->bias[oc];
        a1 = p->bias[oc + 1];
        a2 = p->bias[oc + 2];
        a3 = p->bias[oc + 3];
    }
    for (int32_t ky = ky0; ky < ky1; ++ky) {
        const int8_t *x = img + ((size_t)(y0 + ky * dh) * (size_t)p->in_w + (size_t)(x0 + kx0 * dw)) * (size_t)p->in_c +
                          (size_t)oc;
        const int8_t *w = f + ky * p->k_w + kx0;
        for (int32_t n = kx1 - kx0; n > 0; --n, x += xstep, ++w) {
            const uint32_t v = load_u32(x);
            const int32_t e = __sxtab16(nzp, v), od = sxtab16_ror8(nzp, v);
            const int32_t w02 = pack16(w[0], w[2 * kk]), w13 = pack16(w[kk], w[3 * kk]);
            a0 = __smlabb(e, w02, a0);
            a2 = __smlatt(e, w02, a2);
            a1 = __smlabb(od, w13, a1);
            a3 = __smlatt(od, w13, a3);
        }
    }
    const int32_t a[4] = {a0, a1, a2, a3};
    for (int32_t j = 0; j < 4; ++j) {
        const dw_rq q = rq_channel(p, oc + j);
        y[j] = rq_out(p, &q, q.fast ? (int32_t)(2u * (uint32_t)a[j]) : a[j], oc + j);
    }
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
 * in (pixel, channel) order, each after its window (the mf_depthwise.h contract), four
 * channels at a time where the depth multiplier is 1 (direct_quad). */
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
    const int32_t quads = p->depth_multiplier == 1 ? p->out_c >> 2 : 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (size_t)b * in_img;
        int8_t *o = out + (size_t)b * out_img;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                int32_t oc = 0;
                for (; oc < 4 * quads; oc += 4, o += 4) {
                    direct_quad(p, img, oc, oy, ox, o);
                }
                for (; oc < p->out_c; ++oc) {
                    const dw_rq q = rq_channel(p, oc);
                    *o++ = dw_point(p, img, oc, oy, ox, &q);
                }
            }
        }
    }
}
