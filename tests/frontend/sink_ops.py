"""The reader's kitchen sinks (tests/frontend/test_read.py): raw .tflite files written with
TFLite's own schema (tfl_models, not mcuforge's writer) that hold every operator mcuforge
reads, with options other than the schema's defaults where an operator has any.

`kitchen_sink` is one model TF-Lite Micro runs: a main chain from a float input to a float
output, and side branches (multi-output pieces, bool and int32 tensors) that end in extra
graph outputs. `outside_tflm` holds the operators TF-Lite Micro cannot run on int8 (see
NOT_IN_TFLM); LiteRT runs it instead. Each returns the file and the expected (op, attrs) of
every node, in the file's order.
"""

from __future__ import annotations

import numpy as np
from tfl_models import TflBuilder, options, quantized_weights
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.ir import ops as O
from mcuforge.ir.ops import Op

Q = dict(scale=0.05, zero_point=3)  # the quantisation of most activations

# Operators TF-Lite Micro cannot run on int8, so they are in `outside_tflm`, not in the sink:
# it registers no TILE kernel (tests/ref/test_slicing.py::test_tflm_has_no_tile) and its NEG is
# float only (tests/ref/test_unary.py::test_neg_is_float_only_in_tflm).
NOT_IN_TFLM = frozenset({Op.TILE, Op.NEG})


class Sink:
    """A TflBuilder that records the expected (op, attrs) of each node it writes."""

    def __init__(self) -> None:
        self.b = TflBuilder()
        self.rng = np.random.default_rng(0)
        self.expect: list[tuple[Op, object]] = []
        self.side_outputs: list[int] = []

    def act(self, shape, dtype: str = "int8", **quant) -> int:
        """A runtime tensor: int8 quantised as Q unless told otherwise; bool and int32 unquantised."""
        return self.b.tensor(shape, dtype, **(quant or (Q if dtype == "int8" else {})))

    def const(self, values, dtype: str = "int32", **quant) -> int:
        return self.b.const(values, dtype, **quant)

    def multi(self, kind: str, inputs, outputs, opts=None, attrs=None) -> list[int]:
        self.b.op(kind, inputs, outputs, opts)
        self.expect.append((Op(kind), O.NoAttrs() if attrs is None else attrs))
        return list(outputs)

    def step(self, kind: str, inputs, out: int, opts=None, attrs=None) -> int:
        return self.multi(kind, inputs, [out], opts, attrs)[0]


def kitchen_sink() -> tuple[bytes, list[tuple[Op, object]]]:
    """Every operator TF-Lite Micro runs, in one model it runs (test_read.py runs it there)."""
    s = Sink()
    xf = s.b.tensor((1, 8, 8, 4), "float32")
    y = _core(s, xf)  # (1, 4, 5)
    # The core's end holds few distinct values; a second input gives the rest of the chain all of int8's.
    x2 = s.act((1, 4, 5))
    y = s.step("ADD", [y, x2], s.act((1, 4, 5)), options("AddOptions"), O.ElementwiseAttrs())
    y = _spatial(s, y)  # (2, 1, 4)
    y, pair = _slicing(s, y)  # (1, 2, 2, 2), two (1, 4) tensors
    _binary(s, *pair)
    y = _matmul_and_reduce(s, y)  # (1, 1, 3, 5)
    y = _unary(s, y)
    _lstm(s, x2)  # family lstm
    _detection(s, x2)
    _signal(s)  # family signal
    _svdf(s, x2)  # family svdf
    y = s.step("DEQUANTIZE", [y], s.b.tensor((1, 1, 3, 5), "float32"))
    return s.b.build([xf, x2], [y, *s.side_outputs]), s.expect


def sink_inputs(seed: int = 0) -> list[np.ndarray]:
    """Inputs for kitchen_sink: floats in [-1, 1), and 20 distinct int8 values."""
    rng = np.random.default_rng(seed)
    x2 = rng.permutation(np.arange(-128, 128))[:20].astype(np.int8)
    return [rng.uniform(-1, 1, (1, 8, 8, 4)).astype(np.float32), x2.reshape(1, 4, 5)]


