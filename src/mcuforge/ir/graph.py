"""The graph IR: tensors, nodes and the graph that holds them.

Tensors are referred to by name (unique within a graph). A node lists its input
tensor names (None for an absent optional input, such as a missing bias) and its
output tensor names. `Graph.nodes` is kept in a valid execution order; `toposort`
restores one after a pass has rewired nodes.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from mcuforge.ir.ops import Op

DTYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")


@dataclass
class Quant:
    """Affine quantisation: real = scale * (q - zero_point).

    One scale and zero point for per-tensor quantisation; one per slice along
    `axis` for per-channel quantisation.
    """

    scale: np.ndarray  # float32, shape (n,)
    zero_point: np.ndarray  # int64, shape (n,)
    axis: int = 0

    def __post_init__(self) -> None:
        self.scale = np.asarray(self.scale, dtype=np.float32).reshape(-1)
        self.zero_point = np.asarray(self.zero_point, dtype=np.int64).reshape(-1)

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def s(self) -> float:
        """Per-tensor scale (the first, for per-channel tensors)."""
        return float(self.scale[0])

    @property
    def zp(self) -> int:
        return int(self.zero_point[0])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Quant)
            and self.axis == other.axis
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
        )


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = None  # constant contents, None for activations
    # A variable (stateful) tensor, TFLite's is_variable: its contents persist from one
    # invocation to the next (SVDF and LSTM state, a streaming op's own state).
    variable: bool = False

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.data is not None:
            self.data = np.asarray(self.data, dtype=self.dtype).reshape(self.shape)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # Python ints: exact, and far cheaper than np.prod per call

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize


@dataclass
class Node:
    op: Op
    inputs: list[str | None]
    outputs: list[str]
    attrs: Any
    name: str = ""
    # Set by passes/inplace_depthwise: the output overwrites the input (same start address).
    inplace: bool = False


@dataclass
class Graph:
    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    name: str = "model"

    # ----------------------------------------------------------- building
    def add_tensor(self, t: Tensor) -> Tensor:
        if t.name in self.tensors:
            raise ValueError(f"tensor {t.name!r} already exists")
        self.tensors[t.name] = t
        return t

    def unique_name(self, base: str) -> str:
        if base not in self.tensors:
            return base
        i = 1
        while f"{base}_{i}" in self.tensors:
            i += 1
        return f"{base}_{i}"

    def add_node(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def copy(self) -> Graph:
        """Deep copy of the structure; constant arrays are shared (they are never mutated)."""
        g = Graph(name=self.name, inputs=list(self.inputs), outputs=list(self.outputs))
        for name, t in self.tensors.items():
            g.tensors[name] = Tensor(t.name, t.shape, t.dtype, copy.deepcopy(t.quant), t.data, t.variable)
        g.nodes = [Node(n.op, list(n.inputs), list(n.outputs), n.attrs, n.name, n.inplace) for n in self.nodes]
        return g

    # ------------------------------------------------------------ queries
    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def producers(self) -> dict[str, int]:
        """Tensor name -> index of the node that writes it."""
        return {o: i for i, n in enumerate(self.nodes) for o in n.outputs}

    def consumers(self) -> dict[str, list[int]]:
        """Tensor name -> indices of the nodes that read it (in node order)."""
        out: dict[str, list[int]] = {}
        for i, n in enumerate(self.nodes):
            for name in n.inputs:
                if name is not None:
                    out.setdefault(name, []).append(i)
        return out

    def variables(self) -> list[str]:
        """Names of the variable (stateful) tensors: no node writes them before they are read;
        they hold the state left by the previous invocation (the reset value at first)."""
        return [n for n, t in self.tensors.items() if t.variable]

    def state_bytes(self) -> int:
        """Bytes of persistent state (every variable tensor), kept in the arena between runs."""
        return sum(self.tensors[n].nbytes for n in self.variables())

    def available(self) -> set[str]:
        """Tensors readable before any node runs: graph inputs, constants and variables."""
        return set(self.inputs) | {n for n, t in self.tensors.items() if t.is_const or t.variable}

    def activations(self) -> Iterable[Tensor]:
        return (t for t in self.tensors.values() if not t.is_const)

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[str(n.op)] = counts.get(str(n.op), 0) + 1
        return counts

    # ------------------------------------------------------------ ordering
    def toposort(self) -> None:
        """Reorder nodes into an execution order, stable with respect to the current one.

        Raises ValueError on a cycle or a tensor read before anything writes it.
        """
        prod = self.producers()
        ready = self.available()
        remaining = list(range(len(self.nodes)))
        order: list[int] = []
        while remaining:
            for pos, i in enumerate(remaining):
                node = self.nodes[i]
                if all(x is None or x in ready for x in node.inputs):
                    order.append(i)
                    ready.update(node.outputs)
                    del remaining[pos]
                    break
            else:
                missing = {
                    x
                    for i in remaining
                    for x in self.nodes[i].inputs
                    if x is not None and x not in ready and x not in prod
                }
                what = f"tensors never written: {sorted(missing)}" if missing else "a cycle"
                raise ValueError(f"graph has no execution order ({what})")
        self.nodes = [self.nodes[i] for i in order]

    def remove_unused(self) -> None:
        """Drop tensors no node or graph boundary refers to."""
        used = set(self.inputs) | set(self.outputs)
        for n in self.nodes:
            used.update(x for x in n.inputs if x is not None)
            used.update(n.outputs)
        self.tensors = {k: v for k, v in self.tensors.items() if k in used}
