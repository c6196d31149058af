"""Import-time fusion: SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND becomes one dilated
conv (Conv1D's EXPAND_DIMS / SQUEEZE inside the pair too, any batch); a chain that does not
fit runs as the general ops.

No TensorFlow here, so the converter's patterns are written by hand (tfl_models.py).
Oracles: TF-Lite Micro's SPACE_TO_BATCH_ND pads with an uninitialised value instead of the
zero point (it never sets params.output_offset), so the oracle is the converter's chain
itself with its pure data movement done in NumPy (padding with the zero point, as
TensorFlow and LiteRT's reference kernels do) and the batched VALID convolution done by
TF-Lite Micro; and LiteRT's reference kernels on the original file.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_fold import ref_run
from tfl_models import TflBuilder, options, quantized_weights
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.frontend.tflite_read import read
from mcuforge.frontend.tflite_write import write
from mcuforge.ir import ops as O
from mcuforge.ir.ops import Op
from mcuforge.ir.verify import verify
from mcuforge.oracle.tflm import run_tflm


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
    # TF-Lite Micro pads with an unset value, and with an open batch trusts the stored 1.
    assert not np.array_equal(run_tflm(model, [x])[0], expected)


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
    "unit-2-negative-axis": (
        "CONV_2D", 12, 3, 3, 2, [2, 2], [0, 0], {"unit": 2, "axis_value": -2}, O.Padding.SAME, False
    ),  # fmt: skip
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
