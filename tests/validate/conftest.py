"""Fixtures of the validate tests (validate_fixtures.py builds them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from validate_fixtures import CLASSES, tiny_graph, write_model, write_npz


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "tiny.tflite", tiny_graph(), CLASSES)


@pytest.fixture
def data(tmp_path: Path) -> str:
    return f"npz:{write_npz(tmp_path / 'tiny.npz')}"
