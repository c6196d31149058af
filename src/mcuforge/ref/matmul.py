"""Reference kernels: TRANSPOSE_CONV, BATCH_MATMUL (being added)."""

from __future__ import annotations

KERNELS: dict = {}
