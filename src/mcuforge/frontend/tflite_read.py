""".tflite bytes -> ir.Graph, validating everything a corrupted or unsupported file could break.

Decoding uses the object API of TFLite's generated schema shipped with the tflite-micro
wheel. Only what the graph needs is unpacked (subgraph 0, the operator codes and the
buffers its tensors use), so a damaged metadata table cannot stop a good model and the
work stays linear in the file size. Every problem is raised as ModelFormatError (the
file is damaged or inconsistent) or UnsupportedError (a valid model mcuforge does not
handle) in one sentence naming the node, operator or tensor; no other exception leaves
`read` for any byte string.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.apps import ssd
from mcuforge.errors import GraphError, ModelFormatError, UnsupportedError
from mcuforge.frontend.fold import FOLDERS, RawModel, RawOp, fold
from mcuforge.frontend.tflite_options import attrs_from_options
from mcuforge.frontend.tflite_types import INT16_ADVICE, INT16_OPS, check_types
from mcuforge.ir.graph import Graph, Node, Quant, Tensor
from mcuforge.ir.ops import Op
from mcuforge.ir.shapes import infer_shapes
from mcuforge.ir.verify import verify

# What the flatbuffers runtime raises on damaged bytes: struct.error (a read past the
# end), ValueError (np.frombuffer past the end, UnicodeDecodeError), TypeError
# ("bad number ... for type uint32" from its offset checks), IndexError and
# OverflowError (out-of-range vector and slice arithmetic).
DECODE_ERRORS = (struct.error, ValueError, TypeError, IndexError, OverflowError)

MAX_ACTIVATION_BYTES = 64 << 20  # one activation tensor; a corrupted shape cannot ask for more
MAX_RANK = 8
SUPPORTED_OPS = ", ".join(sorted(op.value for op in Op))
BUILTIN_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if isinstance(v, int) and not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(fb.TensorType).items() if isinstance(v, int) and not k.startswith("_")}
DTYPES = {
    fb.TensorType.FLOAT32: "float32",
    fb.TensorType.INT8: "int8",
    fb.TensorType.UINT8: "uint8",
    fb.TensorType.INT16: "int16",
    fb.TensorType.INT32: "int32",
    fb.TensorType.INT64: "int64",
    fb.TensorType.BOOL: "bool",
}
# Ops the reader accepts before folding: the IR's, plus those fold.py removes.
TRANSIENT = set(FOLDERS)
# family ssd (begin)
# Custom operators the IR holds: custom code (= the Op's value) -> flexbuffer options reader.
CUSTOM_OPS = {ssd.CUSTOM_CODE: ssd.attrs_from_flexbuffer}
# family ssd (end)


MAX_MODEL_BYTES = 2**31  # a flatbuffer's offsets are 32-bit


def load(path: str | Path) -> Graph:
    """Read a .tflite file; the graph is named after the file."""
    p = Path(path)
    try:
        if p.exists() and not p.is_dir() and not p.is_file():
            raise ModelFormatError(f"model path {str(p)!r} is not a regular file (a device, pipe or socket)")
        with p.open("rb") as f:  # the header first: a large file that is no model is refused at once
            head = f.read(8)
            if len(head) == 8 and head[4:8] != b"TFL3":
                raise ModelFormatError(
                    f"model {p.stem!r} is not a TFLite file: its file identifier is {head[4:8]!r}, expected b'TFL3'"
                )
            size = os.fstat(f.fileno()).st_size
            if size > MAX_MODEL_BYTES:
                raise ModelFormatError(f"model file {str(p)!r} holds {size:,} B; a TFLite flatbuffer holds at most 2 GiB")
            data = head + f.read()
    except FileNotFoundError:
        raise ModelFormatError(f"model file {str(p)!r} does not exist") from None
    except IsADirectoryError:
        raise ModelFormatError(f"model path {str(p)!r} is a directory, not a .tflite file") from None
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {str(p)!r}: {e.strerror or e}") from None
    return read(data, name=p.stem)


def read(data: bytes, name: str | None = None) -> Graph:
    """Decode and validate a .tflite model; see the module docstring for the error contract.

    The graph is called `name`, else by its subgraph's name (which tflite_write stores),
    else "model".
    """
    data = bytes(data)
    label = name or "model"
    if len(data) < 8:
        raise ModelFormatError(f"model {label!r} is not a TFLite file: it holds only {len(data)} bytes")
    if data[4:8] != b"TFL3":
        raise ModelFormatError(
            f"model {label!r} is not a TFLite file: its file identifier is {data[4:8]!r}, expected b'TFL3'"
        )
    reader = _Reader(data, label)
    raw = reader.raw_model()
    fold(raw)
    return _build(raw, name or reader.subgraph_name or "model")


def _decoded(what: str, fn: Callable[[], Any]) -> Any:
    """Run one decoding step; damaged bytes become ModelFormatError."""
    try:
        return fn()
    except DECODE_ERRORS as e:
        raise ModelFormatError(
            f"the flatbuffer is truncated or corrupted: {what} cannot be decoded ({type(e).__name__})"
        ) from None


class _Reader:
    """Unpacks subgraph 0 into a RawModel, checking indices, types, shapes and buffers."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name = data, name
        self.root = _decoded("the model table", lambda: fb.Model.GetRootAs(data, 0))
        n_sub = _decoded("the subgraph list", self.root.SubgraphsLength)
        if n_sub < 1:
            raise ModelFormatError(f"model {name!r} has no subgraph")
        self.sub = _decoded("subgraph 0", lambda: fb.SubGraphT.InitFromObj(self.root.Subgraphs(0)))
        self.n_codes = _decoded("the operator codes", self.root.OperatorCodesLength)
        self.n_buffers = _decoded("the buffer list", self.root.BuffersLength)
        self.ts = self.sub.tensors or []
        self.names = _unique_names(self.ts)
        self.subgraph_name = _text(self.sub.name)

    # ------------------------------------------------------------ operators
    def _index(self, i: int, where: str, optional: bool) -> str | None:
        i = int(i)
        if i == -1 and optional:
            return None
        if not 0 <= i < len(self.ts):
            raise ModelFormatError(f"{where} refers to tensor {i}, but the subgraph has {len(self.ts)} tensors")
        return self.names[i]

    def _kind(self, op: Any, index: int) -> str:
        if not 0 <= op.opcodeIndex < self.n_codes:
            raise ModelFormatError(
                f"node {index} has operator code index {op.opcodeIndex}, but the model has {self.n_codes} codes"
            )
        code = _decoded(
            f"operator code {op.opcodeIndex}",
            lambda: fb.OperatorCodeT.InitFromObj(self.root.OperatorCodes(op.opcodeIndex)),
        )
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        if builtin == fb.BuiltinOperator.CUSTOM:
            custom = _text(code.customCode)
            if custom in CUSTOM_OPS:  # family ssd: kind is the Op's value, the custom code
                return custom
            raise UnsupportedError(
                f"node {index} is the custom operator {custom!r}, which mcuforge does not support "
                "(custom operators need the runtime "
                f"they were made for); supported operators: {SUPPORTED_OPS}"
            )
        kind = BUILTIN_NAMES.get(builtin)
        if kind is None:
            raise UnsupportedError(
                f"node {index} uses builtin operator code {builtin}, which is not a TFLite operator mcuforge knows"
            )
        if kind not in Op.__members__ and kind not in TRANSIENT:
            raise UnsupportedError(
                f"node {index} uses {kind}, which mcuforge does not support; supported operators: {SUPPORTED_OPS}"
            )
        return kind

    def raw_model(self) -> RawModel:
        operators = self.sub.operators or []
        kinds = []
        for i, op in enumerate(operators):  # first, in node order: an unsupported operator or int16 data
            kinds.append(self._kind(op, i))
            for x in _ints(op.inputs) + _ints(op.outputs):
                if 0 <= x < len(self.ts) and self.ts[x].type == fb.TensorType.INT16 and kinds[-1] not in INT16_OPS:
                    raise UnsupportedError(f"node {i} ({kinds[-1]}) has the int16 tensor {self.names[x]!r}; {INT16_ADVICE}")
        ops: list[RawOp] = []
        for i, (op, kind) in enumerate(zip(operators, kinds)):
            where = f"node {i} ({kind})"
            inputs = [self._index(x, where, True) for x in _ints(op.inputs)]
            outputs = [self._index(x, where, False) for x in _ints(op.outputs)]
            attrs = None
            if kind in Op.__members__:
                attrs = attrs_from_options(Op(kind), op.builtinOptionsType, op.builtinOptions, where)
            elif kind in CUSTOM_OPS:
                attrs = CUSTOM_OPS[kind](op.customOptions, where)
            ops.append(RawOp(i, kind, inputs, outputs, op.builtinOptions, attrs))
        g_in = [self._index(x, "the subgraph's input list", False) for x in _ints(self.sub.inputs)]
        g_out = [self._index(x, "the subgraph's output list", False) for x in _ints(self.sub.outputs)]
        if len(set(g_in)) != len(g_in):
            raise ModelFormatError(f"the subgraph's input list names a tensor twice: {g_in}")
        used = set(g_in) | set(g_out) | {x for op in ops for x in op.inputs + op.outputs if x is not None}
        index = {n: i for i, n in enumerate(self.names)}
        tensors = {n: self._tensor(index[n]) for n in self.names if n in used}
        written = set(g_in) | {o for op in ops for o in op.outputs}
        for n, t in tensors.items():  # a zero-size operand stored without a buffer is an empty constant
            if t.data is None and t.size == 0 and n not in written and not t.variable:
                tensors[n] = Tensor(n, t.shape, t.dtype, t.quant, np.zeros(t.shape, dtype=t.dtype))
        open_dims = {n: d for n in tensors if (d := _open_dims(self.ts[index[n]].shapeSignature))}
        return RawModel(tensors, ops, g_in, g_out, open_dims)

    # ------------------------------------------------------------ tensors
    def _tensor(self, i: int) -> Tensor:
        t, name = self.ts[i], self.names[i]
        where = f"tensor {name!r} (index {i})"
        dtype = DTYPES.get(t.type)
        if dtype is None:
            kind = TYPE_NAMES.get(t.type, f"code {t.type}")
            raise UnsupportedError(
                f"{where} has type {kind}, which mcuforge does not support; supported types: int8, int32 and float32"
            )
        if t.sparsity is not None:
            raise UnsupportedError(f"{where} is stored sparse, which mcuforge does not support")
        shape = _shape(t.shape, where)
        data = self._data(t.buffer, shape, dtype, where)
        if t.isVariable and data is not None:
            raise UnsupportedError(f"{where} is a variable tensor with initial data, which mcuforge does not support")
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if data is None and nbytes > MAX_ACTIVATION_BYTES:
            raise _too_big(where, shape, nbytes)
        # A variable tensor (is_variable): state an op keeps from one invocation to the next.
        return Tensor(name, shape, dtype, _quant(t.quantization, shape, dtype, where), data, bool(t.isVariable))

    def _data(self, b: int, shape: tuple[int, ...], dtype: str, where: str) -> np.ndarray | None:
        if not 0 <= b < self.n_buffers:
            raise ModelFormatError(f"{where} refers to buffer {b}, but the model has {self.n_buffers} buffers")
        buf = _decoded(f"buffer {b}", lambda: fb.BufferT.InitFromObj(self.root.Buffers(b)))
        if buf.offset > 1:  # large-model layout: the bytes follow the flatbuffer, at an offset from the file start
            if buf.offset + buf.size > len(self.data):
                raise ModelFormatError(f"buffer {b} of {where} lies past the end of the file")
            raw = self.data[buf.offset : buf.offset + buf.size]
        elif buf.data is not None and len(buf.data) > 0:
            raw = buf.data.tobytes()
        else:
            return None
        need = math.prod(shape) * np.dtype(dtype).itemsize
        if len(raw) != need:
            raise ModelFormatError(
                f"{where} has shape {shape} of {dtype}, which needs {need} bytes, but buffer {b} holds {len(raw)}"
            )
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)


