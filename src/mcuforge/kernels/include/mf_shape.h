/* mcuforge kernels: data movement. PAD/PADV2, TRANSPOSE and STRIDED_SLICE (one
 * strided gather), CONCATENATION, RESIZE_NEAREST_NEIGHBOR, and a copy for
 * RESHAPE/SQUEEZE/EXPAND_DIMS when the planner did not alias them.
 *
 * No value changes, so every kernel works on bytes: sizes, offsets and strides
 * are in bytes or in elements of `elem_size` bytes as each struct says, and any
 * element type works. Index arithmetic (slice starts, transposed strides,
 * nearest-neighbour tables) is done by the code generator with the ref's
 * functions (mcuforge/ref/shape_ops.py).
 *
 * Memory contract: mf_copy tolerates any overlap (memmove); the other kernels'
 * outputs must not overlap their inputs. */
#ifndef MF_SHAPE_H
#define MF_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#define MF_SHAPE_DIMS 6

/* RESHAPE / SQUEEZE / EXPAND_DIMS: copy `bytes` bytes. */
typedef struct {
    int32_t bytes;
} mf_copy_params;

/* TRANSPOSE / STRIDED_SLICE: out[i0..i5] = in[offset + sum(i_d * stride[d])],
 * the output written contiguously in row-major order. */
typedef struct {
    int32_t elem_size;               /* bytes per element */
    int32_t shape[MF_SHAPE_DIMS];    /* output shape, padded with leading 1s */
    int32_t stride[MF_SHAPE_DIMS];   /* input stride of each output dimension, in bytes (may be < 0) */
    int32_t offset;                  /* input byte offset of the first output element */
} mf_strided_copy_params;

/* PAD / PADV2: every element outside the input box is `fill`. */
typedef struct {
    int32_t elem_size;                  /* 1, 2 or 4 */
    int32_t in_shape[MF_SHAPE_DIMS];    /* padded with leading 1s */
    int32_t before[MF_SHAPE_DIMS];      /* padding before, in elements */
    int32_t after[MF_SHAPE_DIMS];       /* padding after, in elements */
    int32_t fill;                       /* the fill value (a float32's bit pattern for float) */
} mf_pad_params;

/* CONCATENATION: `outer` blocks; block o of the output is block o of input 0,
 * then of input 1, ...; input k's block is in_bytes[k] bytes. */
typedef struct {
    int32_t num_inputs;
    int32_t outer;
    const int32_t *in_bytes;
} mf_concat_params;

/* RESIZE_NEAREST_NEIGHBOR on NHWC: out[b][y][x] = in[b][rows[y]][cols[x]]. */
typedef struct {
    int32_t elem_size;
    int32_t batch;
    int32_t in_h;
    int32_t in_w;
    int32_t depth;
    int32_t out_h;
    int32_t out_w;
    const int32_t *rows; /* out_h source rows */
    const int32_t *cols; /* out_w source columns */
} mf_resize_nearest_params;

void mf_copy(const mf_copy_params *p, const void *in, void *out);
void mf_strided_copy(const mf_strided_copy_params *p, const void *in, void *out);
void mf_pad(const mf_pad_params *p, const void *in, void *out);
void mf_concat(const mf_concat_params *p, const void *const *inputs, void *out);
void mf_resize_nearest(const mf_resize_nearest_params *p, const void *in, void *out);

#endif /* MF_SHAPE_H */
