"""Graph + execution order -> buffer requests and overlap allowances.

Step s is the s-th node of the order. Every non-constant tensor gets a buffer: graph
inputs are live from step 0 (the user writes them before invoking), graph outputs until
the last step (the user reads them after), variable tensors (persistent state) over every
step and never overlapped, any other tensor from the step that writes it to the last
step that reads it. RESHAPE, SQUEEZE and EXPAND_DIMS do not copy: their
output is the same buffer as their input, one request covering both lifetimes. Views
are the same at an offset: each output of a SLICE, SPLIT, SPLIT_V or UNPACK that is one
contiguous run of its input's bytes (ir/shapes_slicing.views) at offsets that keep the
alignment lies inside the input's buffer (`Buffers.within`: the byte offset of a tensor
inside its buffer), and the node has no code (codegen/generate.py). Gathers are views
the other way: where every input of a CONCATENATION or PACK is one contiguous run of its
output's bytes at an aligned offset, and each input is its producer's own buffer read by
that node alone (`gathered`), each producer writes its input straight into the output's
buffer, one request live from the first producer's step, and the node has no code.
`gather` chooses which legal gathers to make (plan/memory.py keeps a gather only where it
does not enlarge the arena). A node with working memory gets one scratch request live at
its step only.

Allowances follow the memory contracts of the C kernels (kernels/include/mf_*.h), and
only where the input buffer is not read after this node and is not a graph output. An
allowance is between buffers' starts: a view at a non-zero offset keeps only those with
a minimum distance alone (its real distance is larger), not the in-place one:
  in place (node.inplace, depthwise): Overlap(out, in, 0, 0), same start address;
  element-wise ops, per input of the output's size: Overlap(out, in, 0, None);
  pointwise CONV_2D (1x1, stride 1, no padding, one group) over P pixels:
  Overlap(out, in, max(0, P * (Cout - Cin)), None).
A producer writing part w of a gather keeps its allowance shifted by w, its minimum at
least w and, where a later part was written before it, its input ending by the part's
end (`_into_gather`): the gathered buffer's other parts hold live data.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import ALIAS_OPS, Op, axis_padding
from mcuforge.ir.shapes import window
from mcuforge.ir.shapes_slicing import GATHER_OPS, VIEW_OPS, gathers, views
from mcuforge.plan.requests import BufferRequest, Overlap
from mcuforge.plan.windows import per_channel_distance, per_pixel_distance

# Read element i of every input before writing element i, in increasing i.
ELEMENTWISE_OPS = frozenset(
    {
        Op.ADD, Op.SUB, Op.MUL, Op.RELU, Op.RELU6, Op.LEAKY_RELU, Op.HARD_SWISH, Op.LOGISTIC, Op.TANH, Op.QUANTIZE,
        # family slicing (begin)
        # family slicing (end)
        # family spatial (begin)
        # family spatial (end)
        # family binary (begin)
        # full-size inputs only (broadcast ones are re-read): mf_binary.h's contract
        Op.MAXIMUM, Op.MINIMUM, Op.EQUAL, Op.NOT_EQUAL, Op.GREATER, Op.GREATER_EQUAL, Op.LESS, Op.LESS_EQUAL,
        Op.SELECT_V2, Op.LOGICAL_AND, Op.LOGICAL_OR, Op.LOGICAL_NOT, Op.SQUARED_DIFFERENCE, Op.PRELU, Op.ADD_N,
        Op.DIV,
        # family binary (end)
        # family unary (begin)
        Op.ABS, Op.NEG, Op.ELU, Op.RSQRT, Op.ZEROS_LIKE,
        # family unary (end)
        # family reduce (begin)
        # family reduce (end)
        # family matmul (begin)
        # TRANSPOSE_CONV reads all of its input (into its scratch) before writing any output
        Op.TRANSPOSE_CONV,
        # family matmul (end)
    }
)  # fmt: skip


@dataclass(frozen=True)
class Buffers:
    requests: tuple[BufferRequest, ...]
    overlaps: tuple[Overlap, ...]
    buffer_of: Mapping[str, str]  # every non-constant tensor -> the request that holds it
    scratch_of: Mapping[int, str]  # node index -> its scratch request (nodes with scratch only)
    order: tuple[int, ...]  # the execution order: step -> node index
    # A view's or gathered input's byte offset inside its buffer (every other tensor: 0).
    within: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


def no_scratch(_node_index: int) -> int:
    return 0


def buffer_requests(
    g: Graph,
    order: Sequence[int],
    scratch_bytes: Callable[[int], int] = no_scratch,
    align: int = 8,
    unordered: Container[int] = (),
    gather: bool | Container[int] = True,
) -> Buffers:
    """Requests and allowances for running g's nodes in `order` (node indices).
    `unordered`: nodes whose kernel makes no output-order promise (a depthwise running
    the channel-by-channel plane kernels as its wide variant): no sliding-window
    allowance for them. `gather`: which of the legal gathers (gathered) to make: True all,
    False none (every CONCATENATION and PACK copies), else those node indices."""
    _check_order(g, order)
    last_step = max(len(order) - 1, 0)
    buffer_of: dict[str, str] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    size: dict[str, int] = {}

    def touch(tensor: str, s: int) -> None:
        b = buffer_of[tensor]
        first[b] = min(first.get(b, s), s)
        last[b] = max(last.get(b, s), s)
        size[b] = max(size.get(b, 0), g.tensors[tensor].nbytes)

    for name in g.inputs:
        buffer_of.setdefault(name, name)
        touch(name, 0)
    state = g.variables()  # persistent state: live over the whole program, overlapped by nothing
    for name in state:
        buffer_of[name] = name
        touch(name, 0)
        touch(name, last_step)
    scratch_of: dict[int, str] = {}
    taken = set(g.tensors)
    entries: list[str | BufferRequest] = list(buffer_of)  # request order: by first step
    within: dict[str, int] = {}
    into, gather_nodes = _chosen_gathers(g, align, gather)
    for s, i in enumerate(order):
        node = g.nodes[i]
        for x in _activation_inputs(g, node):
            touch(x, s)
        view = views(g, node)
        if view is not None and any(v % align for v in view[1]):
            view = None  # every tensor starts aligned, as the kernels expect: this node copies
        for k, out in enumerate(node.outputs):
            src = node.inputs[0] if node.inputs else None
            if k == 0 and _aliases(g, node, src):
                buffer_of[out] = buffer_of[src]
                within[out] = within.get(src, 0)
            elif view is not None:
                buffer_of[out] = buffer_of[view[0]]
                within[out] = within.get(view[0], 0) + view[1][k]
            elif out in into:  # its producer writes it into the gather's output
                y, within[out] = into[out]
                if y not in buffer_of:
                    buffer_of[y] = y
                    entries.append(y)
                buffer_of[out] = y
                touch(y, s)
            elif i in gather_nodes:
                pass  # the buffer its first input's producer opened
            else:
                buffer_of[out] = out
                entries.append(out)
            touch(out, s)
        need = scratch_bytes(i)
        if need > 0:
            name = _fresh(f"scratch:{i}", taken)
            scratch_of[i] = name
            entries.append(BufferRequest(name, need, s, s, align))
    for name in g.outputs:
        if name in buffer_of:  # a constant output needs no buffer
            touch(name, last_step)
    requests = tuple(
        e if isinstance(e, BufferRequest) else BufferRequest(e, size[e], first[e], last[e], align) for e in entries
    )
    protected = {buffer_of[o] for o in [*g.outputs, *state] if o in buffer_of}
    overlaps = _allowances(g, order, buffer_of, last, size, protected, unordered, within, into)
    views_at = MappingProxyType({t: v for t, v in within.items() if v})
    steps = tuple(order)
    return Buffers(requests, overlaps, MappingProxyType(buffer_of), MappingProxyType(scratch_of), steps, views_at)


def _check_order(g: Graph, order: Sequence[int]) -> None:
    """ValueError unless order is a permutation of the nodes that writes before reading."""
    if sorted(order) != list(range(len(g.nodes))):
        raise ValueError(f"execution order {list(order)} is not a permutation of the {len(g.nodes)} nodes")
    ready = g.available()
    for i in order:
        node = g.nodes[i]
        unready = [x for x in node.inputs if x is not None and x not in ready]
        if unready:
            raise ValueError(f"execution order runs node {i} ({node.op}) before {unready[0]!r} is written")
        ready.update(node.outputs)


def _activation_inputs(g: Graph, node: Node) -> list[str]:
    return [x for x in node.inputs if x is not None and not g.tensors[x].is_const]


def _aliases(g: Graph, node: Node, src: str | None) -> bool:
    """A reshape-like node whose output can be its (non-constant) input's bytes."""
    if node.op not in ALIAS_OPS or src is None or g.tensors[src].is_const:
        return False
    return g.tensors[src].nbytes == g.tensors[node.outputs[0]].nbytes


