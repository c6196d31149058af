"""Emitters: ABS, NEG, ELU, LOG_SOFTMAX, L2_NORMALIZATION, RSQRT and the other unary operators (being added)."""

from __future__ import annotations

EMITTERS: dict = {}
