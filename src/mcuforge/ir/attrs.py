"""The typed attributes of the operator kinds (ir/ops.py's ATTRS names one per op),
the fused-activation and padding enums they use, and explicit padding tuples.

Operands that TFLite passes as tensors (PAD paddings, MEAN axes, RESHAPE shape, ...)
are not attributes: they stay tensors in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


# attribute classes of family lstm (begin)
@dataclass(frozen=True)
class LstmAttrs:
    """UNIDIRECTIONAL_SEQUENCE_LSTM (UnidirectionalSequenceLSTMOptions). `activation` is the
    cell gate's nonlinearity as the schema names it ("TANH"; TF-Lite Micro runs no other);
    the clips are float32 values, 0 meaning none."""

    activation: str = "TANH"
    cell_clip: float = 0.0
    proj_clip: float = 0.0
    time_major: bool = False  # input (time, batch, features); else (batch, time, features)
    asymmetric_quantize_inputs: bool = False  # hybrid (float) kernels only
    diagonal_recurrent_tensors: bool = False


# attribute classes of family lstm (end)


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


# attribute classes of family svdf (begin)
@dataclass(frozen=True)
class SvdfAttrs:
    """SVDF: `rank` (filters per output unit), the fused activation (TF-Lite Micro's integer
    kernel does not apply it; ref/svdf.py) and TFLite's hybrid-only asymmetric_quantize_inputs."""

    rank: int = 1
    activation: Act = Act.NONE
    asymmetric_quantize_inputs: bool = False


# attribute classes of family svdf (end)
