"""Does TF-Lite Micro run an operator on int8 tensors? Ask it: write a one-operator model
with int8 activations straight from TFLite's schema (mcuforge's writer only knows the
ops of `Op`), and run it in a child process (a kernel that rejects int8, or crashes, is
then a result, not a failure of the caller).

`PROBES` holds one small model per operator that src/mcuforge/coverage.py marks as
checked by running ("run"); tests/test_coverage.py asserts that TF-Lite Micro runs each
exactly when the table says it takes int8, and that a refused one runs as float32.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.oracle.tflm import run_tflm_isolated

TYPES = {"int8": fb.TensorType.INT8, "int32": fb.TensorType.INT32, "bool": fb.TensorType.BOOL,
         "float32": fb.TensorType.FLOAT32}  # fmt: skip
NP = {"int8": np.int8, "int32": np.int32, "bool": np.bool_, "float32": np.float32}
QUANT = (0.0625, 0)  # 1/16: exact in float32, so every rescale is representable


@dataclass(frozen=True)
class T:
    """One tensor of a probe: dtype, shape, constant data (None: a model input or
    output), and (scale, zero point) for int8."""

    dtype: str
    shape: tuple[int, ...]
    data: tuple | None = None
    quant: tuple[float, int] = QUANT


@dataclass(frozen=True)
class Probe:
    inputs: tuple[T, ...]
    outputs: tuple[T, ...]
    options: tuple[str, dict] | None = None  # (schema options name, field values)
    values: tuple[int, int] = (-20, 20)  # range of the seeded int8 inputs


def _i8(*shape: int, quant: tuple[float, int] = QUANT) -> T:
    return T("int8", shape, quant=quant)


def _c32(*values: int, shape: tuple[int, ...] | None = None) -> T:
    return T("int32", (len(values),) if shape is None else shape, tuple(values))


X = _i8(1, 4, 4, 2)  # the activation most probes take
UNARY = Probe((X,), (X,))
BINARY = Probe((X, X), (X,))
COMPARE = Probe((X, X), (T("bool", X.shape),))
PROBES: dict[str, Probe] = {
    **{op: UNARY for op in ("ABS", "CEIL", "COS", "ELU", "EXP", "FLOOR", "NEG", "ROUND", "SIN", "SQUARE",
                            "ZEROS_LIKE")},  # fmt: skip
    # defined on positive reals only: TF-Lite Micro's int8 RSQRT fails on an input <= 0
    **{op: Probe((X,), (X,), values=(1, 20)) for op in ("LOG", "SQRT", "RSQRT")},
    **{op: BINARY for op in ("DIV", "FLOOR_DIV", "FLOOR_MOD", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE")},
    **{op: COMPARE for op in ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")},
    "ADD_N": Probe((X, X, X), (X,)),
    "PRELU": Probe((X, T("int8", (2,), (3, -5))), (X,)),
    "L2_NORMALIZATION": Probe((X,), (_i8(1, 4, 4, 2, quant=(1 / 128, 0)),)),  # the output scale TFLite requires
    "LOG_SOFTMAX": Probe((X,), (_i8(1, 4, 4, 2, quant=(16 / 256, 127)),)),  # likewise
    "L2_POOL_2D": Probe(
        (X,), (_i8(1, 2, 2, 2),), ("Pool2DOptions", {"padding": fb.Padding.VALID, "strideW": 2, "strideH": 2,
                                                       "filterWidth": 2, "filterHeight": 2}),
    ),  # fmt: skip
    "BATCH_MATMUL": Probe((_i8(1, 2, 3), _i8(1, 3, 4)), (_i8(1, 2, 4),)),
    "TRANSPOSE_CONV": Probe(
        (_c32(1, 8, 8, 3), T("int8", (3, 2, 2, 2), tuple(range(24)), (0.5, 0)), X),
        (_i8(1, 8, 8, 3),),
        ("TransposeConvOptions", {"padding": fb.Padding.SAME, "strideW": 2, "strideH": 2}),
    ),
    "ARG_MAX": Probe((X, _c32(3)), (T("int32", (1, 4, 4)),), ("ArgMaxOptions", {"outputType": fb.TensorType.INT32})),
    "ARG_MIN": Probe((X, _c32(3)), (T("int32", (1, 4, 4)),), ("ArgMinOptions", {"outputType": fb.TensorType.INT32})),
    "CUMSUM": Probe((X, _c32(1, shape=())), (X,)),
    "SUM": Probe((X, _c32(1, 2)), (_i8(1, 2),)),
    "REDUCE_MIN": Probe((X, _c32(1, 2)), (_i8(1, 2),)),
    "GATHER": Probe((X, _c32(3, 0)), (_i8(1, 4, 4, 2),), ("GatherOptions", {"axis": 1})),
    "GATHER_ND": Probe((X, _c32(0, 2, shape=(1, 2))), (_i8(1, 4, 2),)),
    "EMBEDDING_LOOKUP": Probe((_c32(2, 0), T("int8", (3, 4), tuple(range(12)))), (_i8(2, 4),)),
    "MIRROR_PAD": Probe(
        (X, _c32(0, 0, 1, 1, 1, 1, 0, 0, shape=(4, 2))), (_i8(1, 6, 6, 2),),
        ("MirrorPadOptions", {"mode": fb.MirrorPadMode.REFLECT}),
    ),  # fmt: skip
    "REVERSE_V2": Probe((X, _c32(1)), (X,)),
    "SLICE": Probe((X, _c32(0, 1, 1, 0), _c32(1, 2, 3, 2)), (_i8(1, 2, 3, 2),)),
    "SPLIT": Probe((_c32(1, shape=()), X), (_i8(1, 2, 4, 2), _i8(1, 2, 4, 2)), ("SplitOptions", {"numSplits": 2})),
    "SPLIT_V": Probe(
        (X, _c32(1, 3), _c32(1, shape=())), (_i8(1, 1, 4, 2), _i8(1, 3, 4, 2)), ("SplitVOptions", {"numSplits": 2})
    ),
    "PACK": Probe((X, X), (_i8(2, 1, 4, 4, 2),), ("PackOptions", {"valuesCount": 2, "axis": 0})),
    "UNPACK": Probe((_i8(2, 4, 2),), (_i8(4, 2), _i8(4, 2)), ("UnpackOptions", {"num": 2, "axis": 0})),
    "SPACE_TO_DEPTH": Probe((X,), (_i8(1, 2, 2, 8),), ("SpaceToDepthOptions", {"blockSize": 2})),
    "DEPTH_TO_SPACE": Probe((_i8(1, 2, 2, 8),), (X,), ("DepthToSpaceOptions", {"blockSize": 2})),
    "SPACE_TO_BATCH_ND": Probe((X, _c32(2, 2), _c32(0, 0, 0, 0, shape=(2, 2))), (_i8(4, 2, 2, 2),)),
    "BATCH_TO_SPACE_ND": Probe((_i8(4, 2, 2, 2), _c32(2, 2), _c32(0, 0, 0, 0, shape=(2, 2))), (X,)),
    "RESIZE_BILINEAR": Probe((X, _c32(8, 8)), (_i8(1, 8, 8, 2),)),
    "SELECT_V2": Probe((T("bool", X.shape), X, X), (X,)),
    "CAST": Probe((X,), (T("int32", X.shape),)),
    "BROADCAST_TO": Probe((_i8(1, 1, 4, 2), _c32(1, 4, 4, 2)), (X,)),
    "FILL": Probe((_c32(1, 4, 4, 2), T("int8", (), (3,))), (X,)),
    "DYNAMIC_UPDATE_SLICE": Probe((X, _i8(1, 2, 2, 2), _c32(0, 1, 1, 0)), (X,)),
}


# Operators too involved for a one-op probe (state tensors, many weights), each with a
# trained model of ../shared/models that holds it with int8 inputs.
REAL_MODELS = {"SVDF": "tflm_keyword_scrambled_8bit", "UNIDIRECTIONAL_SEQUENCE_LSTM": "tflm_mnist_lstm_int8"}


def op_input_types(model: bytes, kind: str) -> list[str]:
    """The tensor types of the first `kind` operator's present inputs."""
    m = fb.Model.GetRootAs(model, 0)
    sub = m.Subgraphs(0)
    names = {v: k for k, v in vars(fb.TensorType).items() if isinstance(v, int)}
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == getattr(fb.BuiltinOperator, kind):
            return [names[sub.Tensors(j).Type()] for j in op.InputsAsNumpy() if j >= 0]
    raise AssertionError(f"the model has no {kind}")