def outside_tflm() -> tuple[bytes, list[tuple[Op, object]]]:
    """The operators of NOT_IN_TFLM (test_read.py runs it in LiteRT)."""
    s = Sink()
    x = s.act((2, 3), scale=0.05, zero_point=0)
    y = s.step("TILE", [x, s.const([2, 1])], s.act((4, 3), scale=0.05, zero_point=0))
    # zero point 0: LiteRT's int8 NEG negates the raw values
    y = s.step("NEG", [y], s.act((4, 3), scale=0.05, zero_point=0), options("NegOptions"))
    return s.b.build([x], [y]), s.expect


def _core(s: Sink, xf: int) -> int:
    """The first operators mcuforge read: QUANTIZE, convolutions, pools, shapes, activations."""
    act, step, b, rng, q = s.act, s.step, s.b, s.rng, Q
    x = step("QUANTIZE", [xf], act((1, 8, 8, 4)))
    w, ws = quantized_weights(rng, (8, 3, 3, 4), 0)
    conv = options(
        "Conv2DOptions",
        padding=fb.Padding.VALID,
        strideH=2,
        strideW=1,
        dilationHFactor=1,
        dilationWFactor=2,
        fusedActivationFunction=3,
    )
    bias = b.const(np.arange(8), "int32", scale=[0.05 * sc for sc in ws], zero_point=[0] * 8)
    y = step(
        "CONV_2D",
        [x, b.const(w, scale=ws, zero_point=[0] * 8), bias],
        act((1, 3, 4, 8)),
        conv,
        O.ConvAttrs((2, 1), (1, 2), O.Padding.VALID, O.Act.RELU6),
    )
    w, ws = quantized_weights(rng, (1, 3, 3, 16), 3)
    dw = options(
        "DepthwiseConv2DOptions",
        padding=fb.Padding.SAME,
        strideH=1,
        strideW=1,
        depthMultiplier=2,
        fusedActivationFunction=2,
    )
    bias = b.const(np.arange(16), "int32", scale=[0.05 * sc for sc in ws], zero_point=[0] * 16)
    y = step(
        "DEPTHWISE_CONV_2D",
        [y, b.const(w, scale=ws, zero_point=[0] * 16, axis=3), bias],
        act((1, 3, 4, 16)),
        dw,
        O.DepthwiseAttrs(padding=O.Padding.SAME, activation=O.Act.RELU_N1_TO_1, depth_multiplier=2),
    )
    pool = options("Pool2DOptions", padding=fb.Padding.SAME, strideH=2, strideW=2, filterHeight=3, filterWidth=2)
    y = step("MAX_POOL_2D", [y], act((1, 2, 2, 16)), pool, O.PoolAttrs((3, 2), (2, 2), O.Padding.SAME))
    pool = options(
        "Pool2DOptions",
        padding=fb.Padding.VALID,
        strideH=1,
        strideW=1,
        filterHeight=1,
        filterWidth=2,
        fusedActivationFunction=1,
    )
    y = step("AVERAGE_POOL_2D", [y], act((1, 2, 1, 16)), pool, O.PoolAttrs((1, 2), (1, 1), O.Padding.VALID, O.Act.RELU))
    y = step(
        "MEAN",
        [y, b.const([1, -2], "int32")],
        act((1, 1, 1, 16)),
        options("ReducerOptions", keepDims=True),
        O.ReduceAttrs(True),
    )
    rs = options("ResizeNearestNeighborOptions", alignCorners=True, halfPixelCenters=False)
    y = step(
        "RESIZE_NEAREST_NEIGHBOR", [y, b.const([2, 3], "int32")], act((1, 2, 3, 16)), rs, O.ResizeAttrs(True, False)
    )
    y = step("CONCATENATION", [y, y], act((1, 2, 3, 32)), options("ConcatenationOptions", axis=-1), O.ConcatAttrs(-1))
    # TF-Lite Micro ignores `offset` (strided_slice_common.cc); it is tested in tests/ir/test_shapes.py.
    ss = options("StridedSliceOptions", beginMask=2, endMask=0, shrinkAxisMask=1)
    ends = b.const([1, 2, 3, 32], "int32")
    y = step(
        "STRIDED_SLICE",
        [y, b.const([0, 1, 1, 0], "int32"), ends, b.const([1, 1, 1, 2], "int32")],
        act((2, 2, 16)),
        ss,
        O.StridedSliceAttrs(2, 0, 0, 0, 1),
    )
    y = step(
        "RESHAPE",
        [y],
        act((1, 2, 2, 16)),
        options("ReshapeOptions", newShape=[1, 2, -1, 16]),
        O.ReshapeAttrs((1, 2, -1, 16)),
    )
    y = step("SQUEEZE", [y], act((2, 2, 16)), options("SqueezeOptions", squeezeDims=[0]), O.SqueezeAttrs((0,)))
    y = step("EXPAND_DIMS", [y, b.const([-1], "int32")], act((2, 2, 16, 1)))
    y = step("TRANSPOSE", [y, b.const([3, 0, 1, 2], "int32")], act((1, 2, 2, 16)))
    y = step("PAD", [y, b.const([[0, 0], [1, 1], [0, 0], [0, 0]], "int32")], act((1, 4, 2, 16)))
    pad_value = b.const([5], "int8", **q)
    y = step("PADV2", [y, b.const([[0, 0], [0, 0], [1, 0], [0, 0]], "int32"), pad_value], act((1, 4, 3, 16)))
    w, ws = quantized_weights(rng, (5, 16), 0)
    fc = options("FullyConnectedOptions", keepNumDims=True, fusedActivationFunction=1)
    y = step(
        "FULLY_CONNECTED",
        [y, b.const(w, scale=ws[0]), -1],
        act((1, 4, 3, 5)),
        fc,
        O.FullyConnectedAttrs(O.Act.RELU, True),
    )
    fc_out = y  # the second operand (SUB of y and y would be the zero point everywhere)
    for kind, cls in (("ADD", "AddOptions"), ("SUB", "SubOptions"), ("MUL", "MulOptions")):
        y = step(
            kind, [y, fc_out], act((1, 4, 3, 5)), options(cls, fusedActivationFunction=3),
            O.ElementwiseAttrs(O.Act.RELU6),
        )  # fmt: skip
    y = step("LEAKY_RELU", [y], act((1, 4, 3, 5)), options("LeakyReluOptions", alpha=0.25), O.LeakyReluAttrs(0.25))
    y = step("HARD_SWISH", [y], act((1, 4, 3, 5)))
    y = step("RELU", [y], act((1, 4, 3, 5)))
    y = step("RELU6", [y], act((1, 4, 3, 5)))
    y = step("TANH", [y], act((1, 4, 3, 5), scale=1 / 128, zero_point=0))
    y = step("LOGISTIC", [y], act((1, 4, 3, 5), scale=1 / 256, zero_point=-128))
    y = step(
        "REDUCE_MAX",
        [y, b.const(2, "int32")],
        act((1, 4, 5), scale=1 / 256, zero_point=-128),
        options("ReducerOptions", keepDims=False),
        O.ReduceAttrs(False),
    )
    return step(
        "SOFTMAX",
        [y],
        act((1, 4, 5), scale=1 / 256, zero_point=-128),
        options("SoftmaxOptions", beta=0.5),
        O.SoftmaxAttrs(0.5),
    )