def gathered(g: Graph, align: int = 8) -> tuple[dict[str, tuple[str, int]], frozenset[int]]:
    """(tensor -> (output, byte offset inside it), gather node indices): the CONCATENATION
    and PACK nodes whose every input its producer may write straight into the output's
    buffer, so the node has no code. Each input must be one contiguous run of the output
    at an aligned offset (ir/shapes_slicing.gathers), not empty, read by this node once
    and by no other node, not a graph output, and written by a node that gives it a
    buffer of its own (not a graph input or constant, not a view or another gather's
    output); or the output of a chain of aliases (RESHAPE, ...) of such a tensor, each
    link read by the next alone: the chain's first tensor is the one mapped, the aliases
    follow it into the output. All inputs or none: one input that fails copies them all."""
    consumers = g.consumers()
    producers = g.producers()
    into: dict[str, tuple[str, int]] = {}
    nodes: list[int] = []

    def only_reader(x: str, k: int) -> bool:
        t = g.tensors[x]
        return (
            not t.is_const
            and t.nbytes > 0
            and x not in g.inputs
            and x not in g.outputs
            and x in producers
            and g.nodes[k].inputs.count(x) == 1
            and set(consumers.get(x, [])) == {k}
        )

    def root(x: str, i: int) -> str | None:
        """The tensor whose producer writes x's bytes, if x may be gathered by node i."""
        k = i
        while only_reader(x, k):
            p = producers[x]
            op = g.nodes[p].op
            if op in ALIAS_OPS and _aliases(g, g.nodes[p], g.nodes[p].inputs[0]):
                x, k = g.nodes[p].inputs[0], p
                continue
            return None if str(op) in VIEW_OPS or str(op) in GATHER_OPS or op in ALIAS_OPS else x
        return None

    for i, node in enumerate(g.nodes):
        offsets = gathers(g, node)
        if offsets is None or any(o % align for o in offsets):
            continue
        y = node.outputs[0]
        roots = [root(x, i) for x in node.inputs]
        if y in g.inputs or None in roots:
            continue
        into.update((r, (y, o)) for r, o in zip(roots, offsets))  # type: ignore[misc]
        nodes.append(i)
    return into, frozenset(nodes)


