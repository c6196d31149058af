/* ADD, SUB, MUL on int8 (see mf_elementwise.h for the memory contract).
 *
 * Follows TF-Lite Micro's reference_integer_ops::AddFunc, reference_ops::
 * SubElementwise and reference_integer_ops::MulElementwise, with broadcasting as
 * BroadcastBinaryOpSimple: the code generator merges dimensions so that the
 * innermost one is as long as possible, and the kernels walk the others row by
 * row. */
#include "mf_elementwise.h"


/* ADD (sign 1) or SUB (sign -1): both inputs rescaled onto twice the larger input
 * scale with 20 bits of headroom: |x + offset| <= 255 and 255 * 2^20 < 2^28, so
 * the products and the sum stay inside int32. */
static void add_sub(const mf_add_params *p, int sign, const int8_t *in1, const int8_t *in2, int8_t *out) {
    const mf_broadcast *b = &p->b;
    const int32_t rows = ew_rows(b);
    const int32_t n = b->shape[MF_EW_DIMS - 1];
    const int32_t s1 = b->stride1[MF_EW_DIMS - 1];
    const int32_t s2 = b->stride2[MF_EW_DIMS - 1];
    const int32_t scale = (int32_t)1 << p->left_shift;
    for (int32_t r = 0; r < rows; ++r) {
        int32_t o1;
        int32_t o2;
        ew_row_offsets(b, r, &o1, &o2);
        for (int32_t j = 0; j < n; ++j) {
            const int32_t x1 = (in1[o1 + j * s1] + p->input1_offset) * scale;
            const int32_t x2 = (in2[o2 + j * s2] + p->input2_offset) * scale;
            /* MultiplyByQuantizedMultiplierSmallerThanOneExp: shifts are <= 0. */
            const int32_t a = mf_rdbp(mf_sat_rdhm(x1, p->input1_multiplier), -p->input1_shift);
            const int32_t c = mf_rdbp(mf_sat_rdhm(x2, p->input2_multiplier), -p->input2_shift);
            const int32_t raw = sign > 0 ? a + c : a - c;
            const int32_t y = mf_rdbp(mf_sat_rdhm(raw, p->output_multiplier), -p->output_shift);
            *out++ = ew_out(y, p->output_offset, p->act_min, p->act_max);
        }
    }
}

void mf_add_s8(const mf_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    add_sub(p, 1, in1, in2, out);
}

void mf_sub_s8(const mf_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
    add_sub(p, -1, in1, in2, out);
}

/* MUL: one requantisation of the product; |product| <= 256 * 256 fits int32. */
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
