"""Reference kernels of the spatial family: GATHER, GATHER_ND, MIRROR_PAD, REVERSE_V2,
DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND.

None of them changes a value: TF-Lite Micro's kernels copy the input's bytes to the
output whatever the two tensors' quantisation, and so do these (int8 and int32 data
take the same path). The one value they make is SPACE_TO_BATCH_ND's padding, which is
the output zero point (0 for int32), as LiteRT's reference kernel pads; TF-Lite
Micro's kernel never sets that value and pads with whatever its memory holds.

Index operands that are model inputs (GATHER and GATHER_ND indices) are checked when
the model runs: an index outside its axis is an InputError (TF-Lite Micro refuses the
call too, or reads out of bounds).
"""

from __future__ import annotations

import numpy as np

from mcuforge.errors import InputError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import GatherAttrs, MirrorPadMode, Op
from mcuforge.ir.shapes_spatial import block_operands, check_indices, gather_dims, normalised_axes


def _out(g: Graph, node: Node):
    return g.tensors[node.outputs[0]]


def _where(node: Node) -> str:
    return f"{node.op} node {node.name!r}"


def gather(x: np.ndarray, idx: np.ndarray, attrs: GatherAttrs, where: str, error=InputError) -> np.ndarray:
    """GATHER of any dtype (import-time folding uses it on int32 shape data too)."""
    x, idx = np.asarray(x), np.asarray(idx, dtype=np.int64)
    axis, bd = gather_dims(x.shape, idx.shape, attrs, where)
    check_indices(idx, x.shape[axis], where, error)
    batch = int(np.prod(x.shape[:bd], dtype=np.int64))
    p = x.reshape(batch, int(np.prod(x.shape[bd:axis], dtype=np.int64)), x.shape[axis], -1)
    k = idx.reshape(batch, -1)
    y = np.stack([p[b][:, k[b], :] for b in range(batch)])  # (batch, outer, coords, inner)
    return y.reshape((*x.shape[:axis], *idx.shape[bd:], *x.shape[axis + 1 :]))


def eval_gather(g: Graph, node: Node, inputs):
    return [gather(inputs[0], inputs[1], node.attrs, _where(node))]


def eval_gather_nd(g: Graph, node: Node, inputs):
    x, idx = np.asarray(inputs[0]), np.asarray(inputs[1], dtype=np.int64)
    k = idx.shape[-1]
    tuples = idx.reshape(-1, k)
    check_indices(tuples, x.shape[:k], _where(node), InputError)
    y = np.stack([x[tuple(t)] for t in tuples]) if len(tuples) else np.zeros((0,), x.dtype)
    return [y.reshape(_out(g, node).shape)]


def eval_mirror_pad(g: Graph, node: Node, inputs):
    pads = np.asarray(inputs[1], dtype=np.int64).reshape(-1, 2)
    mode = "reflect" if node.attrs.mode == MirrorPadMode.REFLECT else "symmetric"
    return [np.pad(inputs[0], pads, mode=mode)]


def eval_reverse(g: Graph, node: Node, inputs):
    x = np.asarray(inputs[0])
    axes = normalised_axes(inputs[1], x.ndim, _where(node))
    return [np.ascontiguousarray(np.flip(x, axis=tuple(axes)) if axes else x)]


def eval_depth_to_space(g: Graph, node: Node, inputs):
    """out[n, h*b + i, w*b + j, c] = in[n, h, w, (i*b + j)*C + c] (TFLite's DCR order)."""
    x, b = np.asarray(inputs[0]), node.attrs.block_size
    n, h, w, c = x.shape
    y = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
    return [y.reshape(n, h * b, w * b, c // (b * b))]


def eval_space_to_depth(g: Graph, node: Node, inputs):
    """out[n, h, w, (i*b + j)*C + c] = in[n, h*b + i, w*b + j, c]."""
    x, b = np.asarray(inputs[0]), node.attrs.block_size
    n, h, w, c = x.shape
    y = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
    return [y.reshape(n, h // b, w // b, c * b * b)]


def _as_4d(x: np.ndarray) -> np.ndarray:
    """(N, W, C) -> (N, W, 1, C) as TFLite's ExtendShapeSpaceToBatch (block and amounts get a 1 and a 0)."""
    return x if x.ndim == 4 else x[:, :, None, :]


def block_params(g: Graph, node: Node, inputs) -> tuple[list[int], list[list[int]]]:
    """(block (bh, bw), [[top, bottom], [left, right]]) of SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND, 4-D."""
    block, amounts = block_operands(g.tensors[node.inputs[0]].shape, inputs[1], inputs[2], _where(node))
    if len(block) == 1:
        block, amounts = [block[0], 1], [amounts[0], [0, 0]]
    return block, amounts


def pad_value(g: Graph, node: Node) -> int:
    """SPACE_TO_BATCH_ND's padding: LiteRT pads with the output zero point (TF-Lite Micro with garbage)."""
    q = _out(g, node).quant
    return int(q.zp) if q is not None else 0


def eval_space_to_batch(g: Graph, node: Node, inputs):
    """out[(i*bw + j)*N + n, h, w, c] = padded[n, h*bh + i, w*bw + j, c]."""
    (bh, bw), (ph, pw) = block_params(g, node, inputs)
    x = _as_4d(np.asarray(inputs[0]))
    xp = np.pad(x, [(0, 0), ph, pw, (0, 0)], constant_values=pad_value(g, node))
    n, hp, wp, c = xp.shape
    y = xp.reshape(n, hp // bh, bh, wp // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return [y.reshape(_out(g, node).shape)]


def eval_batch_to_space(g: Graph, node: Node, inputs):
    """out[n, h*bh + i - top, w*bw + j - left, c] = in[(i*bw + j)*N + n, h, w, c]."""
    (bh, bw), (ch, cw) = block_params(g, node, inputs)
    x = _as_4d(np.asarray(inputs[0]))
    nb, h, w, c = x.shape
    n = nb // (bh * bw)
    full = x.reshape(bh, bw, n, h, w, c).transpose(2, 3, 0, 4, 1, 5).reshape(n, h * bh, w * bw, c)
    y = full[:, ch[0] : h * bh - ch[1], cw[0] : w * bw - cw[1]]
    return [np.ascontiguousarray(y).reshape(_out(g, node).shape)]


KERNELS = {
    Op.GATHER: eval_gather,
    Op.GATHER_ND: eval_gather_nd,
    Op.MIRROR_PAD: eval_mirror_pad,
    Op.REVERSE_V2: eval_reverse,
    Op.DEPTH_TO_SPACE: eval_depth_to_space,
    Op.SPACE_TO_DEPTH: eval_space_to_depth,
    Op.SPACE_TO_BATCH_ND: eval_space_to_batch,
    Op.BATCH_TO_SPACE_ND: eval_batch_to_space,
}
