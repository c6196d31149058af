"""The TFLite reader: real models, every option, and every way a file can be broken."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from sink_ops import NOT_IN_TFLM, kitchen_sink, outside_tflm, sink_inputs
from tfl_models import TflBuilder, options, quantized_weights
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import MCUForgeError, ModelFormatError, UnsupportedError
from mcuforge.frontend.tflite_options import SPECS, attrs_from_options
from mcuforge.frontend.tflite_read import load, read
from mcuforge.ir import ops as O
from mcuforge.ir.ops import OWN_OPS, Op
from mcuforge.ir.verify import verify

MODELS = Path(__file__).parents[2].parent / "shared" / "models"
SUPPORTED = [
    # family lstm (begin)
    "tflm_mnist_lstm_int8",
    "tflm_dtln_noise_suppression",
    "tflm_xtensa_micro_speech_lstm",
    # family lstm (end)
    "mlperf_ad_autoencoder_int8",
    "mlperf_ad_toycar_quant_fullint_micro",
    "mlperf_ic_resnet8_int8",
    "mlperf_ic_resnet_large_int8",
    "mlperf_kws_dscnn_int8",
    "mlperf_sww_ref_model",
    "mlperf_vww_mbv1_96_int8",
    "tflm_hello_world_int8",
    "tflm_micro_speech_int8",
    "tflm_person_detect_int8",
    "tflm_xtensa_mobilenet_v2_q_224",
    "tinyengine_mcunet_vww1",
    "tinyengine_mcunetv2_large_224",
    "tinyengine_person_detection_yolo",
    # family svdf (begin)
    "tflm_keyword_scrambled",
    "tflm_keyword_scrambled_8bit",
    # family svdf (end)
]
INT16_TAIL = {"tflm_keyword_scrambled", "tflm_keyword_scrambled_8bit"}  # family svdf
# model -> what the message must name
UNSUPPORTED = {
    "tflm_person_detect_vela": "custom operator 'ethos-u'",
}


def model_path(name: str) -> Path:
    if not MODELS.is_dir():
        pytest.skip(f"real models not available: {MODELS} is absent")
    return MODELS / f"{name}.tflite"


def one_sentence(e: BaseException) -> str:
    msg = str(e)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# ------------------------------------------------------------ real models
@pytest.mark.parametrize("name", SUPPORTED)
def test_real_model_loads(name):
    g = verify(load(model_path(name)))
    assert g.name == name and g.nodes and g.inputs and g.outputs
    assert len(set(g.tensors)) == len(g.tensors)
    for node in g.nodes:  # int8 everywhere except the float boundary of QUANTIZE / DEQUANTIZE
        for t in [g.tensors[n] for n in node.outputs]:
            if name in INT16_TAIL and node.op in (Op.SOFTMAX, Op.QUANTIZE):
                continue  # the keyword models: int8 -> int16 SOFTMAX, then an int32 QUANTIZE
            assert t.dtype == ("float32" if node.op == Op.DEQUANTIZE else "int8")


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_unsupported_real_model(name):
    with pytest.raises(UnsupportedError) as info:
        load(model_path(name))
    msg = one_sentence(info.value)
    assert UNSUPPORTED[name] in msg and ("node 0" in msg or UNSUPPORTED[name].startswith("node "))


def test_unsupported_builtin_message_lists_alternatives():
    b = TflBuilder()
    x, y = b.tensor((1, 2, 4), scale=0.1), b.tensor((1, 2, 8), scale=0.1)
    b.op("BIDIRECTIONAL_SEQUENCE_LSTM", [x], [y])
    with pytest.raises(
        UnsupportedError,
        match=r"node 0 uses BIDIRECTIONAL_SEQUENCE_LSTM, which mcuforge does not support; supported operators: ABS, ADD, ",
    ):
        read(b.build([x], [y]))


def test_person_detect_rank1_bias_axis_is_fixed():
    """Its per-channel bias tensors say quantized_dimension=3; TF-Lite Micro ignores it and so do we."""
    g = load(model_path("tflm_person_detect_int8"))
    conv = next(n for n in g.nodes if n.op == Op.CONV_2D)
    bias = g.tensors[conv.inputs[2]]
    assert len(bias.shape) == 1 and bias.quant.per_channel and bias.quant.axis == 0


def test_micro_speech_options():
    g = load(model_path("tflm_micro_speech_int8"))
    assert [n.op for n in g.nodes] == [Op.RESHAPE, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.SOFTMAX]
    assert g.nodes[0].attrs == O.ReshapeAttrs((-1, 49, 40, 1))
    dw = g.nodes[1].attrs
    assert (
        dw.depth_multiplier == 8
        and dw.stride == (2, 2)
        and dw.padding == O.Padding.SAME
        and dw.activation == O.Act.RELU
    )


# ------------------------------------------------------------ every option and shape rule
def test_every_op_and_option():
    """Every operator is read from a file of TFLite's own writing, with its options; the ones
    TF-Lite Micro cannot run are in a model of their own, mcuforge's own are never in a file."""
    data, expect = kitchen_sink()
    g = verify(read(data, "sink"))
    assert [(n.op, n.attrs) for n in g.nodes] == expect
    dw = g.nodes[2]
    assert g.tensors[dw.inputs[1]].quant.axis == 3 and g.tensors[dw.inputs[1]].quant.per_channel
    fc = next(n for n in g.nodes if n.op == Op.FULLY_CONNECTED)
    assert fc.inputs[2] is None  # an absent optional bias stays an absent input
    dtypes = {n.op: g.tensors[n.outputs[0]].dtype for n in g.nodes}
    assert dtypes[Op.LESS] == dtypes[Op.LOGICAL_NOT] == "bool" and dtypes[Op.ARG_MAX] == "int32"
    assert [len(n.outputs) for n in g.nodes if n.op in (Op.SPLIT, Op.SPLIT_V, Op.UNPACK)] == [2, 2, 2]

    other, other_expect = outside_tflm()
    assert [(n.op, n.attrs) for n in verify(read(other)).nodes] == other_expect
    in_sink, outside = {op for op, _ in expect}, {op for op, _ in other_expect}
    assert outside == NOT_IN_TFLM and not in_sink & outside
    assert in_sink | outside | OWN_OPS == set(Op)
    # Each op whose options hold an attribute has a node whose attributes differ from those of an
    # absent options table (the schema's defaults), but:
    at_defaults = {
        Op.L2_NORMALIZATION: "TF-Lite Micro runs it only without a fused activation",
        Op.REDUCE_MAX: "keep_dims=True is MEAN's, the same ReducerOptions",
    }
    nodes = expect + other_expect
    with_options = {op for op in in_sink | outside if SPECS[op].fields}
    default = {op: attrs_from_options(op, fb.BuiltinOptions.NONE, None, "node") for op in with_options}
    assert {op for op in with_options if all(a == default[o] for o, a in nodes if o == op)} == set(at_defaults)


