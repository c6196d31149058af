"""Mutants of a .tflite model for fuzzing the reader and compiler: byte-level damage
(truncation, flips, extreme words) and semantic edits through the flatbuffer object API
(scales, zero points, shapes, tensor/opcode/buffer indices, operator options)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

BYTE_KINDS = ("truncate", "flip", "header", "word")
SEMANTIC_KINDS = ("scale", "zero_point", "shape", "tensor_index", "opcode_index", "buffer_index", "options")
SCALES = [1e-45, 1e-30, 1e-12, 1e30, 3.4e38, 0.0, -1.0, float("nan"), float("inf")]
ZERO_POINTS = [-129, 128, 32768, 2**31, -(2**31) - 1, 2**40, -(2**62)]
DIMS = [0, -1, 2**31 - 1, 65536, 3]
INDICES = [-2, -1, 2**31 - 1, 10_000]


def byte_mutant(data: bytes, rng: np.random.Generator, kind: str) -> bytes:
    buf = bytearray(data)
    if kind == "truncate":
        return bytes(buf[: int(rng.integers(0, len(buf)))])
    if kind == "flip":
        for pos in rng.integers(0, len(buf), int(rng.integers(1, 8))):
            buf[pos] ^= int(rng.integers(1, 256))
    elif kind == "header":  # the first 2 KB, where tables and offsets live
        for pos in rng.integers(0, min(len(buf), 2048), int(rng.integers(1, 4))):
            buf[pos] = int(rng.integers(0, 256))
    else:
        pos = int(rng.integers(0, len(buf) - 4))
        buf[pos : pos + 4] = int(rng.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])).to_bytes(4, "little")
    return bytes(buf)


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(0, len(seq)))]


def semantic_mutant(data: bytes, rng: np.random.Generator, kind: str) -> bytes:
    """One semantic edit; a value the field's flatbuffer type cannot hold is drawn again."""
    for _ in range(20):
        try:
            return _semantic(data, rng, kind)
        except (TypeError, struct.error, OverflowError):
            continue
    return data


def _semantic(data: bytes, rng: np.random.Generator, kind: str) -> bytes:
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    sub = m.subgraphs[0]
    t = _pick(rng, sub.tensors)
    op = _pick(rng, sub.operators)
    if kind == "scale" and t.quantization is not None and t.quantization.scale is not None:
        scale = [float(v) for v in t.quantization.scale]
        scale[int(rng.integers(0, len(scale)))] = _pick(rng, SCALES)
        t.quantization.scale = scale
    elif kind == "zero_point" and t.quantization is not None and t.quantization.zeroPoint is not None:
        zp = [int(v) for v in t.quantization.zeroPoint]
        zp[int(rng.integers(0, len(zp)))] = _pick(rng, ZERO_POINTS)
        t.quantization.zeroPoint = zp
    elif kind == "shape" and t.shape is not None and len(t.shape):
        shape = [int(v) for v in t.shape]
        what = int(rng.integers(0, 3))
        if what == 0:
            shape[int(rng.integers(0, len(shape)))] = _pick(rng, DIMS)
        elif what == 1:
            shape.append(int(_pick(rng, DIMS[3:])))
        else:
            shape.pop()
        t.shape = shape
    elif kind == "tensor_index":
        field = _pick(
            rng, [f for f in ("inputs", "outputs") if getattr(op, f) is not None and len(getattr(op, f))] or ["inputs"]
        )
        seq = [int(v) for v in getattr(op, field)] if getattr(op, field) is not None else []
        if seq:
            seq[int(rng.integers(0, len(seq)))] = _pick(rng, [*INDICES, len(sub.tensors)])
            setattr(op, field, seq)
    elif kind == "opcode_index":
        op.opcodeIndex = _pick(rng, [len(m.operatorCodes), 2**31 - 1, int(rng.integers(0, len(m.operatorCodes)))])
    elif kind == "buffer_index":
        t.buffer = _pick(rng, [len(m.buffers), 2**31 - 1, 0, int(rng.integers(0, len(m.buffers)))])
    elif kind == "options" and op.builtinOptions is not None:
        opts = op.builtinOptions
        fields = [f for f in ("strideW", "strideH", "padding", "fusedActivationFunction", "depthMultiplier",
                              "filterWidth", "filterHeight", "dilationWFactor", "axis", "beta") if hasattr(opts, f)]  # fmt: skip
        if fields:
            setattr(opts, _pick(rng, fields), _pick(rng, [0, -1, 7, 99, 2**31 - 1]))
    b = flatbuffers.Builder(len(data) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def mutants(
    data: bytes, rng: np.random.Generator, n: int, kinds=BYTE_KINDS + SEMANTIC_KINDS
) -> Iterator[tuple[str, bytes]]:
    """n mutants of `data`, cycling through `kinds`."""
    for i in range(n):
        kind = kinds[i % len(kinds)]
        yield kind, (byte_mutant if kind in BYTE_KINDS else semantic_mutant)(data, rng, kind)
