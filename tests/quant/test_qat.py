"""Quantisation of a trained network: the TFLite int8 rules on a hand-computed layer,
observers, fake quantisation against the integer kernels, and the exported .tflite
against TF-Lite Micro."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcuforge.data.convention import InputConvention  # noqa: E402
from mcuforge.frontend.metadata import ENTRY, ModelInfo, model_info, read_metadata  # noqa: E402
from mcuforge.frontend.tflite_read import read  # noqa: E402
from mcuforge.frontend.tflite_write import write  # noqa: E402
from mcuforge.nas.space import BlockSpec, ConvSpec, NetConfig  # noqa: E402
from mcuforge.nas.torch_model import build_model  # noqa: E402
from mcuforge.quant.observers import ObserverSettings, RangeObserver, qparams  # noqa: E402
from mcuforge.quant.qat import ActQuant, QLayer, QuantNet  # noqa: E402
from mcuforge.ref.interpreter import run  # noqa: E402

torch.set_num_threads(1)

TINY = NetConfig(
    "tiny", 16, ConvSpec(1, 8, 3, 2),
    (BlockSpec(8, 8, 3, 1, 1, residual=True), BlockSpec(8, 16, 5, 2, 3), BlockSpec(16, 16, 3, 1, 6, 96, True)),
    ConvSpec(16, 32, 1, 1), num_classes=4, in_channels=1,
)  # fmt: skip
CONVENTION = InputConvention(0.3, 0.35)


def randomised_net(cfg: NetConfig, seed: int = 0):
    """A float network with non-trivial batch-norm statistics, as training leaves them."""
    net = build_model(cfg, seed=seed)
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.bias.data.uniform_(-0.3, 0.3, generator=g)
    return net.eval()


def images(n: int, seed: int, r: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, r, r, 1), dtype=np.uint8)


def as_float(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(CONVENTION.to_float(x)).permute(0, 3, 1, 2)


def calibrated(cfg: NetConfig = TINY, method: str = "minmax") -> QuantNet:
    q = QuantNet(randomised_net(cfg), CONVENTION).eval()
    q.calibrate([as_float(images(32, 1))], ObserverSettings(method))
    return q


# ------------------------------------------------------------------ the rules
def test_qparams_follow_the_converter():
    s, zp = qparams(-1.0, 3.0)
    assert s.dtype == torch.float32 and float(s) == pytest.approx(4 / 255)
    assert int(zp) == -64  # round(-128 + 1 / (4 / 255)) = round(-64.25)
    s, zp = qparams(0.0, 6.0)  # a ReLU6 output
    assert float(s) == pytest.approx(6 / 255) and int(zp) == -128
    s, zp = qparams(0.5, 2.0)  # a range without 0 is widened to hold it
    assert int(zp) == -128 and float(s) == pytest.approx(2 / 255)


def test_hand_computed_layer():
    """A 1x1 conv + batch norm folded and quantised, every number worked out by hand."""
    conv = torch.nn.Conv2d(1, 2, 1, bias=False)
    bn = torch.nn.BatchNorm2d(2, eps=0.0)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([2.54, -2.54]).reshape(2, 1, 1, 1))
        bn.weight.copy_(torch.tensor([1.0, 1.0]))
        bn.bias.copy_(torch.tensor([0.5, 0.0]))
        bn.running_mean.copy_(torch.tensor([0.0, 1.0]))
        bn.running_var.copy_(torch.tensor([1.0, 4.0]))
    layer = QLayer.from_conv_bn(torch.nn.Sequential(conv, bn))
    # folded: w' = w * gamma / sqrt(var) = [2.54, -1.27]; b' = beta - mean * gamma / sqrt(var) = [0.5, -0.5]
    assert torch.allclose(layer.weight.flatten(), torch.tensor([2.54, -1.27]))
    assert torch.allclose(layer.bias, torch.tensor([0.5, -0.5]))
    # per-channel symmetric: scale max|w| / 127, codes +-127
    assert torch.allclose(layer.weight_scale(), torch.tensor([0.02, 0.01]))
    assert layer.int8_weight().reshape(-1).tolist() == [127, -127]
    # bias: int32 with scale input scale x weight scale = 0.5 x [0.02, 0.01]
    in_q = ActQuant(fixed=(0.5, 0))
    assert layer.int32_bias(in_q).tolist() == [50, -100]
    # the output: input 2.0 (code 4) -> [2.54 * 2 + 0.5, -1.27 * 2 - 0.5] = [5.58, -3.04]
    layer.out_q.set_range(-4.0, 6.0)  # scale 10 / 255, zero point round(-128 + 4 * 25.5) = -26
    assert layer.out_q.qparams()[1] == -26
    y = layer.eval()(torch.full((1, 1, 1, 1), 2.0), in_q).flatten()
    s = 10 / 255
    assert torch.allclose(y, torch.tensor([round(5.58 / s) * s, round(-3.04 / s) * s]), atol=1e-6)


def test_relu6_output_range_starts_at_zero():
    q = ActQuant(relu6=True)
    q.set_range(-1.0, 9.0)
    assert (float(q.lo), float(q.hi)) == (0.0, 6.0)
    assert q.qparams()[1] == -128


# ------------------------------------------------------------------ observers
def test_observers():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.concatenate([rng.normal(0, 1, 100_000), [40.0, -30.0]]).astype(np.float32))
    ranges = {}
    for method in ("minmax", "percentile", "mse"):
        obs = RangeObserver(ObserverSettings(method, seed=3))
        for chunk in x.split(10_000):
            obs.observe(chunk)
        ranges[method] = obs.range()
    assert ranges["minmax"] == (-30.0, 40.0)
    lo, hi = ranges["percentile"]  # the 0.01 / 99.99 percentiles of N(0, 1) are about -+3.7
    assert -4.5 < lo < -3.0 and 3.0 < hi < 4.5
    lo, hi = ranges["mse"]  # clipping the two outliers costs less than coarse steps for all the rest
    assert hi < 40.0 * 0.9 and lo > -30.0 * 0.9
    again = RangeObserver(ObserverSettings("percentile", seed=3))
    for chunk in x.split(10_000):
        again.observe(chunk)
    assert again.range() == ranges["percentile"]


def test_unknown_observer_is_one_sentence():
    from mcuforge.errors import InputError

    with pytest.raises(InputError, match="unknown calibration method"):
        ObserverSettings("kl")


# ------------------------------------------------------ fake quant vs integers
@pytest.mark.parametrize("method", ["minmax", "mse"])
def test_fake_quantisation_predicts_int8(method):
    """The fake-quantised logits are the int8 model's codes up to a code: the integer
    kernels round twice (a rounding doubling high multiply, then a rounding shift), the
    simulation once, so values within a hair of a half can land one code apart, and such
    codes propagate."""
    q = calibrated(method=method)
    g = q.to_graph()
    x = images(48, 2)
    with torch.no_grad():
        sim = q(as_float(x)).numpy()
    s, zp = q.classifier.out_q.qparams()
    sim_codes = np.round(sim / s).astype(np.int64) + zp
    int8 = np.concatenate([run(g, [CONVENTION.to_int8(x[i : i + 1])])[0] for i in range(len(x))]).astype(np.int64)
    diff = np.abs(int8 - sim_codes)
    assert diff.max() <= 2
    assert (diff > 0).mean() < 0.3
    assert (int8.argmax(axis=1) == sim.argmax(axis=1)).mean() >= 0.9


def test_first_layer_differs_only_at_double_rounding_ties():
    """On exact inputs, the first convolution's codes differ from the integer kernel's only
    where the exact requantised value is within 1/100 of a code of a half."""
    from mcuforge.ref.interpreter import run_all

    q = calibrated()
    g = q.to_graph()
    x = images(16, 3)
    captured = []
    hook = q.first_conv.out_q.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    with torch.no_grad():
        q(as_float(x))
    hook.remove()
    s, zp = q.first_conv.out_q.qparams()
    sim = np.round(captured[0].permute(0, 2, 3, 1).numpy() / s).astype(np.int64) + zp
    values = [run_all(g, [CONVENTION.to_int8(x[i : i + 1])]) for i in range(len(x))]
    ref = np.concatenate([v["first_conv"] for v in values]).astype(np.int64)
    padded = np.concatenate([v["first_conv_pad"] for v in values]).astype(np.int64)
    w, b, t = g.tensors["first_conv_w"], g.tensors["first_conv_b"], g.tensors["first_conv_pad"]
    assert (sim != ref).mean() < 0.01
    for n, h, col, c in np.argwhere(sim != ref):
        patch = padded[n, 2 * h : 2 * h + 3, 2 * col : 2 * col + 3, :] - t.quant.zp
        acc = int((patch * w.data[c].astype(np.int64)).sum()) + int(b.data[c])
        exact = acc * t.quant.s * float(w.quant.scale[c]) / s
        assert abs(abs(exact - np.floor(exact)) - 0.5) < 0.01


def test_int8_graph_is_the_trained_network():
    """The exported graph carries the QuantNet's numbers: input quantisation from the
    convention, per-channel weight scales, ReLU6 outputs at zero point -128."""
    q = calibrated()
    g = q.to_graph()
    t = g.tensors
    assert t["input"].quant.s == pytest.approx(float(CONVENTION.scale)) and t["input"].quant.zp == CONVENTION.zero_point
    w = t["first_conv_w"]
    assert np.array_equal(w.data, q.first_conv.int8_weight())
    assert np.array_equal(w.quant.scale, q.first_conv.weight_scale().numpy())
    assert t["first_conv"].quant.zp == -128
    assert t["b2_add"].quant.s == pytest.approx(q.blocks[2].add_q.qparams()[0])


def test_export_runs_identically_in_tflite_micro():
    from mcuforge.oracle.tflm import run_tflm

    q = calibrated()
    info = ModelInfo(("a", "b", "c", "d"), CONVENTION.mean, CONVENTION.std, 16, 1, "tiny", "npz:x.npz", 0)
    data = write(q.to_graph(), metadata={ENTRY: info.to_bytes()})
    g = read(data)
    assert ModelInfo.from_bytes(read_metadata(data)[ENTRY]) == info
    for i in range(4):
        x = CONVENTION.to_int8(images(1, 10 + i))
        ours = run(g, [x])[0]
        theirs = np.asarray(run_tflm(data, [x])[0]).reshape(ours.shape)
        assert np.array_equal(ours, theirs)


def test_metadata_survives_a_file_and_a_damaged_table(tmp_path):
    info = ModelInfo(("x", "y"), 0.2, 0.3, 16, 1)
    p = tmp_path / "m.tflite"
    p.write_bytes(write(calibrated().to_graph(), metadata={ENTRY: info.to_bytes()}))
    assert model_info(p) == info
    assert ModelInfo.from_bytes(b"{not json") is None
    assert read_metadata(b"garbage!") == {}


def test_litert_loads_the_export():
    """LiteRT runs what the writer wrote; its reference kernels agree with ours except
    where their FULLY_CONNECTED rounds once instead of twice (../shared/DESIGN.md), so
    the class scores may differ by a code, never more."""
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is not installed")
    q = calibrated()
    data = write(q.to_graph())
    g = read(data)
    it = litert.Interpreter(model_content=data, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for i in range(4):
        x = CONVENTION.to_int8(images(1, 20 + i))
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        theirs = it.get_tensor(it.get_output_details()[0]["index"]).astype(np.int64)
        assert np.abs(run(g, [x])[0].astype(np.int64) - theirs).max() <= 1
