"""Shape rules of the binary family (ir/shapes.py RULES): SELECT_V2's three-way broadcast
and ADD_N's equal shapes. The two-input ops use shapes.py's NumPy broadcast rule."""

from __future__ import annotations

import numpy as np

Shape = tuple[int, ...]


def select_v2(ctx, _a) -> Shape:
    """Condition, x and y broadcast against each other (SelectPrepare's CheckBroadcastShape)."""
    shapes = [ctx.shape(i, what) for i, what in enumerate(("condition", "x input", "y input"))]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ctx.bad(f"condition, x and y shapes {shapes[0]}, {shapes[1]} and {shapes[2]} do not broadcast") from None


def add_n(ctx, _a) -> Shape:
    """Every input has the first input's shape (TF-Lite Micro's ADD_N does not broadcast)."""
    first = ctx.shape(0)
    for i in range(1, len(ctx.node.inputs)):
        s = ctx.shape(i)
        if s != first:
            raise ctx.bad(f"input {i} has shape {s}, but ADD_N needs every input to have the first's shape {first}")
    return first
