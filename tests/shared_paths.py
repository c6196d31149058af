"""Where ../shared (models, configs, anchors) lives beside the repository, and a skip
with a reason when it is absent. A module of its own: test folders with their own
conftest.py would shadow a `from conftest import ...`."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODELS = SHARED / "models"


def require_models() -> Path:
    if not MODELS.is_dir():
        pytest.skip(f"real models not available: {MODELS} is absent")
    return MODELS
