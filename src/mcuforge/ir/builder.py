"""GraphBuilder: a small, explicit way to make graphs in code (tests, demo, NAS export)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mcuforge.ir.graph import Graph, Node, Quant, Tensor
from mcuforge.ir.ops import ATTRS, Op


def quant(scale, zero_point=0, axis: int = 0) -> Quant:
    """Quant from scalars or sequences (per-channel when a sequence of several is given)."""
    scale = np.atleast_1d(np.asarray(scale, dtype=np.float32))
    zp = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
    if zp.size == 1 and scale.size > 1:
        zp = np.zeros(scale.size, dtype=np.int64) + zp[0]
    return Quant(scale, zp, axis)


class GraphBuilder:
    def __init__(self, name: str = "model") -> None:
        self.graph = Graph(name=name)
        self._count = 0

    def _name(self, prefix: str) -> str:
        self._count += 1
        return self.graph.unique_name(f"{prefix}{self._count}")

    def input(self, shape: Sequence[int], dtype: str = "int8", scale=None, zero_point=0, name: str | None = None) -> str:
        q = None if scale is None else quant(scale, zero_point)
        t = self.graph.add_tensor(Tensor(name or self._name("input"), tuple(shape), dtype, q))
        self.graph.inputs.append(t.name)
        return t.name

    def const(self, data, dtype: str | None = None, q: Quant | None = None, name: str | None = None) -> str:
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        t = Tensor(name or self._name("const"), arr.shape, str(arr.dtype), q, arr)
        return self.graph.add_tensor(t).name

    def variable(self, shape: Sequence[int], dtype: str = "int8", q: Quant | None = None, name: str | None = None) -> str:
        """A variable (stateful) tensor: read before any node writes it, kept between invocations."""
        return self.graph.add_tensor(Tensor(name or self._name("state"), tuple(shape), dtype, q, variable=True)).name

    def op(
        self,
        op: Op,
        inputs: Sequence[str | None],
        shape: Sequence[int],
        dtype: str = "int8",
        q: Quant | None = None,
        attrs: Any = None,
        name: str | None = None,
    ) -> str:
        """Append a node with one output tensor of the given shape, dtype and quantisation."""
        out = self.graph.add_tensor(Tensor(name or self._name(op.value.lower() + "_"), tuple(shape), dtype, q))
        attrs = ATTRS[op]() if attrs is None else attrs
        self.graph.add_node(Node(op, list(inputs), [out.name], attrs, name=out.name))
        return out.name

    def op_multi(
        self,
        op: Op,
        inputs: Sequence[str | None],
        shapes: Sequence[Sequence[int]],
        dtype: str = "int8",
        q: Quant | None = None,
        attrs: Any = None,
        name: str | None = None,
    ) -> list[str]:
        """Append a node with one output tensor per shape (SPLIT, UNPACK, ...), all of the
        given dtype and quantisation; return the output names (the node is named after the first)."""
        base = name or self._name(op.value.lower() + "_")
        outs = [
            self.graph.add_tensor(Tensor(self.graph.unique_name(f"{base}:{k}"), tuple(s), dtype, q)).name
            for k, s in enumerate(shapes)
        ]
        attrs = ATTRS[op]() if attrs is None else attrs
        self.graph.add_node(Node(op, list(inputs), outs, attrs, name=outs[0] if outs else base))
        return outs

    def output(self, *names: str) -> None:
        self.graph.outputs.extend(names)
