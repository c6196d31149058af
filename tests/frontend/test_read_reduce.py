"""The reduce family through the reader and writer: read(write(g)) gives back every op and
option (SUM, REDUCE_MIN, ARG_MAX/ARG_MIN with int32/int64 indices, RESIZE_BILINEAR, CUMSUM),
and the reader refuses what the shape rules refuse, in one sentence."""

from __future__ import annotations

import numpy as np
import pytest
from frontend.test_roundtrip import graph_difference
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_options import attrs_from_options
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op, verify
from mcuforge.ir import ops as O
from ref.test_reduce import reduce_graph
from ref.test_reduce_index import arg_graph, cumsum_graph
from ref.test_resize import OPTIONS, resize_graph


def graphs():
    yield reduce_graph(Op.SUM, (2, 3, 4), [1, -1], True, (0.1, 3), (0.2, -5))
    yield reduce_graph(Op.SUM, (2, 3, 4), [0], False, (0.1, 3), (0.2, -5))
    yield reduce_graph(Op.REDUCE_MIN, (2, 3, 4), [2], True, (0.1, 3), (0.1, 3))
    yield reduce_graph(Op.REDUCE_MIN, (2, 3, 4), [0, 1], False, (0.1, 3), (0.1, 3))
    for op in (Op.ARG_MAX, Op.ARG_MIN):
        yield arg_graph(op, (2, 3, 4), -1, "int32")
        yield arg_graph(op, (2, 3, 4), 0, "int64")
        yield arg_graph(op, (2, 3, 4), 1, "int32", np.int64)
    for options in OPTIONS:
        yield resize_graph((1, 3, 5, 2), (7, 4), *options)
    for exclusive in (False, True):
        for reverse in (False, True):
            yield cumsum_graph((2, 5, 3), 1, exclusive, reverse, (0.05, -2), (0.1, 4))


@pytest.mark.parametrize("g", list(graphs()), ids=lambda g: f"{g.nodes[0].op}-{g.nodes[0].attrs}")
def test_roundtrip(g):
    g = verify(g)
    data = write(g)
    g2 = verify(read(data))
    assert graph_difference(g, g2) is None
    assert write(g2) == data


def _set_output_dtype(data: bytes, code: int) -> bytes:
    """The model with the output tensor's type replaced (object API round trip)."""
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    sub = m.subgraphs[0]
    sub.tensors[sub.outputs[0]].type = code
    return _pack(m)


def _pack(m) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _set_option(data: bytes, **values) -> bytes:
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    o = m.subgraphs[0].operators[0].builtinOptions
    for k, v in values.items():
        setattr(o, k, v)
    return _pack(m)


def test_arg_output_type_and_tensor_must_agree():
    data = write(arg_graph(Op.ARG_MAX, (2, 3), 1, "int32"))
    with pytest.raises(ModelFormatError, match=r"node 0 \(ARG_MAX\): its options ask for int32 indices but the output is int64"):
        read(_set_output_dtype(data, fb.TensorType.INT64))
    with pytest.raises(UnsupportedError, match=r"writes float32 indices; supported: int32 and int64"):
        read(_set_option(data, outputType=fb.TensorType.FLOAT32))


def test_arg_index_output_is_only_for_arg_ops():
    data = write(reduce_graph(Op.REDUCE_MIN, (2, 3, 4), [2], False, (0.1, 3), (0.1, 3)))
    with pytest.raises(UnsupportedError, match="int32 tensor"):
        read(_set_output_dtype(data, fb.TensorType.INT32))


def test_resize_bilinear_align_corners_with_half_pixel_centers_is_malformed():
    data = write(resize_graph((1, 3, 5, 2), (7, 4)))
    with pytest.raises(ModelFormatError, match="both align_corners and half_pixel_centers"):
        read(_set_option(data, alignCorners=True, halfPixelCenters=True))


def test_axis_operands_are_checked():
    data = write(cumsum_graph((2, 5, 3), 1))
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    sub = m.subgraphs[0]
    axis = sub.tensors[sub.operators[0].inputs[1]]
    m.buffers[axis.buffer].data = np.array([3], "<i4").view(np.uint8)
    with pytest.raises(ModelFormatError, match="axis 3 is out of range for rank 3"):
        read(_pack(m))


def test_missing_arg_options_read_as_the_schema_default():
    # ArgMaxOptions' output_type defaults to FLOAT32 in the schema, which is no index type
    assert attrs_from_options(Op.ARG_MAX, fb.BuiltinOptions.NONE, None, "node 0") == O.ArgMinMaxAttrs("float32")
