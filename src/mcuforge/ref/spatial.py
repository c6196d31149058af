"""Reference kernels: GATHER, GATHER_ND, MIRROR_PAD, REVERSE_V2, DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND (being added)."""

from __future__ import annotations

KERNELS: dict = {}
