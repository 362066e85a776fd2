"""tests/data is a documented, unmodified subset of ../shared (see tests/data/SOURCES.md)."""

from __future__ import annotations

import hashlib
import re

# one table row per file: | `path` | bytes | `sha256 prefix` | ...
_ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{16})` \|", re.M)


def _listed(data) -> dict[str, tuple[int, str]]:
    text = (data / "SOURCES.md").read_text(encoding="utf-8")
    return {path: (int(size), sha) for path, size, sha in _ROW.findall(text)}


def _files(data) -> list[str]:
    return sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file() and p.name != "SOURCES.md")


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
