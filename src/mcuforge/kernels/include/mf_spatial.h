/* mcuforge kernels: the spatial family. GATHER, GATHER_ND (indices read when the model
 * runs), SPACE_TO_BATCH_ND (with its zero-point padding), and one table-driven copy
 * that MIRROR_PAD and BATCH_TO_SPACE_ND use. DEPTH_TO_SPACE, SPACE_TO_DEPTH and
 * REVERSE_V2 are pure strided gathers and use mf_shape's mf_strided_copy.
 *
 * No value changes: every kernel moves bytes, so any element type works. Index
 * arithmetic that does not depend on data (mirror and crop tables, strides) is done
 * by the code generator (mcuforge/codegen/ops_spatial.py) with the reference's
 * functions. Indices are int32 or int64 (index_bytes 4 or 8), read with memcpy so
 * their alignment does not matter. An index outside its axis (the reference refuses it;
 * TF-Lite Micro refuses the call or reads out of bounds) gives zero bytes for that
 * slice: the kernels never read out of bounds.
 *
 * Memory contract: outputs must not overlap inputs. */
#ifndef MF_SPATIAL_H
#define MF_SPATIAL_H

#include <stddef.h>
#include <stdint.h>

#define MF_SPATIAL_DIMS 6

/* MIRROR_PAD / BATCH_TO_SPACE_ND: out[i0..i5] (runs of run_bytes, written contiguously)
 * = in[offsets_0[i0] + offsets_1[i1] + ... + offsets_5[i5]], where offsets holds the six
 * per-dimension tables of input byte offsets one after the other (shape[d] entries each). */
typedef struct {
    int32_t run_bytes;
    int32_t shape[MF_SPATIAL_DIMS]; /* output shape in runs, padded with leading 1s */
    const int32_t *offsets;
} mf_table_copy_params;

/* GATHER: params viewed as [batch][outer][axis_size][inner_bytes], indices as
 * [batch][coords]; out[b][o][k] = params[b][o][indices[b][k]]. */
typedef struct {
    int32_t batch;
    int32_t outer;
    int32_t coords;
    int32_t axis_size;
    int32_t inner_bytes;
    int32_t index_bytes; /* 4 (int32) or 8 (int64) */
} mf_gather_params;

/* GATHER_ND: slice s of the output = params at the `depth` indices of tuple s, a run
 * of slice_bytes; dims and strides (in bytes) describe the first `depth` params axes. */
typedef struct {
    int32_t slices;
    int32_t depth;
    int32_t slice_bytes;
    int32_t index_bytes;
    const int32_t *dims;
    const int32_t *strides;
} mf_gather_nd_params;

/* SPACE_TO_BATCH_ND on NHWC (a rank-3 input is N x W x 1 x C):
 * out[(i*block_w + j)*batch + n][y][x] = in[n][y*block_h + i - pad_top][x*block_w + j - pad_left],
 * a pixel of depth_bytes; pixels in the padding are `fill` (elements of elem_size 1 or 4). */
typedef struct {
    int32_t batch;
    int32_t in_h;
    int32_t in_w;
    int32_t depth_bytes;
    int32_t block_h;
    int32_t block_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t out_h;
    int32_t out_w;
    int32_t elem_size;
    int32_t fill; /* the output zero point (0 for int32 data) */
} mf_space_to_batch_params;

void mf_table_copy(const mf_table_copy_params *p, const void *in, void *out);
void mf_gather(const mf_gather_params *p, const void *in, const void *indices, void *out);
void mf_gather_nd(const mf_gather_nd_params *p, const void *in, const void *indices, void *out);
void mf_space_to_batch(const mf_space_to_batch_params *p, const void *in, void *out);

#endif /* MF_SPATIAL_H */
