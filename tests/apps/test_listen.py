"""`mcuforge listen` on the real recordings in ../shared/models/inputs: TF-Lite Micro's
audio preprocessor + micro_speech streamed hop by hop hear "yes" in the yes clip, "no" in
the no clip and no keyword in the silence and noise clips, on the reference executor,
the generated C and the Cortex-M7 firmware under QEMU alike; and the front end's
features equal TF-Lite Micro's on every frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcuforge.apps.frontend_features import FrontEndFeatures
from mcuforge.apps.kws import listen
from mcuforge.apps.listen_cli import read_audio, sequence_runner
from mcuforge.cli import main
from mcuforge.frontend.tflite_read import load
from mcuforge.targets.qemu import missing_tools

LABELS = ["silence", "unknown", "yes", "no"]
EXPECTED = {"yes": ["yes"], "no": ["no"], "silence": [], "noise": []}


def _paths(models_dir):
    return (models_dir / "tflm_micro_speech_int8.tflite", models_dir / "tflm_audio_preprocessor_int8.tflite")


def _heard(models_dir, backend: str) -> dict[str, list[str]]:
    model, pre = _paths(models_dir)
    net, fe = load(model), load(pre)
    run = sequence_runner(backend)
    out = {}
    for word in EXPECTED:
        pcm = read_audio(str(models_dir / "inputs" / f"tflm_{word}_1000ms.wav"))
        out[word] = [d["label"] for d in listen(pcm, fe, net, LABELS, run)["detections"]]
    return out


def test_listen_ref_hears_the_keywords(models_dir):
    assert _heard(models_dir, "ref") == EXPECTED


def test_stream_of_four_clips_ref_and_c(models_dir):
    """yes, silence, no, silence, noise as one 5 s stream (201 network runs, one per hop
    once the ring is full): "yes" then "no" are heard, each within its clip's second or
    the next; the C backend gives the same score on every run as the reference."""
    model, pre = _paths(models_dir)
    net, fe = load(model), load(pre)
    pcm = np.concatenate([read_audio(str(models_dir / "inputs" / f"tflm_{w}_1000ms.wav")) for w in ("yes", "silence", "no", "silence", "noise")])
    ref = listen(pcm, fe, net, LABELS, sequence_runner("ref"))
    assert ref["network_runs"] == 201
    assert [d["label"] for d in ref["detections"]] == ["yes", "no"]
    assert 0.9 < ref["detections"][0]["time_s"] <= 2.0 and 2.0 < ref["detections"][1]["time_s"] <= 4.0
    c = listen(pcm, fe, net, LABELS, sequence_runner("c"))
    assert np.array_equal(ref["scores"], c["scores"]) and ref["detections"] == c["detections"]


@pytest.mark.skipif(missing_tools() is not None, reason=f"QEMU backend unavailable: {missing_tools()}")
def test_listen_qemu_m7_hears_the_keywords(models_dir):
    assert _heard(models_dir, "qemu-m7") == EXPECTED


def test_front_end_c_equals_tflm_on_every_frame(models_dir):
    """100 clips (the 4 recordings, each with 25 seeded gains, shifts and noise) through
    the preprocessor's generated C, one stream per clip, against TF-Lite Micro run frame
    by frame with its state carried (a fresh interpreter per clip)."""
    from mcuforge.oracle.tflm import run_tflm_sequence

    _, pre = _paths(models_dir)
    fe = FrontEndFeatures(load(pre))
    rng = np.random.default_rng(0)
    clips = []
    for word in EXPECTED:
        pcm = read_audio(str(models_dir / "inputs" / f"tflm_{word}_1000ms.wav")).astype(np.float64)
        for _ in range(25):
            x = np.roll(pcm, int(rng.integers(-1600, 1600))) * rng.uniform(0.2, 3.0) + rng.normal(0, rng.uniform(0, 300), pcm.size)
            clips.append(np.clip(np.round(x), -32768, 32767).astype(np.int16))
    clips = np.stack(clips)
    ours = fe(clips)
    assert ours.shape == (100, 49, 40)
    model = pre.read_bytes()
    for k in range(0, 100, 1):
        steps = [[clips[k, i * 320 : i * 320 + 480].reshape(1, 480)] for i in range(49)]
        tflm = np.stack([o[0].reshape(-1) for o in run_tflm_sequence(model, steps)])
        assert np.array_equal(ours[k], tflm), f"clip {k}: {int(np.sum(ours[k] != tflm))} values differ"


def test_listen_cli_json_and_errors(models_dir, capsys):
    model, pre = _paths(models_dir)
    wav = models_dir / "inputs" / "tflm_no_1000ms.wav"
    assert main(["listen", str(model), str(wav), "--frontend", str(pre), "--labels", ",".join(LABELS), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [d["label"] for d in r["detections"]] == ["no"] and 0 < r["detections"][0]["time_s"] < 1.6
    assert main(["listen", str(model), str(wav), "--labels", ",".join(LABELS)]) == 2
    assert "--frontend" in capsys.readouterr().err
    assert main(["listen", str(model), str(wav), "--frontend", str(pre)]) == 2  # no labels in the model
    assert "--labels" in capsys.readouterr().err
    assert main(["listen", str(model), "missing.wav", "--frontend", str(pre), "--labels", ",".join(LABELS)]) == 2