def test_every_op_runs_in_tflm_after_round_trip():
    """The shapes the reader checks are the ones TF-Lite Micro accepts, and write(read(m)) computes what m does."""
    from mcuforge.frontend.tflite_write import write
    from mcuforge.oracle.tflm import run_tflm_isolated

    data, _ = kitchen_sink()
    xs = sink_inputs()
    original, rewritten = run_tflm_isolated(data, xs), run_tflm_isolated(write(read(data)), xs)
    assert original.ok and rewritten.ok, (original.message, rewritten.message)
    assert len(original.outputs) == len(rewritten.outputs) == len(read(data).outputs)
    for a, b in zip(original.outputs, rewritten.outputs):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_ops_outside_tflm_run_in_litert_after_round_trip():
    """NOT_IN_TFLM's model computes -tile(x) in LiteRT, before and after write(read(m))."""
    from oracle_util import run_litert

    from mcuforge.frontend.tflite_write import write

    data, _ = outside_tflm()
    x = np.array([[-100, -60, -20], [20, 60, 127]], np.int8)
    original, rewritten = run_litert(data, [x]), run_litert(write(read(data)), [x])
    assert np.array_equal(original[0], -np.tile(x, (2, 1)))
    assert np.array_equal(rewritten[0], original[0])


def test_concatenation_fused_activation():
    b = TflBuilder()
    x = b.tensor((1, 2), scale=0.1)
    y = b.tensor((1, 4), scale=0.1)
    b.op("CONCATENATION", [x, x], [y], options("ConcatenationOptions", axis=1, fusedActivationFunction=3))
    assert read(b.build([x], [y])).nodes[0].attrs == O.ConcatAttrs(1, O.Act.RELU6)


