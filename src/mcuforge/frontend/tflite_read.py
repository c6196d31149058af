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
                    raise UnsupportedError(f"node {i} ({kinds[-1]}) has the int16 tensor {self.names[x]!r}; {_INT16}")
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
            if t.data is None and t.size == 0 and n not in written:
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
        if t.isVariable:
            raise UnsupportedError(f"{where} is a variable (stateful) tensor, which mcuforge does not support")
        shape = _shape(t.shape, where)
        data = self._data(t.buffer, shape, dtype, where)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if data is None and nbytes > MAX_ACTIVATION_BYTES:
            raise _too_big(where, shape, nbytes)
        return Tensor(name, shape, dtype, _quant(t.quantization, shape, dtype, where), data)

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
        _check_types(g, node, op.where)
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


# Inputs that are int32 operands (shapes, axes, paddings, ...) rather than int8 data.
_OPERANDS: dict[Op, tuple[int, ...]] = {
    Op.PAD: (1,),
    Op.PADV2: (1,),
    Op.MEAN: (1,),
    Op.REDUCE_MAX: (1,),
    Op.RESHAPE: (1,),
    Op.EXPAND_DIMS: (1,),
    Op.TRANSPOSE: (1,),
    Op.RESIZE_NEAREST_NEIGHBOR: (1,),
    Op.STRIDED_SLICE: (1, 2, 3),
    # family slicing (begin)
    Op.SLICE: (1, 2),
    Op.SPLIT: (0,),
    Op.SPLIT_V: (1, 2),
    Op.TILE: (1,),
    Op.BROADCAST_TO: (1,),
    # family slicing (end)
    # family spatial (begin)
    Op.GATHER: (1,),
    Op.GATHER_ND: (1,),
    Op.MIRROR_PAD: (1,),
    Op.REVERSE_V2: (1,),
    Op.SPACE_TO_BATCH_ND: (1, 2),
    Op.BATCH_TO_SPACE_ND: (1, 2),
    # family spatial (end)
    # family binary (begin)
    # family binary (end)
    # family unary (begin)
    Op.FILL: (0,),
    # family unary (end)
    # family reduce (begin)
    Op.SUM: (1,),
    Op.REDUCE_MIN: (1,),
    Op.ARG_MAX: (1,),
    Op.ARG_MIN: (1,),
    Op.RESIZE_BILINEAR: (1,),
    Op.CUMSUM: (1,),
    # family reduce (end)
    # family matmul (begin)
    Op.TRANSPOSE_CONV: (0,),  # output_shape
    # family matmul (end)
}
# family spatial (begin)
SPATIAL_OPS = (Op.GATHER, Op.GATHER_ND, Op.MIRROR_PAD, Op.REVERSE_V2, Op.DEPTH_TO_SPACE, Op.SPACE_TO_DEPTH,
               Op.SPACE_TO_BATCH_ND, Op.BATCH_TO_SPACE_ND)  # fmt: skip
# family spatial (end)
# Slots that may hold data other than quantised int8 (a comparison's bool output, ARG_MAX's
# int32 output, SELECT_V2's bool condition): input slot -> dtypes, and output dtypes.
_OTHER_INPUTS: dict[Op, dict[int, tuple[str, ...]]] = {
    # family slicing (begin)
    # Pure data movement: int32 data takes the int8 path unchanged.
    Op.SLICE: {0: ("int32",)},
    Op.SPLIT: {1: ("int32",)},
    Op.SPLIT_V: {0: ("int32",)},
    Op.UNPACK: {0: ("int32",)},
    Op.PACK: {i: ("int32",) for i in range(256)},  # int32 PACKs of up to 256 tensors
    Op.TILE: {0: ("int32",)},
    Op.BROADCAST_TO: {0: ("int32",)},
    # family slicing (end)
    # family spatial (begin)
    **{op: {0: ("int32",)} for op in SPATIAL_OPS},  # data movement: int32 data moves like int8
    # family spatial (end)
    # family binary (begin)
    Op.SELECT_V2: {0: ("bool",)},
    Op.LOGICAL_AND: {0: ("bool",), 1: ("bool",)},
    Op.LOGICAL_OR: {0: ("bool",), 1: ("bool",)},
    Op.LOGICAL_NOT: {0: ("bool",)},
    # family binary (end)
    # family unary (begin)
    Op.CAST: {0: ("int8", "int32", "float32")},  # int8 with or without quantisation
    # family unary (end)
    # family reduce (begin)
    # family reduce (end)
    # family matmul (begin)
    # family matmul (end)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: {2: ("float32",)},  # constant float anchors (int8 ones have quantisation)
    # family ssd (end)
}
_OTHER_OUTPUTS: dict[Op, tuple[str, ...]] = {
    # family slicing (begin)
    **{op: ("int32",) for op in (Op.SLICE, Op.SPLIT, Op.SPLIT_V, Op.UNPACK, Op.PACK, Op.TILE, Op.BROADCAST_TO)},
    # family slicing (end)
    # family spatial (begin)
    **{op: ("int32",) for op in SPATIAL_OPS},
    # family spatial (end)
    # family binary (begin)
    Op.EQUAL: ("bool",),
    Op.NOT_EQUAL: ("bool",),
    Op.GREATER: ("bool",),
    Op.GREATER_EQUAL: ("bool",),
    Op.LESS: ("bool",),
    Op.LESS_EQUAL: ("bool",),
    Op.LOGICAL_AND: ("bool",),
    Op.LOGICAL_OR: ("bool",),
    Op.LOGICAL_NOT: ("bool",),
    # family binary (end)
    # family unary (begin)
    Op.CAST: ("int8", "int32", "float32"),
    # family unary (end)
    # family reduce (begin)
    Op.ARG_MAX: ("int32", "int64"),
    Op.ARG_MIN: ("int32", "int64"),
    # family reduce (end)
    # family matmul (begin)
    # family matmul (end)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: ("float32",),
    # family ssd (end)
}
_WEIGHTED = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.TRANSPOSE_CONV)
# The bias slot of a weighted op (weights are slot 1): 2, but TRANSPOSE_CONV's inputs are
# (output_shape, weights, input, bias).
_BIAS_SLOT = {Op.TRANSPOSE_CONV: 3}
# Operators whose int16 (16x8 scheme) kernels mcuforge has, as TF-Lite Micro runs them;
# every other int16 tensor is refused with _INT16.
INT16_OPS = frozenset({
    "QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D",
    "LOGISTIC", "TANH", "SOFTMAX", "RELU", "RELU6", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "CONCATENATION", "PAD", "PADV2", "STRIDED_SLICE",
    "MEAN", "SUM", "SLICE", "SPLIT", "SPLIT_V", "PACK", "UNPACK", "LEAKY_RELU", "MAXIMUM", "MINIMUM",
    "BATCH_MATMUL",
})  # fmt: skip
# ... of which these need zero point 0 on their int16 tensors (TF-Lite Micro checks it,
# or its kernels ignore the zero point).
_INT16_ZERO_POINT_0 = frozenset({
    "FULLY_CONNECTED", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "TANH", "RELU", "CONCATENATION",
    "BATCH_MATMUL",
})  # fmt: skip
_INT16 = (
    "mcuforge supports int16 (16x8) tensors only in "
    + ", ".join(sorted(INT16_OPS))
    + "; other operators take int8 activations"
)
_FLOAT_ADVICE = "convert the model with full-integer (int8) quantisation"


