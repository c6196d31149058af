"""Import-time folding: shape computations become constants (the dilated-convolution
fusion is tested in test_dilated.py).

No TensorFlow here, so the converter's patterns are written by hand (tfl_models.py).
Oracle: TF-Lite Micro on the original file.
"""

from __future__ import annotations

import numpy as np
import pytest
from tfl_models import TflBuilder, options, quantized_weights
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.fold import RawModel, RawOp, fold_constants
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Tensor
from mcuforge.ir.ops import Op
from mcuforge.ir.verify import verify
from mcuforge.oracle.tflm import run_tflm


def ref_run(g, xs):
    """The project's reference executor, when it exists (it is built alongside this reader)."""
    try:
        from mcuforge.ref.interpreter import run
    except ImportError:
        return None
    return run(g, xs)


# ------------------------------------------------------------ shape computations
def keras_flatten_model(gather: bool) -> bytes:
    """x -> [shape subgraph] -> RESHAPE(x, (batch, 32)) -> FULLY_CONNECTED, as Keras with batch None writes it."""
    rng = np.random.default_rng(0)
    b = TflBuilder()
    x = b.tensor((1, 2, 2, 8), scale=0.05, zero_point=-3, signature=(-1, 2, 2, 8))
    shape = b.tensor((4,), "int32")
    b.op("SHAPE", [x], [shape], options("ShapeOptions", outType=fb.TensorType.INT32))
    target = b.tensor((2,), "int32")
    if gather:  # GATHER the batch, CONCATENATE it with -1
        batch = b.tensor((1,), "int32")
        b.op("GATHER", [shape, b.const([0], "int32")], [batch], options("GatherOptions", axis=0))
        b.op("CONCATENATION", [batch, b.const([-1], "int32")], [target], options("ConcatenationOptions", axis=0))
    else:  # STRIDED_SLICE the batch to a scalar, PACK it with 32
        batch = b.tensor((), "int32")
        ss = options("StridedSliceOptions", shrinkAxisMask=1)
        b.op("STRIDED_SLICE", [shape, b.const([0], "int32"), b.const([1], "int32"), b.const([1], "int32")], [batch], ss)
        b.op("PACK", [batch, b.const(32, "int32")], [target], options("PackOptions", valuesCount=2, axis=0))
    y = b.tensor((1, 32), scale=0.05, zero_point=-3, signature=(-1, 32))
    b.op("RESHAPE", [x, target], [y])
    w, ws = quantized_weights(rng, (10, 32), 0)
    z = b.tensor((1, 10), scale=0.3, zero_point=4, signature=(-1, 10))
    bias = b.const(rng.integers(-300, 300, 10), "int32", scale=0.05 * ws[0])
    b.op("FULLY_CONNECTED", [y, b.const(w, scale=ws[0]), bias], [z], options("FullyConnectedOptions"))
    return b.build([x], [z])


@pytest.mark.parametrize("gather", [False, True], ids=["slice-pack", "gather-concat"])
def test_keras_shape_subgraph_is_folded(gather):
    data = keras_flatten_model(gather)
    g = verify(read(data))
    assert [n.op for n in g.nodes] == [Op.RESHAPE, Op.FULLY_CONNECTED]
    target = g.tensors[g.nodes[0].inputs[1]]
    assert target.is_const and target.data.tolist() == ([1, -1] if gather else [1, 32])
    x = np.random.default_rng(1).integers(-128, 128, (1, 2, 2, 8)).astype(np.int8)
    # TF-Lite Micro's GATHER takes no int32 data, so both variants are checked against the first one.
    expected = run_tflm(keras_flatten_model(False), [x])[0]
    assert np.array_equal(run_tflm(write(g), [x])[0], expected)
    ours = ref_run(g, [x])
    assert ours is None or np.array_equal(ours[0], expected)


def raw(tensors: list[Tensor], ops: list[RawOp]) -> RawModel:
    return RawModel({t.name: t for t in tensors}, ops, [], [])


def const(name: str, value, dtype: str = "int32") -> Tensor:
    arr = np.asarray(value, dtype=dtype)
    return Tensor(name, arr.shape, dtype, None, arr)


def out(name: str, dtype: str = "int32") -> Tensor:
    return Tensor(name, (), dtype)