def test_names_are_made_unique_deterministically():
    b = TflBuilder()
    x = b.tensor((1, 4), scale=0.1, name="")
    y = b.tensor((1, 4), scale=0.1, name="a")
    z = b.tensor((1, 4), scale=0.1, name="a")
    u = b.tensor((1, 4), scale=0.1, name="a_1")
    b.op("RELU", [x], [y])
    b.op("RELU", [y], [z])
    b.op("RELU", [z], [u])
    g = read(b.build([x], [u]))
    assert list(g.tensors) == ["tensor_0", "a", "a_1", "a_1_1"]
    assert [n.outputs for n in g.nodes] == [["a"], ["a_1"], ["a_1_1"]]


def test_large_model_buffer_offset_layout():
    """Buffers may live after the flatbuffer, found by offset and size from the file start."""
    b = TflBuilder()
    x = b.tensor((1, 2, 3), scale=0.1)
    axes = b.const([1], "int32")
    y = b.tensor((1, 3), scale=0.1)
    b.op("MEAN", [x, axes], [y], options("ReducerOptions"))
    payload = np.array([1], dtype="<i4").tobytes()
    buf = b.model.buffers[b.sub.tensors[axes].buffer]
    buf.data = None
    buf.offset, buf.size = 1 << 40, len(payload)  # placeholder of the final width, patched below

    def build() -> bytes:
        return b.build([x], [y])

    head = build()
    buf.offset = len(head) + (-len(head)) % 16
    data = build()
    assert len(data) == len(head)
    data = data + bytes(buf.offset - len(data)) + payload
    g = read(data)
    assert g.tensors[g.nodes[0].inputs[1]].data.tolist() == [1] and g.tensors[g.outputs[0]].shape == (1, 3)
    with pytest.raises(ModelFormatError, match="past the end of the file"):
        read(data[:-1])


# ------------------------------------------------------------ broken and unsupported files
def small_model(**change) -> bytes:
    """A valid conv -> relu model; keyword changes break one thing."""
    rng = np.random.default_rng(1)
    b = TflBuilder()
    x = b.tensor((1, 4, 4, change.get("channels", 2)), change.get("dtype", "int8"), scale=0.1, zero_point=-1)
    w, ws = quantized_weights(rng, (3, 3, 3, 2), 0)
    wt = b.const(w.astype(change.get("wdtype", "int8")), scale=ws, zero_point=[0] * 3, axis=change.get("waxis", 0))
    bias = b.const(
        np.zeros(3),
        change.get("bdtype", "int32"),
        scale=[0.1 * s for s in ws],
        zero_point=[0] * 3,
        axis=change.get("baxis", 0),
    )
    y = b.tensor(change.get("yshape", (1, 4, 4, 3)), change.get("dtype", "int8"), scale=0.2, zero_point=2)
    b.op(
        "CONV_2D",
        [x, wt, bias],
        [y],
        options("Conv2DOptions", strideH=1, strideW=1, fusedActivationFunction=change.get("act", 0)),
    )
    z = b.tensor((1, 4, 4, 3), change.get("dtype", "int8"), scale=0.2, zero_point=2)
    b.op(change.get("kind", "RELU"), [y], [z], custom=change.get("custom"))
    return b.build([x], [z])


def test_small_model_is_valid():
    g = verify(read(small_model()))
    assert [n.op for n in g.nodes] == [Op.CONV_2D, Op.RELU]


