"""Which nodes may run patch by patch, and the stage a split defines.

A node may sit in the patch stage when each output pixel depends on a bounded window
of its input pixels: convolutions, depthwise convolutions and pools (a window), PAD
(a shifted pixel), element-wise operators and activations (the same pixel), and
channel concatenation. Global operators (MEAN, FULLY_CONNECTED, RESHAPE, SOFTMAX over
space, ...) end the stage. Every activation tensor in the stage is 4-D NHWC with one
batch.

A stage is a contiguous range start..split of the optimised graph's node list with
exactly one activation input from outside (the source, `X`: the network input or a
tensor the per-layer prefix wrote), whose last node's output (the sink, `Y`: the
stage-2 input) is the only tensor the rest of the graph reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.patch.plan import NotPatchable

WINDOW_OPS = frozenset({Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D})
PAD_OPS = frozenset({Op.PAD, Op.PADV2})
BINARY_OPS = frozenset({Op.ADD, Op.SUB, Op.MUL})
UNARY_OPS = frozenset(
    {Op.RELU, Op.RELU6, Op.LEAKY_RELU, Op.HARD_SWISH, Op.LOGISTIC, Op.TANH, Op.QUANTIZE, Op.DEQUANTIZE}
)
PATCH_OPS = WINDOW_OPS | PAD_OPS | BINARY_OPS | UNARY_OPS | {Op.CONCATENATION, Op.TRANSPOSE}
NCHW_TO_NHWC = (0, 2, 3, 1)


@dataclass(frozen=True)
class Stage:
    start: int
    split: int
    source: str  # the one activation tensor the stage reads from outside
    sink: str  # the split node's output: the stage-2 input

    @property
    def nodes(self) -> range:
        return range(self.start, self.split + 1)


def activation_inputs(g: Graph, node: Node) -> list[tuple[int, str]]:
    return [(j, x) for j, x in enumerate(node.inputs) if x is not None and not g.tensors[x].is_const]


def _nhwc(g: Graph, name: str) -> bool:
    t = g.tensors[name]
    return len(t.shape) == 4 and t.shape[0] == 1


def patchable(g: Graph, node: Node) -> bool:
    """Whether this node, by its kind and operands, may run on a patch."""
    if node.op not in PATCH_OPS or len(node.outputs) != 1 or not _nhwc(g, node.outputs[0]):
        return False
    acts = activation_inputs(g, node)
    if not acts or not all(_nhwc(g, x) for _, x in acts):
        return False
    y = g.tensors[node.outputs[0]]
    if node.op in WINDOW_OPS:
        return acts[0][0] == 0 and len(acts) == 1
    if node.op == Op.TRANSPOSE:  # NCHW -> NHWC of the source: each patch gathers its box
        perm = g.tensors[node.inputs[1]].data
        return perm is not None and tuple(int(v) for v in np.asarray(perm).reshape(-1)) == NCHW_TO_NHWC
    if node.op in PAD_OPS:
        if acts[0][0] != 0 or len(acts) != 1 or g.tensors[node.inputs[1]].data is None:
            return False
        pads = np.asarray(g.tensors[node.inputs[1]].data).reshape(-1, 2)
        return pads.shape[0] == 4 and not pads[0].any() and not (pads < 0).any()
    if node.op == Op.CONCATENATION:
        axis = node.attrs.axis
        return axis in (3, -1) and len(acts) == len([x for x in node.inputs if x is not None])
    for x in node.inputs:  # element-wise: activations of the output's shape, constants broadcast per pixel
        if x is None:
            continue
        t = g.tensors[x]
        if t.is_const:
            shape = (1,) * (4 - len(t.shape)) + tuple(t.shape)
            if len(shape) != 4 or shape[1] != 1 or shape[2] != 1:
                return False
        elif tuple(t.shape[:3]) != tuple(y.shape[:3]):
            return False
    return True


def find_stage(g: Graph, split: int, start: int | None = None) -> Stage:
    """The stage ending at node `split` (starting at `start`, or as early as valid)."""
    if not 0 <= split < len(g.nodes):
        raise NotPatchable(f"split {split} is not a node index: the graph has nodes 0..{len(g.nodes) - 1}")
    node = g.nodes[split]
    if not patchable(g, node):
        raise NotPatchable(
            f"node {split} ({node.op}) cannot run patch by patch; split after a convolution, pool or element-wise node"
        )
    lo = split
    while lo > 0 and patchable(g, g.nodes[lo - 1]):
        lo -= 1
    if start is not None:
        if not lo <= start <= split:
            raise NotPatchable(f"nodes {start}..{split} cannot all run patch by patch")
        candidates = [start]
    else:
        candidates = list(range(lo, split + 1))
    consumers = g.consumers()
    why = ""
    for st in candidates:
        why = _stage_problem(g, st, split, consumers)
        if not why:
            src = _external(g, st, split)[0]
            return Stage(st, split, src, g.nodes[split].outputs[0])
    raise NotPatchable(f"nodes {candidates[0]}..{split} do not form a patch stage: {why}")


def _external(g: Graph, start: int, split: int) -> list[str]:
    produced: set[str] = set()
    ext: list[str] = []
    for i in range(start, split + 1):
        for _, x in activation_inputs(g, g.nodes[i]):
            if x not in produced and x not in ext:
                ext.append(x)
        produced.update(g.nodes[i].outputs)
    return ext


def _stage_problem(g: Graph, start: int, split: int, consumers: dict[str, list[int]]) -> str:
    """Why start..split is not a stage ('' when it is)."""
    ext = _external(g, start, split)
    if len(ext) != 1:
        return f"they read {len(ext)} tensors from outside (one is needed)"
    sink = g.nodes[split].outputs[0]
    for i in range(start, split):
        for t in g.nodes[i].outputs:
            if t in g.outputs:
                return f"tensor {t!r} is a graph output"
            outside = [c for c in consumers.get(t, []) if not start <= c <= split]
            if outside:
                return f"tensor {t!r} is read by node {outside[0]} after the stage"
    if sink == ext[0]:
        return "the stage writes nothing"
    for i in range(start, split + 1):
        node = g.nodes[i]
        if node.op == Op.TRANSPOSE and node.inputs[0] != ext[0]:
            return f"node {i} transposes a tensor of the stage (only the stage's input may be transposed)"
    return ""


def candidate_splits(g: Graph) -> list[int]:
    """Every node index that ends some valid stage, in index order."""
    out = []
    for i, node in enumerate(g.nodes):
        if patchable(g, node):
            try:
                find_stage(g, i)
            except NotPatchable:
                continue
            out.append(i)
    return out
