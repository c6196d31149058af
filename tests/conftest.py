"""Shared test fixtures: where ../shared/models lives, and a skip when it is absent."""

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


@pytest.fixture
def models_dir() -> Path:
    return require_models()
