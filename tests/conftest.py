"""Shared test fixtures.

``shared`` points at ``../shared`` beside the project root (research corpus and
independent reference results); tests that need it skip cleanly when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared, skipping the calling test when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"../shared not available ({p})")
    return p


@pytest.fixture
def corpus():
    """Function returning a path in ../shared/corpus (skips when absent)."""
    return lambda *parts: shared_path("corpus", *parts)


@pytest.fixture
def reference():
    """Function returning a path in ../shared/reference (skips when absent)."""
    return lambda *parts: shared_path("reference", *parts)