def _spatial(s: Sink, y: int) -> int:
    """(1, 4, 5) -> (2, 1, 4): GATHER, DEPTH_TO_SPACE, ..., GATHER_ND."""
    act, step, c = s.act, s.step, s.const
    y = step("GATHER", [y, c([[4, 0, 1, 2]])], act((1, 4, 1, 4)), options("GatherOptions", axis=-1), O.GatherAttrs(-1))
    y = step("DEPTH_TO_SPACE", [y], act((1, 8, 2, 1)), options("DepthToSpaceOptions", blockSize=2), O.BlockAttrs(2))
    y = step("SPACE_TO_DEPTH", [y], act((1, 4, 1, 4)), options("SpaceToDepthOptions", blockSize=2), O.BlockAttrs(2))
    y = step("REVERSE_V2", [y, c([-1])], act((1, 4, 1, 4)))
    sym = O.MirrorPadAttrs(O.MirrorPadMode.SYMMETRIC)
    mp = options("MirrorPadOptions", mode=fb.MirrorPadMode.SYMMETRIC)
    y = step("MIRROR_PAD", [y, c([[0, 0], [1, 2], [0, 0], [0, 0]])], act((1, 7, 1, 4)), mp, sym)
    amounts = [c([2, 1]), c([[1, 0], [0, 0]])]
    y = step("SPACE_TO_BATCH_ND", [y, *amounts], act((2, 4, 1, 4)))
    y = step("BATCH_TO_SPACE_ND", [y, *amounts], act((1, 7, 1, 4)))
    return step("GATHER_ND", [y, c([[0, 6], [0, 2]])], act((2, 1, 4)))