def _chosen_gathers(
    g: Graph, align: int, gather: bool | Container[int]
) -> tuple[dict[str, tuple[str, int]], frozenset[int]]:
    if gather is False:
        return {}, frozenset()
    into, nodes = gathered(g, align)
    if gather is True:
        return into, nodes
    keep = frozenset(i for i in nodes if i in gather)
    producers = g.producers()
    return {x: v for x, v in into.items() if producers[v[0]] in keep}, keep


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _allowances(
    g: Graph,
    order: Sequence[int],
    buffer_of: Mapping[str, str],
    last: Mapping[str, int],
    size: Mapping[str, int],
    protected: set[str],
    unordered: Container[int],
    within: Mapping[str, int],
    into: Mapping[str, tuple[str, int]],
) -> tuple[Overlap, ...]:
    found: dict[tuple[str, str], Overlap] = {}
    written = {t: s for s, i in enumerate(order) for t in g.nodes[i].outputs}
    for s, i in enumerate(order):
        node = g.nodes[i]
        if not node.outputs or node.op in ALIAS_OPS:
            continue
        out = buffer_of[node.outputs[0]]
        for x, dist in _node_allowances(g, node, i in unordered):
            b = buffer_of[x]
            if within.get(x, 0) and dist[1] is not None:
                continue  # a view starts after its buffer: only a minimum distance still holds
            if node.outputs[0] in into:
                dist = _into_gather(g, node.outputs[0], size[b], dist, into, written)
                if dist is None:
                    continue
            if b != out and last[b] == s and b not in protected:
                found.setdefault((out, b), Overlap(out, b, dist[0], dist[1]))
    return tuple(found.values())


