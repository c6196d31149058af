"""TFLite builtin options <-> typed attributes (ir/ops.py): one table for reader and writer.

Each op has one OptionsSpec row: the options table it carries (e.g. "Conv2D" names
BuiltinOptions.Conv2DOptions and the class Conv2DOptionsT of TFLite's generated schema)
and, per attribute field, the options field(s) holding it with the conversion between
the two. `attrs_from_options` (tflite_read) and `options_from_attrs` (tflite_write) are
both derived from that row, so adding an op touches one row here and one ATTRS entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.ir import ops as O
from mcuforge.ir.ops import Op


def _names(enum: type) -> dict[int, str]:
    """Code -> name of one of the schema's enum classes."""
    return {v: k for k, v in vars(enum).items() if isinstance(v, int) and not k.startswith("_")}


OPTION_NAMES = _names(fb.BuiltinOptions)
_ACT_NAMES = _names(fb.ActivationFunctionType)

# The enum conversions, both directions from one dict each.
PADDING = {O.Padding.SAME: fb.Padding.SAME, O.Padding.VALID: fb.Padding.VALID}
ACTIVATION = {
    O.Act.NONE: fb.ActivationFunctionType.NONE,
    O.Act.RELU: fb.ActivationFunctionType.RELU,
    O.Act.RELU_N1_TO_1: fb.ActivationFunctionType.RELU_N1_TO_1,
    O.Act.RELU6: fb.ActivationFunctionType.RELU6,
}
_PADDING_IN = {v: k for k, v in PADDING.items()}
_ACTIVATION_IN = {v: k for k, v in ACTIVATION.items()}


def _act(v: int, where: str) -> O.Act:
    if v not in _ACTIVATION_IN:
        raise UnsupportedError(
            f"{where} uses the fused activation {_ACT_NAMES.get(v, v)}, which mcuforge does not support; "
            "supported: NONE, RELU, RELU6, RELU_N1_TO_1"
        )
    return _ACTIVATION_IN[v]


def _pad(v: int, where: str) -> O.Padding:
    if v not in _PADDING_IN:
        raise ModelFormatError(f"{where} has padding code {v}, which is neither SAME nor VALID")
    return _PADDING_IN[v]


def _opt_list(v: Any) -> tuple[int, ...] | None:
    return None if v is None else tuple(int(x) for x in v)


def _pair(v: Any) -> tuple[Any, Any]:
    h, w = v
    return h, w


@dataclass(frozen=True)
class Codec:
    """How one attribute value and its options value(s) convert into each other.

    `read(value, where)` gets the options field's value, or a tuple of them when the
    attribute spans several fields (stride: strideH, strideW); `write(attr)` returns
    the same shape. The writer stores attribute values as they are unless an enum maps.
    """

    read: Callable[[Any, str], Any]
    write: Callable[[Any], Any]


RAW = Codec(lambda v, _w: v, lambda a: a)
INT = Codec(lambda v, _w: int(v), lambda a: a)
BOOL = Codec(lambda v, _w: bool(v), lambda a: a)
FLOAT = Codec(lambda v, _w: float(v), lambda a: a)
PAIR = Codec(lambda v, _w: v, _pair)  # (h, w) from two options fields
ACT = Codec(_act, lambda a: ACTIVATION[a])
PAD = Codec(_pad, lambda a: PADDING[a])
SHAPE = Codec(lambda v, _w: _opt_list(v), lambda a: None if a is None else list(a))  # None: no copy stored
DIMS = Codec(lambda v, _w: _opt_list(v) or (), lambda a: list(a))


@dataclass(frozen=True)
class Field:
    """One attribute field and the options field(s) that hold it."""

    attr: str
    options: tuple[str, ...]
    codec: Codec = RAW

    def get(self, o: Any, where: str) -> Any:
        values = tuple(getattr(o, n) for n in self.options)
        return self.codec.read(values[0] if len(values) == 1 else values, where)

    def put(self, o: Any, value: Any) -> None:
        v = self.codec.write(value)
        for n, x in zip(self.options, (v,) if len(self.options) == 1 else v):
            setattr(o, n, x)


def _f(attr: str, options: str, codec: Codec = RAW) -> Field:
    return Field(attr, tuple(options.split()), codec)


def _fc_check(o: Any, where: str) -> None:
    if o.weightsFormat != fb.FullyConnectedOptionsWeightsFormat.DEFAULT:
        raise UnsupportedError(f"{where} stores its weights shuffled, which mcuforge does not support")


