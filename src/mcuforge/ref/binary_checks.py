"""Operand checks and broadcasting shared by the binary family's reference kernels."""

from __future__ import annotations

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ref.checks import node_label

MAX_RANK = 8  # BroadcastBinaryOpSimple's kMaxRank


def tensors(g: Graph, node: Node, inputs: tuple[str, ...], output: str, quantised: bool) -> list[Tensor]:
    """The inputs then output 0, checked: input k has dtype inputs[k] (the last entry repeats,
    for ADD_N), the output `output`; with `quantised`, every int8 tensor needs per-tensor
    quantisation with a positive scale."""
    what = node_label(node)
    names = [*node.inputs, node.outputs[0]]
    if any(n is None for n in names):
        raise UnsupportedError(f"{what} lacks an input.")
    ts = [g.tensor(n) for n in names]  # type: ignore[arg-type]
    wants = [inputs[min(k, len(inputs) - 1)] for k in range(len(ts) - 1)] + [output]
    for t, want in zip(ts, wants):
        if t.dtype != want:
            raise UnsupportedError(f"{what} has the {t.dtype} tensor {t.name!r} where mcuforge supports {want} only.")
        if quantised and want == "int8" and (t.quant is None or t.quant.per_channel or not t.quant.scale[0] > 0):
            raise UnsupportedError(f"{what}: tensor {t.name!r} needs per-tensor quantisation with a positive scale.")
    if len(ts[-1].shape) > MAX_RANK:
        rank = len(ts[-1].shape)
        raise UnsupportedError(f"{what} has a {rank}-D output; at most {MAX_RANK} dimensions are supported.")
    return ts


def broadcast(g: Graph, node: Node, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The inputs as int64 (bool stays bool), broadcast against each other to the output shape."""
    arrays = [np.asarray(a) for a in arrays]
    arrays = [a if a.dtype == np.bool_ else a.astype(np.int64) for a in arrays]
    out_shape = g.tensor(node.outputs[0]).shape
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as e:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise UnsupportedError(f"{node_label(node)}: input shapes {shapes} do not broadcast.") from e
    if tuple(shape) != tuple(out_shape):
        raise UnsupportedError(f"{node_label(node)}: inputs broadcast to {shape}, not to the output shape {out_shape}.")
    return [np.broadcast_to(a, shape) for a in arrays]


def out(g: Graph, node: Node, y: np.ndarray) -> list[np.ndarray]:
    t = g.tensor(node.outputs[0])
    return [np.asarray(y).astype(t.dtype).reshape(t.shape)]
