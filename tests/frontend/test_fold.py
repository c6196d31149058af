"""Import-time folding: shape computations become constants, STB/conv/BTS becomes one dilated conv.

No TensorFlow here, so the converter's patterns are written by hand (tfl_models.py).
Oracles: TF-Lite Micro on the original file where it is right; for the dilated pattern,
TF-Lite Micro's SPACE_TO_BATCH_ND pads with an uninitialised value instead of the zero
point (space_to_batch_nd_common.cc never sets params.output_offset), so the oracle is
the converter's chain itself with its pure data movement done in NumPy (padding with the
zero point, as TensorFlow and LiteRT's reference kernels do) and the batched VALID
convolution done by TF-Lite Micro.
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


# ------------------------------------------------------------ dilated convolutions
def dilated_model(kind, hw, c, o, k, block, pads, crops, act=0, dm=1, stored_batch=None, stride=1, batch=1):
    """x -> SPACE_TO_BATCH_ND -> conv (VALID) -> BATCH_TO_SPACE_ND; returns (model, conv-only model at batch
    bh*bw*batch). With stored_batch the chain's inner tensors store that batch and an open one (-1) in their
    shape signature, as the converter writes a model with an open batch size."""
    rng = np.random.default_rng(k * 7 + o)
    (h, w), (bh, bw) = hw, block
    hp, wp = h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]
    nb = bh * bw * batch
    ch, cw = (hp // bh - k) // stride + 1, (wp // bw - k) // stride + 1
    if kind == "CONV_2D":
        weights, ws = quantized_weights(rng, (o, k, k, c), 0)
        opts = options(
            "Conv2DOptions", padding=fb.Padding.VALID, strideH=stride, strideW=stride, fusedActivationFunction=act
        )
        axis = 0
    else:
        o = c * dm
        weights, ws = quantized_weights(rng, (1, k, k, o), 3)
        opts = options(
            "DepthwiseConv2DOptions",
            padding=fb.Padding.VALID,
            strideH=1,
            strideW=1,
            depthMultiplier=dm,
            fusedActivationFunction=act,
        )
        axis = 3
    bias = rng.integers(-2000, 2000, o)
    xq, yq = dict(scale=0.1, zero_point=5), dict(scale=0.2, zero_point=-7)

    def conv_part(b: TflBuilder, src: int, n: int, sig=None) -> int:
        wt = b.const(weights, scale=ws, zero_point=[0] * o, axis=axis)
        bt = b.const(bias, "int32", scale=[0.1 * s for s in ws], zero_point=[0] * o)
        y = b.tensor((n, ch, cw, o), **yq, signature=sig and (-1, ch, cw, o))
        b.op(kind, [src, wt, bt], [y], opts)
        return y

    b = TflBuilder()
    x = b.tensor((batch, h, w, c), **xq)
    sig = None if stored_batch is None else (-1, hp // bh, wp // bw, c)
    s = b.tensor((stored_batch or nb, hp // bh, wp // bw, c), **xq, signature=sig)
    b.op("SPACE_TO_BATCH_ND", [x, b.const(block, "int32"), b.const(pads, "int32")], [s])
    y = conv_part(b, s, stored_batch or nb, sig)
    z = b.tensor((batch, ch * bh - crops[0][0] - crops[0][1], cw * bw - crops[1][0] - crops[1][1], o), **yq)
    b.op("BATCH_TO_SPACE_ND", [y, b.const(block, "int32"), b.const(crops, "int32")], [z])
    model = b.build([x], [z])
    b = TflBuilder()
    s = b.tensor((nb, hp // bh, wp // bw, c), **xq)
    conv_only = b.build([s], [conv_part(b, s, nb)])
    return model, conv_only


def chain_oracle(conv_only: bytes, x: np.ndarray, block, pads, crops, zp: int = 5) -> np.ndarray:
    """The converter's chain: data movement in NumPy (padding with the zero point), the conv in TF-Lite Micro."""
    bh, bw = block
    xp = np.pad(x, [(0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)], constant_values=zp)
    batches = np.concatenate([xp[:, i::bh, j::bw, :] for i in range(bh) for j in range(bw)])  # (i*bw + j)*N + n
    y = run_tflm(conv_only, [batches])[0]
    nb, ch, cw, o = y.shape
    n = nb // (bh * bw)
    full = np.zeros((n, ch * bh, cw * bw, o), y.dtype)
    for k in range(bh * bw):
        full[:, k // bw :: bh, k % bw :: bw, :] = y[k * n : (k + 1) * n]
    return full[:, crops[0][0] : ch * bh - crops[0][1], crops[1][0] : cw * bw - crops[1][1], :]


DILATED = {
    # name: (kind, hw, c, o, k, block, pads, crops, kwargs) -> expected nodes, padding
    "same": ("CONV_2D", (8, 8), 3, 4, 3, (2, 2), [[2, 2], [2, 2]], [[0, 0], [0, 0]], {}),
    "same-odd-cropped": ("CONV_2D", (7, 9), 3, 4, 3, (2, 2), [[2, 3], [2, 3]], [[0, 1], [0, 1]], {}),
    "valid": ("CONV_2D", (8, 8), 3, 4, 3, (2, 2), [[0, 0], [0, 0]], [[0, 0], [0, 0]], {"act": 3}),
    "valid-cropped": ("CONV_2D", (7, 8), 2, 3, 3, (2, 2), [[0, 1], [0, 0]], [[0, 1], [0, 0]], {}),
    "explicit-pad": ("CONV_2D", (8, 8), 2, 3, 3, (2, 2), [[1, 1], [1, 1]], [[0, 0], [0, 0]], {"act": 1}),
    "dw-same-2x3": ("DEPTHWISE_CONV_2D", (8, 9), 4, 4, 3, (2, 3), [[2, 2], [3, 3]], [[0, 0], [0, 0]], {}),
    "dw-multiplier": (
        "DEPTHWISE_CONV_2D",
        (6, 6),
        2,
        4,
        3,
        (2, 2),
        [[2, 2], [2, 2]],
        [[0, 0], [0, 0]],
        {"dm": 2, "act": 3},
    ),
    "dw-explicit-pad": ("DEPTHWISE_CONV_2D", (8, 8), 4, 4, 3, (2, 2), [[1, 1], [3, 3]], [[0, 0], [0, 0]], {}),
    "open-batch": ("CONV_2D", (8, 8), 3, 4, 3, (2, 2), [[2, 2], [2, 2]], [[0, 0], [0, 0]], {"stored_batch": 1}),
    "batch-3": ("CONV_2D", (7, 9), 3, 4, 3, (2, 2), [[2, 3], [2, 3]], [[0, 1], [0, 1]], {"batch": 3}),
    "dw-batch-2": ("DEPTHWISE_CONV_2D", (8, 8), 4, 4, 3, (2, 2), [[1, 1], [3, 3]], [[0, 0], [0, 0]], {"batch": 2}),
}
EXPECTED = {
    "same": ([Op.CONV_2D], O.Padding.SAME),
    "same-odd-cropped": ([Op.CONV_2D], O.Padding.SAME),
    "valid": ([Op.CONV_2D], O.Padding.VALID),
    "valid-cropped": ([Op.CONV_2D], O.Padding.VALID),
    "explicit-pad": ([Op.PAD, Op.CONV_2D], O.Padding.VALID),
    "dw-same-2x3": ([Op.DEPTHWISE_CONV_2D], O.Padding.SAME),
    "dw-multiplier": ([Op.DEPTHWISE_CONV_2D], O.Padding.SAME),
    "dw-explicit-pad": ([Op.PAD, Op.DEPTHWISE_CONV_2D], O.Padding.VALID),
    "open-batch": ([Op.CONV_2D], O.Padding.SAME),
    "batch-3": ([Op.CONV_2D], O.Padding.SAME),
    "dw-batch-2": ([Op.PAD, Op.DEPTHWISE_CONV_2D], O.Padding.VALID),
}


@pytest.mark.parametrize("name", list(DILATED))
def test_dilated_conv_is_fused_and_exact(name):
    kind, hw, c, o, k, block, pads, crops, kw = DILATED[name]
    model, conv_only = dilated_model(kind, hw, c, o, k, block, pads, crops, **kw)
    g = verify(read(model))
    ops, padding = EXPECTED[name]
    assert [n.op for n in g.nodes] == ops
    conv = g.nodes[-1].attrs
    assert conv.dilation == block and conv.padding == padding and conv.stride == (1, 1)
    if ops[0] == Op.PAD:
        amounts = g.tensors[g.nodes[0].inputs[1]].data
        assert amounts.tolist() == [
            [0, 0],
            [p - q for p, q in zip(pads[0], crops[0])],
            [p - q for p, q in zip(pads[1], crops[1])],
            [0, 0],
        ]
    for seed in range(3):
        x = np.random.default_rng(seed).integers(-128, 128, (kw.get("batch", 1), *hw, c)).astype(np.int8)
        expected = chain_oracle(conv_only, x, block, pads, crops)
        assert np.array_equal(run_tflm(write(g), [x])[0], expected)
        ours = ref_run(g, [x])
        assert ours is None or np.array_equal(ours[0], expected)


def random_dilated_configs(n: int, seed: int = 0):
    """Seeded random blocks, kernels, sizes, paddings and crops the fusion must handle exactly."""
    rng = np.random.default_rng(seed)
    while n:
        kind = str(rng.choice(["CONV_2D", "DEPTHWISE_CONV_2D"]))
        block, k = tuple(int(v) for v in rng.integers(1, 4, 2)), int(rng.integers(1, 4))
        hw = tuple(int(v) for v in rng.integers(3, 10, 2))
        pads = [[int(v) for v in rng.integers(0, 4, 2)] for _ in range(2)]
        for a in range(2):  # the padded size must be a multiple of the block
            pads[a][1] += (-(hw[a] + sum(pads[a]))) % block[a]
        crops = [[int(rng.integers(0, p + 1)) for p in pads[a]] for a in range(2)]
        conv = [(hw[a] + sum(pads[a])) // block[a] - k + 1 for a in range(2)]
        if min(conv) < 1 or any(conv[a] * block[a] - sum(crops[a]) < 1 for a in range(2)):
            continue
        n -= 1
        yield kind, hw, 3, 2, k, block, pads, crops


@pytest.mark.parametrize(
    "config", list(random_dilated_configs(12)), ids=lambda c: f"{c[0][:4]}-b{c[5]}-k{c[4]}-p{c[6]}-c{c[7]}"
)
def test_random_dilated_patterns_are_exact(config):
    kind, hw, c, o, k, block, pads, crops = config
    model, conv_only = dilated_model(kind, hw, c, o, k, block, pads, crops)
    g = verify(read(model))
    assert g.nodes[-1].op == Op(kind) and g.nodes[-1].attrs.dilation == block
    x = np.random.default_rng(1).integers(-128, 128, (1, *hw, c)).astype(np.int8)
    assert np.array_equal(run_tflm(write(g), [x])[0], chain_oracle(conv_only, x, block, pads, crops))


def litert_ref(model: bytes, xs: list[np.ndarray]) -> list[np.ndarray]:
    """LiteRT's reference kernels on a model file as it is (the chain unfused)."""
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is not installed")
    it = litert.Interpreter(model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


@pytest.mark.parametrize(
    "change",
    [dict(stride=2), dict(crops=[[3, 0], [0, 0]]), dict(stride=2, stored_batch=1), dict(stride=2, batch=2)],
    ids=["strided-conv", "crops-exceed-pads", "strided-open-batch", "strided-batch-2"],
)
def test_other_stb_patterns_run_as_the_general_ops(change):
    """A chain the fusion does not fit stays SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND and runs
    exactly (the oracle: the chain in NumPy with TF-Lite Micro's conv, and LiteRT's reference kernels).
    With an open batch size the inner tensors take the batch the inputs give, not the stored 1."""
    args = dict(kind="CONV_2D", hw=(8, 8), c=2, o=2, k=3, block=(2, 2), pads=[[2, 2], [2, 2]], crops=[[0, 0], [0, 0]])
    args.update(change)
    model, conv_only = dilated_model(**args)
    g = verify(read(model))
    assert [n.op for n in g.nodes] == [Op.SPACE_TO_BATCH_ND, Op.CONV_2D, Op.BATCH_TO_SPACE_ND]
    assert g.tensors[g.nodes[0].outputs[0]].shape[0] == 4 * change.get("batch", 1)
    x = np.random.default_rng(2).integers(-128, 128, (change.get("batch", 1), 8, 8, 2)).astype(np.int8)
    expected = chain_oracle(conv_only, x, args["block"], args["pads"], args["crops"])
    assert np.array_equal(ref_run(g, [x])[0], expected)
    assert np.array_equal(litert_ref(model, [x])[0], expected)


def conv1d_model(kind, w, c, k, d, pads, crops, unit=1, batch=1, axis_value=None, o=3):
    """x (N, W, C) -> SPACE_TO_BATCH_ND -> EXPAND_DIMS -> conv (VALID) -> SQUEEZE -> BATCH_TO_SPACE_ND,
    as TensorFlow writes a dilated Conv1D; `unit` is the axis EXPAND_DIMS inserts (1: N 1 W C)."""
    rng = np.random.default_rng(k * 5 + d)
    wp = w + sum(pads)
    cw = wp // d - k + 1
    kshape = (1, k) if unit == 1 else (k, 1)
    if kind == "CONV_2D":
        weights, ws = quantized_weights(rng, (o, *kshape, c), 0)
        opts, axis = options("Conv2DOptions", padding=fb.Padding.VALID, strideH=1, strideW=1), 0
    else:
        o = c
        weights, ws = quantized_weights(rng, (1, *kshape, o), 3)
        opts = options("DepthwiseConv2DOptions", padding=fb.Padding.VALID, strideH=1, strideW=1, depthMultiplier=1)
        axis = 3
    xq, yq = dict(scale=0.1, zero_point=5), dict(scale=0.2, zero_point=-7)
    n = batch * d

    def unit_shape(shape):
        return (*shape[:unit], 1, *shape[unit:])

    b = TflBuilder()
    x = b.tensor((batch, w, c), **xq)
    s = b.tensor((n, wp // d, c), **xq)
    b.op("SPACE_TO_BATCH_ND", [x, b.const([d], "int32"), b.const([pads], "int32")], [s])
    e = b.tensor(unit_shape((n, wp // d, c)), **xq)
    b.op("EXPAND_DIMS", [s, b.const([unit if axis_value is None else axis_value], "int32")], [e])
    wt = b.const(weights, scale=ws, zero_point=[0] * o, axis=axis)
    bt = b.const(rng.integers(-2000, 2000, o), "int32", scale=[0.1 * v for v in ws], zero_point=[0] * o)
    y = b.tensor(unit_shape((n, cw, o)), **yq)
    b.op(kind, [e, wt, bt], [y], opts)
    q = b.tensor((n, cw, o), **yq)
    b.op("SQUEEZE", [y], [q], options("SqueezeOptions", squeezeDims=[unit if axis_value is None else axis_value]))
    z = b.tensor((batch, cw * d - sum(crops), o), **yq)
    b.op("BATCH_TO_SPACE_ND", [q, b.const([d], "int32"), b.const([crops], "int32")], [z])
    return b.build([x], [z])


CONV1D = {
    # name: (kind, w, c, k, d, pads, crops, kwargs) -> expected padding, whether a PAD comes first
    "same": ("CONV_2D", 12, 3, 3, 2, [2, 2], [0, 0], {}, O.Padding.SAME, False),
    "same-odd": ("CONV_2D", 11, 2, 3, 3, [3, 4], [0, 1], {}, O.Padding.SAME, False),
    "valid": ("CONV_2D", 12, 3, 3, 2, [0, 0], [0, 0], {}, O.Padding.VALID, False),
    "causal": ("CONV_2D", 10, 2, 2, 2, [2, 0], [0, 0], {}, O.Padding.VALID, True),  # Keras padding="causal"
    "unit-2-negative-axis": ("CONV_2D", 12, 3, 3, 2, [2, 2], [0, 0], {"unit": 2, "axis_value": -2}, O.Padding.SAME, False),
    "dw-batch-2": ("DEPTHWISE_CONV_2D", 9, 4, 3, 3, [3, 3], [0, 0], {"batch": 2}, O.Padding.SAME, False),
    "dw-explicit": ("DEPTHWISE_CONV_2D", 8, 2, 3, 2, [1, 1], [0, 0], {}, O.Padding.VALID, True),
}


@pytest.mark.parametrize("name", list(CONV1D))
def test_dilated_conv1d_is_fused_and_exact(name):
    kind, w, c, k, d, pads, crops, kw, padding, padded = CONV1D[name]
    model = conv1d_model(kind, w, c, k, d, pads, crops, **kw)
    g = verify(read(model))
    expected_ops = [Op.PAD] * padded + [Op.EXPAND_DIMS, Op(kind), Op.SQUEEZE]
    assert [n.op for n in g.nodes] == expected_ops
    conv = g.nodes[-2].attrs
    unit = kw.get("unit", 1)
    assert conv.dilation == ((1, d) if unit == 1 else (d, 1)) and conv.padding == padding
    x = np.random.default_rng(4).integers(-128, 128, (kw.get("batch", 1), w, c)).astype(np.int8)
    expected = litert_ref(model, [x])[0]
    assert np.array_equal(ref_run(g, [x])[0], expected)
    assert np.array_equal(run_tflm(write(g), [x])[0], expected)


def test_conv1d_chain_that_does_not_fit_runs_as_general_ops():
    model = conv1d_model("CONV_2D", 12, 3, 3, 2, [1, 1], [2, 0])  # the crops exceed the paddings
    g = verify(read(model))
    assert [n.op for n in g.nodes][0] == Op.SPACE_TO_BATCH_ND and g.nodes[-1].op == Op.BATCH_TO_SPACE_ND
    x = np.random.default_rng(5).integers(-128, 128, (1, 12, 3)).astype(np.int8)
    assert np.array_equal(ref_run(g, [x])[0], litert_ref(model, [x])[0])


@pytest.mark.parametrize("name", [n for n in DILATED if "stored_batch" not in DILATED[n][-1]])
def test_dilated_conv_matches_litert_reference(name):
    """LiteRT's reference kernels run the converter's chain right; TF-Lite Micro's SPACE_TO_BATCH_ND does not."""
    kind, hw, c, o, k, block, pads, crops, kw = DILATED[name]
    model, _ = dilated_model(kind, hw, c, o, k, block, pads, crops, **kw)
    x = np.random.default_rng(0).integers(-128, 128, (kw.get("batch", 1), *hw, c)).astype(np.int8)
    assert np.array_equal(run_tflm(write(read(model)), [x])[0], litert_ref(model, [x])[0])
