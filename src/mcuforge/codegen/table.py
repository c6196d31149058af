"""The one op -> emitter table, merged explicitly from the op-family modules."""

from __future__ import annotations

from mcuforge.codegen import ops_activation, ops_conv, ops_elementwise, ops_quantize, ops_reduce, ops_shape, ops_softmax
from mcuforge.codegen.call import EmitFn
from mcuforge.errors import UnsupportedError
from mcuforge.ir.ops import ALIAS_OPS, Op

__all__ = ["ALIAS_OPS", "EMITTERS", "emitter"]

EMITTERS: dict[Op, EmitFn] = {
    **ops_conv.EMITTERS,
    **ops_elementwise.EMITTERS,
    **ops_activation.EMITTERS,
    **ops_softmax.EMITTERS,
    **ops_reduce.EMITTERS,
    **ops_quantize.EMITTERS,
    **ops_shape.EMITTERS,
}


def emitter(op: Op) -> EmitFn:
    fn = EMITTERS.get(op)
    if fn is None:
        raise UnsupportedError(f"the C code generator has no kernel for {op}")
    return fn