def zero_inputs(model: bytes) -> list[np.ndarray]:
    sub = fb.Model.GetRootAs(model, 0).Subgraphs(0)
    dtypes = {fb.TensorType.INT8: np.int8, fb.TensorType.INT16: np.int16, fb.TensorType.FLOAT32: np.float32}
    return [
        np.zeros(sub.Tensors(i).ShapeAsNumpy(), dtypes[sub.Tensors(i).Type()]) for i in sub.InputsAsNumpy()
    ]


def one_op_model(kind: str, probe: Probe) -> bytes:
    """A .tflite with one operator `kind`, its non-constant inputs as model inputs."""
    model = fb.ModelT()
    model.version = 3
    model.buffers = [fb.BufferT()]
    sub = fb.SubGraphT()
    sub.tensors, sub.inputs = [], []
    for spec in probe.inputs + probe.outputs:
        t = fb.TensorT()
        t.shape = np.array(spec.shape, dtype=np.int32)
        t.type = TYPES[spec.dtype]
        t.name = f"t{len(sub.tensors)}"
        t.buffer = 0
        if spec.data is not None:
            b = fb.BufferT()
            b.data = np.array(spec.data, dtype=NP[spec.dtype]).reshape(-1).view(np.uint8)
            model.buffers.append(b)
            t.buffer = len(model.buffers) - 1
        if spec.dtype == "int8":  # float32 tensors carry no quantisation
            q = fb.QuantizationParametersT()
            q.scale, q.zeroPoint = [spec.quant[0]], [spec.quant[1]]
            t.quantization = q
        sub.tensors.append(t)
    n_in = len(probe.inputs)
    sub.inputs = [i for i, s in enumerate(probe.inputs) if s.data is None]
    sub.outputs = list(range(n_in, n_in + len(probe.outputs)))
    code = fb.OperatorCodeT()
    code.builtinCode = getattr(fb.BuiltinOperator, kind)
    code.deprecatedBuiltinCode = min(code.builtinCode, fb.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    model.operatorCodes = [code]
    op = fb.OperatorT()
    op.opcodeIndex = 0
    op.inputs, op.outputs = list(range(n_in)), sub.outputs
    if probe.options is not None:
        name, fields = probe.options
        op.builtinOptionsType = getattr(fb.BuiltinOptions, name)
        op.builtinOptions = getattr(fb, f"{name}T")()
        for key, value in fields.items():
            setattr(op.builtinOptions, key, value)
    sub.operators = [op]
    model.subgraphs = [sub]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def probe_inputs(probe: Probe, seed: int = 0) -> list[np.ndarray]:
    """Seeded values for the model inputs (bools alternate so SELECT takes both sides)."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in probe.inputs:
        if spec.data is not None:
            continue
        if spec.dtype == "bool":
            out.append((np.arange(int(np.prod(spec.shape))) % 2 == 0).reshape(spec.shape))
        else:
            out.append(rng.integers(probe.values[0], probe.values[1] + 1, spec.shape).astype(NP[spec.dtype]))
    return out


def as_float(probe: Probe) -> Probe:
    """The same probe with float32 where it has int8: the control for a probe that fails,
    showing that the model is well formed and only the int8 type is refused."""

    def f(t: T) -> T:
        return replace(t, dtype="float32") if t.dtype == "int8" else t

    return replace(probe, inputs=tuple(map(f, probe.inputs)), outputs=tuple(map(f, probe.outputs)))


def runs(kind: str, probe: Probe) -> tuple[bool, str]:
    """Whether TF-Lite Micro prepares and invokes the probe, and its message if not."""
    result = run_tflm_isolated(one_op_model(kind, probe), probe_inputs(probe), timeout=60)
    return result.ok, result.message


def runs_int8(kind: str) -> tuple[bool, str]:
    return runs(kind, PROBES[kind])


def runs_float(kind: str) -> tuple[bool, str]:
    return runs(kind, as_float(PROBES[kind]))
