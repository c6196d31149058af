/* mcuforge kernels: FULLY_CONNECTED (portable C99). See mf_fc.h for the arithmetic. */
#include "mf_fc.h"

void mf_fc_s8(const mf_fc_params *p, const int8_t *in, int8_t *out, void *scratch) {
    (void)scratch; /* the portable kernel reads the input in place */
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = in + (size_t)b * (size_t)depth;
        /* filter_offset * sum(x): the only input-dependent part of the fold. */
        uint32_t xsum = 0u;
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) {
                xsum += (uint32_t)(int32_t)x[d];
            }
        }
        const uint32_t x_term = (uint32_t)p->filter_offset * xsum;
        int8_t *y = out + (size_t)b * (size_t)p->output_depth;
        for (int32_t o = 0; o < p->output_depth; ++o) {
            uint32_t acc = (p->acc_init != NULL ? (uint32_t)p->acc_init[o] : 0u) + x_term;
            for (int32_t d = 0; d < depth; ++d) {
                /* |w * x| <= 2^14 fits int32; the sum wraps modulo 2^32 as the reference. */
                acc += (uint32_t)(mf_fc_weight(p, o, d) * (int32_t)x[d]);
            }
            const int32_t ch = p->per_channel ? o : 0;
            /* Clamp to [act_min - zp, act_max - zp] before adding zp: the same as
             * clamping after, without int32 overflow (see mf_conv.c). */
            const int32_t r = mf_clamp(mf_requant((int32_t)acc, p->multipliers[ch], p->shifts[ch]),
                                       p->act_min - p->output_zp, p->act_max - p->output_zp);
            y[o] = (int8_t)(r + p->output_zp);
        }
    }
}
