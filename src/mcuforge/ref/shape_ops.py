"""Data-movement operators: PAD, PADV2, RESHAPE, SQUEEZE, EXPAND_DIMS, TRANSPOSE,
CONCATENATION, STRIDED_SLICE, RESIZE_NEAREST_NEIGHBOR.

None of them changes a value, so int8 and int32 tensors take the same path; the
only arithmetic is index arithmetic, which follows TFLite's reference kernels.
"""

from __future__ import annotations

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Act, Op
from mcuforge.ir.shapes import strided_slice_ranges


def _out(g: Graph, node: Node, i: int = 0):
    return g.tensors[node.outputs[i]]


def eval_pad(g: Graph, node: Node, inputs):
    x, paddings = inputs[0], np.asarray(inputs[1], dtype=np.int64).reshape(-1, 2)
    out = _out(g, node)
    if node.op == Op.PADV2 and inputs[2] is not None:
        value = np.asarray(inputs[2]).reshape(-1)[0]
    elif out.quant is not None and out.dtype != "int16":
        # TFLM pad.cc: without constant_values an int8 PAD fills with the output zero point
        # (an int16 one with 0, whatever its zero point).
        value = out.quant.zp
    else:
        value = 0
    return [np.pad(x, paddings, mode="constant", constant_values=value).astype(out.dtype)]


def eval_reshape(g: Graph, node: Node, inputs):
    """RESHAPE, SQUEEZE, EXPAND_DIMS: the output tensor's static shape says it all."""
    return [np.ascontiguousarray(inputs[0]).reshape(_out(g, node).shape)]


def eval_transpose(g: Graph, node: Node, inputs):
    perm = [int(p) for p in np.asarray(inputs[1]).reshape(-1)]
    return [np.ascontiguousarray(np.transpose(inputs[0], perm))]


def eval_concatenation(g: Graph, node: Node, inputs):
    out = _out(g, node)
    if node.attrs.activation != Act.NONE:
        raise UnsupportedError(f"CONCATENATION with a fused {node.attrs.activation} is not supported")
    for name in node.inputs:
        q = g.tensors[name].quant
        if out.quant is not None and q is not None and (q.s != out.quant.s or q.zp != out.quant.zp):
            raise UnsupportedError(
                f"CONCATENATION node {node.name!r} mixes quantisation parameters, which TF-Lite Micro does not support"
            )
    if out.dtype == "int16" and any(g.tensors[n].quant is not None and g.tensors[n].quant.zp != 0
                                    for n in [*node.inputs, node.outputs[0]]):
        raise UnsupportedError(
            f"CONCATENATION node {node.name!r} has an int16 zero point other than 0, which TF-Lite Micro rejects"
        )
    axis = node.attrs.axis % len(out.shape)
    return [np.concatenate(inputs, axis=axis).astype(out.dtype)]


def eval_strided_slice(g: Graph, node: Node, inputs):
    """Index arithmetic from ir.shapes.strided_slice_ranges, the one STRIDED_SLICE implementation."""
    x = np.asarray(inputs[0])
    attrs = node.attrs
    if attrs.ellipsis_mask or attrs.new_axis_mask:
        # TF-Lite Micro zeroes these masks (strided_slice.cc), so no TFLM result exists to match.
        raise UnsupportedError("STRIDED_SLICE with an ellipsis or new-axis mask is not supported")
    where = f"STRIDED_SLICE node {node.name!r}"
    ranges, _ = strided_slice_ranges(x.shape, *inputs[1:4], attrs, where)
    y = x[np.ix_(*ranges)] if ranges else x
    return [np.ascontiguousarray(y).reshape(_out(g, node).shape)]


def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """TFLite reference GetNearestNeighbor, computed in float32 as the C code does."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    pos = (np.arange(out_size, dtype=np.float32) + offset) * scale
    if align_corners:
        idx = np.sign(pos) * np.floor(np.abs(pos) + f32(0.5))  # TfLiteRound: halves away from zero
    else:
        idx = np.floor(pos)
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    if half_pixel_centers:
        idx = np.maximum(idx, 0)
    return idx


def eval_resize_nearest(g: Graph, node: Node, inputs):
    x = inputs[0]
    out_h, out_w = (int(v) for v in np.asarray(inputs[1]).reshape(-1)[:2])
    a = node.attrs
    rows = nearest_indices(x.shape[1], out_h, a.align_corners, a.half_pixel_centers)
    cols = nearest_indices(x.shape[2], out_w, a.align_corners, a.half_pixel_centers)
    return [np.ascontiguousarray(x[:, rows][:, :, cols])]


KERNELS = {
    Op.PAD: eval_pad,
    Op.PADV2: eval_pad,
    Op.RESHAPE: eval_reshape,
    Op.SQUEEZE: eval_reshape,
    Op.EXPAND_DIMS: eval_reshape,
    Op.TRANSPOSE: eval_transpose,
    Op.CONCATENATION: eval_concatenation,
    Op.STRIDED_SLICE: eval_strided_slice,
    Op.RESIZE_NEAREST_NEIGHBOR: eval_resize_nearest,
}
