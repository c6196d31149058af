"""read(write(g)) gives back the same graph for SLICE, SPLIT, SPLIT_V, UNPACK, PACK, TILE,
BROADCAST_TO and their options; the reader checks their stored output shapes."""

from __future__ import annotations

import numpy as np
import pytest

from frontend.test_roundtrip import graph_difference
from mcuforge.errors import ModelFormatError
from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import verify
from ref.test_slicing import (
    OTHER_Q,
    broadcast_graph,
    pack_graph,
    slice_graph,
    split_graph,
    split_v_graph,
    tile_graph,
    unpack_graph,
)

GRAPHS = {
    "slice": lambda: slice_graph((1, 6, 6, 3), [0, 1, 2, 0], [1, 4, -1, 3]),
    "slice_int64_int32": lambda: slice_graph((2, 5, 7), [1, 2, 3], [1, 3, 4], "int32", index_dtype="int64"),
    "split": lambda: split_graph((1, 4, 4, 6), -1, 3),
    "split_int32": lambda: split_graph((2, 6, 5), 1, 3, "int32"),
    "split_v": lambda: split_v_graph((1, 6, 4, 2), [2, -1, 1], 1, out_q=OTHER_Q),
    "split_v_axis_vector": lambda: split_v_graph((3, 7), [2, 5], -1, axis_shape=(1,)),
    "unpack": lambda: unpack_graph((3, 4, 2), -1),
    "unpack_int32": lambda: unpack_graph((3, 4, 2), 1, "int32"),
    "pack": lambda: pack_graph((2, 3, 4), 4, -2),
    "pack_int32": lambda: pack_graph((2, 3), 3, 0, "int32"),
    "tile": lambda: tile_graph((1, 2, 3, 2), [1, 2, 2, 1]),
    "tile_int32": lambda: tile_graph((2, 3), [3, 2], "int32", index_dtype="int64"),
    "broadcast_to": lambda: broadcast_graph((1, 3, 1), (2, 3, 4)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_roundtrip(name):
    g = verify(GRAPHS[name]())
    data = write(g)
    g2 = verify(read(data))
    assert graph_difference(g, g2) is None
    assert write(g2) == data


def test_options_are_kept():
    g = read(write(unpack_graph((3, 4, 2), -2)))
    assert (g.nodes[0].attrs.num, g.nodes[0].attrs.axis) == (4, -2)
    g = read(write(pack_graph((2, 3, 4), 4, -2)))
    assert (g.nodes[0].attrs.values_count, g.nodes[0].attrs.axis) == (4, -2)
    g = read(write(split_v_graph((1, 6, 4, 2), [2, -1, 1], 1)))
    assert g.nodes[0].attrs.num_splits == 3 and len(g.nodes[0].outputs) == 3


def test_reader_checks_every_output_shape():
    g = split_graph((1, 4, 4, 6), -1, 3)
    g.tensors[g.nodes[0].outputs[2]].shape = (1, 4, 4, 3)
    with pytest.raises(ModelFormatError, match=r"output .*:2.* has shape \(1, 4, 4, 3\) in the file"):
        read(write(g))


def test_reader_checks_the_output_count():
    g = unpack_graph((3, 4, 2), 0)
    g.nodes[0].outputs.pop()
    g.outputs.pop()
    with pytest.raises(ModelFormatError, match="num is 3 but the node has 2 outputs"):
        read(write(g))


def test_int8_data_needs_quantisation():
    g = tile_graph((2, 3), [2, 2])
    g.tensors[g.outputs[0]].quant = None
    with pytest.raises(ModelFormatError, match="no quantisation"):
        read(write(g))


def test_operands_must_be_integers():
    g = slice_graph((2, 5), [0, 1], [2, 2])
    t = g.tensors[g.nodes[0].inputs[1]]
    t.dtype, t.data = "float32", np.array([0, 1], np.float32)
    with pytest.raises(ModelFormatError, match="expected int32"):
        read(write(g))
