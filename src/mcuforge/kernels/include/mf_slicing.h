/* mcuforge kernels: the slicing family's own kernels. SPLIT, SPLIT_V and UNPACK (one
 * input, several outputs: mf_split) and TILE (mf_tile). SLICE and BROADCAST_TO are
 * mf_strided_copy and PACK is mf_concat (mf_shape.h).
 *
 * No value changes, so both kernels work on bytes. The code generator computes every
 * size (mcuforge/codegen/ops_slicing.py).
 *
 * Memory contract: outputs must not overlap the input. */
#ifndef MF_SLICING_H
#define MF_SLICING_H

#include <stddef.h>
#include <stdint.h>

#define MF_SLICING_DIMS 6

/* SPLIT / SPLIT_V / UNPACK: the input is `outer` blocks; block o is output 0's block o,
 * then output 1's, ...; output k's block is out_bytes[k] bytes. */
typedef struct {
    int32_t num_outputs;
    int32_t outer;
    const int32_t *out_bytes;
} mf_split_params;

/* TILE: out = the input repeated multiples[d] times along each dimension d. */
typedef struct {
    int32_t elem_size;                 /* bytes per element */
    int32_t in_shape[MF_SLICING_DIMS];   /* padded with leading 1s */
    int32_t multiples[MF_SLICING_DIMS];  /* padded with leading 1s; every one at least 1 */
} mf_tile_params;

void mf_split(const mf_split_params *p, const void *in, void *const *outputs);
void mf_tile(const mf_tile_params *p, const void *in, void *out);

#endif /* MF_SLICING_H */