def _slicing(s: Sink, y: int) -> tuple[int, tuple[int, int]]:
    """(2, 1, 4) -> (1, 2, 2, 2) by BROADCAST_TO, SPLIT, PACK, SPLIT_V, SLICE; UNPACK gives
    the two (1, 4) tensors of the binary branch, SPLIT_V's second piece is a graph output."""
    act, step, multi, c = s.act, s.step, s.multi, s.const
    pair = multi("UNPACK", [y], [act((1, 4)), act((1, 4))], options("UnpackOptions", num=2, axis=-3),
                 O.UnpackAttrs(2, -3))  # fmt: skip
    y = step("BROADCAST_TO", [y, c([2, 3, 4])], act((2, 3, 4)))
    a, z = multi("SPLIT", [c(-1), y], [act((2, 3, 2)), act((2, 3, 2))], options("SplitOptions", numSplits=2),
                 O.SplitAttrs(2))  # fmt: skip
    y = step("PACK", [z, a], act((2, 3, 2, 2)), options("PackOptions", valuesCount=2, axis=-2), O.PackAttrs(2, -2))
    y, rest = multi("SPLIT_V", [y, c([1, -1]), c(0)], [act((1, 3, 2, 2)), act((1, 3, 2, 2))],
                    options("SplitVOptions", numSplits=2), O.SplitAttrs(2))  # fmt: skip
    s.side_outputs.append(rest)
    return step("SLICE", [y, c([0, 1, 0, 0]), c([-1, 2, -1, 2])], act((1, 2, 2, 2))), (pair[0], pair[1])


def _binary(s: Sink, x1: int, x2: int) -> None:
    """A side branch on two (1, 4) tensors: comparisons give bool tensors, the logical ops
    combine them, SELECT_V2 picks by one; ZEROS_LIKE and FILL (unary) make operands."""
    act, step, c = s.act, s.step, s.const
    shape = (1, 4)
    zeros = step("ZEROS_LIKE", [x2], act(shape))
    filled = step("FILL", [c([1, 4]), c(np.int8(5), "int8", **Q)], act(shape))
    hi = step("MAXIMUM", [x1, x2], act(shape))
    lo = step("MINIMUM", [x1, zeros], act(shape))

    def compare(kind, a, b):
        return step(kind, [a, b], act(shape, "bool"))

    both = step("LOGICAL_AND", [compare("GREATER", x1, x2), compare("GREATER_EQUAL", x1, filled)], act(shape, "bool"))
    either = step("LOGICAL_OR", [compare("LESS", x1, filled), compare("LESS_EQUAL", x2, filled)], act(shape, "bool"))
    neither = step("LOGICAL_NOT", [compare("EQUAL", hi, x1)], act(shape, "bool"))
    picked = step("SELECT_V2", [both, hi, lo], act(shape))
    y = step("PRELU", [picked, c([-3, 5, 64, -128], "int8", scale=0.01, zero_point=0)], act(shape))
    y = step("SQUARED_DIFFERENCE", [y, filled], act(shape, scale=0.2, zero_point=-128))
    divisor = c([5, -7, 9, 12], "int8", scale=0.1, zero_point=0)
    dv = options("DivOptions", fusedActivationFunction=1)
    y = step("DIV", [y, divisor], act(shape, scale=0.5, zero_point=-100), dv, O.DivAttrs(O.Act.RELU))
    total = step("ADD_N", [hi, lo, filled], act(shape, scale=0.15, zero_point=-2))
    s.side_outputs += [either, neither, compare("NOT_EQUAL", hi, x2), y, total]