def _too_big(where: str, shape: tuple[int, ...], nbytes: int) -> ModelFormatError:
    limit = MAX_ACTIVATION_BYTES >> 20
    return ModelFormatError(f"{where} has shape {shape} ({nbytes} bytes), more than the {limit} MiB mcuforge accepts")


def _ints(v: Any) -> list[int]:
    return [] if v is None else [int(x) for x in v]


def _open_dims(signature: Any) -> frozenset[int]:
    """The dimensions a shape signature leaves open (-1)."""
    return frozenset() if signature is None else frozenset(i for i, d in enumerate(signature) if int(d) == -1)


def _fills_open_dims(stored: tuple[int, ...], inferred: tuple[int, ...], open_dims: frozenset[int]) -> bool:
    """The stored shape differs from the inferred one only where the signature is open and
    the file stores the converter's placeholder 1."""
    return len(stored) == len(inferred) and all(
        s == t or (i in open_dims and s == 1) for i, (s, t) in enumerate(zip(stored, inferred))
    )


def _text(v: Any) -> str:
    """A flatbuffer string (bytes from the object API) as text; undecodable bytes are replaced."""
    return v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v or "")


def _unique_names(ts: list[Any]) -> list[str]:
    """Tensor names, made unique in index order: an empty name becomes tensor_<index>, a repeat gets _1, _2, ..."""
    used: set[str] = set()
    counters: dict[str, int] = {}
    names = []
    for i, t in enumerate(ts):
        base = _text(t.name) or f"tensor_{i}"
        name = base
        while name in used:
            counters[base] = counters.get(base, 0) + 1
            name = f"{base}_{counters[base]}"
        used.add(name)
        names.append(name)
    return names


