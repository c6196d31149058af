"""Graph -> .tflite flatbuffer that TF-Lite Micro and LiteRT load and run.

Uses the object API of TFLite's generated schema shipped with the tflite-micro
wheel. Every tensor, constant and attribute of the graph is written, so that
read(write(g)) gives back the same graph.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.apps import ssd
from mcuforge.errors import UnsupportedError
from mcuforge.frontend import signal_options  # family signal
from mcuforge.frontend.tflite_options import options_from_attrs
from mcuforge.ir.graph import Graph, Tensor
from mcuforge.ir.ops import Op

TENSOR_TYPES: dict[str, int] = {
    "float32": fb.TensorType.FLOAT32,
    "int8": fb.TensorType.INT8,
    "uint8": fb.TensorType.UINT8,
    "int16": fb.TensorType.INT16,
    "int32": fb.TensorType.INT32,
    "int64": fb.TensorType.INT64,
    "bool": fb.TensorType.BOOL,
    "uint32": fb.TensorType.UINT32,  # family signal
    "uint64": fb.TensorType.UINT64,  # family signal
}
# Custom operators: Op -> flexbuffer options from attributes.
CUSTOM_WRITERS = {Op.DETECTION_POSTPROCESS: ssd.flexbuffer_from_attrs}  # family ssd
CUSTOM_WRITERS.update({op: signal_options.flexbuffer_from_attrs for op in signal_options.SIGNAL_OPS})  # family signal


def _tensor(t: Tensor, buffer: int) -> fb.TensorT:
    out = fb.TensorT()
    out.shape = np.array(t.shape, dtype=np.int32)
    out.type = TENSOR_TYPES[t.dtype]
    out.buffer = buffer
    out.name = t.name
    out.isVariable = t.variable
    if t.quant is not None:
        q = fb.QuantizationParametersT()
        q.scale = [float(s) for s in t.quant.scale]
        q.zeroPoint = [int(z) for z in t.quant.zero_point]
        q.quantizedDimension = t.quant.axis
        out.quantization = q
    return out


def to_model(g: Graph, metadata: dict[str, bytes] | None = None) -> fb.ModelT:
    """Build the schema object tree for a graph (one subgraph), with optional metadata
    entries (name -> bytes, each in a buffer of its own; frontend/metadata.py reads them)."""
    if any(n.op == Op.DETECTION_POSTPROCESS for n in g.nodes):  # family ssd: float inputs from DEQUANTIZE
        g = ssd.with_dequantize_inputs(g)
    model = fb.ModelT()
    model.version = 3
    model.description = "mcuforge"
    empty = fb.BufferT()
    model.buffers = [empty]  # buffer 0: the empty sentinel every activation points to
    index: dict[str, int] = {}
    sub = fb.SubGraphT()
    sub.name = g.name
    sub.tensors = []
    hidden = signal_options.hidden_states(g)  # family signal: kept inside TF-Lite Micro's kernels
    for name, t in g.tensors.items():
        if name in hidden:
            continue
        buffer = 0
        if t.is_const:
            b = fb.BufferT()
            b.data = np.ascontiguousarray(t.data.astype(t.data.dtype.newbyteorder("<"))).view(np.uint8).reshape(-1)
            model.buffers.append(b)
            buffer = len(model.buffers) - 1
        index[name] = len(sub.tensors)
        sub.tensors.append(_tensor(t, buffer))
    sub.inputs = [index[n] for n in g.inputs]
    sub.outputs = [index[n] for n in g.outputs]

    codes: dict[Op, int] = {}
    model.operatorCodes = []
    sub.operators = []
    for node in g.nodes:
        if node.op not in codes:
            code = fb.OperatorCodeT()
            builtin = getattr(fb.BuiltinOperator, node.op.value, None)
            if node.op in CUSTOM_WRITERS:  # a custom op
                builtin, code.customCode = fb.BuiltinOperator.CUSTOM, node.op.value
            if builtin is None:
                raise UnsupportedError(
                    f"{node.op} is mcuforge's own step (detection post-processing), which a .tflite file cannot hold"
                )
            code.builtinCode = builtin
            # Codes above 127 live only in builtinCode; the deprecated byte holds the placeholder.
            code.deprecatedBuiltinCode = min(builtin, fb.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
            code.version = 1
            codes[node.op] = len(model.operatorCodes)
            model.operatorCodes.append(code)
        op = fb.OperatorT()
        op.opcodeIndex = codes[node.op]
        ins = node.inputs[:-1] if getattr(node.attrs, "state_input", False) else node.inputs  # family signal
        op.inputs = [-1 if n is None else index[n] for n in ins]
        op.outputs = [index[n] for n in node.outputs]
        op.builtinOptionsType, op.builtinOptions = options_from_attrs(node.op, node.attrs)
        if node.op in CUSTOM_WRITERS:
            op.customOptions = np.frombuffer(CUSTOM_WRITERS[node.op](node.attrs), np.uint8)
            op.customOptionsFormat = fb.CustomOptionsFormat.FLEXBUFFERS
        sub.operators.append(op)
    model.subgraphs = [sub]
    if metadata:
        model.metadata = []
    for key, value in (metadata or {}).items():
        b = fb.BufferT()
        b.data = np.frombuffer(bytes(value), dtype=np.uint8)
        model.buffers.append(b)
        entry = fb.MetadataT()
        entry.name, entry.buffer = key, len(model.buffers) - 1
        model.metadata.append(entry)
    return model


def write(g: Graph, metadata: dict[str, bytes] | None = None) -> bytes:
    """Serialise a graph (and optional metadata entries) to .tflite bytes."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(to_model(g, metadata).Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def save(g: Graph, path: str | Path, metadata: dict[str, bytes] | None = None) -> None:
    Path(path).write_bytes(write(g, metadata))
