"""Operator kinds and their typed attributes.

Each op kind names one attribute dataclass (frozen; they live in ir/attrs.py and are
re-exported here). Operands that TFLite passes as tensors (PAD paddings, MEAN axes,
RESHAPE shape, TRANSPOSE perm, STRIDED_SLICE begin/end/strides, RESIZE size) stay
tensors in the graph, so a graph maps one to one onto a .tflite file and back.
"""

from __future__ import annotations

from enum import StrEnum

from mcuforge.ir.attrs import (  # re-exported: ops.ConvAttrs etc. are the attributes' usual names
    ArgMinMaxAttrs,
    BatchMatMulAttrs,
    BlockAttrs,
    ConcatAttrs,
    ConvAttrs,
    CumsumAttrs,
    DepthwiseAttrs,
    DetectAttrs,
    DetectionPostprocessAttrs,
    DivAttrs,
    ElementwiseAttrs,
    FullyConnectedAttrs,
    GatherAttrs,
    L2NormAttrs,
    LstmAttrs,
    LeakyReluAttrs,
    MirrorPadAttrs,
    NoAttrs,
    PackAttrs,
    PoolAttrs,
    ReduceAttrs,
    ReshapeAttrs,
    ResizeAttrs,
    SoftmaxAttrs,
    SplitAttrs,
    SqueezeAttrs,
    StridedSliceAttrs,
    TransposeConvAttrs,
    UnpackAttrs,
)
from mcuforge.ir.attrs import SvdfAttrs  # family svdf
from mcuforge.ir.attrs import Act, MirrorPadMode, Padding, Pads, axis_padding  # noqa: F401 - re-exported

# family signal (begin)
from mcuforge.ir.attrs_signal import (  # noqa: F401 - re-exported
    SignalDelayAttrs,
    SignalFramerAttrs,
    SignalOverlapAddAttrs,
    SignalStackerAttrs,
    SignalEnergyAttrs,
    SignalFilterBankAttrs,
    SignalFilterBankLogAttrs,
    SignalPcanAttrs,
    SignalRfftAttrs,
    SignalSpectralSubtractionAttrs,
    SignalWindowAttrs,
)

# family signal (end)


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
    # family lstm (begin)
    UNIDIRECTIONAL_SEQUENCE_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    # family lstm (end)
    # family ssd (begin)
    # TF-Lite Micro's custom operator (custom_code, flexbuffer options): apps/ssd.py
    DETECTION_POSTPROCESS = "TFLite_Detection_PostProcess"
    # family ssd (end)
    # family signal (begin)
    # TF-Lite Micro's signal-library custom operators (custom code = value): ref/signal.py
    SIGNAL_WINDOW = "SignalWindow"
    SIGNAL_FFT_AUTO_SCALE = "SignalFftAutoScale"
    SIGNAL_RFFT = "SignalRfft"
    SIGNAL_ENERGY = "SignalEnergy"
    SIGNAL_FILTER_BANK = "SignalFilterBank"
    SIGNAL_FILTER_BANK_SQUARE_ROOT = "SignalFilterBankSquareRoot"
    SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION = "SignalFilterBankSpectralSubtraction"
    SIGNAL_PCAN = "SignalPCAN"
    SIGNAL_FILTER_BANK_LOG = "SignalFilterBankLog"
    SIGNAL_FRAMER = "SignalFramer"
    SIGNAL_STACKER = "SignalStacker"
    SIGNAL_DELAY = "SignalDelay"
    SIGNAL_OVERLAP_ADD = "SignalOverlapAdd"
    # family signal (end)
    # family svdf (begin)
    SVDF = "SVDF"
    # family svdf (end)


# mcuforge's own steps (no TFLite builtin): never read from or written to a .tflite file.
OWN_OPS = frozenset({Op.MF_YOLO_DETECT})

# Ops whose output is the input's bytes reinterpreted: the planner may give both one buffer
# (plan/lifetimes.py) and then they have no code (codegen/generate.py).
ALIAS_OPS = frozenset({Op.RESHAPE, Op.SQUEEZE, Op.EXPAND_DIMS})


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
    # family lstm (begin)
    Op.UNIDIRECTIONAL_SEQUENCE_LSTM: LstmAttrs,
    # family lstm (end)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: DetectionPostprocessAttrs,
    # family ssd (end)
    # family signal (begin)
    Op.SIGNAL_WINDOW: SignalWindowAttrs,
    Op.SIGNAL_FFT_AUTO_SCALE: NoAttrs,
    Op.SIGNAL_RFFT: SignalRfftAttrs,
    Op.SIGNAL_ENERGY: SignalEnergyAttrs,
    Op.SIGNAL_FILTER_BANK: SignalFilterBankAttrs,
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT: NoAttrs,
    Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION: SignalSpectralSubtractionAttrs,
    Op.SIGNAL_PCAN: SignalPcanAttrs,
    Op.SIGNAL_FILTER_BANK_LOG: SignalFilterBankLogAttrs,
    Op.SIGNAL_FRAMER: SignalFramerAttrs,
    Op.SIGNAL_STACKER: SignalStackerAttrs,
    Op.SIGNAL_DELAY: SignalDelayAttrs,
    Op.SIGNAL_OVERLAP_ADD: SignalOverlapAddAttrs,
    # family signal (end)
    # family svdf (begin)
    Op.SVDF: SvdfAttrs,
    # family svdf (end)
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
    # family lstm (begin)
    Op.UNIDIRECTIONAL_SEQUENCE_LSTM: (24, 24),  # TFLite's fixed slots, absent ones None (ref/lstm.py)
    # family lstm (end)
    # family ssd (begin)
    Op.DETECTION_POSTPROCESS: (3, 3),  # box encodings, class scores, anchors
    # family ssd (end)
    # family signal (begin)
    Op.SIGNAL_WINDOW: (2, 2),  # samples, window weights
    Op.SIGNAL_ENERGY: (1, 1),
    Op.SIGNAL_FILTER_BANK: (6, 6),  # energies, weights, unweights, frequency starts, weight starts, widths
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT: (2, 2),  # filter bank, scale bits
    Op.SIGNAL_PCAN: (3, 3),  # signal, noise estimate, gain table
    # the stateful ones: (the reader's) state variable last
    Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION: (1, 2),
    Op.SIGNAL_DELAY: (1, 2),
    Op.SIGNAL_OVERLAP_ADD: (1, 2),
    Op.SIGNAL_FRAMER: (1, 2),
    Op.SIGNAL_STACKER: (1, 2),
    # family signal (end)
    # family svdf (begin)
    Op.SVDF: (5, 5),  # input, weights_feature, weights_time, bias (optional), state (variable)
    # family svdf (end)
}


def arity(op: Op) -> tuple[int, int]:
    return ARITY.get(op, (1, 1))
