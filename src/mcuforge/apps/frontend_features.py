"""Features of whole clips from a streaming audio front end (a graph that takes one window
of int16 samples and gives one feature frame, state carried from hop to hop, as TF-Lite
Micro's audio preprocessor): each clip's windows run as one stream from the reset state,
and the frames stack into the clip's (frames, features) map, the network's input.

The same graph runs in `mcuforge listen` and on the device, so these are exactly the
features the device computes. Backend "c" (default) runs the generated C on the host,
every clip in one process (batch_host's RESET_EVERY resets the state between clips);
"ref" runs the reference executor (the oracle; slower).
"""

from __future__ import annotations

import numpy as np

from mcuforge.apps.kws import RATE
from mcuforge.errors import InputError


class FrontEndFeatures:
    """A callable: int16 clips (N, samples) -> (N, frames, features) of the front end."""

    def __init__(self, frontend, hop_ms: float = 20.0, backend: str = "c") -> None:
        if backend not in ("c", "ref"):
            raise InputError(f"the front end runs on c or ref, not {backend!r}")
        if len(frontend.inputs) != 1 or len(frontend.outputs) != 1:
            raise InputError("the front end must have one input (a window of int16 samples) and one output (a feature frame)")
        fi = frontend.tensors[frontend.inputs[0]]
        if fi.dtype != "int16":
            raise InputError(f"the front end's input must be int16 PCM samples, not {fi.dtype}")
        self.graph, self.backend = frontend, backend
        self.window = fi.size
        self.hop = int(round(hop_ms * RATE / 1000))
        if not 0 < self.hop <= self.window:
            raise InputError(f"the hop ({hop_ms:g} ms) must be positive and at most the front end's window ({self.window} samples)")
        self._compiled = None

    def frames(self, samples: int) -> int:
        """Feature frames of a clip of `samples` (whole windows only)."""
        return 0 if samples < self.window else 1 + (samples - self.window) // self.hop

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        clips = np.asarray(clips)
        if clips.dtype != np.int16 or clips.ndim != 2:
            raise InputError(f"the front end takes int16 clips of shape (N, samples), not {clips.dtype} {clips.shape}")
        n, k = clips.shape[0], self.frames(clips.shape[1])
        if k == 0:
            raise InputError(f"clips of {clips.shape[1]} samples are shorter than one {self.window}-sample window")
        fi = self.graph.tensors[self.graph.inputs[0]]
        steps = [[c[i * self.hop : i * self.hop + self.window].reshape(fi.shape)] for c in clips for i in range(k)]
        outs = self._run(steps, k)
        frame = np.asarray(outs[0][0]).size
        return np.stack([np.asarray(o[0]).reshape(-1) for o in outs]).reshape(n, k, frame)

    def _run(self, steps: list[list[np.ndarray]], per_clip: int) -> list[list[np.ndarray]]:
        if self.backend == "ref":
            from mcuforge.ref.interpreter import run_sequence

            return [y for s in range(0, len(steps), per_clip) for y in run_sequence(self.graph, steps[s : s + per_clip])]
        from mcuforge.engine import compile_graph
        from mcuforge.ref.boundary import from_model_outputs, to_model_inputs
        from mcuforge.targets.sequence import run_c_sequence

        if self._compiled is None:
            self._compiled = compile_graph(self.graph)
        c = self._compiled
        ys = run_c_sequence(c.project.graph, [to_model_inputs(c.io, s) for s in steps], project=c.project, reset_every=per_clip)
        return [from_model_outputs(c.io, y) for y in ys]
