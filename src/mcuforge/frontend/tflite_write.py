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

from mcuforge.ir import ops as O
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
}

PADDING = {O.Padding.SAME: fb.Padding.SAME, O.Padding.VALID: fb.Padding.VALID}
ACTIVATION = {
    O.Act.NONE: fb.ActivationFunctionType.NONE,
    O.Act.RELU: fb.ActivationFunctionType.RELU,
    O.Act.RELU_N1_TO_1: fb.ActivationFunctionType.RELU_N1_TO_1,
    O.Act.RELU6: fb.ActivationFunctionType.RELU6,
}


def _conv(a: O.ConvAttrs):
    o = fb.Conv2DOptionsT()
    o.padding, o.fusedActivationFunction = PADDING[a.padding], ACTIVATION[a.activation]
    o.strideH, o.strideW = a.stride
    o.dilationHFactor, o.dilationWFactor = a.dilation
    return fb.BuiltinOptions.Conv2DOptions, o


def _depthwise(a: O.DepthwiseAttrs):
    o = fb.DepthwiseConv2DOptionsT()
    o.padding, o.fusedActivationFunction = PADDING[a.padding], ACTIVATION[a.activation]
    o.strideH, o.strideW = a.stride
    o.dilationHFactor, o.dilationWFactor = a.dilation
    o.depthMultiplier = a.depth_multiplier
    return fb.BuiltinOptions.DepthwiseConv2DOptions, o


def _fc(a: O.FullyConnectedAttrs):
    o = fb.FullyConnectedOptionsT()
    o.fusedActivationFunction, o.keepNumDims = ACTIVATION[a.activation], a.keep_num_dims
    return fb.BuiltinOptions.FullyConnectedOptions, o


def _pool(a: O.PoolAttrs):
    o = fb.Pool2DOptionsT()
    o.padding, o.fusedActivationFunction = PADDING[a.padding], ACTIVATION[a.activation]
    o.filterHeight, o.filterWidth = a.filter
    o.strideH, o.strideW = a.stride
    return fb.BuiltinOptions.Pool2DOptions, o


def _elementwise(kind: str):
    def make(a: O.ElementwiseAttrs):
        o = getattr(fb, f"{kind}OptionsT")()
        o.fusedActivationFunction = ACTIVATION[a.activation]
        return getattr(fb.BuiltinOptions, f"{kind}Options"), o

    return make


def _reducer(a: O.ReduceAttrs):
    o = fb.ReducerOptionsT()
    o.keepDims = a.keep_dims
    return fb.BuiltinOptions.ReducerOptions, o


def _concat(a: O.ConcatAttrs):
    o = fb.ConcatenationOptionsT()
    o.axis, o.fusedActivationFunction = a.axis, ACTIVATION[a.activation]
    return fb.BuiltinOptions.ConcatenationOptions, o


def _softmax(a: O.SoftmaxAttrs):
    o = fb.SoftmaxOptionsT()
    o.beta = a.beta
    return fb.BuiltinOptions.SoftmaxOptions, o


def _leaky(a: O.LeakyReluAttrs):
    o = fb.LeakyReluOptionsT()
    o.alpha = a.alpha
    return fb.BuiltinOptions.LeakyReluOptions, o


def _resize(a: O.ResizeAttrs):
    o = fb.ResizeNearestNeighborOptionsT()
    o.alignCorners, o.halfPixelCenters = a.align_corners, a.half_pixel_centers
    return fb.BuiltinOptions.ResizeNearestNeighborOptions, o


def _reshape(a: O.ReshapeAttrs):
    o = fb.ReshapeOptionsT()
    o.newShape = None if a.new_shape is None else list(a.new_shape)
    return fb.BuiltinOptions.ReshapeOptions, o


def _squeeze(a: O.SqueezeAttrs):
    o = fb.SqueezeOptionsT()
    o.squeezeDims = list(a.squeeze_dims)
    return fb.BuiltinOptions.SqueezeOptions, o


