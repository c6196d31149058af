/* mcuforge kernels: ADD, SUB and MUL for ARMv7E-M (Cortex-M4/M7 with the DSP extension).
 *
 * Same functions, parameters, results and memory contract as
 * portable/mf_elementwise.c (see mf_elementwise.h): outputs in increasing order,
 * both inputs of element i read before output i is written.
 *
 * ADD and SUB (TF-Lite Micro's AddFunc): each input is rescaled as
 *   RoundingDivideByPOT(SRDHM((x + offset) << 20, m), e),  e = -shift >= 0
 * and with gemmlowp's SRDHM = floor((a * m + 2^30) / 2^31) both roundings fold into
 * one SMMLAR (see armv7em/mf_conv.c): with t = (x + offset) << 21 (|t| <= 255 * 2^21,
 * so 2 * ((x + offset) << 20) does not overflow),
 *   RDBP(SRDHM((x + offset) << 20, m), e) = SMMLAR(t, m, 2^(e-1) - [t < 0]) >> e
 * (for e = 0 no half and no correction: SMMLAR(t, m, 0)).
 * The sum (|raw| < 2^29) is requantised the same way with the output zero point
 * folded in: y = SMMLAR(2 raw, m_out, 2^(e-1) + zp * 2^e - [raw < 0]) >> e_out, which
 * needs 1 <= e_out <= 22. Other output shifts, broadcasting other than whole rows,
 * and MUL use the portable arithmetic.
 */

#include "mf_elementwise.h"
#include "mf_armv7em.h"


/* The portable ADD (sign 1) / SUB (sign -1) of one row of n elements. */
static void add_sub_row(const mf_add_params *p, int sign, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2,
                        int8_t *out, int32_t n) {
    const int32_t scale = (int32_t)1 << p->left_shift;
    for (int32_t j = 0; j < n; ++j) {
        const int32_t x1 = (in1[j * s1] + p->input1_offset) * scale;
        const int32_t x2 = (in2[j * s2] + p->input2_offset) * scale;
        const int32_t a = mf_rdbp(mf_sat_rdhm(x1, p->input1_multiplier), -p->input1_shift);
        const int32_t c = mf_rdbp(mf_sat_rdhm(x2, p->input2_multiplier), -p->input2_shift);
        const int32_t raw = sign > 0 ? a + c : a - c;
        const int32_t y = mf_rdbp(mf_sat_rdhm(raw, p->output_multiplier), -p->output_shift);
        out[j] = ew_out(y, p->output_offset, p->act_min, p->act_max);
    }
}

/* The SMMLAR form of one row (unit input strides or a broadcast input, stride 0). */
static void add_sub_row_fast(const mf_add_params *p, int sign, const int8_t *in1, int32_t s1, const int8_t *in2,
                             int32_t s2, int8_t *out, int32_t n) {
    const int32_t sh = p->left_shift + 1;
    const int32_t off1 = (int32_t)((uint32_t)p->input1_offset << sh);
    const int32_t off2 = (int32_t)((uint32_t)p->input2_offset << sh);
    const int32_t e1 = -p->input1_shift, e2 = -p->input2_shift, eo = -p->output_shift;
    /* e = 0 (the input with the larger scale, multiplier 1/2): no rounding shift, so no
     * half and no sign correction. */
    const int32_t c1 = e1 > 0 ? 1 << (e1 - 1) : 0, c2 = e2 > 0 ? 1 << (e2 - 1) : 0;
    const uint32_t k1 = e1 > 0 ? 1u : 0u, k2 = e2 > 0 ? 1u : 0u;
    const int32_t d = (int32_t)((uint32_t)(2 * p->output_offset + 1) << (eo - 1));
    const int32_t m1 = p->input1_multiplier, m2 = p->input2_multiplier, mo = p->output_multiplier;
    const int full = p->act_min == -128 && p->act_max == 127;
    for (int32_t j = 0; j < n; ++j) {
        const int32_t t1 = off1 + (int32_t)((uint32_t)in1[j * s1] << sh);
        const int32_t t2 = off2 + (int32_t)((uint32_t)in2[j * s2] << sh);
        const int32_t a = smmlar(t1, m1, c1 - (int32_t)(((uint32_t)t1 >> 31) & k1)) >> e1;
        const int32_t b = smmlar(t2, m2, c2 - (int32_t)(((uint32_t)t2 >> 31) & k2)) >> e2;
        const int32_t raw2 = (int32_t)((uint32_t)(sign > 0 ? a + b : a - b) << 1);
        int32_t y = __ssat(smmlar(raw2, mo, d - (int32_t)((uint32_t)raw2 >> 31)) >> eo, 8);
        if (!full) {
            y = mf_clamp(y, p->act_min, p->act_max);
        }
        out[j] = (int8_t)y;
    }
}

static void add_sub(const mf_add_params *p, int sign, const int8_t *in1, const int8_t *in2, int8_t *out) {
    const mf_broadcast *b = &p->b;
    const int32_t rows = ew_rows(b);
    const int32_t n = b->shape[MF_EW_DIMS - 1];
    const int32_t s1 = b->stride1[MF_EW_DIMS - 1];
    const int32_t s2 = b->stride2[MF_EW_DIMS - 1];
    const int fast = p->left_shift == 20 && p->input1_shift <= 0 && p->input1_shift >= -31 && p->input2_shift <= 0 &&
                     p->input2_shift >= -31 && p->output_shift <= -1 && p->output_shift >= -22;
    for (int32_t r = 0; r < rows; ++r) {
        int32_t o1;
        int32_t o2;
        ew_row_offsets(b, r, &o1, &o2);
        (fast ? add_sub_row_fast : add_sub_row)(p, sign, in1 + o1, s1, in2 + o2, s2, out, n);
        out += n;
    }
}

void mf_add_s8(const mf_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    add_sub(p, 1, in1, in2, out);
}

void mf_sub_s8(const mf_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    add_sub(p, -1, in1, in2, out);
}

/* MUL: the portable arithmetic (one requantisation of the product, |product| <= 2^16). */
void mf_mul_s8(const mf_mul_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    const mf_broadcast *b = &p->b;
    const int32_t rows = ew_rows(b);
    const int32_t n = b->shape[MF_EW_DIMS - 1];
    const int32_t s1 = b->stride1[MF_EW_DIMS - 1];
    const int32_t s2 = b->stride2[MF_EW_DIMS - 1];
    for (int32_t r = 0; r < rows; ++r) {
        int32_t o1;
        int32_t o2;
        ew_row_offsets(b, r, &o1, &o2);
        for (int32_t j = 0; j < n; ++j) {
            const int32_t prod = (in1[o1 + j * s1] - p->input1_zero_point) * (in2[o2 + j * s2] - p->input2_zero_point);
            const int32_t y = mf_requant(prod, p->output_multiplier, p->output_shift);
            *out++ = ew_out(y, p->output_zero_point, p->act_min, p->act_max);
        }
    }
}
