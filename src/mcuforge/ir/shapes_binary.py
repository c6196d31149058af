"""Shape rules of the binary family (ir/shapes.py RULES): NumPy broadcasting of two inputs,
SELECT_V2's three, ADD_N's equal shapes; the bool rules TFLite's kernels enforce in
Prepare (a comparison's output, SELECT_V2's condition, every tensor of a logical op)
are checked here too, so a file breaking them is refused when it is read."""

from __future__ import annotations

import numpy as np

Shape = tuple[int, ...]


def _require_bool(ctx, names: list[str | None], what: str) -> None:
    for name in names:
        t = ctx.g.tensors.get(name) if name is not None else None
        if t is not None and t.dtype != "bool":
            raise ctx.bad(f"{what} {name!r} has dtype {t.dtype}, but TFLite requires bool there")


def _broadcast(ctx, shapes: list[Shape], what: str) -> Shape:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ctx.bad(f"{what} shapes {', '.join(str(s) for s in shapes)} do not broadcast") from None


def binary(ctx, _a) -> Shape:
    """Two inputs broadcast like NumPy (BroadcastBinaryOpSimple)."""
    return _broadcast(ctx, [ctx.shape(0), ctx.shape(1)], "input")


def comparison(ctx, a) -> Shape:
    _require_bool(ctx, ctx.node.outputs[:1], "the output")
    return binary(ctx, a)


def logical(ctx, a) -> Shape:
    _require_bool(ctx, [*ctx.node.inputs, *ctx.node.outputs[:1]], "tensor")
    return binary(ctx, a) if len(ctx.node.inputs) > 1 else ctx.shape(0)


def select_v2(ctx, _a) -> Shape:
    """Condition, x and y broadcast against each other (SelectPrepare's CheckBroadcastShape)."""
    shapes = [ctx.shape(i, what) for i, what in enumerate(("condition", "x input", "y input"))]
    _require_bool(ctx, ctx.node.inputs[:1], "the condition")
    return _broadcast(ctx, shapes, "condition, x and y")


def add_n(ctx, _a) -> Shape:
    """Every input has the first input's shape (TF-Lite Micro's ADD_N does not broadcast)."""
    first = ctx.shape(0)
    for i in range(1, len(ctx.node.inputs)):
        s = ctx.shape(i)
        if s != first:
            raise ctx.bad(f"input {i} has shape {s}, but ADD_N needs every input to have the first's shape {first}")
    return first