def _into_gather(
    g: Graph,
    t: str,
    x_bytes: int,
    dist: tuple[int, int | None],
    into: Mapping[str, tuple[str, int]],
    written: Mapping[str, int],
) -> tuple[int, int | None] | None:
    """A kernel allowance between an input's buffer (x_bytes long) and output t, where t
    is written at byte w of a gather's buffer, as a distance between the two buffers'
    starts; None if none is safe. The kernel's contract holds relative to t: shift it by
    w. The buffer's other parts hold live data once their producers ran: the input's
    buffer may not start below t (nothing before w is its), and where a later part was
    written before t (or with it), it must end by t's end."""
    y, w = into[t]
    lo, hi = w + max(dist[0], 0), None if dist[1] is None else w + dist[1]
    step = written[t]
    # (a part the same node writes as another output counts as written before t)
    earlier_after = any(o > w and written[p] <= step for p, (z, o) in into.items() if z == y and p != t)
    if earlier_after:
        cap = w + g.tensors[t].nbytes - x_bytes
        hi = cap if hi is None else min(hi, cap)
    return None if hi is not None and hi < lo else (lo, hi)


def _node_allowances(g: Graph, node: Node, unordered: bool = False) -> list[tuple[str, tuple[int, int | None]]]:
    """(input tensor, (min, max) distance) pairs the node's kernel contract permits."""
    y = g.tensors[node.outputs[0]]
    inputs = _activation_inputs(g, node)
    out: list[tuple[str, tuple[int, int | None]]] = []
    if getattr(node, "inplace", False) and inputs and node.inputs[0] == inputs[0]:
        out.append((inputs[0], (0, 0)))
    if node.op in ELEMENTWISE_OPS:
        for x in inputs:
            t = g.tensors[x]
            if t.size == y.size and t.nbytes == y.nbytes:
                out.append((x, (0, None)))
    if node.op == Op.CONV_2D and _pointwise(g, node):
        x = g.tensors[node.inputs[0]]
        pixels, cin, cout = x.size // x.shape[-1], x.shape[-1], y.shape[-1]
        out.append((x.name, (max(0, pixels * (cout - cin)), None)))
    elif unordered and node.op == Op.DEPTHWISE_CONV_2D and inputs and node.inputs[0] == inputs[0]:
        x = g.tensors[inputs[0]]
        if len(x.shape) == 4 and x.shape[0] == 1 and x.shape[3] == 1:
            # one channel, one image: the plane kernels copy all of it before any write
            out.append((x.name, (-x.nbytes, None)))
    elif node.op in WINDOW_OPS and inputs and node.inputs[0] == inputs[0] and not getattr(node, "inplace", False) and not unordered:
        distance = _window_distance(g, node)
        if distance is not None:
            out.append((inputs[0], (distance, None)))
    return out


# Sliding-window ops whose portable kernels read windows in output order (plan/windows.py).
WINDOW_OPS = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D)


def _window_distance(g: Graph, node: Node) -> int | None:
    """Minimum output-below-input distance for a sliding-window op, or None if its kernel
    makes no in-order promise (grouped convolution, batches, non-int8 data)."""
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
    if len(x.shape) != 4 or x.shape[0] != 1 or x.dtype != "int8" or y.dtype != "int8":
        return None
    a = node.attrs
    if node.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D):
        k = g.tensors[node.inputs[1]].shape[1:3]
        dilation = a.dilation
    else:
        k, dilation = a.filter, (1, 1)
    pads = tuple(window(x.shape[1 + i], k[i], a.stride[i], dilation[i], axis_padding(a.padding, i))[1] for i in range(2))
    if node.op == Op.CONV_2D:
        if g.tensors[node.inputs[1]].shape[3] != x.shape[3]:
            return None  # grouped: the kernel writes group 0's outputs before reading group 1's window
        return per_pixel_distance(x.shape, y.shape, a.stride, pads)
    return per_channel_distance(x.shape, y.shape, a.stride, pads)


def _pointwise(g: Graph, node: Node) -> bool:
    """1x1 kernel, stride 1, no padding, one group, int8 in and out: pixels map one to one."""
    x, w = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]]
    y = g.tensors[node.outputs[0]]
    a = node.attrs
    pads = a.padding if isinstance(a.padding, tuple) else (0, 0, 0, 0)
    return (
        not x.is_const
        and len(x.shape) == 4
        and tuple(w.shape[1:3]) == (1, 1)
        and w.shape[3] == x.shape[3]
        and tuple(a.stride) == (1, 1)
        and not any(pads)
        and x.shape[:3] == y.shape[:3]
        and np.dtype(x.dtype).itemsize == 1 == np.dtype(y.dtype).itemsize
    )
