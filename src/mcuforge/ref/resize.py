"""Reference kernels: RESIZE_BILINEAR (being added)."""

from __future__ import annotations

KERNELS: dict = {}
