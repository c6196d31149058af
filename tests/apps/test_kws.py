"""Keyword streaming (apps/kws.py): the recogniser's smoothing, thresholds and suppression
on hand-computed score streams, and the ring/timing of the stream on a toy front end."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.apps.kws import Recognizer, RecognizerSettings, listen, stream_shape, windows
from mcuforge.errors import InputError
from mcuforge.ir.graph import Graph, Quant, Tensor

LABELS = ["silence", "unknown", "yes", "no"]


def _q(yes: int = 0, no: int = 0, silence: int = 0) -> np.ndarray:
    """int8 scores of a softmax output (scale 1/256, zero point -128) from units 0..255."""
    return np.array([silence, 0, yes, no]) - 128


def test_detection_needs_minimum_count_then_is_suppressed():
    rec = Recognizer(LABELS, 1 / 256, -128, RecognizerSettings(minimum_count=3))
    assert rec.threshold_q == 205  # ceil(0.8 * 256)
    got = [(t, rec.push(t, _q(yes=250))) for t in range(0, 2001, 20)]
    hits = [(t, d) for t, d in got if d is not None]
    # 3 results in the window first at t=40; the same label again only after 1500 ms more
    assert [t for t, _ in hits] == [40, 1560]
    assert hits[0][1].label == "yes" and hits[0][1].time_s == 0.04 and hits[0][1].score == 250 / 256


def test_average_below_threshold_and_label_change():
    rec = Recognizer(LABELS, 1 / 256, -128, RecognizerSettings(average_window_ms=100, minimum_count=2))
    # window of 100 ms: at t=40 the results of 0, 20, 40 are averaged (t - 100 < t_i)
    assert rec.push(0, _q(yes=255)) is None  # one result: fewer than minimum_count
    assert rec.push(20, _q(yes=150)) is None  # (255 + 150) // 2 = 202 < 205
    d = rec.push(40, _q(yes=210))  # (255 + 150 + 210) // 3 = 205
    assert d is not None and d.label == "yes"
    for t in (60, 80, 100, 120):
        assert rec.push(t, _q(no=255)) is None  # yes fades, no not yet on top above 205
    d = rec.push(140, _q(no=255))  # window (40, 140]: no = 255 * 5 // 5
    assert d is not None and d.label == "no" and d.time_s == 0.14


def test_silence_on_top_is_not_reported_but_resets_the_label():
    rec = Recognizer(LABELS, 1 / 256, -128, RecognizerSettings(average_window_ms=60, minimum_count=1))
    assert rec.push(0, _q(yes=255)).label == "yes"
    assert rec.push(100, _q(silence=255)) is None  # silence became the top label, not reported
    assert rec.push(200, _q(yes=255)).label == "yes"  # a new label again, inside 1500 ms


def test_settings_are_checked():
    with pytest.raises(InputError):
        RecognizerSettings(threshold=1.5)
    with pytest.raises(InputError):
        RecognizerSettings(minimum_count=0)
    with pytest.raises(InputError):
        Recognizer(LABELS[:3], 1 / 256, -128, RecognizerSettings()).push(0, _q())


def _graph(in_shape, in_dtype, out_shape, out_dtype, quant=None) -> Graph:
    g = Graph(name="toy")
    g.add_tensor(Tensor("x", in_shape, in_dtype))
    g.add_tensor(Tensor("y", out_shape, out_dtype, quant))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_stream_rings_and_times():
    """A toy front end (each frame: its window's first sample // 256) and network (scores
    from the ring): every ring holds the last 4 frames, oldest first; times are the ends
    of the hops from the start of the unpadded audio."""
    fe = _graph((1, 480), "int16", (1, 2), "int8")
    net = _graph((1, 8), "int8", (1, 4), "int8", Quant([1 / 256], [-128]))
    rings = []

    def run(g, steps):
        if g is fe:
            return [[np.full((1, 2), s[0][0, 0] // 256, np.int8)] for s in steps]
        rings.extend(s[0].copy() for s in steps)
        return [[np.array([[-128, -128, 127 if s[0][0, -1] == 7 else -128, -128]], np.int8)] for s in steps]

    shape = stream_shape(fe, net, 20.0)
    assert (shape.window, shape.hop, shape.frames, shape.features) == (480, 320, 4, 2)
    pcm = (np.arange(16000) // 320 * 256 % 32768).astype(np.int16)  # frame k of the audio starts with 256 k
    r = listen(pcm, fe, net, LABELS, run, RecognizerSettings(average_window_ms=20, minimum_count=1, threshold=0.9))
    assert r["hops"] == len(windows(pcm, shape)) == 49 and r["network_runs"] == r["hops"] - 3
    # the ring ending in frame value 7: frames 4..7 of the audio
    hit = next(i for i, x in enumerate(rings) if x[0, -1] == 7)
    assert rings[hit].reshape(4, 2)[:, 0].tolist() == [4, 5, 6, 7]
    # hop i's window starts at sample 320 i (frame value i): the ring of hops 4..7 ends at
    # (7 * 320 + 480) / 16 = 170 ms
    assert r["detections"] == [{"label": "yes", "time_s": 0.17, "score": round(255 / 256, 4)}]
    with pytest.raises(InputError, match="at least"):
        listen(pcm[:1400], fe, net, LABELS, run)


def test_shapes_are_checked():
    fe = _graph((1, 480), "int16", (1, 40), "int8")
    with pytest.raises(InputError, match="whole number"):
        stream_shape(fe, _graph((1, 1970), "int8", (1, 4), "int8"), 20.0)
    with pytest.raises(InputError, match="int16"):
        stream_shape(_graph((1, 480), "int8", (1, 40), "int8"), _graph((1, 1960), "int8", (1, 4), "int8"), 20.0)
    with pytest.raises(InputError, match="hop"):
        stream_shape(fe, _graph((1, 1960), "int8", (1, 4), "int8"), 40.0)
