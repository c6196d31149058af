"""The one op -> emitter table, merged explicitly from the op-family modules."""

from __future__ import annotations

from mcuforge.codegen import (
    ops_activation,
    ops_binary,
    ops_conv,
    ops_detect,
    ops_elementwise,
    ops_lstm,
    ops_matmul,
    ops_quantize,
    ops_reduce,
    ops_resize,
    ops_shape,
    ops_signal,  # family signal
    ops_slicing,
    ops_softmax,
    ops_spatial,
    ops_svdf,
    ops_unary,
)
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
    **ops_slicing.EMITTERS,
    **ops_spatial.EMITTERS,
    **ops_binary.EMITTERS,
    **ops_unary.EMITTERS,
    **ops_resize.EMITTERS,
    **ops_matmul.EMITTERS,
    **ops_detect.EMITTERS,
    **ops_signal.EMITTERS,  # family signal
    # family svdf (begin)
    **ops_svdf.EMITTERS,
    # family svdf (end)
    # family lstm (begin)
    **ops_lstm.EMITTERS,
    # family lstm (end)
}
EMITTERS.update(ops_signal.overrides(EMITTERS))  # family signal: unquantised int32 / int16 builtins


def emitter(op: Op) -> EmitFn:
    fn = EMITTERS.get(op)
    if fn is None:
        raise UnsupportedError(f"the C code generator has no kernel for {op}")
    return fn
