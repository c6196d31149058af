"""Emitters: SLICE, SPLIT, SPLIT_V, PACK, UNPACK, TILE, BROADCAST_TO (being added)."""

from __future__ import annotations

EMITTERS: dict = {}
