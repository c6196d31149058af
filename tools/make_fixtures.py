"""Converter conformance fixtures: small models made by two real converters, written with
their inputs and TF-Lite Micro's outputs to tests/fixtures/converters/.

    python3 -m venv build/fixture-venv
    build/fixture-venv/bin/pip install "tensorflow==2.21.*" torch==2.13.0 litert-torch \\
        tflite-micro==0.dev20261023182759
    build/fixture-venv/bin/python tools/make_fixtures.py [--only NAME,NAME] [--list]

TensorFlow's TFLite converter (full-integer int8 with a representative dataset) makes
the `tf_*` models; litert-torch (PyTorch -> .tflite with its PT2E int8 quantiser) the
`pt_*` models. Each fixture is NAME.tflite plus NAME.npz holding `in0`, ... (int8
inputs, seeded) and `out0`, ... (what TF-Lite Micro computes for them). TensorFlow and
litert-torch are needed only here, never by `make test` or at run time: the fixtures
are committed, and tests/frontend/test_converter_fixtures.py runs every one through
mcuforge's reader, reference executor and generated C (and QEMU in a slow test) and
compares with `==`.

Only tools are imported from this venv; no mcuforge code is needed, so the fixtures
say what the converters make, not what mcuforge expects.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "converters"
SEED = 0


# ------------------------------------------------------------------ TensorFlow models
def _keras():
    import tensorflow as tf

    return tf, tf.keras.layers


def tf_models() -> dict:
    """name -> (build() -> keras.Model, input shapes without batch). Each is one pattern."""
    tf, L = _keras()

    def seq(shape, *layers):
        def build():
            x = tf.keras.Input(shape, name="in0")
            y = x
            for layer in layers:
                y = layer()(y) if isinstance(layer, type) else layer(y)
            return tf.keras.Model(x, y)

        return build, [shape]

    def fn(shapes, body):
        def build():
            xs = [tf.keras.Input(s, name=f"in{i}") for i, s in enumerate(shapes)]
            return tf.keras.Model(xs, body(*xs))

        return build, list(shapes)

    def T(f):  # a raw TensorFlow op on one tensor, as a Keras layer (Keras 3 traces it)
        return lambda y: L.Lambda(f)(y)

    def R(f):  # the same for several tensors
        return lambda *ys: L.Lambda(lambda t: f(*t))(list(ys))

    def unet(x):
        c1 = L.Conv2D(8, 3, padding="same", activation="relu")(x)
        p1 = L.MaxPooling2D()(c1)
        c2 = L.Conv2D(16, 3, padding="same", activation="relu")(p1)
        u1 = L.UpSampling2D()(c2)
        m = L.Concatenate()([u1, c1])
        return L.Conv2D(2, 1)(L.Conv2D(8, 3, padding="same", activation="relu")(m))

    def mbv2_block(x):
        y = L.Conv2D(24, 1, use_bias=False)(x)
        y = L.ReLU(6.0)(L.BatchNormalization()(y))
        y = L.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
        y = L.ReLU(6.0)(L.BatchNormalization()(y))
        y = L.BatchNormalization()(L.Conv2D(8, 1, use_bias=False)(y))
        y = L.Add()([x, y])
        y = L.GlobalAveragePooling2D()(y)
        return L.Softmax()(L.Dense(5)(y))

    return {
        "tf_conv1d_dilated": seq((32, 4), lambda y: L.Conv1D(8, 3, dilation_rate=2, padding="same", activation="relu")(y),
                                 lambda y: L.Conv1D(4, 3, dilation_rate=4, padding="valid")(y)),
        "tf_conv2d_dilated": seq((16, 16, 3), lambda y: L.Conv2D(6, 3, dilation_rate=2, padding="same")(y)),
        "tf_depthwise_dilated": seq((16, 16, 4), lambda y: L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(y)),
        "tf_unet_upsampling": fn([(16, 16, 3)], unet),
        "tf_mbv2_block": fn([(12, 12, 8)], mbv2_block),
        "tf_conv_strided_valid": seq((15, 13, 3), lambda y: L.Conv2D(5, (3, 2), strides=(2, 3), padding="valid")(y)),
        "tf_pools": seq((12, 12, 4), lambda y: L.AveragePooling2D(3, 2, padding="same")(y),
                        lambda y: L.MaxPooling2D(2)(y)),
        "tf_dense_tanh_sigmoid": seq((20,), lambda y: L.Dense(16, activation="tanh")(y),
                                     lambda y: L.Dense(4, activation="sigmoid")(y)),
        "tf_leaky_hardswish": seq((8, 8, 4), lambda y: L.LeakyReLU(0.1)(y), T(lambda y: tf.nn.relu6(y + 3.0) * y / 6.0)),
        "tf_pad_crop_transpose": seq((10, 10, 3), lambda y: L.ZeroPadding2D(((1, 2), (0, 1)))(y),
                                     lambda y: L.Cropping2D(((2, 1), (1, 0)))(y), lambda y: L.Permute((2, 1, 3))(y)),
        "tf_reshape_mean_max": seq((6, 6, 8), T(lambda y: tf.reduce_max(y, axis=[1], keepdims=True)),
                                   T(lambda y: tf.reduce_mean(y, axis=[2])), lambda y: L.Flatten()(y)),
        "tf_add_sub_mul_broadcast": fn([(6, 6, 4), (1, 1, 4)], lambda a, b: (a + b) * b - a),
        "tf_concat_channels": fn([(5, 5, 3), (5, 5, 2)], lambda a, b: L.Concatenate()([a, b])),
        "tf_resize_nearest": seq((7, 5, 2), T(lambda y: tf.image.resize(y, (14, 15), method="nearest"))),
        # Operators of issue 14 (tests/frontend/test_converter_fixtures.py lists the
        # fixtures whose operator mcuforge does not support yet, with that operator).
        "tf_resize_bilinear": seq((7, 5, 2), T(lambda y: tf.image.resize(y, (12, 9), method="bilinear"))),
        "tf_upsampling_bilinear": seq((6, 6, 3), lambda y: L.UpSampling2D(interpolation="bilinear")(y)),
        "tf_transpose_conv": seq((6, 6, 4), lambda y: L.Conv2DTranspose(3, 3, strides=2, padding="same")(y)),
        "tf_max_min": fn([(4, 5, 3), (4, 5, 3)], R(lambda a, b: tf.maximum(a, b) - tf.minimum(a, b * 0.5))),
        "tf_squared_difference": fn([(4, 5, 3), (1, 5, 3)], R(lambda a, b: tf.math.squared_difference(a, b))),
        "tf_prelu": seq((6, 6, 4), lambda y: L.PReLU(shared_axes=[1, 2])(y)),
        "tf_abs_elu": seq((6, 6, 4), T(lambda y: tf.abs(y)), T(lambda y: tf.nn.elu(y - 1.0))),
        "tf_log_softmax": seq((10,), T(lambda y: tf.nn.log_softmax(y))),
        "tf_l2_normalize": seq((12,), T(lambda y: tf.math.l2_normalize(y, axis=-1))),
        "tf_sum_min": seq((6, 5, 4), T(lambda y: tf.reduce_sum(y, axis=[1], keepdims=True) + tf.reduce_min(y, axis=[1], keepdims=True))),
        "tf_argmax": seq((7, 4), T(lambda y: tf.argmax(y, axis=-1, output_type=tf.int32))),
        "tf_split_concat": seq((6, 6, 6), T(lambda y: tf.concat(tf.split(y, 3, axis=-1)[::-1], axis=-1))),
        "tf_slice_pack": seq((6, 8), T(lambda y: tf.stack([y[:, 1:4, 2:6], y[:, 2:5, 0:4]], axis=1))),
        "tf_unstack": seq((3, 4, 5), T(lambda y: tf.concat(tf.unstack(y, axis=1), axis=-1))),
        "tf_tile": seq((3, 4), T(lambda y: tf.tile(y, [1, 2, 3]))),
        "tf_gather": seq((8, 5), T(lambda y: tf.gather(y, [3, 1, 1, 7], axis=1))),
        "tf_depth_space": seq((8, 8, 4), T(lambda y: tf.nn.space_to_depth(y, 2)), T(lambda y: tf.nn.depth_to_space(y, 2))),
        "tf_mirror_pad": seq((5, 5, 2), T(lambda y: tf.pad(y, [[0, 0], [1, 2], [2, 1], [0, 0]], mode="REFLECT"))),
        "tf_reverse": seq((5, 4, 3), T(lambda y: tf.reverse(y, axis=[1]))),
        "tf_compare_select": fn([(4, 6), (4, 6)], R(lambda a, b: tf.where(a > b, a, b * 0.5))),
        "tf_batch_matmul": fn([(4, 6), (6, 5)], R(lambda a, b: tf.matmul(a, b))),
        "tf_split_v": seq((6, 9), T(lambda y: tf.concat(tf.split(y, [2, 3, 4], axis=-1)[::-1], axis=-1))),
        "tf_gather_nd": seq((5, 4, 3), T(lambda y: tf.gather_nd(y, [[[0, 1, 2], [0, 4, 3]], [[0, 2, 2], [0, 1, 0]]]))),
        "tf_argmin": seq((6, 5), T(lambda y: tf.argmin(y, axis=1, output_type=tf.int32))),
        "tf_cumsum": seq((8, 3), T(lambda y: tf.cumsum(y, axis=1, exclusive=True, reverse=True))),
        "tf_comparisons": fn([(4, 6), (4, 6)], R(lambda a, b: tf.where(tf.logical_or(tf.less_equal(a, b), tf.equal(a, b)), a, b)
                                               + tf.where(tf.logical_and(tf.greater_equal(a, 0.2), tf.greater(b, a)), b, a)
                                               - tf.where(tf.logical_not(tf.less(a, b)), a * 0.5, b))),
        "tf_add_n": fn([(4, 6), (4, 6), (4, 6)], R(lambda a, b, c: tf.math.add_n([a, b, c]))),
        "tf_div": fn([(4, 6), (4, 6)], R(lambda a, b: a / (tf.abs(b) + 1.0))),
        "tf_rsqrt": seq((4, 6), T(lambda y: tf.math.rsqrt(tf.abs(y) + 0.5))),
        "tf_broadcast_to": seq((1, 6), T(lambda y: tf.broadcast_to(y, [1, 4, 6]) * 2.0)),
        "tf_space_batch": seq((8, 8, 2), T(lambda y: tf.space_to_batch_nd(y, [2, 2], [[0, 0], [0, 0]]) * 1.5),
                              T(lambda y: tf.compat.v1.batch_to_space_nd(y, [2, 2], [[0, 0], [0, 0]]))),
        "tf_l2_pool_like": seq((8, 8, 3), T(lambda y: tf.reduce_mean(tf.math.squared_difference(y, 0.1), axis=[1, 2]))),
        "tf_gelu_tanh": seq((16,), T(lambda y: tf.nn.gelu(y, approximate=True))),
        "tf_conv_transpose_valid": seq((5, 4, 3), lambda y: L.Conv2DTranspose(4, (3, 2), strides=(2, 1), padding="valid", activation="relu")(y)),
        "tf_depthwise_multiplier": seq((9, 9, 3), lambda y: L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same")(y)),
        "tf_separable_seq": seq((32, 4), lambda y: L.SeparableConv1D(6, 5, padding="same", activation="relu")(y),
                                lambda y: L.GlobalMaxPooling1D()(y), lambda y: L.Dense(3)(y), lambda y: L.Softmax()(y)),
    }  # fmt: skip


def convert_tf(build, shapes, rng) -> bytes:
    tf, _ = _keras()
    tf.keras.utils.set_random_seed(SEED)
    model = build()
    # by input name: the converter may order a model's inputs otherwise than Keras
    calib = [{f"in{i}": rng.uniform(-1.0, 1.0, (1, *s)).astype(np.float32) for i, s in enumerate(shapes)}
             for _ in range(32)]  # fmt: skip
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(calib)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        return conv.convert()
    except Exception:  # an int32 / bool output (ARG_MAX, comparisons) cannot be int8: keep its type
        conv.inference_output_type = tf.float32
        return conv.convert()


# ------------------------------------------------------------------ PyTorch models
def pt_models() -> dict:
    """name -> (build() -> torch.nn.Module, input shapes NCHW or N-less as given)."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, residual: bool = False) -> None:
            super().__init__()
            self.residual = residual
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
            self.pw = nn.Conv2d(8, 8, 1)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            y = torch.relu(self.bn(self.conv(x)))
            z = self.pw(torch.nn.functional.relu6(self.dw(y)))
            y = y + z if self.residual else z
            return self.fc(y.mean(dim=(2, 3)))

    class Unet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.c3 = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            a = torch.relu(self.c1(x))
            b = torch.relu(self.c2(nn.functional.max_pool2d(a, 2)))
            return self.c3(torch.cat([self.up(b), a], dim=1))

    class Dilated1d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv1d(4, 8, 3, dilation=2, padding=2)
            self.c2 = nn.Conv1d(8, 4, 3, dilation=4)

        def forward(self, x):
            return self.c2(torch.relu(self.c1(x)))

    class Bilinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(3, 4, 3, padding=1)
            self.c2 = nn.Conv2d(4, 2, 1)

        def forward(self, x):
            y = nn.functional.interpolate(torch.relu(self.c1(x)), scale_factor=2, mode="bilinear", align_corners=False)
            return self.c2(y)

    class Hardswish(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3, stride=2)

        def forward(self, x):
            return nn.functional.hardswish(self.conv(x))

    class Deconv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(3, 6, 3, stride=2, padding=1)
            self.d = nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1)

        def forward(self, x):
            return self.d(torch.relu(self.c(x)))

    class PoolsCat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            y = torch.relu(self.c(x))
            return torch.cat([nn.functional.max_pool2d(y, 2), nn.functional.avg_pool2d(y, 2)], dim=1)

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(1, 8, 3, stride=2)
            self.dw = nn.Conv2d(8, 8, 3, stride=2, groups=8)
            self.fc = nn.Linear(8 * 3 * 3, 5)

        def forward(self, x):
            y = torch.relu(self.dw(torch.relu(self.c(x))))
            return self.fc(torch.flatten(y, 1))  # a softmax would stay float (hybrid), as HARD_SWISH does

    return {
        "pt_deconv": (Deconv, [(1, 3, 8, 8)]),  # the quantiser leaves ConvTranspose2d in float: refused
        "pt_pools_cat": (PoolsCat, [(1, 3, 10, 10)]),
        "pt_classifier": (Classifier, [(1, 1, 16, 16)]),
        "pt_block": (Block, [(1, 3, 12, 12)]),
        "pt_unet": (Unet, [(1, 3, 16, 16)]),
        "pt_conv1d_dilated": (Dilated1d, [(1, 4, 32)]),
        "pt_conv_bilinear": (Bilinear, [(1, 3, 6, 5)]),
        "pt_block_per_channel": (Block, [(1, 3, 12, 12)]),  # converted with per-channel weights
        # The quantiser leaves these operators in float between QUANTIZE/DEQUANTIZE: a
        # hybrid model, which mcuforge refuses with one sentence (the test checks it).
        "pt_block_residual": (lambda: Block(residual=True), [(1, 3, 12, 12)]),
        "pt_hardswish": (Hardswish, [(1, 3, 13, 13)]),
    }


