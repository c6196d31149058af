"""Keyword spotting on streaming audio: front end -> ring of feature frames -> network ->
posterior smoothing -> detections (what `mcuforge listen` runs).

The stream is 16 kHz int16 PCM in hops (micro_speech's: a 30 ms window, 480 samples,
every 20 ms, 320 samples). Each hop the front end (TF-Lite Micro's audio preprocessor
or any model of the same form: one window of int16 samples in, one int8 feature frame
out, state carried between hops) computes only the new frame; the ring keeps the last
`frames` of them (49 for micro_speech's 1960-value input), oldest first, and once it is
full the network runs on it (a clip exactly one ring long, micro_speech's 1 s, gives one
run; the stream is not padded: digital silence is unlike any training clip). Because the front end's output depends only on the audio
so far and the network's only on the ring, the whole stream is computed in two
sequences (every frame, then every ring) on any backend, with the same results as the
hop-by-hop loop a device runs.

The recogniser is micro_speech's RecognizeCommands in integer arithmetic: the scores of
the last `average_window_ms` are averaged per class (integer division, in output units
above the zero point); when at least `minimum_count` results are in the window, the
best class's average is at least the threshold and it is a new label or the previous
detection is more than `suppression_ms` ago, it is a detection. Silence and unknown
classes take part (they can become the top label) but are never reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from mcuforge.errors import InputError

RATE = 16000
NOT_KEYWORDS = ("silence", "unknown", "_silence_", "_unknown_", "background", "_background_noise_")

# One sequence of invocations of a graph: each step's inputs -> each step's outputs.
SequenceRunner = Callable[[object, list[list[np.ndarray]]], list[list[np.ndarray]]]


@dataclass(frozen=True)
class RecognizerSettings:
    average_window_ms: int = 1000  # micro_speech's RecognizeCommands defaults
    threshold: float = 0.8  # of the averaged score (a probability for a softmax output)
    suppression_ms: int = 1500
    # micro_speech's is 3, for a network run every 100-200 ms; here it runs every hop, so the
    # 1 s window holds ~50 results and 1 lets a clip one ring long (one run) be heard
    minimum_count: int = 1

    def __post_init__(self) -> None:
        if self.average_window_ms < 1 or self.suppression_ms < 0 or self.minimum_count < 1:
            raise InputError("the averaging window and minimum count must be positive and the suppression time not negative")
        if not 0 < self.threshold <= 1:
            raise InputError(f"the detection threshold must be in (0, 1] (got {self.threshold})")


@dataclass(frozen=True)
class Detection:
    label: str
    time_s: float  # end of the hop that triggered it, from the start of the audio
    score: float  # the averaged score of the label, dequantised

    def as_dict(self) -> dict:
        return {"label": self.label, "time_s": round(self.time_s, 3), "score": round(self.score, 4)}


class Recognizer:
    """Smooths a stream of int8 score vectors into detections (see the module docstring)."""

    def __init__(self, labels: list[str], scale: float, zero_point: int, st: RecognizerSettings) -> None:
        self.labels, self.scale, self.zp, self.st = list(labels), float(scale), int(zero_point), st
        # the threshold in output units above the zero point, rounded up: avg >= it means score >= threshold
        self.threshold_q = int(np.ceil(st.threshold / self.scale - 1e-9))
        self.history: deque[tuple[int, np.ndarray]] = deque()
        self.previous_label, self.previous_ms = None, None

    def push(self, time_ms: int, scores: np.ndarray) -> Detection | None:
        q = np.asarray(scores).reshape(-1).astype(np.int64) - self.zp
        if q.size != len(self.labels):
            raise InputError(f"the network gives {q.size} scores but {len(self.labels)} labels were given")
        self.history.append((time_ms, q))
        while self.history and self.history[0][0] <= time_ms - self.st.average_window_ms:
            self.history.popleft()
        if len(self.history) < self.st.minimum_count:
            return None
        total = np.sum([h for _, h in self.history], axis=0)
        avg = total // len(self.history)
        top = int(np.argmax(avg))  # the first of equal averages
        if avg[top] < self.threshold_q:
            return None
        label = self.labels[top]
        recent = self.previous_ms is not None and time_ms - self.previous_ms <= self.st.suppression_ms
        if label == self.previous_label and recent:
            return None
        self.previous_label, self.previous_ms = label, time_ms
        if label.lower() in NOT_KEYWORDS:
            return None
        return Detection(label, time_ms / 1000.0, float(avg[top]) * self.scale)


@dataclass(frozen=True)
class StreamShape:
    window: int  # samples per front-end invocation (480)
    hop: int  # samples between invocations (320)
    frames: int  # feature frames in the network's input (49)
    features: int  # values per frame (40)

    @property
    def hop_ms(self) -> float:
        return 1000.0 * self.hop / RATE


def stream_shape(frontend, network, hop_ms: float) -> StreamShape:
    """Window, hop and ring size from the two graphs: the front end takes one window of
    int16 samples and gives one int8 frame; the network's input is a whole number of frames."""
    if len(frontend.inputs) != 1 or len(frontend.outputs) != 1:
        raise InputError("the front end must have one input (a window of int16 samples) and one output (a feature frame)")
    fi, fo = frontend.tensors[frontend.inputs[0]], frontend.tensors[frontend.outputs[0]]
    if fi.dtype != "int16":
        raise InputError(f"the front end's input must be int16 PCM samples, not {fi.dtype}")
    if len(network.inputs) != 1:
        raise InputError("the keyword network must have one input (the ring of feature frames)")
    ni = network.tensors[network.inputs[0]]
    if ni.dtype != fo.dtype:
        raise InputError(f"the front end gives {fo.dtype} features but the network takes {ni.dtype}")
    if ni.size % fo.size:
        raise InputError(f"the network's input ({ni.size} values) is not a whole number of {fo.size}-value feature frames")
    hop = int(round(hop_ms * RATE / 1000))
    if not 0 < hop <= fi.size:
        raise InputError(f"the hop ({hop_ms:g} ms) must be positive and at most the front end's window ({fi.size} samples)")
    return StreamShape(fi.size, hop, ni.size // fo.size, fo.size)


def windows(pcm: np.ndarray, shape: StreamShape) -> list[np.ndarray]:
    """Each hop's window of samples (the front end's input), in order."""
    n = 1 + (len(pcm) - shape.window) // shape.hop if len(pcm) >= shape.window else 0
    return [pcm[i * shape.hop : i * shape.hop + shape.window] for i in range(n)]


def listen(
    pcm: np.ndarray,
    frontend,
    network,
    labels: list[str],
    run: SequenceRunner,
    st: RecognizerSettings = RecognizerSettings(),
    hop_ms: float = 20.0,
) -> dict:
    """Detections in 16 kHz int16 `pcm` with `run` (a sequence runner: ref, C or QEMU)."""
    shape = stream_shape(frontend, network, hop_ms)
    fin = frontend.tensors[frontend.inputs[0]]
    steps = [[w.reshape(fin.shape)] for w in windows(np.asarray(pcm, np.int16), shape)]
    if len(steps) < shape.frames:
        ms = ((shape.frames - 1) * shape.hop + shape.window) * 1000 // RATE
        raise InputError(f"the audio lasts {1000 * len(pcm) // RATE} ms; the network needs at least {ms} ms (one full ring of frames)")
    feats = [out[0].reshape(-1) for out in run(frontend, steps)]
    ni = network.tensors[network.inputs[0]]
    rings = [np.concatenate(feats[t - shape.frames + 1 : t + 1]).reshape(ni.shape) for t in range(shape.frames - 1, len(feats))]
    scores = [out[0] for out in run(network, [[r] for r in rings])]
    q = network.tensors[network.outputs[0]].quant
    scale, zp = (q.s, q.zp) if q is not None else (1.0, 0)
    rec = Recognizer(labels, scale, zp, st)
    found = []
    for k, s in enumerate(scores):
        t = shape.frames - 1 + k  # the hop whose frame completed this ring
        end_ms = round(1000.0 * (t * shape.hop + shape.window) / RATE)
        d = rec.push(end_ms, s)
        if d is not None:
            found.append(d)
    return {
        "detections": [d.as_dict() for d in found],
        "hops": len(feats),
        "network_runs": len(rings),
        "scores": np.stack([np.asarray(s).reshape(-1) for s in scores]) if scores else np.zeros((0, len(labels))),
    }