def _matmul_and_reduce(s: Sink, y: int) -> int:
    """(1, 2, 2, 2) -> (1, 1, 3, 5): TRANSPOSE_CONV, RESIZE_BILINEAR, CUMSUM, SUM, BATCH_MATMUL
    on the main chain; REDUCE_MIN, ARG_MAX (then CAST) and ARG_MIN end in graph outputs."""
    act, step, c, b = s.act, s.step, s.const, s.b
    w, ws = quantized_weights(s.rng, (3, 3, 3, 2), 0)
    bias = c(np.arange(3) * 100, scale=[0.05 * x for x in ws], zero_point=[0] * 3)
    tc = options("TransposeConvOptions", padding=fb.Padding.VALID, strideH=1, strideW=2, fusedActivationFunction=3)
    y = step(
        "TRANSPOSE_CONV",
        [c([1, 4, 5, 3]), b.const(w, scale=ws, zero_point=[0] * 3), y, bias],
        act((1, 4, 5, 3)),
        tc,
        O.TransposeConvAttrs((1, 2), O.Padding.VALID, O.Act.RELU6),
    )
    rb = options("ResizeBilinearOptions", alignCorners=False, halfPixelCenters=True)
    y = step("RESIZE_BILINEAR", [y, c([6, 4])], act((1, 6, 4, 3)), rb, O.ResizeAttrs(False, True))
    cs = options("CumsumOptions", exclusive=True, reverse=True)
    y = step("CUMSUM", [y, c([2])], act((1, 6, 4, 3), scale=0.2, zero_point=-5), cs, O.CumsumAttrs(True, True))
    keep = options("ReducerOptions", keepDims=True)
    low = step("REDUCE_MIN", [y, c([-1])], act((1, 6, 4, 1), scale=0.2, zero_point=-5), keep, O.ReduceAttrs(True))
    y = step("SUM", [y, c([1])], act((1, 1, 4, 3), scale=0.5, zero_point=1), keep, O.ReduceAttrs(True))
    int32, index, i32 = O.ArgMinMaxAttrs("int32"), (1, 1, 4), fb.TensorType.INT32
    top = step("ARG_MAX", [y, c([3])], act(index, "int32"), options("ArgMaxOptions", outputType=i32), int32)
    cast = options("CastOptions", inDataType=i32, outDataType=fb.TensorType.INT8)
    top = step("CAST", [top], act(index, scale=1.0, zero_point=0), cast)
    bottom = step("ARG_MIN", [y, c([-1])], act(index, "int32"), options("ArgMinOptions", outputType=i32), int32)
    s.side_outputs += [low, top, bottom]
    rhs = c(s.rng.integers(-128, 128, (5, 4)), "int8", scale=0.04, zero_point=-7)
    mm, out = options("BatchMatMulOptions", adjX=True, adjY=True), act((1, 1, 3, 5), scale=2.0, zero_point=0)
    return step("BATCH_MATMUL", [y, rhs], out, mm, O.BatchMatMulAttrs(True, True))


def _unary(s: Sink, y: int) -> int:
    """Shape-keeping unary operators on the main chain (ZEROS_LIKE and FILL are in _binary)."""
    act, step, shape = s.act, s.step, (1, 1, 3, 5)
    y = step("ELU", [y], act(shape, scale=1.0, zero_point=-100))
    y = step("ABS", [y], act(shape, scale=1.0, zero_point=-128))
    y = step("RSQRT", [y], act(shape, scale=0.004, zero_point=-128))  # ABS gives no value below the zero point
    y = step("LOG_SOFTMAX", [y], act(shape, scale=16 / 256, zero_point=127))
    # TF-Lite Micro runs L2_NORMALIZATION only without a fused activation: the option is the default
    l2 = options("L2NormOptions", fusedActivationFunction=0)
    return step("L2_NORMALIZATION", [y], act(shape, scale=1 / 128, zero_point=0), l2, O.L2NormAttrs(O.Act.NONE))