@pytest.mark.parametrize(
    "kind,inputs,opts,attrs,expected",
    [
        ("SLICE", [[[1, 2, 3], [4, 5, 6]], [0, 1], [2, -1]], None, None, [[2, 3], [5, 6]]),
        ("UNPACK", [[[1, 2], [3, 4]]], options("UnpackOptions", num=2, axis=1), None, [[1, 3], [2, 4]]),
        ("SQUEEZE", [[[7], [8]]], None, O.SqueezeAttrs((1,)), [7, 8]),
        ("EXPAND_DIMS", [[7, 8], [-1]], None, None, [[7], [8]]),
        ("TRANSPOSE", [[[1, 2], [3, 4]], [1, 0]], None, None, [[1, 3], [2, 4]]),
        ("CAST", [[1, 2]], None, None, [1, 2]),
        ("DIV", [[-7, 7], [2, -2]], None, None, [-3, -3]),  # C++ division rounds toward zero
        ("FLOOR_DIV", [[-7, 7], [2, -2]], None, None, [-4, -4]),
        ("FLOOR_MOD", [[-7, 7], [2, -2]], None, None, [1, -1]),
        ("MAXIMUM", [[1, 5], [3, 2]], None, None, [3, 5]),
        ("MINIMUM", [[1, 5], [3, 2]], None, None, [1, 2]),
        ("ADD", [[1, -5], [3, 2]], None, O.ElementwiseAttrs(O.Act.RELU), [4, 0]),
        ("SUB", [[1, 5], 3], None, O.ElementwiseAttrs(), [-2, 2]),
        ("MUL", [[2, 5], [3, 2]], None, O.ElementwiseAttrs(O.Act.RELU6), [6, 6]),
        ("FILL", [[2, 2], 7], None, None, [[7, 7], [7, 7]]),
        ("RANGE", [1, 10, 3], None, None, [1, 4, 7]),
        ("REDUCE_PROD", [[[1, 2], [3, 4]], [0]], options("ReducerOptions", keepDims=False), None, [3, 8]),
        ("SUM", [[[1, 2], [3, 4]], [-1]], options("ReducerOptions", keepDims=True), None, [[3], [7]]),
        ("RESHAPE", [[1, 2, 3, 4], [2, -1]], None, O.ReshapeAttrs(), [[1, 2], [3, 4]]),
        ("STRIDED_SLICE", [[5, 6, 7, 8], [-1], [0], [-1]], None, O.StridedSliceAttrs(end_mask=1), [8, 7, 6, 5]),
        ("CONCATENATION", [[1], [2, 3]], None, O.ConcatAttrs(0), [1, 2, 3]),
        ("GATHER", [[5, 6, 7], [2, 0]], None, O.GatherAttrs(), [7, 5]),
        ("GATHER", [[[1, 2], [3, 4]], [[1], [0]]], None, O.GatherAttrs(1, 1), [[2], [3]]),  # batch_dims
    ],
)
def test_folders(kind, inputs, opts, attrs, expected):
    ins = [const(f"i{k}", v) for k, v in enumerate(inputs)]
    n_out = len(expected) if kind == "UNPACK" else 1
    outs = [out(f"o{k}") for k in range(n_out)]
    m = raw(ins + outs, [RawOp(0, kind, [t.name for t in ins], [t.name for t in outs], opts, attrs)])
    fold_constants(m)
    assert m.ops == []
    got = [m.tensors[t.name].data.tolist() for t in outs]
    assert (got if kind == "UNPACK" else got[0]) == expected


def test_shape_and_rank_read_static_shapes():
    x = Tensor("x", (1, 5, 3), "int8")
    m = raw([x, out("s"), out("r")], [RawOp(0, "SHAPE", ["x"], ["s"]), RawOp(1, "RANK", ["x"], ["r"])])
    fold_constants(m)
    assert m.tensors["s"].data.tolist() == [1, 5, 3] and m.tensors["r"].data.tolist() == 3


def test_quantized_and_activation_ops_are_not_folded():
    """Only integer shape arithmetic is folded: int8 constants and activations stay nodes."""
    a = Tensor("a", (2,), "int8", None, np.array([1, 2], np.int8))
    x = Tensor("x", (2,), "int32")
    ops = [
        RawOp(0, "ADD", ["a", "a"], ["y"], None, O.ElementwiseAttrs()),
        RawOp(1, "ADD", ["x", "x"], ["z"], None, O.ElementwiseAttrs()),
    ]
    m = raw([a, x, Tensor("y", (2,), "int8"), out("z")], ops)
    fold_constants(m)
    assert [op.index for op in m.ops] == [0, 1]


@pytest.mark.parametrize(
    "kind,inputs,pattern",
    [
        ("FLOOR_DIV", [[1], [0]], "divides by zero"),
        ("FILL", [[1 << 15, 1 << 15], 0], "more than 1048576 elements"),
        ("RANGE", [0, 1 << 30, 1], "more than 1048576 elements"),
        ("GATHER", [[1, 2], [5]], "index 5 is out of range"),
        ("SLICE", [[1, 2], [1], [5]], "out of range"),
    ],
)
def test_folding_bad_operands(kind, inputs, pattern):
    ins = [const(f"i{k}", v) for k, v in enumerate(inputs)]
    m = raw(ins + [out("o")], [RawOp(3, kind, [t.name for t in ins], ["o"])])
    with pytest.raises(ModelFormatError, match=rf"node 3 \({kind}\): .*{pattern}"):
        fold_constants(m)


def test_unfoldable_shape_op_is_unsupported():
    """RANGE on a model input is not a shape computation: the reader names it."""
    b = TflBuilder()
    n = b.tensor((), "int32")
    y = b.tensor((4,), "int32")
    b.op("RANGE", [b.const(0, "int32"), n, b.const(1, "int32")], [y])
    with pytest.raises(UnsupportedError, match=r"node 0 uses RANGE, which mcuforge does not support here"):
        read(b.build([n], [y]))


def test_gather_on_activations_is_a_node():
    """GATHER is an operator of the IR: on int8 activations it stays a node (on int32 constants it folds)."""
    b = TflBuilder()
    x = b.tensor((4,), scale=0.1)
    y = b.tensor((2,), scale=0.1)
    b.op("GATHER", [x, b.const([0, 2], "int32")], [y], options("GatherOptions"))
    model = b.build([x], [y])
    g = verify(read(model))
    assert [n.op for n in g.nodes] == [Op.GATHER]
    xs = [np.arange(-2, 2, dtype=np.int8)]
    assert np.array_equal(ref_run(g, xs)[0], run_tflm(model, xs)[0])
