"""The seam between audio clips and model inputs.

A front end is a function from int16 PCM (one clip, shape (samples,)) to that clip's
feature array (for TF-Lite Micro's signal-library audio preprocessor: int8 or int16
frames x channels). `features` applies one to every clip and stacks the results; it
computes nothing itself. The bit-exact front end plugs in here, either passed as
`front_end` or registered once as `FRONT_END`, so that training, validation and the
keyword listener all use the same function on the same PCM.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcuforge.errors import UnsupportedError

FrontEnd = Callable[[np.ndarray], np.ndarray]  # int16 (samples,) -> features of that clip

FRONT_END: FrontEnd | None = None  # the default front end, set by the module that provides it


def features(clips: np.ndarray, front_end: FrontEnd | None = None) -> np.ndarray:
    """int16 PCM clips (N, samples) -> features (N, ...) by `front_end` (default FRONT_END)."""
    fe = front_end if front_end is not None else FRONT_END
    if fe is None:
        raise UnsupportedError("no audio front end is plugged in yet, so clips cannot become features")
    clips = np.asarray(clips)
    if clips.dtype != np.int16 or clips.ndim != 2:
        raise ValueError(f"features takes int16 PCM clips of shape (N, samples), not {clips.dtype} {clips.shape}")
    out = [np.asarray(fe(c)) for c in clips]
    if not out:
        raise ValueError("features needs at least one clip (the front end fixes the feature shape)")
    return np.stack(out)