def _strided_slice(a: O.StridedSliceAttrs):
    o = fb.StridedSliceOptionsT()
    o.beginMask, o.endMask, o.ellipsisMask = a.begin_mask, a.end_mask, a.ellipsis_mask
    o.newAxisMask, o.shrinkAxisMask, o.offset = a.new_axis_mask, a.shrink_axis_mask, a.offset
    return fb.BuiltinOptions.StridedSliceOptions, o


def _empty(kind: str):
    def make(_a):
        return getattr(fb.BuiltinOptions, f"{kind}Options"), getattr(fb, f"{kind}OptionsT")()

    return make


def _none(_a):
    return fb.BuiltinOptions.NONE, None


# Op -> function(attrs) -> (BuiltinOptions type, options object)
OPTIONS = {
    Op.CONV_2D: _conv,
    Op.DEPTHWISE_CONV_2D: _depthwise,
    Op.FULLY_CONNECTED: _fc,
    Op.ADD: _elementwise("Add"),
    Op.SUB: _elementwise("Sub"),
    Op.MUL: _elementwise("Mul"),
    Op.AVERAGE_POOL_2D: _pool,
    Op.MAX_POOL_2D: _pool,
    Op.MEAN: _reducer,
    Op.REDUCE_MAX: _reducer,
    Op.PAD: _empty("Pad"),
    Op.PADV2: _empty("PadV2"),
    Op.RESHAPE: _reshape,
    Op.SQUEEZE: _squeeze,
    Op.EXPAND_DIMS: _empty("ExpandDims"),
    Op.TRANSPOSE: _empty("Transpose"),
    Op.CONCATENATION: _concat,
    Op.SOFTMAX: _softmax,
    Op.LOGISTIC: _none,
    Op.TANH: _none,
    Op.RELU: _none,
    Op.RELU6: _none,
    Op.LEAKY_RELU: _leaky,
    Op.HARD_SWISH: _empty("HardSwish"),
    Op.RESIZE_NEAREST_NEIGHBOR: _resize,
    Op.QUANTIZE: _empty("Quantize"),
    Op.DEQUANTIZE: _empty("Dequantize"),
    Op.STRIDED_SLICE: _strided_slice,
}


def _tensor(t: Tensor, buffer: int) -> fb.TensorT:
    out = fb.TensorT()
    out.shape = np.array(t.shape, dtype=np.int32)
    out.type = TENSOR_TYPES[t.dtype]
    out.buffer = buffer
    out.name = t.name
    if t.quant is not None:
        q = fb.QuantizationParametersT()
        q.scale = [float(s) for s in t.quant.scale]
        q.zeroPoint = [int(z) for z in t.quant.zero_point]
        q.quantizedDimension = t.quant.axis
        out.quantization = q
    return out


def to_model(g: Graph) -> fb.ModelT:
    """Build the schema object tree for a graph (one subgraph)."""
    model = fb.ModelT()
    model.version = 3
    model.description = "mcuforge"
    empty = fb.BufferT()
    model.buffers = [empty]  # buffer 0: the empty sentinel every activation points to
    index: dict[str, int] = {}
    sub = fb.SubGraphT()
    sub.name = g.name
    sub.tensors = []
    for name, t in g.tensors.items():
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
            builtin = getattr(fb.BuiltinOperator, node.op.value)
            code.builtinCode = builtin
            # Codes above 127 live only in builtinCode; the deprecated byte holds the placeholder.
            code.deprecatedBuiltinCode = min(builtin, fb.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
            code.version = 1
            codes[node.op] = len(model.operatorCodes)
            model.operatorCodes.append(code)
        op = fb.OperatorT()
        op.opcodeIndex = codes[node.op]
        op.inputs = [-1 if n is None else index[n] for n in node.inputs]
        op.outputs = [index[n] for n in node.outputs]
        op.builtinOptionsType, op.builtinOptions = OPTIONS[node.op](node.attrs)
        sub.operators.append(op)
    model.subgraphs = [sub]
    return model


def write(g: Graph) -> bytes:
    """Serialise a graph to .tflite bytes."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(to_model(g).Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def save(g: Graph, path: str | Path) -> None:
    Path(path).write_bytes(write(g))
