"""Batch a graph: the same network with activations of leading dimension n instead of 1,
so that the reference executor runs n images in one pass (one kernel call per node for
the whole batch instead of n).

Only graphs whose every node treats the leading dimension as an independent batch can
be batched; `batch_problem` says why a graph cannot (and the caller then runs image by
image). The reference kernels of these ops loop over the batch as TF-Lite's do:
convolutions, pooling and PAD index (N, H, W, C) arrays; FULLY_CONNECTED takes its
batch count from the output shape; SOFTMAX works per row of the last axis; MEAN and
REDUCE_MAX reduce the axes they are given (never 0 here); elementwise ops broadcast.
RESHAPE's shape operand (and option) must start with 1 or -1, and is rewritten to n.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op

# Ops whose every element depends on one image only (elementwise, or spatial within an image).
ELEMENTWISE = {
    Op.QUANTIZE, Op.DEQUANTIZE, Op.RELU, Op.RELU6, Op.LEAKY_RELU, Op.HARD_SWISH, Op.LOGISTIC, Op.TANH, Op.SOFTMAX,
}  # fmt: skip
SPATIAL = {Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D, Op.RESIZE_NEAREST_NEIGHBOR}
BROADCASTING = {Op.ADD, Op.SUB, Op.MUL}
REDUCING = {Op.MEAN, Op.REDUCE_MAX}
# Ops with an operand that names axes or a shape, checked node by node below.
CHECKED = {Op.PAD, Op.PADV2, Op.RESHAPE, Op.SQUEEZE, Op.FULLY_CONNECTED, Op.CONCATENATION, Op.TRANSPOSE}
BATCH_SAFE = ELEMENTWISE | SPATIAL | BROADCASTING | REDUCING | CHECKED


def _const_ints(g: Graph, name: str | None) -> list[int] | None:
    if name is None or name not in g.tensors or g.tensors[name].data is None:
        return None
    return [int(v) for v in np.asarray(g.tensors[name].data).reshape(-1)]


def _node_problem(g: Graph, node: Node) -> str | None:
    """Why `node` does not treat dimension 0 as a batch, or None when it does."""
    if node.op not in BATCH_SAFE:
        return f"{node.op} is not known to be batch-safe"
    rank = len(g.tensors[node.outputs[0]].shape)
    if node.op in REDUCING:
        axes = _const_ints(g, node.inputs[1] if len(node.inputs) > 1 else None)
        rank_in = len(g.tensors[node.inputs[0]].shape)
        if axes is None or any(a % rank_in == 0 for a in axes):
            return f"{node.op} reduces over the batch axis (or has non-constant axes)"
    if node.op in (Op.PAD, Op.PADV2):
        pads = _const_ints(g, node.inputs[1])
        if pads is None or pads[:2] != [0, 0]:
            return "PAD pads the batch axis (or has non-constant paddings)"
    if node.op == Op.RESHAPE:
        shape = _const_ints(g, node.inputs[1] if len(node.inputs) > 1 else None)
        for dims in (shape, node.attrs.new_shape):
            if dims is not None and (len(dims) == 0 or dims[0] not in (1, -1)):
                return f"RESHAPE to {tuple(dims)} does not keep the batch axis first"
    if node.op == Op.SQUEEZE:
        dims = node.attrs.squeeze_dims
        if not dims or any(d % len(g.tensors[node.inputs[0]].shape) == 0 for d in dims):
            return "SQUEEZE may drop the batch axis"
    if node.op == Op.CONCATENATION and node.attrs.axis % rank == 0:
        return "CONCATENATION joins along the batch axis"
    if node.op == Op.TRANSPOSE:
        perm = _const_ints(g, node.inputs[1])
        if perm is None or perm[0] != 0:
            return "TRANSPOSE moves the batch axis"
    if node.op == Op.FULLY_CONNECTED and rank < 2:
        return "FULLY_CONNECTED has no batch axis in its output"
    return None


def batch_problem(g: Graph) -> str | None:
    """Why `g` cannot be batched, or None when rebatch(g, n) runs n images at once."""
    for t in g.activations():
        if len(t.shape) == 0 or t.shape[0] != 1:
            return f"tensor {t.name!r} has shape {t.shape}, not a leading dimension of 1"
    for node in g.nodes:
        problem = _node_problem(g, node)
        if problem is not None:
            return f"node {node.name or node.outputs[0]!r}: {problem}"
        if node.op in BROADCASTING:
            out_rank = len(g.tensors[node.outputs[0]].shape)
            for name in node.inputs:
                t = g.tensors[name] if name is not None else None
                if t is not None and t.is_const and len(t.shape) == out_rank and t.shape[0] != 1:
                    return f"node {node.name or node.outputs[0]!r}: constant {t.name!r} spans the batch axis"
    return None


def rebatch(g: Graph, n: int) -> Graph:
    """A copy of `g` whose activations have leading dimension n (see batch_problem;
    ValueError when g cannot be batched). Constants are shared, never changed; RESHAPE
    shape operands get a new constant each."""
    if n < 1:
        raise ValueError(f"a batch needs at least one image, not {n}")
    problem = batch_problem(g)
    if problem is not None:
        raise ValueError(f"graph {g.name!r} cannot be batched: {problem}")
    h = g.copy()
    for t in h.activations():
        t.shape = (n, *t.shape[1:])
    for node in h.nodes:
        if node.op != Op.RESHAPE:
            continue
        if node.attrs.new_shape is not None:
            node.attrs = replace(node.attrs, new_shape=(n, *node.attrs.new_shape[1:]))
        if len(node.inputs) > 1 and node.inputs[1] is not None:
            old = h.tensors[node.inputs[1]]
            dims = np.asarray(old.data).reshape(-1).copy()
            dims[0] = n
            name = h.unique_name(f"{old.name}_batch{n}")
            h.add_tensor(Tensor(name, old.shape, old.dtype, old.quant, dims.astype(old.dtype)))
            node.inputs[1] = name
    h.remove_unused()
    return h
