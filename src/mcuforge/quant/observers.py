"""Activation ranges for post-training calibration, and the int8 quantisation they give.

An observer sees the float activations of a tensor over the calibration images and
returns a range (lo, hi) with lo <= 0 <= hi. Three rules:

- minmax: the smallest and largest value seen;
- percentile: the 0.01th and 99.99th percentiles of the values (outliers clipped);
- mse: the range alpha * (min, max), alpha in 0.30 .. 1.00, whose int8 quantisation
  has the smallest mean squared error over the values seen.

Percentile and MSE work on a seeded sample of at most `max_samples` values per tensor
(uniform over all values seen, by reservoir of random keys), so memory stays bounded
whatever the calibration set. `qparams` turns a range into TFLite's per-tensor
asymmetric int8 quantisation: scale = (hi - lo) / 255, zero point round(-128 - lo /
scale), the range nudged so that real 0 is exactly a code (the converter's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mcuforge.errors import InputError

METHODS = ("minmax", "percentile", "mse")
QMIN, QMAX = -128, 127
MIN_RANGE = 1e-6  # a tensor that is constant zero still gets a usable scale


@dataclass(frozen=True)
class ObserverSettings:
    method: str = "minmax"
    percentile: float = 99.99
    max_samples: int = 1 << 18
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown calibration method {self.method!r}; choose {', '.join(METHODS)}")
        if not 50.0 < self.percentile <= 100.0:
            raise InputError(f"the calibration percentile must be in (50, 100], not {self.percentile}")


def qparams(lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale float32 [1], zero point int32 [1]) of the range lo..hi (widened to hold 0)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < MIN_RANGE:
        hi = lo + MIN_RANGE
    scale = torch.tensor([(hi - lo) / (QMAX - QMIN)], dtype=torch.float32)
    zp = torch.round(QMIN - torch.tensor([lo], dtype=torch.float64) / scale.double()).clamp(QMIN, QMAX)
    return scale, zp.to(torch.int32)


class RangeObserver:
    """Collects one tensor's values over calibration batches and proposes a range."""

    def __init__(self, settings: ObserverSettings) -> None:
        self.settings = settings
        self.lo, self.hi = float("inf"), float("-inf")
        self._gen = torch.Generator().manual_seed(settings.seed)
        self._keys = torch.empty(0)
        self._values = torch.empty(0)

    def observe(self, x: torch.Tensor) -> None:
        x = x.detach().float().reshape(-1).cpu()
        if x.numel() == 0:
            return
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        if self.settings.method == "minmax":
            return
        # Reservoir by random keys: keep the values with the largest keys (a uniform sample).
        keys = torch.rand(x.numel(), generator=self._gen)
        keys, values = torch.cat([self._keys, keys]), torch.cat([self._values, x])
        if values.numel() > self.settings.max_samples:
            keep = torch.topk(keys, self.settings.max_samples).indices
            keys, values = keys[keep], values[keep]
        self._keys, self._values = keys, values

    @property
    def seen(self) -> bool:
        return self.lo <= self.hi

    def range(self) -> tuple[float, float]:
        if not self.seen:
            raise RuntimeError("observer saw no values")
        m = self.settings.method
        if m == "minmax" or self._values.numel() == 0:
            return self.lo, self.hi
        if m == "percentile":
            q = torch.tensor([1 - self.settings.percentile / 100, self.settings.percentile / 100])
            lo, hi = torch.quantile(self._values.double(), q.double()).tolist()
            return min(lo, 0.0), max(hi, 0.0)
        return self._mse_range()

    def _mse_range(self) -> tuple[float, float]:
        v = self._values
        best, best_err = (self.lo, self.hi), float("inf")
        for alpha in torch.linspace(0.30, 1.00, 36).tolist():
            lo, hi = alpha * min(self.lo, 0.0), alpha * max(self.hi, 0.0)
            scale, zp = qparams(lo, hi)
            err = float(((torch.fake_quantize_per_tensor_affine(v, scale, zp, QMIN, QMAX) - v) ** 2).mean())
            if err < best_err:
                best, best_err = (lo, hi), err
        return best
