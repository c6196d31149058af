"""Operator kinds and their typed attributes.

Each op kind names one attribute dataclass (frozen). Operands that TFLite passes as
tensors (PAD paddings, MEAN axes, RESHAPE shape, TRANSPOSE perm, STRIDED_SLICE
begin/end/strides, RESIZE size) stay tensors in the graph, so a graph maps one to
one onto a .tflite file and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Op(StrEnum):
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    ADD = "ADD"
    SUB = "SUB"
    MUL = "MUL"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MAX_POOL_2D = "MAX_POOL_2D"
    MEAN = "MEAN"
    REDUCE_MAX = "REDUCE_MAX"
    PAD = "PAD"
    PADV2 = "PADV2"
    RESHAPE = "RESHAPE"
    SQUEEZE = "SQUEEZE"
    EXPAND_DIMS = "EXPAND_DIMS"
    TRANSPOSE = "TRANSPOSE"
    CONCATENATION = "CONCATENATION"
    SOFTMAX = "SOFTMAX"
    LOGISTIC = "LOGISTIC"
    TANH = "TANH"
    RELU = "RELU"
    RELU6 = "RELU6"
    LEAKY_RELU = "LEAKY_RELU"
    HARD_SWISH = "HARD_SWISH"
    RESIZE_NEAREST_NEIGHBOR = "RESIZE_NEAREST_NEIGHBOR"
    QUANTIZE = "QUANTIZE"
    DEQUANTIZE = "DEQUANTIZE"
    STRIDED_SLICE = "STRIDED_SLICE"
    # family slicing (begin)
    SLICE = "SLICE"
    SPLIT = "SPLIT"
    SPLIT_V = "SPLIT_V"
    UNPACK = "UNPACK"
    PACK = "PACK"
    TILE = "TILE"
    BROADCAST_TO = "BROADCAST_TO"
    # family slicing (end)
    # family spatial (begin)
    GATHER = "GATHER"
    GATHER_ND = "GATHER_ND"
    MIRROR_PAD = "MIRROR_PAD"
    REVERSE_V2 = "REVERSE_V2"
    DEPTH_TO_SPACE = "DEPTH_TO_SPACE"
    SPACE_TO_DEPTH = "SPACE_TO_DEPTH"
    SPACE_TO_BATCH_ND = "SPACE_TO_BATCH_ND"
    BATCH_TO_SPACE_ND = "BATCH_TO_SPACE_ND"
    # family spatial (end)
    # family binary (begin)
    MAXIMUM = "MAXIMUM"
    MINIMUM = "MINIMUM"
    EQUAL = "EQUAL"
    NOT_EQUAL = "NOT_EQUAL"
    GREATER = "GREATER"
    GREATER_EQUAL = "GREATER_EQUAL"
    LESS = "LESS"
    LESS_EQUAL = "LESS_EQUAL"
    SELECT_V2 = "SELECT_V2"
    SQUARED_DIFFERENCE = "SQUARED_DIFFERENCE"
    PRELU = "PRELU"
    LOGICAL_AND = "LOGICAL_AND"
    LOGICAL_OR = "LOGICAL_OR"
    LOGICAL_NOT = "LOGICAL_NOT"
    ADD_N = "ADD_N"
    DIV = "DIV"
    # family binary (end)
    # family unary (begin)
    ABS = "ABS"
    NEG = "NEG"
    ELU = "ELU"
    LOG_SOFTMAX = "LOG_SOFTMAX"
    L2_NORMALIZATION = "L2_NORMALIZATION"
    RSQRT = "RSQRT"
    ZEROS_LIKE = "ZEROS_LIKE"
    FILL = "FILL"
    CAST = "CAST"
    # family unary (end)
    # family reduce (begin)
    SUM = "SUM"
    REDUCE_MIN = "REDUCE_MIN"
    ARG_MAX = "ARG_MAX"
    ARG_MIN = "ARG_MIN"
    RESIZE_BILINEAR = "RESIZE_BILINEAR"
    CUMSUM = "CUMSUM"
    # family reduce (end)
    # family matmul (begin)
    TRANSPOSE_CONV = "TRANSPOSE_CONV"
    BATCH_MATMUL = "BATCH_MATMUL"
    # family matmul (end)
    # mcuforge's own (no TFLite builtin): detection post-processing (apps/yolo.py)
    MF_YOLO_DETECT = "MCUFORGE_YOLO_DETECT"
    # family ssd (begin)
    # TF-Lite Micro's custom operator (custom_code, flexbuffer options): apps/ssd.py
    DETECTION_POSTPROCESS = "TFLite_Detection_PostProcess"
    # family ssd (end)


# mcuforge's own steps (no TFLite builtin): never read from or written to a .tflite file.
OWN_OPS = frozenset({Op.MF_YOLO_DETECT})

# Ops whose output is the input's bytes reinterpreted: the planner may give both one buffer
# (plan/lifetimes.py) and then they have no code (codegen/generate.py).
ALIAS_OPS = frozenset({Op.RESHAPE, Op.SQUEEZE, Op.EXPAND_DIMS})


class Act(StrEnum):
    """Fused activation (TFLite ActivationFunctionType subset)."""

    NONE = "NONE"
    RELU = "RELU"
    RELU_N1_TO_1 = "RELU_N1_TO_1"
    RELU6 = "RELU6"


class Padding(StrEnum):
    SAME = "SAME"
    VALID = "VALID"


# Explicit padding (top, bottom, left, right): what passes/fold_pad writes into a
# convolution's `padding` when it absorbs a PAD node. TFLite files only hold SAME/VALID.
Pads = tuple[int, int, int, int]


def axis_padding(padding: "Padding | Pads", axis: int) -> "Padding | tuple[int, int]":
    """The padding along spatial axis 0 (height) or 1 (width): SAME/VALID or (before, after)."""
    if isinstance(padding, tuple):
        return (padding[2 * axis], padding[2 * axis + 1])
    return Padding(padding)


@dataclass(frozen=True)
class NoAttrs:
    pass


@dataclass(frozen=True)
class ConvAttrs:
    stride: tuple[int, int] = (1, 1)  # (h, w)
    dilation: tuple[int, int] = (1, 1)  # (h, w)
    padding: Padding | Pads = Padding.SAME
    activation: Act = Act.NONE


@dataclass(frozen=True)
class DepthwiseAttrs:
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding | Pads = Padding.SAME
    activation: Act = Act.NONE
    depth_multiplier: int = 1


@dataclass(frozen=True)
class FullyConnectedAttrs:
    activation: Act = Act.NONE
    keep_num_dims: bool = False


@dataclass(frozen=True)
class PoolAttrs:
    filter: tuple[int, int] = (2, 2)  # (h, w)
    stride: tuple[int, int] = (2, 2)
    padding: Padding | Pads = Padding.VALID  # explicit pads: per-patch pools (patch/regions.py)
    activation: Act = Act.NONE


@dataclass(frozen=True)
class ElementwiseAttrs:
    """ADD, SUB, MUL."""

    activation: Act = Act.NONE


@dataclass(frozen=True)
class ReduceAttrs:
    """MEAN, REDUCE_MAX (axes are the second input tensor)."""

    keep_dims: bool = False


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int = -1
    activation: Act = Act.NONE


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass(frozen=True)
class LeakyReluAttrs:
    alpha: float = 0.2


@dataclass(frozen=True)
class ResizeAttrs:
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class ReshapeAttrs:
    new_shape: tuple[int, ...] | None = None  # the option copy; the shape input rules


@dataclass(frozen=True)
class SqueezeAttrs:
    squeeze_dims: tuple[int, ...] = ()


@dataclass(frozen=True)
class StridedSliceAttrs:
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False


# attribute classes of family slicing (begin)
@dataclass(frozen=True)
class SplitAttrs:
    """SPLIT, SPLIT_V (the axis, and SPLIT_V's sizes, are input tensors)."""

    num_splits: int = 1


@dataclass(frozen=True)
class UnpackAttrs:
    num: int = 1  # number of outputs: the input's size along axis
    axis: int = 0


@dataclass(frozen=True)
class PackAttrs:
    values_count: int = 1  # number of inputs
    axis: int = 0  # the new output axis (negative counts from the output's rank)


# attribute classes of family slicing (end)

# attribute classes of family spatial (begin)
@dataclass(frozen=True)
class GatherAttrs:
    axis: int = 0  # negative counts from the end of the params' rank
    batch_dims: int = 0  # negative counts from the end of the indices' rank


@dataclass(frozen=True)
class BlockAttrs:
    """DEPTH_TO_SPACE, SPACE_TO_DEPTH."""

    block_size: int = 2


class MirrorPadMode(StrEnum):
    REFLECT = "REFLECT"  # the edge element is not repeated: 3 2 | 1 2 3 | 2 1
    SYMMETRIC = "SYMMETRIC"  # the edge element is repeated: 2 1 | 1 2 3 | 3 2


@dataclass(frozen=True)
class MirrorPadAttrs:
    mode: MirrorPadMode = MirrorPadMode.REFLECT
# attribute classes of family spatial (end)

# attribute classes of family binary (begin)
@dataclass(frozen=True)
class DivAttrs:
    """DIV (DivOptions: a fused activation)."""

    activation: Act = Act.NONE


# attribute classes of family binary (end)

# attribute classes of family unary (begin)
@dataclass(frozen=True)
class L2NormAttrs:
    """L2_NORMALIZATION: TF-Lite Micro runs only activation NONE."""

    activation: Act = Act.NONE
# attribute classes of family unary (end)

# attribute classes of family reduce (begin)
@dataclass(frozen=True)
class ArgMinMaxAttrs:
    """ARG_MAX, ARG_MIN (the axis is the second input tensor): the index type written."""

    output_type: str = "int64"  # "int32" or "int64", the output tensor's dtype


@dataclass(frozen=True)
class CumsumAttrs:
    """CUMSUM (the axis is the second input tensor)."""

    exclusive: bool = False
    reverse: bool = False


# attribute classes of family reduce (end)

# attribute classes of family matmul (begin)
@dataclass(frozen=True)
class TransposeConvAttrs:
    """TRANSPOSE_CONV (inputs: output_shape, weights, input, bias); dilation is always 1."""

    stride: tuple[int, int] = (1, 1)  # (h, w)
    padding: Padding = Padding.SAME
    activation: Act = Act.NONE


@dataclass(frozen=True)
class BatchMatMulAttrs:
    adj_x: bool = False  # transpose the last two dimensions of input 0
    adj_y: bool = False  # transpose the last two dimensions of input 1


# attribute classes of family matmul (end)


@dataclass(frozen=True)
class DetectAttrs:
    """MF_YOLO_DETECT (apps/yolo.py): one head per input, in the order given."""

    heads: tuple = ()  # apps.yolo.YoloHead per input: stride, anchors (w, h) in input pixels, classes
    image: tuple[int, int] = (0, 0)  # the model input's (height, width)
    score_threshold: float = 0.3
    nms_threshold: float = 0.45
    max_boxes: int = 20
    max_candidates: int = 100


# attribute classes of family ssd (begin)
@dataclass(frozen=True)
class DetectionPostprocessAttrs:
    """DETECTION_POSTPROCESS (apps/ssd.py): the custom operator's flexbuffer options
    (floats hold float32 values, as TF-Lite Micro reads them)."""

    max_detections: int = 10
    max_classes_per_detection: int = 1  # fast NMS: best classes per box
    detections_per_class: int = 100  # regular NMS: per class
    use_regular_nms: bool = False
    nms_score_threshold: float = 0.0
    nms_iou_threshold: float = 0.5
    num_classes: int = 1  # without the background class
    y_scale: float = 10.0
    x_scale: float = 10.0
    h_scale: float = 5.0
    w_scale: float = 5.0


# attribute classes of family ssd (end)


# The one table: op kind -> attribute class.
ATTRS: dict[Op, type] = {
    Op.CONV_2D: ConvAttrs,
    Op.DEPTHWISE_CONV_2D: DepthwiseAttrs,
    Op.FULLY_CONNECTED: FullyConnectedAttrs,
    Op.ADD: ElementwiseAttrs,
    Op.SUB: ElementwiseAttrs,
    Op.MUL: ElementwiseAttrs,
    Op.AVERAGE_POOL_2D: PoolAttrs,
    Op.MAX_POOL_2D: PoolAttrs,
    Op.MEAN: ReduceAttrs,
    Op.REDUCE_MAX: ReduceAttrs,
    Op.PAD: NoAttrs,
    Op.PADV2: NoAttrs,
    Op.RESHAPE: ReshapeAttrs,
    Op.SQUEEZE: SqueezeAttrs,
    Op.EXPAND_DIMS: NoAttrs,
    Op.TRANSPOSE: NoAttrs,
    Op.CONCATENATION: ConcatAttrs,
    Op.SOFTMAX: SoftmaxAttrs,
    Op.LOGISTIC: NoAttrs,
    Op.TANH: NoAttrs,
    Op.RELU: NoAttrs,
    Op.RELU6: NoAttrs,
    Op.LEAKY_RELU: LeakyReluAttrs,
    Op.HARD_SWISH: NoAttrs,
    Op.RESIZE_NEAREST_NEIGHBOR: ResizeAttrs,
    Op.QUANTIZE: NoAttrs,
    Op.DEQUANTIZE: NoAttrs,
    Op.STRIDED_SLICE: StridedSliceAttrs,
    # family slicing (begin)
    Op.SLICE: NoAttrs,
    Op.SPLIT: SplitAttrs,
    Op.SPLIT_V: SplitAttrs,
    Op.UNPACK: UnpackAttrs,
    Op.PACK: PackAttrs,
    Op.TILE: NoAttrs,
    Op.BROADCAST_TO: NoAttrs,
    # family slicing (end)
    # family spatial (begin)
    Op.GATHER: GatherAttrs,
    Op.GATHER_ND: NoAttrs,
    Op.MIRROR_PAD: MirrorPadAttrs,
    Op.REVERSE_V2: NoAttrs,
    Op.DEPTH_TO_SPACE: BlockAttrs,
    Op.SPACE_TO_DEPTH: BlockAttrs,
    Op.SPACE_TO_BATCH_ND: NoAttrs,
    Op.BATCH_TO_SPACE_ND: NoAttrs,
    # family spatial (end)
    # family binary (begin)
    Op.MAXIMUM: NoAttrs,
    Op.MINIMUM: NoAttrs,
    Op.EQUAL: NoAttrs,
    Op.NOT_EQUAL: NoAttrs,
    Op.GREATER: NoAttrs,
    Op.GREATER_EQUAL: NoAttrs,
    Op.LESS: NoAttrs,
    Op.LESS_EQUAL: NoAttrs,
    Op.SELECT_V2: NoAttrs,
    Op.SQUARED_DIFFERENCE: NoAttrs,
    Op.PRELU: NoAttrs,
    Op.LOGICAL_AND: NoAttrs,
    Op.LOGICAL_OR: NoAttrs,
    Op.LOGICAL_NOT: NoAttrs,
    Op.ADD_N: NoAttrs,
    Op.DIV: DivAttrs,
    # family binary (end)
    # family unary (begin)
    Op.ABS: NoAttrs,
    Op.NEG: NoAttrs,
    Op.ELU: NoAttrs,
    Op.LOG_SOFTMAX: NoAttrs,
    Op.L2_NORMALIZATION: L2NormAttrs,
    Op.RSQRT: NoAttrs,
    Op.ZEROS_LIKE: NoAttrs,
    Op.FILL: NoAttrs,
    Op.CAST: NoAttrs,
    # family unary (end)
    # family reduce (begin)
    Op.SUM: ReduceAttrs,
    Op.REDUCE_MIN: ReduceAttrs,
    Op.ARG_MAX: ArgMinMaxAttrs,
    Op.ARG_MIN: ArgMinMaxAttrs,
    Op.RESIZE_BILINEAR: ResizeAttrs,
    Op.CUMSUM: CumsumAttrs,
    # family reduce (end)
    # family matmul (begin)
    Op.TRANSPOSE_CONV: TransposeConvAttrs,
    Op.BATCH_MATMUL: BatchMatMulAttrs,
    # family matmul (end)
    Op.MF_YOLO_DETECT: DetectAttrs,
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: DetectionPostprocessAttrs,
    # family ssd (end)
}

# Number of tensor inputs each op takes: (min, max). Optional inputs are None.
ARITY: dict[Op, tuple[int, int]] = {
    Op.CONV_2D: (2, 3),
    Op.DEPTHWISE_CONV_2D: (2, 3),
    Op.FULLY_CONNECTED: (2, 3),
    Op.ADD: (2, 2),
    Op.SUB: (2, 2),
    Op.MUL: (2, 2),
    Op.MEAN: (2, 2),
    Op.REDUCE_MAX: (2, 2),
    Op.PAD: (2, 2),
    Op.PADV2: (3, 3),
    Op.RESHAPE: (1, 2),
    Op.EXPAND_DIMS: (2, 2),
    Op.TRANSPOSE: (2, 2),
    Op.CONCATENATION: (1, 1 << 16),
    Op.RESIZE_NEAREST_NEIGHBOR: (2, 2),
    Op.STRIDED_SLICE: (4, 4),
    # family slicing (begin)
    Op.SLICE: (3, 3),
    Op.SPLIT: (2, 2),
    Op.SPLIT_V: (3, 3),
    Op.PACK: (1, 1 << 16),
    Op.TILE: (2, 2),
    Op.BROADCAST_TO: (2, 2),
    # family slicing (end)
    # family spatial (begin)
    Op.GATHER: (2, 2),
    Op.GATHER_ND: (2, 2),
    Op.MIRROR_PAD: (2, 2),
    Op.REVERSE_V2: (2, 2),
    Op.SPACE_TO_BATCH_ND: (3, 3),
    Op.BATCH_TO_SPACE_ND: (3, 3),
    # family spatial (end)
    # family binary (begin)
    Op.MAXIMUM: (2, 2),
    Op.MINIMUM: (2, 2),
    Op.EQUAL: (2, 2),
    Op.NOT_EQUAL: (2, 2),
    Op.GREATER: (2, 2),
    Op.GREATER_EQUAL: (2, 2),
    Op.LESS: (2, 2),
    Op.LESS_EQUAL: (2, 2),
    Op.SELECT_V2: (3, 3),
    Op.SQUARED_DIFFERENCE: (2, 2),
    Op.PRELU: (2, 2),
    Op.LOGICAL_AND: (2, 2),
    Op.LOGICAL_OR: (2, 2),
    Op.ADD_N: (2, 1 << 16),
    Op.DIV: (2, 2),
    # family binary (end)
    # family unary (begin)
    Op.FILL: (2, 2),
    # family unary (end)
    # family reduce (begin)
    Op.SUM: (2, 2),
    Op.REDUCE_MIN: (2, 2),
    Op.ARG_MAX: (2, 2),
    Op.ARG_MIN: (2, 2),
    Op.RESIZE_BILINEAR: (2, 2),
    Op.CUMSUM: (2, 2),
    # family reduce (end)
    # family matmul (begin)
    Op.TRANSPOSE_CONV: (3, 4),
    Op.BATCH_MATMUL: (2, 2),
    # family matmul (end)
    Op.MF_YOLO_DETECT: (1, 4),
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: (3, 3),  # box encodings, class scores, anchors
    # family ssd (end)
}


def arity(op: Op) -> tuple[int, int]:
    return ARITY.get(op, (1, 1))
