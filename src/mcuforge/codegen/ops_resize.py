"""Emitters: RESIZE_BILINEAR (being added)."""

from __future__ import annotations

EMITTERS: dict = {}
