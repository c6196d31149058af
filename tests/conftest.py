"""Shared test fixtures (paths are in shared_paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_paths import require_models


@pytest.fixture
def models_dir() -> Path:
    return require_models()


def pytest_collection_modifyitems(config, items):
    """Tests marked slow (a cheaper test covers the same path) run only when selected:
    `pytest -m slow`, or every test with MCUFORGE_SLOW=1."""
    import os

    if "slow" in (config.getoption("markexpr") or "") or os.environ.get("MCUFORGE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: a cheaper test covers this path; run with -m slow or MCUFORGE_SLOW=1")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
