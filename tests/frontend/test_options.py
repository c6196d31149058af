"""The one options table (frontend/tflite_options.py): complete, and both directions agree."""

from __future__ import annotations

from dataclasses import fields

import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_options import OPTION_NAMES, SPECS, attrs_from_options, options_from_attrs
from mcuforge.ir import ops as O
from mcuforge.ir.ops import OWN_OPS, Op

# Non-default attributes for every op with fields.
SAMPLES = {
    Op.CONV_2D: O.ConvAttrs((2, 3), (1, 2), O.Padding.VALID, O.Act.RELU6),
    Op.DEPTHWISE_CONV_2D: O.DepthwiseAttrs((2, 1), (3, 1), O.Padding.VALID, O.Act.RELU_N1_TO_1, 4),
    Op.FULLY_CONNECTED: O.FullyConnectedAttrs(O.Act.RELU, True),
    Op.ADD: O.ElementwiseAttrs(O.Act.RELU),
    Op.SUB: O.ElementwiseAttrs(O.Act.RELU6),
    Op.MUL: O.ElementwiseAttrs(O.Act.RELU_N1_TO_1),
    Op.AVERAGE_POOL_2D: O.PoolAttrs((3, 2), (1, 2), O.Padding.SAME, O.Act.RELU),
    Op.MAX_POOL_2D: O.PoolAttrs((5, 5), (3, 3), O.Padding.VALID, O.Act.RELU6),
    Op.MEAN: O.ReduceAttrs(True),
    Op.REDUCE_MAX: O.ReduceAttrs(True),
    Op.RESHAPE: O.ReshapeAttrs((1, -1, 4)),
    Op.SQUEEZE: O.SqueezeAttrs((1, 2)),
    Op.CONCATENATION: O.ConcatAttrs(-2, O.Act.RELU),
    Op.SOFTMAX: O.SoftmaxAttrs(0.5),
    Op.LEAKY_RELU: O.LeakyReluAttrs(0.1),
    Op.RESIZE_NEAREST_NEIGHBOR: O.ResizeAttrs(True, True),
    Op.STRIDED_SLICE: O.StridedSliceAttrs(1, 2, 4, 8, 16, True),
}


@pytest.mark.parametrize("op", [op for op in Op if op not in OWN_OPS])
def test_every_op_has_a_complete_row(op):
    spec = SPECS[op]
    assert {f.attr for f in spec.fields} == {f.name for f in fields(O.ATTRS[op])}
    o = spec.new()
    if spec.table is None:
        assert o is None and spec.type == fb.BuiltinOptions.NONE
        return
    assert OPTION_NAMES[spec.type] == type(o).__name__[:-1]  # Conv2DOptionsT <-> Conv2DOptions
    for f in spec.fields:
        for name in f.options:
            assert hasattr(o, name), f"{type(o).__name__} has no field {name!r}"


@pytest.mark.parametrize("op", list(Op))
def test_both_directions_agree(op):
    for attrs in (SAMPLES.get(op, O.ATTRS[op]()), O.ATTRS[op]()):
        kind, o = options_from_attrs(op, attrs)
        assert kind == SPECS[op].type
        assert attrs_from_options(op, kind, o, "node 0") == attrs


def test_missing_options_give_schema_defaults():
    attrs = attrs_from_options(Op.SOFTMAX, fb.BuiltinOptions.NONE, None, "node 0")
    assert attrs == O.SoftmaxAttrs(beta=0.0)  # the schema's default, as TF-Lite Micro reads it


def test_ops_without_fields_ignore_their_options():
    assert attrs_from_options(Op.PAD, fb.BuiltinOptions.AddOptions, fb.AddOptionsT(), "node 0") == O.NoAttrs()


def _options(op: Op, **values):
    kind, o = options_from_attrs(op, O.ATTRS[op]())
    for k, v in values.items():
        setattr(o, k, v)
    return kind, o


@pytest.mark.parametrize(
    "op,kind_o,error,match",
    [
        (Op.CONV_2D, _options(Op.CONV_2D, padding=5), ModelFormatError, r"^node 3 has padding code 5, which is"),
        (Op.ADD, _options(Op.ADD, fusedActivationFunction=4), UnsupportedError, r"fused activation TANH"),
        (Op.ADD, _options(Op.ADD, fusedActivationFunction=9), UnsupportedError, r"fused activation 9"),
        (
            Op.FULLY_CONNECTED,
            _options(Op.FULLY_CONNECTED, weightsFormat=1, fusedActivationFunction=4),
            UnsupportedError,
            r"stores its weights shuffled",  # checked before the fields
        ),
        (Op.CONV_2D, (fb.BuiltinOptions.AddOptions, fb.AddOptionsT()), ModelFormatError, r"carries AddOptions instead"),
        (Op.CONV_2D, (250, None), ModelFormatError, r"carries options type 250 instead of Conv2DOptions"),
    ],
)
def test_read_errors(op, kind_o, error, match):
    with pytest.raises(error, match=match):
        attrs_from_options(op, *kind_o, "node 3")
