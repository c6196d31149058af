"""A decoded .tflite before it becomes an ir.Graph: what the import-time rewrites
(fold.py, dilated.py) work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcuforge.ir.graph import Tensor


@dataclass
class RawOp:
    index: int  # operator index in the file, for messages
    kind: str  # TFLite BuiltinOperator name, e.g. "CONV_2D"; custom ops are "CUSTOM"
    inputs: list[str | None]
    outputs: list[str]
    options: Any = None  # the schema's options object, for ops outside the Op enum
    attrs: Any = None  # typed attributes (ir.ops) for ops in the Op enum

    @property
    def where(self) -> str:
        return f"node {self.index} ({self.kind})"


@dataclass
class RawModel:
    tensors: dict[str, Tensor]
    ops: list[RawOp]
    inputs: list[str]
    outputs: list[str]
    # Tensors whose shape signature leaves dimensions open (-1; the stored shape says 1
    # there): tensor -> the open dimensions.
    open_dims: dict[str, frozenset[int]] = field(default_factory=dict)