def _check_types(g: Graph, node: Node, where: str) -> None:
    """int8 data with quantisation (int16 in INT16_OPS), int8 constant weights, int32 bias (int64 too for
    16x8) and operands; float32 only at the boundary."""
    for slot, name in enumerate(node.inputs):
        if name is None:
            continue
        t = g.tensors[name]
        if t.dtype in _OTHER_INPUTS.get(node.op, {}).get(slot, ()):
            continue
        if slot in _OPERANDS.get(node.op, ()):
            if t.dtype not in ("int32", "int64"):
                raise ModelFormatError(f"{where}: operand {name!r} has dtype {t.dtype}, expected int32")
        elif node.op in _WEIGHTED and slot == _BIAS_SLOT.get(node.op, 2):
            if t.dtype == "int64" and g.tensors[node.inputs[0]].dtype == "int16" and node.op.value in INT16_OPS:
                continue  # 16x8: int64 bias (int32 also runs)
            if t.dtype != "int32":
                raise UnsupportedError(
                    f"{where}: bias {name!r} has dtype {t.dtype}; mcuforge supports int32 bias with int8 data only"
                )
        elif node.op in _WEIGHTED and slot == 1:
            _data_type(t, where, node.op, float_ok=False)
            if not t.is_const:
                raise UnsupportedError(f"{where}: weights {name!r} are not constant, which mcuforge requires")
        else:
            _data_type(t, where, node.op, float_ok=node.op == Op.QUANTIZE and slot == 0)
            if node.op not in _WEIGHTED and t.quant is not None and t.quant.per_channel:
                raise UnsupportedError(
                    f"{where}: tensor {name!r} is quantised per channel, which mcuforge supports only for weights"
                )
    for name in node.outputs:
        t = g.tensors[name]
        if t.dtype in _OTHER_OUTPUTS.get(node.op, ()):
            continue
        if node.op == Op.QUANTIZE and t.dtype == "int32" and t.quant is not None:
            continue  # Requantize to int32 (from int8 or int16), as TF-Lite Micro runs it
        _data_type(t, where, node.op, float_ok=node.op == Op.DEQUANTIZE)
        if t.quant is not None and t.quant.per_channel:
            raise UnsupportedError(
                f"{where}: output {name!r} is quantised per channel, which mcuforge supports only for weights"
            )


def _data_type(t: Tensor, where: str, op: Op, float_ok: bool) -> None:
    if t.dtype == "int8":
        if t.quant is None:
            raise ModelFormatError(f"{where}: int8 tensor {t.name!r} has no quantisation parameters")
        return
    if t.dtype == "float32" and float_ok:
        return
    if t.dtype == "int16" and op.value in INT16_OPS:
        if t.quant is None:
            raise ModelFormatError(f"{where}: int16 tensor {t.name!r} has no quantisation parameters")
        if op.value in _INT16_ZERO_POINT_0 and np.any(t.quant.zero_point != 0):
            raise UnsupportedError(
                f"{where}: int16 tensor {t.name!r} has zero point {t.quant.zp}; TFLite's int16 {op} needs 0"
            )
        return
    if t.dtype == "int16":
        raise UnsupportedError(f"{where} has the int16 tensor {t.name!r}; {_INT16}")
    if t.dtype == "float32" and op in _WEIGHTED:
        raise UnsupportedError(f"{where} is a float32 {op}, which mcuforge does not support: {_FLOAT_ADVICE}")
    if t.dtype == "float32":
        raise UnsupportedError(
            f"{where} has the float32 tensor {t.name!r}; mcuforge allows float32 only as the input of QUANTIZE "
            f"or the output of DEQUANTIZE: {_FLOAT_ADVICE}"
        )
    if t.dtype == "uint8":
        raise UnsupportedError(
            f"{where} has the uint8 tensor {t.name!r}; mcuforge supports int8 quantisation only, "
            "not TFLite's legacy uint8 scheme"
        )
    raise UnsupportedError(
        f"{where} has the {t.dtype} tensor {t.name!r} where int8 data is expected; "
        "mcuforge supports int8 activations only"
    )
