"""Every real CNN model in ../shared/models runs bit-exact with TF-Lite Micro."""

import numpy as np
import pytest

from mcuforge.errors import UnsupportedError
from mcuforge.frontend.tflite_read import load
from mcuforge.ir import verify
from mcuforge.oracle.tflm import run_tflm_isolated
from mcuforge.ref.interpreter import run
from real_models import SUPPORTED, UNSUPPORTED, make_input, reference_output

CASES = [(m, i) for m, ins in SUPPORTED.items() for i in ins]


@pytest.mark.parametrize("model,input_name", CASES, ids=[f"{m}-{i}" for m, i in CASES])
def test_bit_exact_with_tflm(models_dir, model, input_name):
    path = models_dir / f"{model}.tflite"
    g = verify(load(path))
    xs = make_input(models_dir, g, input_name)
    ours = run(g, xs)
    expected = reference_output(models_dir, model, input_name)
    if expected is not None:
        assert np.array_equal(ours[0], expected.reshape(ours[0].shape))
    result = run_tflm_isolated(path.read_bytes(), xs)
    assert result.ok, result.message
    assert len(result.outputs) == len(ours)
    for a, b in zip(ours, result.outputs):
        assert a.tobytes() == np.asarray(b).tobytes(), f"{model}: {int(np.sum(a.ravel() != np.asarray(b).ravel()))} values differ"


@pytest.mark.parametrize(
    "model,input_name,expected",
    [
        ("tflm_person_detect_int8", "tflm_person", [-113, 113]),
        ("tflm_person_detect_int8", "tflm_no_person", [57, -57]),
        ("mlperf_vww_mbv1_96_int8", "derived_vww_person", [-95, 95]),
        ("mlperf_vww_mbv1_96_int8", "derived_vww_no_person", [59, -59]),
    ],
)
def test_person_predictions(models_dir, model, input_name, expected):
    g = load(models_dir / f"{model}.tflite")
    (y,) = run(g, make_input(models_dir, g, input_name))
    assert y.reshape(-1).tolist() == expected


@pytest.mark.parametrize("word,label", [("yes", 2), ("no", 3), ("silence", 0), ("noise", 0)])
def test_micro_speech_predictions(models_dir, word, label):
    """Labels of the TF-Lite Micro example: silence, unknown, yes, no (noise -> silence)."""
    g = load(models_dir / "tflm_micro_speech_int8.tflite")
    (y,) = run(g, make_input(models_dir, g, f"tflm_micro_speech_{word}"))
    assert int(np.argmax(y)) == label


@pytest.mark.parametrize("model", list(UNSUPPORTED))
def test_unsupported_models_fail_clearly(models_dir, model):
    with pytest.raises(UnsupportedError) as info:
        load(models_dir / f"{model}.tflite")
    message = str(info.value)
    assert "\n" not in message
    for word in UNSUPPORTED[model]:
        assert word.lower() in message.lower(), message
