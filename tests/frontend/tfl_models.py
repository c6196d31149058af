"""Test helper: write small .tflite flatbuffers by hand with the schema's object API.

The project's writer only emits what the IR can hold; these tests need what the TFLite
converter emits and the IR cannot (SHAPE, PACK, SPACE_TO_BATCH_ND, ...), broken files,
custom operators and odd quantisation, so they build the schema objects directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

TYPES = {
    "float32": fb.TensorType.FLOAT32,
    "int8": fb.TensorType.INT8,
    "uint8": fb.TensorType.UINT8,
    "int16": fb.TensorType.INT16,
    "int32": fb.TensorType.INT32,
    "int64": fb.TensorType.INT64,
    "bool": fb.TensorType.BOOL,
    "float16": fb.TensorType.FLOAT16,
    "uint32": fb.TensorType.UINT32,  # family signal
    "uint64": fb.TensorType.UINT64,  # family signal
}


def options(cls: str, **fields: Any) -> Any:
    """An options object, e.g. options("Conv2DOptions", padding=fb.Padding.VALID, strideH=1)."""
    o = getattr(fb, f"{cls}T")()
    for k, v in fields.items():
        if not hasattr(o, k):
            raise AttributeError(f"{cls} has no field {k}")
        setattr(o, k, v)
    return o


class TflBuilder:
    def __init__(self) -> None:
        self.model = fb.ModelT()
        self.model.version = 3
        self.model.buffers = [fb.BufferT()]
        self.model.operatorCodes = []
        self.sub = fb.SubGraphT()
        self.sub.tensors, self.sub.operators = [], []
        self.model.subgraphs = [self.sub]
        self._codes: dict[tuple[int, str | None], int] = {}

    def tensor(
        self,
        shape: Sequence[int],
        dtype: str = "int8",
        data: np.ndarray | None = None,
        scale: float | Sequence[float] | None = None,
        zero_point: int | Sequence[int] = 0,
        axis: int = 0,
        name: str | None = None,
        signature: Sequence[int] | None = None,
    ) -> int:
        t = fb.TensorT()
        t.shape = np.array(shape, dtype=np.int32)
        t.type = TYPES[dtype]
        t.name = f"t{len(self.sub.tensors)}" if name is None else name
        if signature is not None:
            t.shapeSignature = np.array(signature, dtype=np.int32)
        if data is not None:
            b = fb.BufferT()
            b.data = np.frombuffer(
                np.ascontiguousarray(data, dtype=np.dtype(dtype).newbyteorder("<")).tobytes(), np.uint8
            )
            self.model.buffers.append(b)
            t.buffer = len(self.model.buffers) - 1
        if scale is not None:
            q = fb.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            zp = np.atleast_1d(zero_point)
            q.zeroPoint = [int(z) for z in (zp if zp.size == len(q.scale) else np.full(len(q.scale), zp[0]))]
            q.quantizedDimension = axis
            t.quantization = q
        self.sub.tensors.append(t)
        return len(self.sub.tensors) - 1

    def const(self, data: Any, dtype: str | None = None, **kw: Any) -> int:
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        return self.tensor(arr.shape, str(arr.dtype), arr, **kw)

    def op(
        self, kind: str, inputs: Sequence[int], outputs: Sequence[int], opts: Any = None, custom: str | None = None
    ) -> None:
        builtin = getattr(fb.BuiltinOperator, kind)
        key = (builtin, custom)
        if key not in self._codes:
            code = fb.OperatorCodeT()
            code.builtinCode = builtin
            code.deprecatedBuiltinCode = min(builtin, fb.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
            code.customCode = custom
            code.version = 1
            self._codes[key] = len(self.model.operatorCodes)
            self.model.operatorCodes.append(code)
        op = fb.OperatorT()
        op.opcodeIndex = self._codes[key]
        op.inputs = np.array(inputs, dtype=np.int32)
        op.outputs = np.array(outputs, dtype=np.int32)
        if opts is not None:
            op.builtinOptionsType = getattr(fb.BuiltinOptions, type(opts).__name__[:-1])
            op.builtinOptions = opts
        self.sub.operators.append(op)

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        self.sub.inputs = np.array(inputs, dtype=np.int32)
        self.sub.outputs = np.array(outputs, dtype=np.int32)
        b = flatbuffers.Builder(1024)
        b.Finish(self.model.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def quantized_weights(rng: np.random.Generator, shape: Sequence[int], axis: int) -> tuple[np.ndarray, list[float]]:
    """Seeded int8 weights and one positive scale per slice along `axis`."""
    w = rng.integers(-127, 128, size=shape).astype(np.int8)
    scales = [float(s) for s in rng.uniform(0.002, 0.02, size=shape[axis])]
    return w, scales