# family lstm (begin)
def _lstm(s: Sink, x2: int) -> None:
    """UNIDIRECTIONAL_SEQUENCE_LSTM, time major, on x2 as 1 step of 4 batch rows of 5 features;
    hidden and cell state (4, 3) variable tensors, a cell clip of 3."""
    state, n_in, rows = 3, 5, 4
    ins = [x2]
    for k in range(8):
        cols = n_in if k < 4 else state
        ins.append(s.const(s.rng.integers(-127, 128, (state, cols)), "int8", scale=0.02, zero_point=0))
    ins += [-1, -1, -1]
    bias_scale = float(np.float32(Q["scale"]) * np.float32(0.02))
    ins += [s.const(s.rng.integers(-500, 500, state), "int32", scale=bias_scale, zero_point=0) for _ in range(4)]
    ins += [-1, -1]
    h = s.act((rows, state), scale=2.0**-7, zero_point=2)
    c = s.act((rows, state), "int16", scale=2.0**-11, zero_point=0)
    s.b.sub.tensors[h].isVariable = s.b.sub.tensors[c].isVariable = True
    ins += [h, c, -1, -1, -1, -1]
    opts = options("UnidirectionalSequenceLSTMOptions", fusedActivationFunction=4, cellClip=3.0, timeMajor=True)
    attrs = O.LstmAttrs("TANH", 3.0, 0.0, True)
    y = s.step("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, s.act((1, rows, state), scale=2.0**-7, zero_point=2), opts, attrs)
    s.side_outputs.append(y)


# family lstm (end)


def _detection(s: Sink, x2: int) -> None:
    """TFLite_Detection_PostProcess as the converter writes it: a custom op with flexbuffer
    options on DEQUANTIZE outputs (the reader folds that DEQUANTIZE in, so it is not expected).
    x2 (1, 4, 5) serves as 4 box encodings of 5 values and as 4 background + 4 class scores.
    Regular NMS: TF-Lite Micro then writes every output row (its fast NMS leaves unused rows)."""
    from flatbuffers import flexbuffers

    xf = s.b.tensor((1, 4, 5), "float32")
    s.b.op("DEQUANTIZE", [x2], [xf])
    anchors = s.const(np.array([[0.2, 0.2, 0.3, 0.3], [0.25, 0.2, 0.3, 0.4], [0.7, 0.6, 0.2, 0.5], [0.5, 0.5, 1, 1]],
                               np.float32), "float32")  # fmt: skip
    attrs = O.DetectionPostprocessAttrs(
        max_detections=3, max_classes_per_detection=1, detections_per_class=2, use_regular_nms=True,
        nms_score_threshold=0.25, nms_iou_threshold=0.5, num_classes=4, y_scale=10.0, x_scale=10.0, h_scale=5.0,
        w_scale=5.0,
    )  # fmt: skip
    fbb = flexbuffers.Builder()
    with fbb.Map():
        for key in ("max_detections", "max_classes_per_detection", "detections_per_class", "num_classes"):
            fbb.Int(key, getattr(attrs, key))
        fbb.Bool("use_regular_nms", True)
        for key in ("nms_score_threshold", "nms_iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale"):
            fbb.Float(key, getattr(attrs, key))
    outs = [s.b.tensor((1, 3, 4), "float32"), s.b.tensor((1, 3), "float32"), s.b.tensor((1, 3), "float32"),
            s.b.tensor((1,), "float32")]  # fmt: skip
    s.b.op("CUSTOM", [xf, xf, anchors], outs, custom="TFLite_Detection_PostProcess")
    s.b.sub.operators[-1].customOptions = np.frombuffer(bytes(fbb.Finish()), np.uint8)
    s.expect.append((Op.DETECTION_POSTPROCESS, attrs))
    s.side_outputs += outs


# family signal (begin)
def _signal(s: Sink) -> None:
    """The signal library's audio front end as custom operators with flexbuffer options, on a
    constant 64-sample frame (a side branch to a side output)."""
    import dataclasses

    from flatbuffers import flexbuffers

    def custom(kind, inputs, outputs, attrs, **opts):
        fbb = flexbuffers.Builder()
        with fbb.Map():
            for key, v in opts.items():
                fbb.Bool(key, v) if isinstance(v, bool) else fbb.Int(key, v)
        s.b.op("CUSTOM", inputs, outputs, custom=kind)
        s.b.sub.operators[-1].customOptions = np.frombuffer(bytes(fbb.Finish()), np.uint8)
        if hasattr(attrs, "state_input"):  # the reader gives a stateful op its state as a variable input
            attrs = dataclasses.replace(attrs, state_input=True)
        s.expect.append((Op(kind), O.NoAttrs() if attrs is None else attrs))
        return outputs

    rng = s.rng
    frame = s.const(rng.integers(-20000, 20000, 60).astype(np.int16), "int16")
    window = s.const(rng.integers(0, 32767, 60).astype(np.int16), "int16")
    (w,) = custom("SignalWindow", [frame, window], [s.act((60,), "int16")], O.SignalWindowAttrs(3), shift=3)
    scaled, bits = custom("SignalFftAutoScale", [w], [s.act((60,), "int16"), s.act((), "int32")], None)
    (spec,) = custom("SignalRfft", [scaled], [s.act((66,), "int16")], O.SignalRfftAttrs(64), T=7, fft_length=64)
    (energy,) = custom("SignalEnergy", [spec], [s.act((33,), "uint32")], O.SignalEnergyAttrs(0, 33),
                       end_index=33, start_index=0)  # fmt: skip
    widths = np.array([3, 4, 4, 5, 6], np.int16)
    tables = [s.const(rng.integers(0, 4096, 22).astype(np.int16), "int16"),
              s.const(rng.integers(0, 4096, 22).astype(np.int16), "int16"),
              s.const(np.array([1, 3, 6, 10, 15], np.int16), "int16"),
              s.const(np.r_[0, np.cumsum(widths)[:-1]].astype(np.int16), "int16"), s.const(widths, "int16")]  # fmt: skip
    (bank,) = custom("SignalFilterBank", [energy, *tables], [s.act((4,), "uint64")], O.SignalFilterBankAttrs(4),
                     num_channels=4)  # fmt: skip
    (root,) = custom("SignalFilterBankSquareRoot", [bank, bits], [s.act((4,), "uint32")], None)
    sub = O.SignalSpectralSubtractionAttrs(4, 409, 15975, 983, 15401, 10, 819, True, 14)
    clean, noise = custom("SignalFilterBankSpectralSubtraction", [root], [s.act((4,), "uint32"), s.act((4,), "uint32")],
                          sub, **{k: getattr(sub, k) for k in vars(sub) if k != "state_input"})  # fmt: skip
    lut = s.const(rng.integers(-2000, 2000, 125).astype(np.int16), "int16")
    (gain,) = custom("SignalPCAN", [clean, noise, lut], [s.act((4,), "uint32")], O.SignalPcanAttrs(6), snr_shift=6)
    (log,) = custom("SignalFilterBankLog", [gain], [s.act((4,), "int16")], O.SignalFilterBankLogAttrs(3, 64),
                    input_correction_bits=3, output_scale=64)  # fmt: skip
    s.side_outputs.append(log)
    # the streaming operators, on the windowed frame
    (delayed,) = custom("SignalDelay", [w], [s.act((60,), "int16")], O.SignalDelayAttrs(7), delay_length=7)
    frames, ok = custom("SignalFramer", [delayed], [s.act((6, 20), "int16"), s.act((), "bool")],
                        O.SignalFramerAttrs(20, 10, True), frame_size=20, frame_step=10, prefill=True)  # fmt: skip
    (joined,) = custom("SignalOverlapAdd", [frames], [s.act((60,), "int16")], O.SignalOverlapAddAttrs(10), T=7,
                       frame_step=10)  # fmt: skip
    stacked, ok2 = custom("SignalStacker", [log], [s.act((12,), "int16"), s.act((), "bool")],
                          O.SignalStackerAttrs(4, 2, 0, 1), num_channels=4, stacker_left_context=2,
                          stacker_right_context=0, stacker_step=1)  # fmt: skip
    s.side_outputs += [joined, ok, stacked, ok2]


# family signal (end)
# family svdf (begin)
def _svdf(s: Sink, x2: int) -> None:
    """SVDF with an int8 state (a variable tensor), rank 2 and RELU, on x2 as a (1, 20) row."""
    x = s.step("RESHAPE", [x2], s.act((1, 20)), options("ReshapeOptions", newShape=[1, 20]), O.ReshapeAttrs((1, 20)))
    units, rank, memory = 3, 2, 4
    filters = units * rank
    wf = s.const(s.rng.integers(-127, 128, (filters, 20)), "int8", scale=0.01, zero_point=0)
    wt = s.const(s.rng.integers(-127, 128, (filters, memory)), "int8", scale=0.02, zero_point=0)
    state_scale = 0.3
    bias_scale = float(np.float32(state_scale) * np.float32(0.02))  # the state's times the time weights'
    bias = s.const(s.rng.integers(-300, 300, units), "int32", scale=bias_scale, zero_point=0)
    state = s.act((1, filters * memory), scale=state_scale, zero_point=-9)
    s.b.sub.tensors[state].isVariable = True
    opts = options("SVDFOptions", rank=rank, fusedActivationFunction=1)
    y = s.act((1, units), scale=0.2, zero_point=4)
    y = s.step("SVDF", [x, wf, wt, bias, state], y, opts, O.SvdfAttrs(rank, O.Act.RELU))
    s.side_outputs.append(y)


# family svdf (end)