def convert_pt(build, shapes, rng, per_channel: bool = False) -> bytes:
    """PyTorch -> torch.export -> PT2E int8 (litert-torch's quantiser: symmetric weights,
    per tensor or per channel, calibrated on 16 batches) -> .tflite with float I/O around
    int8 operators."""
    import litert_torch
    import torch
    from litert_torch.quantize import pt2e_quantizer, quant_config
    from torchao.quantization.pt2e import quantize_pt2e

    torch.manual_seed(SEED)
    model = build().eval()
    sample = tuple(torch.from_numpy(rng.uniform(-1.0, 1.0, s).astype(np.float32)) for s in shapes)
    exported = torch.export.export(model, sample).module()
    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=per_channel)
    )
    prepared = quantize_pt2e.prepare_pt2e(exported, quantizer)
    for _ in range(16):
        prepared(*(torch.from_numpy(rng.uniform(-1.0, 1.0, s).astype(np.float32)) for s in shapes))
    quantized = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
    # quant_config makes the converter lower the Q/DQ pairs to int8 operators (STATIC mode);
    # without it the .tflite computes in float between QUANTIZE/DEQUANTIZE pairs.
    config = quant_config.QuantConfig(pt2e_quantizer=quantizer)
    return litert_torch.convert(quantized, sample, quant_config=config).model_content()