@dataclass(frozen=True)
class OptionsSpec:
    """The options one op carries.

    table: the options table's stem ("Conv2D" -> BuiltinOptions.Conv2DOptions,
    Conv2DOptionsT), or None when the op carries no options (BuiltinOptions.NONE).
    fields: in the order the reader checks them (so the first bad field is named).
    check: reader-only validation of options no attribute holds (run before the fields).
    A spec without fields is written as an empty table and ignored when read.
    """

    table: str | None
    fields: tuple[Field, ...] = ()
    check: Callable[[Any, str], None] | None = None

    @property
    def type(self) -> int:
        return fb.BuiltinOptions.NONE if self.table is None else getattr(fb.BuiltinOptions, f"{self.table}Options")

    def new(self) -> Any:
        return None if self.table is None else getattr(fb, f"{self.table}OptionsT")()


_STRIDE = _f("stride", "strideH strideW", PAIR)
_DILATION = _f("dilation", "dilationHFactor dilationWFactor", PAIR)
_PADDING = _f("padding", "padding", PAD)
_ACTIVATION = _f("activation", "fusedActivationFunction", ACT)
_WINDOW = (_STRIDE, _DILATION, _PADDING, _ACTIVATION)
_POOL = (_f("filter", "filterHeight filterWidth", PAIR), _STRIDE, _PADDING, _ACTIVATION)
_MASKS = (
    _f("begin_mask", "beginMask", INT),
    _f("end_mask", "endMask", INT),
    _f("ellipsis_mask", "ellipsisMask", INT),
    _f("new_axis_mask", "newAxisMask", INT),
    _f("shrink_axis_mask", "shrinkAxisMask", INT),
)

# family spatial (begin)
MIRROR_MODES = {
    O.MirrorPadMode.REFLECT: fb.MirrorPadMode.REFLECT,
    O.MirrorPadMode.SYMMETRIC: fb.MirrorPadMode.SYMMETRIC,
}
_MIRROR_MODES_IN = {v: k for k, v in MIRROR_MODES.items()}


def _mirror_mode(v: int, where: str) -> O.MirrorPadMode:
    if v not in _MIRROR_MODES_IN:
        raise ModelFormatError(f"{where} has mirror padding mode {v}, which is neither REFLECT nor SYMMETRIC")
    return _MIRROR_MODES_IN[v]


MIRROR_MODE = Codec(_mirror_mode, lambda a: MIRROR_MODES[a])
# family spatial (end)

# The one table: op kind -> options. Every op in ir.ops.Op has a row.
# family ssd (begin)
# TFLite_Detection_PostProcess is a custom operator: every attribute lives in its flexbuffer
# custom options (apps/ssd.py reads and writes them), none in builtin options. Each field says
# so: it reads as the attribute's default here and writes nothing.
_IN_CUSTOM_OPTIONS = tuple(
    Field(f.name, (), Codec(lambda _v, _w, d=f.default: d, lambda _a: ()))
    for f in dataclasses.fields(O.DetectionPostprocessAttrs)
)
# family ssd (end)


# family signal (begin)
def _signal_custom_fields(cls: type) -> tuple[Field, ...]:
    """As for TFLite_Detection_PostProcess: the attributes live in flexbuffer custom options
    (frontend/signal_options.py); here each reads as its default and writes nothing."""
    if cls is O.NoAttrs:
        return ()
    return tuple(Field(f.name, (), Codec(lambda _v, _w, d=f.default: d, lambda _a: ())) for f in dataclasses.fields(cls))


# family signal (end)

