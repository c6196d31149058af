"""Shared test fixtures (paths are in shared_paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_paths import require_models


@pytest.fixture
def models_dir() -> Path:
    return require_models()
