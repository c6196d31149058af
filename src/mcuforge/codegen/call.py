"""What an operator emitter returns (Call) and what it may ask for (EmitContext)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mcuforge.ir.graph import Graph, Node

CTYPES: dict[str, str] = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "float32": "float",
    "bool": "uint8_t",
    "uint32": "uint32_t",  # family signal
    "uint64": "uint64_t",  # family signal
}


@dataclass(frozen=True)
class Call:
    """One kernel call: `kernel(&params, *args)` with `params` a static const struct."""

    kernel: str
    params_type: str | None
    params: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    sources: tuple[str, ...]
    scratch_bytes: int = 0


@dataclass
class ConstArray:
    name: str
    ctype: str
    data: np.ndarray


@dataclass
class EmitContext:
    """Where tensors live, for the emitters. Built by the code generator once the plan exists.

    `offsets` maps each arena tensor to its byte offset; `scratch_offsets` maps node
    index to its scratch offset. During the sizing pass both are empty and every
    pointer is a placeholder (the emitted text is discarded).

    `wide` holds the nodes granted their wide variant: a kernel variant that runs faster
    with more scratch. The planner grants it only where the larger scratch fits in bytes
    free at that step, so the arena never grows for it (plan.memory.plan_graph).
    """

    graph: Graph
    offsets: dict[str, int] = field(default_factory=dict)
    scratch_offsets: dict[int, int] = field(default_factory=dict)
    node_index: int = 0
    wide: frozenset[int] = frozenset()
    arrays: list[ConstArray] = field(default_factory=list)
    _const_symbols: dict[str, str] = field(default_factory=dict)
    _array_names: set[str] = field(default_factory=set)

    def ptr(self, tensor: str) -> str:
        """C expression for a tensor's data: a const array symbol or an arena address."""
        t = self.graph.tensors[tensor]
        if t.is_const:
            if tensor not in self._const_symbols:
                self._const_symbols[tensor] = self.const_array(_c_ident(tensor), t.data)
            return self._const_symbols[tensor]
        return f"({CTYPES[t.dtype]} *)(mf_arena + {self.offsets.get(tensor, 0)})"

    def const_array(self, base: str, data: np.ndarray) -> str:
        """Add a const array to weights.c and return its symbol."""
        data = np.asarray(data)
        name = base = f"k_{_c_ident(base)}"
        i = 1
        while name in self._array_names:
            i += 1
            name = f"{base}_{i}"
        self._array_names.add(name)
        self.arrays.append(ConstArray(name, CTYPES[str(data.dtype)], data.reshape(-1)))
        return name

    @property
    def scratch(self) -> str:
        return f"(void *)(mf_arena + {self.scratch_offsets.get(self.node_index, 0)})"

    def wide_variant(self) -> bool:
        """Whether the current node may use its wide (more scratch, faster) variant."""
        return self.node_index in self.wide

    def inplace(self, node: Node) -> bool:
        """True when passes/inplace_depthwise allowed the node to overwrite its input: the
        kernel must then work with its output on its input (the planner may use that)."""
        return node.inplace


EmitFn = Callable[[Graph, Node, EmitContext], Call]


def _c_ident(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text)
    return out if out and not out[0].isdigit() else f"t_{out}"
