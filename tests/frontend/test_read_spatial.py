"""Reader and writer of the spatial family: read(write(g)) gives back every op with its
options and operand types; malformed or unsupported operands are named in one sentence."""

from __future__ import annotations

import numpy as np
import pytest
from test_roundtrip import graph_difference
from tfl_models import TflBuilder, options

from mcuforge.errors import ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import Op
from mcuforge.ir import ops as O
from mcuforge.ir.verify import verify
from ref.test_spatial import spatial_graph

CASES = {
    "gather": (Op.GATHER, (3, 4, 5), [[2, 0]], O.GatherAttrs(axis=-2), {}),
    "gather-batch-dims": (Op.GATHER, (3, 4, 5), [[[1], [0], [3]]], O.GatherAttrs(axis=1, batch_dims=1), {}),
    "gather-int64": (Op.GATHER, (3, 4), [np.array([1, 2], np.int64)], O.GatherAttrs(1), {}),
    "gather-runtime": (Op.GATHER, (3, 4), [[0]], O.GatherAttrs(0), {"runtime": ("int32", (2, 2))}),
    "gather-int32": (Op.GATHER, (3, 4), [[1]], O.GatherAttrs(0), {"dtype": "int32"}),
    "gather-nd": (Op.GATHER_ND, (3, 4, 2), [[[2, 1], [0, 3]]], None, {}),
    "gather-nd-runtime-int64": (Op.GATHER_ND, (3, 4), [[0]], None, {"runtime": ("int64", (5, 2))}),
    "reflect": (Op.MIRROR_PAD, (1, 4, 5, 2), [[[0, 0], [1, 2], [3, 0], [0, 0]]], O.MirrorPadAttrs(), {}),
    "symmetric": (Op.MIRROR_PAD, (3, 4), [[[3, 0], [0, 4]]], O.MirrorPadAttrs(O.MirrorPadMode.SYMMETRIC), {}),
    "reverse": (Op.REVERSE_V2, (2, 3, 4), [[0, -1]], None, {"dtype": "int32"}),
    "depth-to-space": (Op.DEPTH_TO_SPACE, (1, 2, 3, 18), [], O.BlockAttrs(3), {}),
    "space-to-depth": (Op.SPACE_TO_DEPTH, (2, 4, 6, 3), [], O.BlockAttrs(2), {}),
    "space-to-batch": (Op.SPACE_TO_BATCH_ND, (2, 5, 7, 2), [[2, 3], [[1, 0], [1, 1]]], None, {}),
    "space-to-batch-rank3": (Op.SPACE_TO_BATCH_ND, (1, 7, 4), [[3], [[1, 1]]], None, {}),
    "batch-to-space": (Op.BATCH_TO_SPACE_ND, (6, 3, 3, 2), [[2, 3], [[1, 0], [2, 3]]], None, {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_roundtrip(name):
    op, shape, operands, attrs, kw = CASES[name]
    g = verify(spatial_graph(op, shape, operands, attrs, **kw))
    data = write(g)
    g2 = verify(read(data))
    assert graph_difference(g, g2) is None
    assert g2.nodes[0].op == op and g2.nodes[0].attrs == g.nodes[0].attrs
    assert write(g2) == data


def one_op_model(kind, in_shape, out_shape, operands, opts=None, out_dtype="int8", runtime_slot=None) -> bytes:
    b = TflBuilder()
    x = b.tensor(in_shape, scale=0.1)
    ins = [x]
    for k, v in enumerate(operands):
        arr = np.asarray(v)
        ins.append(b.tensor(arr.shape, str(arr.dtype)) if k + 1 == runtime_slot else b.const(arr))
    y = b.tensor(out_shape, out_dtype, scale=0.1 if out_dtype == "int8" else None)
    b.op(kind, ins, [y], opts)
    return b.build([x] if runtime_slot is None else [x, ins[runtime_slot]], [y])


def test_mirror_pad_bad_mode():
    data = one_op_model("MIRROR_PAD", (3, 4), (5, 4), [np.array([[1, 1], [0, 0]], np.int32)],
                        options("MirrorPadOptions", mode=7))  # fmt: skip
    with pytest.raises(ModelFormatError, match=r"node 0 \(MIRROR_PAD\) has mirror padding mode 7"):
        read(data)


def test_non_constant_operands_are_unsupported():
    pads = np.array([[1, 1], [0, 0]], np.int32)
    with pytest.raises(UnsupportedError, match="paddings tensor .* is not constant"):
        read(one_op_model("MIRROR_PAD", (3, 4), (5, 4), [pads], options("MirrorPadOptions"), runtime_slot=1))
    data = one_op_model("SPACE_TO_BATCH_ND", (1, 4, 4, 1), (4, 2, 2, 1), [np.array([2, 2], np.int32),
                        np.zeros((2, 2), np.int32)], runtime_slot=1)  # fmt: skip
    with pytest.raises(UnsupportedError, match="block shape tensor .* is not constant"):
        read(data)


def test_operand_and_data_types_are_checked():
    data = one_op_model("REVERSE_V2", (3, 4), (3, 4), [np.array([0], np.int8)])
    with pytest.raises(ModelFormatError, match="expected int32"):
        read(data)
    data = one_op_model("GATHER", (3, 4), (2, 4), [np.array([0, 1], np.int32)], options("GatherOptions"), "int16")
    with pytest.raises(UnsupportedError, match="int16"):
        read(data)


def test_stored_shape_is_checked():
    data = one_op_model("DEPTH_TO_SPACE", (1, 2, 2, 8), (1, 4, 4, 4), [], options("DepthToSpaceOptions", blockSize=2))
    with pytest.raises(ModelFormatError, match=r"\(1, 4, 4, 4\) in the file, but its inputs give \(1, 4, 4, 2\)"):
        read(data)


def test_gather_on_constant_int32_is_still_folded():
    """A shape computation's GATHER becomes a constant; one on int8 activations is a node."""
    b = TflBuilder()
    x = b.tensor((4, 3), scale=0.1)
    idx = b.const(np.array([3, 0], np.int32))
    y = b.tensor((2, 3), scale=0.1)
    b.op("GATHER", [x, idx], [y], options("GatherOptions", axis=0))
    s = b.tensor((2,), "int32")
    b.op("GATHER", [b.const(np.array([5, 6, 7], np.int32)), b.const(np.array([2, 0], np.int32))], [s],
         options("GatherOptions"))  # fmt: skip
    g = read(b.build([x], [y, s]))
    assert [n.op for n in g.nodes] == [Op.GATHER]
    assert g.tensors[g.outputs[1]].data.tolist() == [7, 5]
