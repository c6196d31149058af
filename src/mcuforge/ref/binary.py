"""MAXIMUM, MINIMUM, the comparisons, SELECT_V2 and the logical ops, bit-exact with
TF-Lite Micro's reference kernels (SQUARED_DIFFERENCE, PRELU, ADD_N and DIV are in
ref/binary_arith.py; this module's KERNELS holds all of them).

All broadcast like NumPy through BroadcastBinaryOpSimple (broadcast_loop.h), which
handles up to 8 dimensions; SELECT_V2 through BroadcastSelect5DSlow (also 8). The
TF-Lite Micro we test against gets 8-D broadcasts wrong (7-D is right); LiteRT's
reference kernels are right there, and so are these.

- MAXIMUM / MINIMUM (maximum_minimum.cc) compare the stored int8 values and copy the
  larger / smaller one: no rescaling, whatever the three tensors' quantisation (the
  converter gives all three the same).
- EQUAL ... LESS_EQUAL on int8 (comparisons.cc ComparisonsPrepare, comparisons.h
  *WithScaling) bring each input onto a common fixed-point scale first:
      v = MultiplyByQuantizedMultiplierSmallerThanOneExp((x - zp) << 8, m, s)
  with m, s = QuantizeMultiplierSmallerThanOneExp(double(scale)) of that input's own
  scale, so inputs of different scales compare by real value (to within rounding).
  The output is bool. An input scale of 1 or more makes TF-Lite Micro abort.
- SELECT_V2 (select.cc) copies x where the bool condition holds, else y; stored values
  are copied as they are (no rescaling between x, y and the output).
- LOGICAL_AND / LOGICAL_OR / LOGICAL_NOT (logical.cc, elementwise.cc) on bool tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import multiply_by_quantized_multiplier_smaller_than_one_exp
from mcuforge.ref import binary_arith
from mcuforge.ref.binary_checks import broadcast, out, tensors
from mcuforge.ref.checks import node_label
from mcuforge.ref.elementwise import _smaller_than_one_exp

COMPARISON_LEFT_SHIFT = 8  # ComparisonsPrepare's kLeftShift for int8

COMPARISONS = {
    Op.EQUAL: np.equal,
    Op.NOT_EQUAL: np.not_equal,
    Op.GREATER: np.greater,
    Op.GREATER_EQUAL: np.greater_equal,
    Op.LESS: np.less,
    Op.LESS_EQUAL: np.less_equal,
}
LOGICAL = {Op.LOGICAL_AND: np.logical_and, Op.LOGICAL_OR: np.logical_or}


# ------------------------------------------------------------------ MAXIMUM, MINIMUM
def eval_maximum_minimum(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """MaximumMinimumBroadcastSlow: el1 > el2 ? el1 : el2 (el1 < el2 for MINIMUM) on stored values."""
    dt = "int16" if g.tensor(node.outputs[0]).dtype == "int16" else "int8"  # TFLiteOperation<int16_t> too
    tensors(g, node, (dt,), dt, False)
    a, b = broadcast(g, node, inputs[:2])
    return out(g, node, np.maximum(a, b) if node.op == Op.MAXIMUM else np.minimum(a, b))


# ------------------------------------------------------------------ comparisons
@dataclass(frozen=True)
class ComparisonParams:
    """ComparisonParams for int8 (offsets are minus the input zero points)."""

    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int


def prepare_comparison(g: Graph, node: Node) -> ComparisonParams:
    """ComparisonsPrepare for int8: each input's own scale as a multiplier below one (double)."""
    x1, x2, _y = tensors(g, node, ("int8",), "bool", True)
    what = node_label(node)
    m1, s1 = _smaller_than_one_exp(float(x1.quant.scale[0]), what)
    m2, s2 = _smaller_than_one_exp(float(x2.quant.scale[0]), what)
    return ComparisonParams(COMPARISON_LEFT_SHIFT, -x1.quant.zp, m1, s1, -x2.quant.zp, m2, s2)


def comparison_scaled(x: np.ndarray, offset: int, multiplier: int, shift: int, left_shift: int) -> np.ndarray:
    """One input of an int8 comparison on the common scale: |x + offset| <= 255, << 8 fits int32."""
    return multiply_by_quantized_multiplier_smaller_than_one_exp((x + offset) << left_shift, multiplier, shift)


def eval_comparison(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """Comparison*WithScaling / BroadcastComparison4DSlowWithScaling, vectorised."""
    p = prepare_comparison(g, node)
    a, b = broadcast(g, node, inputs[:2])
    va = comparison_scaled(a, p.input1_offset, p.input1_multiplier, p.input1_shift, p.left_shift)
    vb = comparison_scaled(b, p.input2_offset, p.input2_multiplier, p.input2_shift, p.left_shift)
    return out(g, node, COMPARISONS[node.op](va, vb))


# ------------------------------------------------------------------ SELECT_V2, logical
def eval_select_v2(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """Select / BroadcastSelect5DSlow: condition ? x : y, stored values copied."""
    tensors(g, node, ("bool", "int8", "int8"), "int8", False)
    c, x, y = broadcast(g, node, inputs[:3])
    return out(g, node, np.where(c, x, y))


def eval_logical(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """LogicalImpl (BinaryFunction / BroadcastBinaryFunction4DSlow) on bool."""
    tensors(g, node, ("bool",), "bool", False)
    a, b = broadcast(g, node, inputs[:2])
    return out(g, node, LOGICAL[node.op](a, b))


def eval_logical_not(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    tensors(g, node, ("bool",), "bool", False)
    return out(g, node, np.logical_not(np.asarray(inputs[0])))


# prepare_<op> names for the code generator.
prepare_equal = prepare_not_equal = prepare_greater = prepare_comparison
prepare_greater_equal = prepare_less = prepare_less_equal = prepare_comparison

KERNELS = {
    Op.MAXIMUM: eval_maximum_minimum,
    Op.MINIMUM: eval_maximum_minimum,
    **{op: eval_comparison for op in COMPARISONS},
    Op.SELECT_V2: eval_select_v2,
    Op.LOGICAL_AND: eval_logical,
    Op.LOGICAL_OR: eval_logical,
    Op.LOGICAL_NOT: eval_logical_not,
    **binary_arith.KERNELS,
}
