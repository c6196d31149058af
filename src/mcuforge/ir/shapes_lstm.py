"""Shape rule of UNIDIRECTIONAL_SEQUENCE_LSTM, after TF-Lite Micro's ValidateTensorStatus and
ValidateTensorSize (lstm_eval.cc, lstm_eval_common.cc).

TFLite gives the op 24 fixed input slots (lstm_shared.h). TF-Lite Micro runs the standard
LSTM only: all four gates (no CIFG), no peephole, no projection, no layer norm; the
reader refuses the variants here, in one sentence, rather than run them wrongly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mcuforge.errors import UnsupportedError
from mcuforge.ir import ops as O

if TYPE_CHECKING:
    from mcuforge.ir.shapes import Shape, _Ctx

INPUT = 0
INPUT_WEIGHTS = (1, 2, 3, 4)  # input-to-{input, forget, cell, output} gate weights, (state, input)
RECURRENT_WEIGHTS = (5, 6, 7, 8)  # recurrent-to-{input, forget, cell, output}, (state, state)
BIASES = (12, 13, 14, 15)  # {input, forget, cell, output} gate biases, (state,)
OUTPUT_STATE, CELL_STATE = 18, 19  # the variable tensors: hidden state and cell state
# Slots of the LSTM variants TF-Lite Micro does not run, and what each is.
VARIANTS = {
    **{i: "peephole weights" for i in (9, 10, 11)},
    **{i: "a projection" for i in (16, 17)},
    **{i: "layer normalisation" for i in (20, 21, 22, 23)},
}


def lstm(ctx: _Ctx, a: O.LstmAttrs) -> Shape:
    for i, what in VARIANTS.items():
        if i < len(ctx.node.inputs) and ctx.node.inputs[i] is not None:
            raise UnsupportedError(
                f"{ctx.where} has {what} (input {i}), an LSTM variant TF-Lite Micro does not run and mcuforge "
                "does not support; only the standard LSTM (four gates, no peephole, projection or layer norm) runs"
            )
    if a.activation != "TANH":
        raise UnsupportedError(
            f"{ctx.where}: the cell gate activation {a.activation} is not supported; TF-Lite Micro runs TANH only"
        )
    x = ctx.shape(INPUT, "input", (3,))
    batch = x[1] if a.time_major else x[0]
    h = ctx.shape(OUTPUT_STATE, "output state", (2,))
    state = h[1]
    for slots, cols, what in ((INPUT_WEIGHTS, x[2], "input weights"), (RECURRENT_WEIGHTS, state, "recurrent weights")):
        for i in slots:
            if i >= len(ctx.node.inputs) or ctx.node.inputs[i] is None:
                raise UnsupportedError(
                    f"{ctx.where} lacks the {what} of input {i} (a CIFG LSTM), which TF-Lite Micro does not run"
                )
            w = ctx.shape(i, what)
            if w != (state, cols):
                raise ctx.bad(f"the {what} (input {i}) have shape {w}, expected {(state, cols)}")
    for i in BIASES:
        b = ctx.shape(i, "gate bias")
        if b != (state,):
            raise ctx.bad(f"the gate bias (input {i}) has shape {b}, expected {(state,)}")
    for i, what in ((OUTPUT_STATE, "output state"), (CELL_STATE, "cell state")):
        n = math.prod(ctx.shape(i, what))
        if n != batch * state:
            raise ctx.bad(f"the {what} (input {i}) holds {n} values, expected batch {batch} x state {state}")
    return (x[0], x[1], state)


RULES = {O.Op.UNIDIRECTIONAL_SEQUENCE_LSTM: lstm}