SPECS: dict[Op, OptionsSpec] = {
    Op.CONV_2D: OptionsSpec("Conv2D", _WINDOW),
    Op.DEPTHWISE_CONV_2D: OptionsSpec("DepthwiseConv2D", (*_WINDOW, _f("depth_multiplier", "depthMultiplier"))),
    Op.FULLY_CONNECTED: OptionsSpec(
        "FullyConnected", (_ACTIVATION, _f("keep_num_dims", "keepNumDims", BOOL)), check=_fc_check
    ),
    Op.ADD: OptionsSpec("Add", (_ACTIVATION,)),
    Op.SUB: OptionsSpec("Sub", (_ACTIVATION,)),
    Op.MUL: OptionsSpec("Mul", (_ACTIVATION,)),
    Op.AVERAGE_POOL_2D: OptionsSpec("Pool2D", _POOL),
    Op.MAX_POOL_2D: OptionsSpec("Pool2D", _POOL),
    Op.MEAN: OptionsSpec("Reducer", (_f("keep_dims", "keepDims", BOOL),)),
    Op.REDUCE_MAX: OptionsSpec("Reducer", (_f("keep_dims", "keepDims", BOOL),)),
    Op.PAD: OptionsSpec("Pad"),
    Op.PADV2: OptionsSpec("PadV2"),
    Op.RESHAPE: OptionsSpec("Reshape", (_f("new_shape", "newShape", SHAPE),)),
    Op.SQUEEZE: OptionsSpec("Squeeze", (_f("squeeze_dims", "squeezeDims", DIMS),)),
    Op.EXPAND_DIMS: OptionsSpec("ExpandDims"),
    Op.TRANSPOSE: OptionsSpec("Transpose"),
    Op.CONCATENATION: OptionsSpec("Concatenation", (_f("axis", "axis", INT), _ACTIVATION)),
    Op.SOFTMAX: OptionsSpec("Softmax", (_f("beta", "beta", FLOAT),)),
    Op.LOGISTIC: OptionsSpec(None),
    Op.TANH: OptionsSpec(None),
    Op.RELU: OptionsSpec(None),
    Op.RELU6: OptionsSpec(None),
    Op.LEAKY_RELU: OptionsSpec("LeakyRelu", (_f("alpha", "alpha", FLOAT),)),
    Op.HARD_SWISH: OptionsSpec("HardSwish"),
    Op.RESIZE_NEAREST_NEIGHBOR: OptionsSpec(
        "ResizeNearestNeighbor",
        (_f("align_corners", "alignCorners", BOOL), _f("half_pixel_centers", "halfPixelCenters", BOOL)),
    ),
    Op.QUANTIZE: OptionsSpec("Quantize"),
    Op.DEQUANTIZE: OptionsSpec("Dequantize"),
    Op.STRIDED_SLICE: OptionsSpec("StridedSlice", (*_MASKS, _f("offset", "offset", BOOL))),
    # family slicing (begin)
    Op.SLICE: OptionsSpec("Slice"),
    Op.SPLIT: OptionsSpec("Split", (_f("num_splits", "numSplits", INT),)),
    Op.SPLIT_V: OptionsSpec("SplitV", (_f("num_splits", "numSplits", INT),)),
    Op.UNPACK: OptionsSpec("Unpack", (_f("num", "num", INT), _f("axis", "axis", INT))),
    Op.PACK: OptionsSpec("Pack", (_f("values_count", "valuesCount", INT), _f("axis", "axis", INT))),
    Op.TILE: OptionsSpec("Tile"),
    Op.BROADCAST_TO: OptionsSpec("BroadcastTo"),
    # family slicing (end)
    # family spatial (begin)
    Op.GATHER: OptionsSpec("Gather", (_f("axis", "axis", INT), _f("batch_dims", "batchDims", INT))),
    Op.GATHER_ND: OptionsSpec("GatherNd"),
    Op.MIRROR_PAD: OptionsSpec("MirrorPad", (_f("mode", "mode", MIRROR_MODE),)),
    Op.REVERSE_V2: OptionsSpec("ReverseV2"),
    Op.DEPTH_TO_SPACE: OptionsSpec("DepthToSpace", (_f("block_size", "blockSize", INT),)),
    Op.SPACE_TO_DEPTH: OptionsSpec("SpaceToDepth", (_f("block_size", "blockSize", INT),)),
    Op.SPACE_TO_BATCH_ND: OptionsSpec("SpaceToBatchND"),
    Op.BATCH_TO_SPACE_ND: OptionsSpec("BatchToSpaceND"),
    # family spatial (end)
    # family binary (begin)
    Op.MAXIMUM: OptionsSpec("MaximumMinimum"),
    Op.MINIMUM: OptionsSpec("MaximumMinimum"),
    Op.EQUAL: OptionsSpec("Equal"),
    Op.NOT_EQUAL: OptionsSpec("NotEqual"),
    Op.GREATER: OptionsSpec("Greater"),
    Op.GREATER_EQUAL: OptionsSpec("GreaterEqual"),
    Op.LESS: OptionsSpec("Less"),
    Op.LESS_EQUAL: OptionsSpec("LessEqual"),
    Op.SELECT_V2: OptionsSpec("SelectV2"),
    Op.SQUARED_DIFFERENCE: OptionsSpec("SquaredDifference"),
    Op.PRELU: OptionsSpec(None),
    Op.LOGICAL_AND: OptionsSpec("LogicalAnd"),
    Op.LOGICAL_OR: OptionsSpec("LogicalOr"),
    Op.LOGICAL_NOT: OptionsSpec("LogicalNot"),
    Op.ADD_N: OptionsSpec("AddN"),
    Op.DIV: OptionsSpec("Div", (_ACTIVATION,)),
    # family binary (end)
    # family unary (begin)
    Op.ABS: OptionsSpec("Abs"),
    Op.NEG: OptionsSpec("Neg"),
    Op.ELU: OptionsSpec(None),
    Op.LOG_SOFTMAX: OptionsSpec("LogSoftmax"),
    Op.L2_NORMALIZATION: OptionsSpec("L2Norm", (_ACTIVATION,)),
    Op.RSQRT: OptionsSpec(None),
    Op.ZEROS_LIKE: OptionsSpec("ZerosLike"),
    Op.FILL: OptionsSpec("Fill"),
    Op.CAST: OptionsSpec("Cast"),
    # family unary (end)
    # family reduce (begin)
    Op.SUM: OptionsSpec("Reducer", (_f("keep_dims", "keepDims", BOOL),)),
    Op.REDUCE_MIN: OptionsSpec("Reducer", (_f("keep_dims", "keepDims", BOOL),)),
    # output_type: the TensorType's name in lower case ("int32", "int64"); the shape rule
    # refuses the others.
    **{
        op: OptionsSpec(
            table,
            (
                _f(
                    "output_type",
                    "outputType",
                    Codec(
                        lambda v, _w: _names(fb.TensorType).get(int(v), f"type code {v}").lower(),
                        lambda a: getattr(fb.TensorType, a.upper()),
                    ),
                ),
            ),
        )
        for op, table in ((Op.ARG_MAX, "ArgMax"), (Op.ARG_MIN, "ArgMin"))
    },
    Op.RESIZE_BILINEAR: OptionsSpec(
        "ResizeBilinear",
        (_f("align_corners", "alignCorners", BOOL), _f("half_pixel_centers", "halfPixelCenters", BOOL)),
    ),
    Op.CUMSUM: OptionsSpec("Cumsum", (_f("exclusive", "exclusive", BOOL), _f("reverse", "reverse", BOOL))),
    # family reduce (end)
    # family matmul (begin)
    Op.TRANSPOSE_CONV: OptionsSpec("TransposeConv", (_STRIDE, _PADDING, _ACTIVATION)),
    Op.BATCH_MATMUL: OptionsSpec("BatchMatMul", (_f("adj_x", "adjX", BOOL), _f("adj_y", "adjY", BOOL))),
    # family matmul (end)
    # family lstm (begin)
    # activation: the cell gate's, by its schema name (ir/shapes_lstm.py refuses all but TANH)
    Op.UNIDIRECTIONAL_SEQUENCE_LSTM: OptionsSpec(
        "UnidirectionalSequenceLSTM",
        (
            _f(
                "activation",
                "fusedActivationFunction",
                Codec(lambda v, _w: _ACT_NAMES.get(int(v), f"code {v}"), lambda a: getattr(fb.ActivationFunctionType, a)),
            ),
            _f("cell_clip", "cellClip", FLOAT),
            _f("proj_clip", "projClip", FLOAT),
            _f("time_major", "timeMajor", BOOL),
            _f("asymmetric_quantize_inputs", "asymmetricQuantizeInputs", BOOL),
            _f("diagonal_recurrent_tensors", "diagonalRecurrentTensors", BOOL),
        ),
    ),
    # family lstm (end)
    Op.MF_YOLO_DETECT: OptionsSpec(None),  # mcuforge's own: never in a .tflite (tflite_write refuses it)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: OptionsSpec(None, _IN_CUSTOM_OPTIONS),
    # family ssd (end)
    # family signal (begin)
    # custom operators: their attributes live in flexbuffer custom options (frontend/signal_options.py)
    **{op: OptionsSpec(None, _signal_custom_fields(O.ATTRS[op])) for op in Op if op.value.startswith("Signal")},
    # family signal (end)
    # family svdf (begin)
    Op.SVDF: OptionsSpec(
        "SVDF",
        (_f("rank", "rank", INT), _ACTIVATION, _f("asymmetric_quantize_inputs", "asymmetricQuantizeInputs", BOOL)),
    ),
    # family svdf (end)
}


def attrs_from_options(op: Op, options_type: int, options: Any, where: str) -> Any:
    """Typed attributes from an operator's builtin options (the schema's defaults when it has none).

    Options of an op whose spec has no fields are not looked at (TF-Lite Micro reads none).
    """
    spec = SPECS[op]
    if not spec.fields:
        return O.ATTRS[op]()
    if options_type != fb.BuiltinOptions.NONE and options_type != spec.type:
        got = OPTION_NAMES.get(options_type, f"options type {options_type}")
        raise ModelFormatError(f"{where} carries {got} instead of {OPTION_NAMES[spec.type]}")
    if options is None:
        options = spec.new()
    if spec.check is not None:
        spec.check(options, where)
    return O.ATTRS[op](**{f.attr: f.get(options, where) for f in spec.fields})


def options_from_attrs(op: Op, attrs: Any) -> tuple[int, Any]:
    """(BuiltinOptions type, options object or None) to write for a node's attributes."""
    spec = SPECS[op]
    o = spec.new()
    for f in spec.fields:
        f.put(o, getattr(attrs, f.attr))
    return spec.type, o

