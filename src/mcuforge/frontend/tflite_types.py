"""Which dtypes each operator's inputs and outputs may hold when a .tflite is read.

int8 data with quantisation everywhere, int8 constant weights and int32 bias for the
weighted operators, int32 operands (shapes, axes, paddings), and the per-operator
exceptions: bool and int32 data slots (comparisons, ARG_MAX, SELECT_V2), TFLite's 16x8
int16 scheme where TF-Lite Micro runs it, float32 only at the QUANTIZE / DEQUANTIZE
boundary and for the detection post-processing. `check_types` raises the one-sentence
error a model breaking these rules gets.
"""

from __future__ import annotations

import numpy as np

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.ir.ops import Op

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
    # family lstm (begin)
    # the four gate biases (int32, int64 for 16x8) and the int16 cell state; ref/lstm.py checks the
    # rest. The variants' slots (peephole, projection, layer norm) pass here so that the shape
    # rule refuses them by name.
    Op.UNIDIRECTIONAL_SEQUENCE_LSTM: {
        **{i: ("int32", "int64") for i in (12, 13, 14, 15)},
        19: ("int16",),
        **{i: ("int8", "int16", "int32", "int64") for i in (9, 10, 11, 16, 17, 20, 21, 22, 23)},
    },
    # family lstm (end)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: {2: ("float32",)},  # constant float anchors (int8 ones have quantisation)
    # family ssd (end)
    # family svdf (begin)
    Op.SVDF: {3: ("int32",)},  # the bias
    # family svdf (end)
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
# family signal (begin)
# The signal-library custom operators take unquantised integers (slot -> dtype); the audio
# front end around them runs builtins on unquantised int32 (and moves int16) data, which
# ref/signal_int.py computes.
_SIGNAL_SLOTS: dict[Op, tuple[dict[int, tuple[str, ...]], tuple[str, ...]]] = {
    Op.SIGNAL_WINDOW: ({0: ("int16",), 1: ("int16",)}, ("int16",)),
    Op.SIGNAL_FFT_AUTO_SCALE: ({0: ("int16",)}, ("int16", "int32")),
    Op.SIGNAL_RFFT: ({0: ("int16",)}, ("int16",)),
    Op.SIGNAL_ENERGY: ({0: ("int16",)}, ("uint32",)),
    Op.SIGNAL_FILTER_BANK: ({0: ("uint32",), **{i: ("int16",) for i in range(1, 6)}}, ("uint64",)),
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT: ({0: ("uint64",), 1: ("int32",)}, ("uint32",)),
    Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION: ({0: ("uint32",), 1: ("uint32",)}, ("uint32",)),
    Op.SIGNAL_PCAN: ({0: ("uint32",), 1: ("uint32",), 2: ("int16",)}, ("uint32",)),
    Op.SIGNAL_FILTER_BANK_LOG: ({0: ("uint32",)}, ("int16",)),
    Op.SIGNAL_FRAMER: ({0: ("int16",), 1: ("int16",)}, ("int16", "bool")),
    Op.SIGNAL_STACKER: ({0: ("int16",), 1: ("int16",)}, ("int16", "bool")),
    Op.SIGNAL_DELAY: ({0: ("int16",), 1: ("int16",)}, ("int16",)),
    Op.SIGNAL_OVERLAP_ADD: ({0: ("int16",), 1: ("int16",)}, ("int16",)),
}
SIGNAL_INT16_OPS = frozenset([*(op.value for op in _SIGNAL_SLOTS), "CAST"])  # unquantised int16
_INT32_DATA = {Op.MUL: 2, Op.ADD: 2, Op.DIV: 2, Op.MINIMUM: 2, Op.MAXIMUM: 2, Op.STRIDED_SLICE: 1}
for _op, (_ins, _outs) in _SIGNAL_SLOTS.items():
    _OTHER_INPUTS[_op], _OTHER_OUTPUTS[_op] = _ins, _outs
for _op, _n in _INT32_DATA.items():
    _OTHER_INPUTS[_op] = {**_OTHER_INPUTS.get(_op, {}), **{i: ("int32",) for i in range(_n)}}
    _OTHER_OUTPUTS[_op] = (*_OTHER_OUTPUTS.get(_op, ()), "int32")
_OTHER_INPUTS[Op.CONCATENATION] = {i: ("int32",) for i in range(256)}
_OTHER_OUTPUTS[Op.CONCATENATION] = ("int32",)
_OTHER_INPUTS[Op.RESHAPE] = {0: ("int32", "int16")}
_OTHER_OUTPUTS[Op.RESHAPE] = ("int32", "int16")
_OTHER_INPUTS[Op.CAST] = {0: (*_OTHER_INPUTS[Op.CAST][0], "int16", "uint32")}
_OTHER_OUTPUTS[Op.CAST] = (*_OTHER_OUTPUTS[Op.CAST], "int16", "uint32")
# family signal (end)
_WEIGHTED = (Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.TRANSPOSE_CONV)
# The bias slot of a weighted op (weights are slot 1): 2, but TRANSPOSE_CONV's inputs are
# (output_shape, weights, input, bias).
_BIAS_SLOT = {Op.TRANSPOSE_CONV: 3}
# Operators whose int16 (16x8 scheme) kernels mcuforge has, as TF-Lite Micro runs them;
# every other int16 tensor is refused with INT16_ADVICE.
INT16_OPS = frozenset({
    "QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D",
    "LOGISTIC", "TANH", "SOFTMAX", "RELU", "RELU6", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "CONCATENATION", "PAD", "PADV2", "STRIDED_SLICE",
    "MEAN", "SUM", "SLICE", "SPLIT", "SPLIT_V", "PACK", "UNPACK", "LEAKY_RELU", "MAXIMUM", "MINIMUM",
    "BATCH_MATMUL",
    "SVDF",  # family svdf: int16 time weights and state
})  # fmt: skip
# family lstm (begin)
# the int16 cell state (slot 19, _OTHER_INPUTS); ref/lstm.py refuses int16 in the other slots
INT16_OPS = INT16_OPS | {"UNIDIRECTIONAL_SEQUENCE_LSTM"}
# family lstm (end)
# ... of which these need zero point 0 on their int16 tensors (TF-Lite Micro checks it,
# or its kernels ignore the zero point).
_INT16_ZERO_POINT_0 = frozenset({
    "FULLY_CONNECTED", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "TANH", "RELU", "CONCATENATION",
    "BATCH_MATMUL",
})  # fmt: skip
INT16_ADVICE = (
    "mcuforge supports int16 (16x8) tensors only in "
    + ", ".join(sorted(INT16_OPS))
    + "; other operators take int8 activations"
)
_FLOAT_ADVICE = "convert the model with full-integer (int8) quantisation"


def check_types(g: Graph, node: Node, where: str) -> None:
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
        raise UnsupportedError(f"{where} has the int16 tensor {t.name!r}; {INT16_ADVICE}")
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
