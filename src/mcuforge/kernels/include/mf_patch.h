/* mcuforge kernels: patch-based inference (MCUNetV2), data movement.
 *
 * A patch of the patch stage reads a box (rows x columns, all channels) of a full
 * NHWC tensor into its own buffer (load, crop) and writes its result into its cell
 * of the stage-2 input (store). Every such move is one box copy: `rows` runs of
 * `row_bytes` bytes, consecutive runs `src_stride` bytes apart in the source and
 * `dst_stride` bytes apart in the destination. The code generator passes pointers
 * to the box's first byte on each side. No value changes, so any element type works.
 *
 * Memory contract: source and destination boxes must not overlap. */
#ifndef MF_PATCH_H
#define MF_PATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t rows;
    int32_t row_bytes;
    int32_t src_stride;
    int32_t dst_stride;
} mf_patch_copy_params;

void mf_patch_copy(const mf_patch_copy_params *p, const void *src, void *dst);

#endif /* MF_PATCH_H */
