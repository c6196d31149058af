"""Shape rule of SVDF, merged into ir.shapes.RULES (PrepareSvdf's checks). Takes the
`_Ctx` of ir.shapes (not imported here, which would be circular) and the attributes."""

from __future__ import annotations

from mcuforge.ir import ops as O

Shape = tuple[int, ...]


def svdf(ctx, a: O.SvdfAttrs) -> Shape:
    """Input (batch, input_size), weights_feature (filters, input_size), weights_time
    (filters, memory), bias (units) or none, state (batch, filters * memory) -> output
    (batch, units) with units = filters / rank."""
    batch, size = ctx.shape(0, "input", (2,))
    filters, depth = ctx.shape(1, "feature weights", (2,))
    time_filters, memory = ctx.shape(2, "time weights", (2,))
    if a.rank < 1 or filters % a.rank:
        raise ctx.bad(f"rank {a.rank} does not divide the {filters} filters")
    if depth != size:
        raise ctx.bad(f"the feature weights take {depth} inputs but the input has {size}")
    if time_filters != filters:
        raise ctx.bad(f"the time weights have {time_filters} filters, the feature weights {filters}")
    units = filters // a.rank
    if ctx.node.inputs[3] is not None and ctx.shape(3, "bias") != (units,):
        raise ctx.bad(f"the bias has shape {ctx.shape(3, 'bias')}, expected ({units},)")
    if ctx.shape(4, "state") != (batch, filters * memory):
        raise ctx.bad(f"the state has shape {ctx.shape(4, 'state')}, expected {(batch, filters * memory)}")
    return (batch, units)


# family svdf (begin)
RULES = {O.Op.SVDF: svdf}
# family svdf (end)
