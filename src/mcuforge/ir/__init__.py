"""Graph IR: tensors, nodes, op kinds with typed attributes, and a verifier."""

from mcuforge.ir.graph import DTYPES, Graph, Node, Quant, Tensor
from mcuforge.ir.ops import ATTRS, Act, Op, Padding
from mcuforge.ir.verify import verify

__all__ = ["ATTRS", "Act", "DTYPES", "Graph", "Node", "Op", "Padding", "Quant", "Tensor", "verify"]