# ------------------------------------------------------------------ oracle
def tflm_outputs(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    it = runtime.Interpreter.from_bytes(model, arena_size=16 << 20)
    for i, x in enumerate(inputs):
        it.set_input(np.ascontiguousarray(x), i)
    it.invoke()
    n = len(fb.ModelT.InitFromPackedBuf(model, 0).subgraphs[0].outputs)
    return [np.array(it.get_output(i)) for i in range(n)]


def _versions_one(model: bytes) -> bytes:
    """The model with every operator code at version 1: LiteRT's reference resolver registers
    TILE at version 1 only, while its kernel handles the int8 the converter's v3 stands for."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(model, 0)
    for code in m.operatorCodes:
        code.version = 1
    b = flatbuffers.Builder(len(model) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def litert_outputs(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """LiteRT's reference kernels (BUILTIN_REF): the second oracle, and the only one where
    TF-Lite Micro lacks the kernel (int8 TILE)."""
    from ai_edge_litert import interpreter as lr

    try:
        it = lr.Interpreter(model_content=model, experimental_op_resolver_type=lr.OpResolverType.BUILTIN_REF)
    except ValueError:  # an op version the reference resolver does not register (int8 TILE is v3)
        it = lr.Interpreter(model_content=_versions_one(model), experimental_op_resolver_type=lr.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], np.ascontiguousarray(x))
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]


def input_arrays(model: bytes, rng) -> list[np.ndarray]:
    """Seeded inputs of the model's input dtypes and shapes (read with TFLM's own schema)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(model, 0)
    sub = m.subgraphs[0]
    names = {v: k for k, v in vars(fb.TensorType).items() if isinstance(v, int)}
    xs = []
    for i in sub.inputs:
        t = sub.tensors[i]
        dtype = {"INT8": np.int8, "FLOAT32": np.float32, "INT32": np.int32}[names[t.type]]
        shape = tuple(int(d) for d in t.shape)
        if dtype is np.float32:
            xs.append(rng.uniform(-1, 1, shape).astype(np.float32))
        else:
            info = np.iinfo(dtype)
            xs.append(rng.integers(max(info.min, -128), min(info.max, 127) + 1, shape).astype(dtype))
    return xs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated fixture names")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    makers = {**{k: ("tf", v) for k, v in tf_models().items()}}
    try:
        makers.update({k: ("pt", v) for k, v in pt_models().items()})
    except ImportError as e:
        print(f"litert-torch fixtures skipped: {e}", file=sys.stderr)
    if args.list:
        print("\n".join(makers))
        return 0
    names = args.only.split(",") if args.only else list(makers)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    for name in names:
        kind, (build, shapes) = makers[name]
        rng = np.random.default_rng([SEED, len(name), sum(map(ord, name))])
        try:
            if kind == "tf":
                model = convert_tf(build, shapes, rng)
            else:
                model = convert_pt(build, shapes, rng, per_channel=name.endswith("_per_channel"))
        except Exception as e:  # a converter that refuses a pattern: recorded, not fatal
            print(f"{name}: the converter refused it: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            index[name] = {"converter": kind, "made": False, "why": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
            continue
        xs = input_arrays(model, rng)
        try:
            ys = tflm_outputs(model, xs)
        except Exception as e:  # TF-Lite Micro lacks a kernel: the fixture has no oracle output
            print(f"{name}: TF-Lite Micro cannot run it: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            ys = None
        lr_ys = litert_outputs(model, xs)
        (out / f"{name}.tflite").write_bytes(model)
        arrays = {f"in{i}": x for i, x in enumerate(xs)}
        arrays.update({f"litert{i}": y for i, y in enumerate(lr_ys)})
        if ys is not None:
            arrays.update({f"out{i}": y for i, y in enumerate(ys)})
        np.savez(out / f"{name}.npz", **arrays)
        same = ys is not None and all(np.array_equal(a, b) for a, b in zip(ys, lr_ys))
        index[name] = {"converter": kind, "made": True, "tflm": ys is not None, "oracles_agree": same,
                       "bytes": len(model)}  # fmt: skip
        said = "TF-Lite Micro and LiteRT outputs stored" + ("" if same else " (they differ)") if ys else "LiteRT outputs only"
        print(f"{name}: {len(model):,} B, {len(xs)} input(s), {said}")
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