def _shape(raw: Any, where: str) -> tuple[int, ...]:
    dims = _ints(raw)
    if len(dims) > MAX_RANK:
        raise ModelFormatError(f"{where} has rank {len(dims)}, more than the {MAX_RANK} TFLite allows")
    if dims and dims[0] == -1:  # an open batch size stored as -1 runs with batch 1
        dims[0] = 1
    if any(d < 0 for d in dims):
        raise ModelFormatError(f"{where} has a negative dimension in shape {tuple(dims)}")
    return tuple(dims)


# Zero points a tensor of each type can hold (other types are refused on their own).
ZERO_POINT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1)}


def _quant(q: Any, shape: tuple[int, ...], dtype: str, where: str) -> Quant | None:
    if q is None or q.scale is None or len(q.scale) == 0:
        return None
    if q.details is not None or q.detailsType:
        raise UnsupportedError(f"{where} uses custom quantisation details, which mcuforge does not support")
    scale = np.asarray(q.scale, dtype=np.float32).reshape(-1)
    zp = np.asarray(q.zeroPoint if q.zeroPoint is not None else [], dtype=np.int64).reshape(-1)
    if zp.size != scale.size:
        raise ModelFormatError(f"{where} has {scale.size} quantisation scale(s) but {zp.size} zero point(s)")
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ModelFormatError(f"{where} has a non-positive or non-finite quantisation scale")
    lo, hi = ZERO_POINT_RANGE.get(dtype, (-(2**63), 2**63 - 1))
    if zp.size and (zp.min() < lo or zp.max() > hi):
        raise ModelFormatError(f"{where} has an {dtype} zero point outside [{lo}, {hi}]")
    axis = int(q.quantizedDimension)
    if scale.size > 1 and not (0 <= axis < len(shape) and shape[axis] == scale.size):
        # TF-Lite Micro ignores quantized_dimension of rank-1 (bias) tensors; person_detect stores 3 there.
        if len(shape) == 1 and shape[0] == scale.size:
            axis = 0
        else:
            raise ModelFormatError(
                f"{where} has {scale.size} per-channel scales, which do not match axis {axis} of shape {shape}"
            )
    if scale.size == 1 and not 0 <= axis < max(len(shape), 1):
        axis = 0
    return Quant(scale, zp, axis)


