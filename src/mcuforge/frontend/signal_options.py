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


def _fields(op: Op) -> list[dataclasses.Field]:
    cls = ATTRS[op]
    return [] if cls is NoAttrs else list(dataclasses.fields(cls))


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
            v = getattr(attrs, f.name)
            if f.type == "bool":
                fbb.Bool(f.name, bool(v))
            else:
                fbb.Int(f.name, int(v))
    return bytes(fbb.Finish())


CUSTOM_READERS = {op.value: reader(op) for op in SIGNAL_OPS}
