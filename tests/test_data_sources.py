"""tests/data is documented: a byte-identical subset of ../shared listed in tests/data/SOURCES.md,
and folders of derived data (a crop, a re-saved file) each with a SOURCES.md of its own."""

from __future__ import annotations

import hashlib
import re

# one table row per file: | `path` | bytes | `sha256 prefix` | ...
_ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{16})` \|", re.M)


def _listed(data) -> dict[str, tuple[int, str]]:
    text = (data / "SOURCES.md").read_text(encoding="utf-8")
    return {path: (int(size), sha) for path, size, sha in _ROW.findall(text)}


def _own_folders(data) -> list:
    """Sub-folders documented by a SOURCES.md of their own (derived data, not copies)."""
    return [p.parent for p in data.rglob("SOURCES.md") if p.parent != data]


def _files(data) -> list[str]:
    own = _own_folders(data)
    return sorted(
        p.relative_to(data).as_posix() for p in data.rglob("*")
        if p.is_file() and p.name != "SOURCES.md" and not any(f in p.parents for f in own)
    )


def test_folders_of_derived_data_name_every_file(tests_data):
    for folder in _own_folders(tests_data):
        text = (folder / "SOURCES.md").read_text(encoding="utf-8")
        for p in folder.rglob("*"):
            if p.is_file() and p.name != "SOURCES.md":
                assert f"`{p.name}`" in text or f"`{p.relative_to(folder).as_posix()}`" in text, p


def test_every_file_listed_with_size_and_hash(tests_data):
    listed = _listed(tests_data)
    files = _files(tests_data)
    assert files and sorted(listed) == files
    for name in files:
        data = (tests_data / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()[:16]) == listed[name], name
    assert sum(size for size, _ in listed.values()) < 400_000  # a small subset, not the corpus


def test_copies_identical_to_shared(tests_data, shared_root):
    for name in _files(tests_data):
        assert (tests_data / name).read_bytes() == (shared_root / name).read_bytes(), name