@pytest.mark.parametrize(
    "data,pattern",
    [
        (b"", "holds only 0 bytes"),
        (b"TFL3", "holds only 4 bytes"),
        (bytes(range(256)) * 8, "file identifier"),
        (np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not a TFLite file"),
        (b"\x10\x00\x00\x00TFL3" + bytes(6), "truncated or corrupted"),
        (b"\xff\xff\xff\x7fTFL3" + bytes(100), "truncated or corrupted"),
    ],
    ids=["empty", "identifier-only", "bytes", "random", "tiny", "root-out-of-range"],
)
def test_garbage_is_a_format_error(data, pattern):
    with pytest.raises(ModelFormatError, match=pattern) as info:
        read(data)
    one_sentence(info.value)


def test_wrong_identifier():
    data = bytearray(small_model())
    data[4:8] = b"TFL2"
    with pytest.raises(ModelFormatError, match=r"identifier is b'TFL2', expected b'TFL3'"):
        read(bytes(data))


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
def test_truncated_model(cut):
    data = small_model()
    with pytest.raises(ModelFormatError):
        read(data[: int(len(data) * cut)])


def test_truncated_real_model():
    data = model_path("mlperf_kws_dscnn_int8").read_bytes()
    for n in (len(data) // 3, len(data) - 1000, len(data) - 1):
        with pytest.raises(ModelFormatError) as info:
            read(data[:n])
        one_sentence(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ModelFormatError, match="does not exist"):
        load(tmp_path / "nope.tflite")
    with pytest.raises(ModelFormatError, match="is a directory"):
        load(tmp_path)


@pytest.mark.parametrize(
    "change,error,pattern",
    [
        (dict(custom="MyOp", kind="CUSTOM"), UnsupportedError, r"node 1 is the custom operator 'MyOp'"),
        (
            dict(kind="SQRT"),  # float only in TF-Lite Micro
            UnsupportedError,
            r"node 1 uses SQRT, which mcuforge does not support; supported operators: ABS, ADD",
        ),
        # 16x8 CONV_2D reads, but TFLite's int16 convolution needs zero point 0
        (dict(dtype="int16"), UnsupportedError, r"node 0 \(CONV_2D\): int16 tensor 't0' has zero point -1"),
        (dict(dtype="float32"), UnsupportedError, r"node 0 \(CONV_2D\) is a float32 CONV_2D"),
        (dict(dtype="uint8"), UnsupportedError, r"legacy uint8"),
        (dict(bdtype="int64"), UnsupportedError, r"bias 't2' has dtype int64"),
        (dict(act=4), UnsupportedError, r"fused activation TANH"),
        (dict(channels=3), ModelFormatError, r"node 0 \(CONV_2D\): input has 3 channels but the filter expects 2"),
        (dict(channels=4), UnsupportedError, r"grouped convolution \(2 groups\)"),
        (
            dict(yshape=(1, 4, 4, 4)),
            ModelFormatError,
            r"output 't3' has shape \(1, 4, 4, 4\) in the file, but its inputs give \(1, 4, 4, 3\)",
        ),
        (dict(waxis=3), ModelFormatError, r"3 per-channel scales, which do not match axis 3"),
        (dict(baxis=3), None, None),  # rank-1 per-channel with quantized_dimension 3 (person_detect): accepted
    ],
)
def test_unsupported_or_inconsistent(change, error, pattern):
    data = small_model(**change)
    if error is None:
        assert read(data).tensors["t2"].quant.axis == 0
        return
    with pytest.raises(error, match=pattern) as info:
        read(data)
    one_sentence(info.value)


def mutate_model(data: bytes, edit) -> bytes:
    m = fb.ModelT.InitFromPackedBuf(data, 0)
    edit(m, m.subgraphs[0])
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _set(obj, **kw):
    for k, v in kw.items():
        setattr(obj, k, v)


@pytest.mark.parametrize(
    "edit,error,pattern",
    [
        (
            lambda m, s: _set(s.operators[0], inputs=np.array([0, 1, 99], np.int32)),
            ModelFormatError,
            r"node 0 \(CONV_2D\) refers to tensor 99, but the subgraph has 5 tensors",
        ),
        (lambda m, s: _set(s.operators[1], outputs=np.array([-1], np.int32)), ModelFormatError, r"refers to tensor -1"),
        (lambda m, s: _set(s, outputs=np.array([7], np.int32)), ModelFormatError, r"output list refers to tensor 7"),
        (
            lambda m, s: _set(s.operators[0], opcodeIndex=5),
            ModelFormatError,
            r"operator code index 5, but the model has 2 codes",
        ),
        (lambda m, s: _set(s.tensors[1], buffer=40), ModelFormatError, r"refers to buffer 40"),
        (
            lambda m, s: _set(s.tensors[1], shape=np.array([3, 3, 3, 3], np.int32)),
            ModelFormatError,
            r"needs 81 bytes, but buffer 1 holds 54",
        ),
        (
            lambda m, s: _set(s.tensors[3], shape=np.array([1, 1 << 20, 1 << 10, 3], np.int32)),
            ModelFormatError,
            r"more than the 64 MiB",
        ),
        (
            lambda m, s: _set(s.tensors[3], shape=np.array([1, 4, -4, 3], np.int32)),
            ModelFormatError,
            r"negative dimension",
        ),
        (lambda m, s: _set(s.tensors[3], shape=np.arange(1, 11, dtype=np.int32)), ModelFormatError, r"rank 10"),
        (lambda m, s: _set(s.tensors[3], type=fb.TensorType.FLOAT16), UnsupportedError, r"has type FLOAT16"),
        (lambda m, s: _set(s.tensors[3], isVariable=True), ModelFormatError, r"writes variable tensor 't3' as an output"),
        (lambda m, s: _set(s.tensors[1], isVariable=True), UnsupportedError, r"variable tensor with initial data"),
        (lambda m, s: _set(s.tensors[3].quantization, zeroPoint=[300]), ModelFormatError, r"zero point outside"),
        (lambda m, s: _set(s.tensors[3].quantization, scale=[0.0]), ModelFormatError, r"non-positive or non-finite"),
        (
            lambda m, s: _set(s.tensors[3].quantization, zeroPoint=[0, 0]),
            ModelFormatError,
            r"1 quantisation scale\(s\) but 2 zero point\(s\)",
        ),
        (
            lambda m, s: _set(s.tensors[3], quantization=None),
            ModelFormatError,
            r"int8 tensor 't3' has no quantisation parameters",
        ),
        (
            lambda m, s: _set(
                s.operators[0], builtinOptionsType=fb.BuiltinOptions.AddOptions, builtinOptions=fb.AddOptionsT()
            ),
            ModelFormatError,
            r"carries AddOptions instead of Conv2DOptions",
        ),
        (
            lambda m, s: _set(s.operators[0], builtinOptionsType=0, builtinOptions=None),
            ModelFormatError,
            r"stride \(0, 0\) must be at least 1",
        ),
        (lambda m, s: _set(s.operators[0].builtinOptions, padding=5), ModelFormatError, r"padding code 5"),
        (
            lambda m, s: _set(s.operators[1], inputs=np.array([4], np.int32), outputs=np.array([3], np.int32)),
            ModelFormatError,
            r"reads 't4' before it is written",
        ),
        (lambda m, s: _set(s, inputs=np.array([1], np.int32)), ModelFormatError, r"graph input 't1' is a constant"),
        (lambda m, s: _set(m, subgraphs=[]), ModelFormatError, r"has no subgraph"),
        (lambda m, s: _set(s.tensors[0], sparsity=fb.SparsityParametersT()), UnsupportedError, r"stored sparse"),
    ],
)
def test_corrupted_structure(edit, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        read(mutate_model(small_model(), edit))
    one_sentence(info.value)


def test_structured_mutations_never_escape():
    """Random semantic edits (shapes, indices, options, types, quantisation) give a graph or an MCUForgeError."""
    rng = random.Random(0)
    base = fb.ModelT.InitFromPackedBuf(kitchen_sink()[0], 0)
    values = [-(2**31), -5, -1, 0, 1, 2, 3, 7, 255, 2**31 - 1]
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(300):
        m = copy.deepcopy(base)
        s = m.subgraphs[0]
        for _ in range(rng.randint(1, 3)):
            t, op = rng.choice(s.tensors), rng.choice(s.operators)
            r = rng.randrange(6)
            if r == 0:
                t.shape = np.array([rng.choice(values + [4, 16]) for _ in range(rng.randint(0, 5))], dtype=np.int32)
            elif r == 1 and len(op.inputs):
                op.inputs = op.inputs.copy()
                op.inputs[rng.randrange(len(op.inputs))] = rng.choice(
                    [-1, -2, len(s.tensors), rng.randrange(len(s.tensors))]
                )
            elif r == 2 and op.builtinOptions is not None and vars(op.builtinOptions):
                key = rng.choice(sorted(vars(op.builtinOptions)))
                old = getattr(op.builtinOptions, key)
                if isinstance(old, (int, np.integer)) and not isinstance(old, bool):
                    setattr(
                        op.builtinOptions,
                        key,
                        rng.randrange(8) if key in ("padding", "fusedActivationFunction") else rng.choice(values),
                    )
            elif r == 3:
                t.type = rng.randrange(23)
            elif r == 4 and t.quantization is not None:
                t.quantization.quantizedDimension = rng.randrange(6)
            else:
                op.opcodeIndex = rng.randrange(len(m.operatorCodes) + 1)
        try:
            b = flatbuffers.Builder(1024)
            b.Finish(m.Pack(b), file_identifier=b"TFL3")
        except TypeError:  # a value the schema's builder itself rejects
            continue
        try:
            read(bytes(b.Output()))
            outcomes["ok"] += 1
        except MCUForgeError as e:
            one_sentence(e)
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 100
