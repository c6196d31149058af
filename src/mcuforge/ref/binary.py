"""Reference kernels: MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, PRELU, the comparisons, SELECT_V2, ADD_N, DIV (being added)."""

from __future__ import annotations

KERNELS: dict = {}
