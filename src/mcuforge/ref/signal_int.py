"""Unquantised integer paths of builtins around the signal-library operators (family signal):
the audio front end scales its int16 log-mel values with int32 MUL / ADD / DIV and
clamps them with MINIMUM / MAXIMUM before a CAST to int8, and moves uint32 / int32 / int16
data through CAST, STRIDED_SLICE, CONCATENATION and RESHAPE.

TF-Lite Micro's int32 arithmetic (reference_ops on int32_t): MUL and DIV clamp to the
fused activation's int32 range (CalculateActivationRange: RELU [0, max], RELU6 [0, 6],
RELU_N1_TO_1 [-1, 1]); ADD ignores the fused activation (its int32 path sets the full
range). Products and sums wrap as the C's int32 does; DIV truncates toward zero (C
division; a zero divisor is refused). CAST is static_cast: int32 -> uint32 / int16 / int8
and uint32 -> int32 wrap modulo 2^bits.

`overrides(KERNELS)` wraps the interpreter's kernels: a node whose tensors are all
unquantised integers of these kinds runs here, every other node as before.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Act, Op
from mcuforge.ref.checks import node_label

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
INTEGER = ("int32", "uint32", "int16")  # unquantised data here; int8 only as CAST's output
_ACT_RANGE = {Act.NONE: (I32_MIN, I32_MAX), Act.RELU: (0, I32_MAX), Act.RELU6: (0, 6), Act.RELU_N1_TO_1: (-1, 1)}


def wrap(x: np.ndarray, dtype: str) -> np.ndarray:
    """static_cast to an integer dtype: modulo 2^bits (two's complement)."""
    info = np.iinfo(dtype)
    span = int(info.max) - int(info.min) + 1
    v = np.asarray(x, np.int64)
    return ((v - int(info.min)) % span + int(info.min)).astype(dtype)


def _act(node: Node) -> tuple[int, int]:
    act = getattr(node.attrs, "activation", Act.NONE)
    if act not in _ACT_RANGE:
        raise UnsupportedError(f"{node_label(node)}: the fused activation {act} is not supported on int32 data.")
    return _ACT_RANGE[act]


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], clamp: bool):
    def kernel(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
        a, b = (np.asarray(v, np.int64) for v in inputs)
        y = wrap(fn(a, b), "int32").astype(np.int64)
        if clamp:
            lo, hi = _act(node)
            y = np.clip(y, lo, hi)
        return [y.astype(np.int32)]

    return kernel


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise UnsupportedError("DIV: an int32 division by zero (TF-Lite Micro's result is undefined).")
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)  # C: truncation toward zero


def eval_cast(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    return [wrap(inputs[0], g.tensors[node.outputs[0]].dtype)]


def _data_movement(fallback):
    """STRIDED_SLICE, CONCATENATION, RESHAPE: the int8 kernels move any dtype; the result keeps it."""

    def kernel(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
        dtype = g.tensors[node.outputs[0]].dtype
        return [np.asarray(y).astype(dtype) for y in fallback(g, node, inputs)]

    return kernel


ARITHMETIC = {
    Op.MUL: _binary(lambda a, b: a * b, clamp=True),
    Op.ADD: _binary(lambda a, b: a + b, clamp=False),
    Op.DIV: _binary(_div, clamp=True),
    Op.MINIMUM: _binary(np.minimum, clamp=False),
    Op.MAXIMUM: _binary(np.maximum, clamp=False),
    Op.CAST: eval_cast,
}
MOVEMENT = (Op.STRIDED_SLICE, Op.CONCATENATION, Op.RESHAPE)


def _is_plain_integer(g: Graph, node: Node) -> bool:
    names = [n for n in node.inputs[:1] + node.outputs if n is not None] if node.op in MOVEMENT else [
        n for n in node.inputs + node.outputs if n is not None]  # fmt: skip
    ts = [g.tensors[n] for n in names]
    if node.op == Op.CAST:
        return ts[0].dtype in INTEGER and ts[-1].dtype in (*INTEGER, "int8") and ts[0].dtype != ts[-1].dtype and (
            "int16" not in (ts[0].dtype, ts[-1].dtype) or "int8" not in (ts[0].dtype, ts[-1].dtype))
    return all(t.dtype in INTEGER and t.quant is None for t in ts) and any(t.dtype != "int8" for t in ts)


def overrides(kernels: dict) -> dict:
    """Kernels that take the unquantised integer nodes and pass every other node on."""

    def route(op: Op, mine):
        fallback = kernels[op]

        def kernel(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
            return (mine if _is_plain_integer(g, node) else fallback)(g, node, inputs)

        return kernel

    out = {op: route(op, fn) for op, fn in ARITHMETIC.items()}
    out.update({op: route(op, _data_movement(kernels[op])) for op in MOVEMENT})
    return out
