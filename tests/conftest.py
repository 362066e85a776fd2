"""Shared test fixtures.

Reference files are looked up in two places, by the same relative path:

1. ``../shared`` beside the project root (the full research corpus and independent
   reference results; not part of the project), then
2. ``tests/data`` (a small committed subset with its provenance in
   ``tests/data/SOURCES.md``), so that the core numbers are checked in a fresh clone.

A test asking for a file found in neither place is skipped. Set the environment
variable ``ASSAYKIT_NO_SHARED=1`` to pretend ``../shared`` is absent (what a fresh
clone sees): ``ASSAYKIT_NO_SHARED=1 python -m pytest -q``.

Marker ``flowkit``: the test needs FlowKit, which pins ``pandas<3``; it is skipped under
pandas 3 (the second run of ``.ci/run``) and when FlowKit is not installed. No other test may
skip for the pandas version.

Fixtures: ``corpus`` and ``reference`` (functions of path parts returning a ``Path``),
``shared_file`` (the same for any path under ``../shared``), ``shared_root`` (``../shared``
itself, skipping when absent), ``tests_data`` (the ``tests/data`` folder) and ``root`` (the
project root).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED: Path | None = None if os.environ.get("ASSAYKIT_NO_SHARED") else ROOT.parent / "shared"


def find_reference_file(*parts: str) -> Path | None:
    """Path of ``parts`` in ../shared, else in tests/data, else None."""
    for base in (SHARED, DATA):
        if base is not None:
            p = base.joinpath(*parts)
            if p.exists():
                return p
    return None


def shared_path(*parts: str) -> Path:
    """Path of ``parts`` in ../shared or tests/data, skipping the calling test when absent."""
    p = find_reference_file(*parts)
    if p is None:
        pytest.skip(f"not in ../shared nor tests/data: {'/'.join(parts)}")
    return p


@pytest.fixture(scope="session")
def root() -> Path:
    """The project root."""
    return ROOT


@pytest.fixture(scope="session")
def tests_data() -> Path:
    """The committed test data folder (tests/data)."""
    return DATA


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """The ../shared folder itself; skips when it is absent (or ASSAYKIT_NO_SHARED is set)."""
    if SHARED is None or not SHARED.exists():
        pytest.skip("../shared not available")
    return SHARED


@pytest.fixture(scope="session")
def shared_file():
    """Function returning a path under ../shared (or its tests/data copy); skips when absent."""
    return shared_path


@pytest.fixture(scope="session")
def corpus():
    """Function returning a path in ../shared/corpus (or tests/data/corpus); skips when absent."""
    return lambda *parts: shared_path("corpus", *parts)


@pytest.fixture(scope="session")
def reference():
    """Function returning a path in ../shared/reference (or tests/data/reference); skips when absent."""
    return lambda *parts: shared_path("reference", *parts)


def _flowkit_unavailable() -> str | None:
    """Why tests marked ``flowkit`` cannot run here, or None."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return f"FlowKit pins pandas<3 (pandas {pd.__version__} installed)"
    if importlib.util.find_spec("flowkit") is None:
        return "FlowKit not installed"
    return None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "flowkit: needs FlowKit (pins pandas<3); skipped under pandas 3 or without FlowKit"
    )


def pytest_collection_modifyitems(config, items):
    reason = _flowkit_unavailable()
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if "flowkit" in item.keywords:
                item.add_marker(skip)