# ------------------------------------------------------------ RawModel -> Graph
def _build(raw: RawModel, name: str) -> Graph:
    leftover = next((op for op in raw.ops if op.kind not in Op.__members__ and op.kind not in CUSTOM_OPS), None)
    if leftover is not None:
        raise UnsupportedError(
            f"node {leftover.index} uses {leftover.kind}, which mcuforge does not support here "
            f"(it removes {leftover.kind} only on constant int32 shape data); supported operators: {SUPPORTED_OPS}"
        )
    g = Graph(tensors=raw.tensors, inputs=list(raw.inputs), outputs=list(raw.outputs), name=name)
    for op in raw.ops:
        node = Node(Op(op.kind), list(op.inputs), list(op.outputs), op.attrs, name=op.outputs[0] if op.outputs else "")
        g.add_node(node)
        check_types(g, node, op.where)
        for out, shape in zip(node.outputs, infer_shapes(g, node, op.where)):
            stored = g.tensors[out].shape
            if stored != shape and _fills_open_dims(stored, shape, raw.open_dims.get(out, frozenset())):
                # An open dimension stored as 1 (SPACE_TO_BATCH_ND makes a batch of blocks; a shape computed at
                # run time, as Keras's UpSampling2D does): what runs is the size the inputs give; TF-Lite Micro
                # trusts the 1 and computes part of the result.
                t = g.tensors[out]
                g.tensors[out] = Tensor(out, shape, t.dtype, t.quant, t.data)
            elif stored != shape:
                raise ModelFormatError(
                    f"{op.where}: output {out!r} has shape {stored} in the file, but its inputs give {shape}"
                )
    g.remove_unused()
    for t in g.activations():  # again, for the tensors fold.py made
        if t.nbytes > MAX_ACTIVATION_BYTES:
            raise _too_big(f"tensor {t.name!r}", t.shape, t.nbytes)
    try:
        verify(g)
    except GraphError as e:
        raise ModelFormatError(str(e)) from None
    return g
