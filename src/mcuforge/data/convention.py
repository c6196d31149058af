"""The int8 input convention of the models mcuforge trains, and how images are fed to
any model.

mcuforge's own models take int8 input = pixel - 128 (the uint8 pixel shifted into int8),
whatever their normalisation: the network sees (pixel / 255 - mean) / std, and the input
tensor's quantisation encodes that exactly, real = (q - zero_point) * scale with

    scale = 1 / (255 * std),   zero_point = round(255 * mean) - 128.

The zero point is an integer, so the mean is a multiple of 1/255 (`InputConvention`
rounds it). Training feeds the float network the same numbers the int8 input decodes
to, (pixel - 128 - zero_point) * scale in float32, so the float, fake-quantised and int8
models all see one input. Zero padding in the float network is the zero point in the
int8 one (real 0), as the int8 PAD writes it.

A model from elsewhere declares only its input scale and zero point, not the range its
float network was trained on. `quantize_images` feeds it pixel - 128 by default, which is
right for the two common conventions (scale 1/255 with zero point -128: inputs in
[0, 1]; scale 1 with zero point -128: raw pixels), or maps pixels to a given float range
(e.g. [-1, 1]) and quantises with the model's scale and zero point, rounding half away
from zero as TFLite does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import InputError


@dataclass(frozen=True)
class InputConvention:
    mean: float  # a multiple of 1/255 (see round_mean)
    std: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.mean <= 1.0) or not (self.std > 0.0):
            raise InputError(f"input normalisation needs a mean in [0, 1] and a positive std, not {self.mean}, {self.std}")
        object.__setattr__(self, "mean", round_mean(self.mean))

    @property
    def zero_point(self) -> int:
        return round(255 * self.mean) - 128

    @property
    def scale(self) -> np.float32:
        return np.float32(1.0 / (255.0 * self.std))

    def to_int8(self, images: np.ndarray) -> np.ndarray:
        """uint8 pixels -> the int8 model input (pixel - 128)."""
        return pixels_to_int8(images)

    def to_float(self, images: np.ndarray) -> np.ndarray:
        """uint8 pixels -> what the float network sees: the int8 input dequantised (float32)."""
        q = images.astype(np.float32) - np.float32(128 + self.zero_point)
        return q * self.scale

    @classmethod
    def of_pixels(cls, images: np.ndarray) -> InputConvention:
        """Mean and standard deviation of uint8 images in [0, 1] units (all channels)."""
        if images.size == 0:
            return cls(0.5, 0.25)
        x = images.astype(np.float64) / 255.0
        std = float(x.std())
        return cls(float(x.mean()), std if std > 1e-3 else 1.0)


def round_mean(mean: float) -> float:
    """The nearest multiple of 1/255 (so that 255 * mean - 128 is an integer zero point)."""
    return round(255 * mean) / 255.0


def pixels_to_int8(images: np.ndarray) -> np.ndarray:
    if images.dtype != np.uint8:
        raise InputError(f"images must be uint8 pixels, not {images.dtype}")
    return (images.astype(np.int16) - 128).astype(np.int8)


def round_half_away(x: np.ndarray) -> np.ndarray:
    """TFLite's rounding (std::round): halves away from zero, unlike np.round."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_images(
    images: np.ndarray, scale: float, zero_point: int, input_range: tuple[float, float] | None = None
) -> np.ndarray:
    """uint8 images -> int8 input of a model whose input has this scale and zero point.

    Without `input_range`: pixel - 128 (mcuforge's convention, and what models with
    scale 1/255 or 1 and zero point -128 expect). With (lo, hi): the pixel is mapped
    linearly to lo..hi and quantised: clamp(round(real / scale) + zero_point)."""
    if input_range is None:
        return pixels_to_int8(images)
    lo, hi = input_range
    if not hi > lo:
        raise InputError(f"the input range must run from low to high, not {lo}..{hi}")
    real = lo + images.astype(np.float64) / 255.0 * (hi - lo)
    q = round_half_away(real / float(scale)) + int(zero_point)
    return np.clip(q, -128, 127).astype(np.int8)
