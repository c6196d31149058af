"""Flexbuffer custom options of the signal-library operators (family signal), read and written.

TF-Lite Micro reads each option by its position in the map's key order
(FlexbufferWrapper::ElementAsInt32(i), the kernels' "ordered alphabetically" indices), so
a map with a key missing or added would shift every later value: the reader asks for
exactly the keys the kernel expects, and the writer writes exactly those.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from flatbuffers import flexbuffers

from mcuforge.apps.ssd import FLEXBUFFER_ERRORS
from mcuforge.errors import ModelFormatError
from mcuforge.ir.ops import ATTRS, NoAttrs, Op

SIGNAL_OPS = (
    Op.SIGNAL_WINDOW, Op.SIGNAL_FFT_AUTO_SCALE, Op.SIGNAL_RFFT, Op.SIGNAL_ENERGY, Op.SIGNAL_FILTER_BANK,
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT, Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION, Op.SIGNAL_PCAN,
    Op.SIGNAL_FILTER_BANK_LOG, Op.SIGNAL_FRAMER, Op.SIGNAL_STACKER, Op.SIGNAL_DELAY, Op.SIGNAL_OVERLAP_ADD,
)  # fmt: skip


STATE_FIELD = "state_input"  # mcuforge's own attribute, never in the flexbuffer


def _fields(op: Op) -> list[dataclasses.Field]:
    cls = ATTRS[op]
    return [] if cls is NoAttrs else [f for f in dataclasses.fields(cls) if f.name != STATE_FIELD]


def reader(op: Op):
    """The CUSTOM_OPS entry of one operator: (raw custom options, where) -> attributes."""

    def read(raw: Any, where: str):
        data = raw if isinstance(raw, bytes) else b"" if raw is None else np.asarray(raw, np.uint8).tobytes()
        try:
            m = flexbuffers.Loads(data) if data else {}
        except FLEXBUFFER_ERRORS as e:
            raise ModelFormatError(f"{where}: its custom options are not a flexbuffer map ({type(e).__name__})") from None
        fields = _fields(op)
        want = sorted(f.name for f in fields)
        if not isinstance(m, dict) or sorted(m) != want:
            got = sorted(m) if isinstance(m, dict) else type(m).__name__
            raise ModelFormatError(f"{where}: its custom options hold {got}, expected exactly the keys {want}")
        values = {}
        for f in fields:
            v = m[f.name]
            if not isinstance(v, (int, bool)):
                raise ModelFormatError(f"{where}: custom option {f.name!r} holds {v!r}, not an integer")
            values[f.name] = bool(v) if f.type == "bool" else int(v)
        return ATTRS[op](**values)

    return read


def flexbuffer_from_attrs(attrs: Any) -> bytes:
    fbb = flexbuffers.Builder()
    with fbb.Map():
        for f in [] if isinstance(attrs, NoAttrs) else dataclasses.fields(attrs):
            if f.name == STATE_FIELD:
                continue
            v = getattr(attrs, f.name)
            if f.type == "bool":
                fbb.Bool(f.name, bool(v))
            else:
                fbb.Int(f.name, int(v))
    return bytes(fbb.Finish())


CUSTOM_READERS = {op.value: reader(op) for op in SIGNAL_OPS}


# ------------------------------------------------------------ hidden state
def _state_shape(op: str, attrs: Any, x_shape: tuple[int, ...]) -> tuple[tuple[int, ...], str] | None:
    """(shape, dtype) of the state TF-Lite Micro keeps inside the kernel, or None (none needed)."""
    rows = int(np.prod(x_shape[:-1], dtype=np.int64)) if x_shape else 1
    if op == Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION.value:
        return (attrs.num_channels,), "uint32"
    if op == Op.SIGNAL_DELAY.value and attrs.delay_length > 0 and x_shape:
        return (rows, attrs.delay_length), "int16"
    if op == Op.SIGNAL_FRAMER.value and x_shape:
        return (rows, attrs.frame_size + attrs.frame_step + 2), "int16"
    if op == Op.SIGNAL_STACKER.value:
        a = attrs
        return (a.num_channels * (2 * a.stacker_left_context + a.stacker_right_context + 2) + 4,), "int16"
    if op == Op.SIGNAL_OVERLAP_ADD.value and len(x_shape) >= 2:
        return (int(np.prod(x_shape[:-2], dtype=np.int64)), x_shape[-1]), "int16"
    return None


def add_hidden_state(raw) -> None:
    """Give each stateful signal op of a RawModel its state as an extra variable-tensor input
    (named after its first output + ":state"), marked in its attrs (the writer drops it)."""
    from mcuforge.ir.graph import Tensor

    for op in raw.ops:
        if op.kind not in CUSTOM_READERS or not op.inputs or op.inputs[0] not in raw.tensors or not op.outputs:
            continue
        spec = _state_shape(op.kind, op.attrs, raw.tensors[op.inputs[0]].shape)
        if spec is None or len(op.inputs) != 1:
            continue
        name = f"{op.outputs[0]}:state"
        while name in raw.tensors:
            name += "_"
        raw.tensors[name] = Tensor(name, spec[0], spec[1], None, None, True)
        op.inputs.append(name)
        op.attrs = dataclasses.replace(op.attrs, state_input=True)


def hidden_states(g) -> set[str]:
    """The state tensors the reader added (the writer leaves them and their input slot out)."""
    return {n.inputs[-1] for n in g.nodes if getattr(n.attrs, STATE_FIELD, False)}
