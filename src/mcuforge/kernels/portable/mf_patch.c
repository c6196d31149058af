/* mcuforge kernels: patch-based inference data movement (see mf_patch.h). */
#include "mf_patch.h"

#include <string.h>

void mf_patch_copy(const mf_patch_copy_params *p, const void *src, void *dst) {
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    for (int32_t r = 0; r < p->rows; r++) {
        memcpy(d + (size_t)r * (size_t)p->dst_stride, s + (size_t)r * (size_t)p->src_stride, (size_t)p->row_bytes);
    }
}
