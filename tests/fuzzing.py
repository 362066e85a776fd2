"""Hypothesis helpers shared by the reader fuzz tests.

``mutated(data)`` is a strategy of byte strings derived from a real export by
truncating it, deleting / duplicating / swapping lines, swapping separators,
changing the encoding, or flipping bytes. ``check_reader_contract`` asserts that a
reader either returns a valid canonical table or raises an ``AssaykitError``.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from assaykit.errors import AssaykitError
from assaykit.io import Source, read_plate, read_qpcr
from assaykit.schema import validate_plate_table, validate_qpcr_table

#: Settings for fuzz tests: enough examples to find crashes, quick enough for CI.
FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def _split_lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [data]


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """Strategy: a mutation of ``data`` (one to three edits)."""
    out = data
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(
                ["truncate", "delete_line", "dup_line", "swap_lines", "separator", "encoding", "flip", "blank_line"]
            )
        )
        lines = _split_lines(out)
        if op == "truncate" and out:
            out = out[: draw(st.integers(0, len(out)))]
        elif op == "delete_line" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            out = b"".join(lines[:i] + lines[i + 1 :])
        elif op == "dup_line" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            out = b"".join(lines[: i + 1] + lines[i:])
        elif op == "swap_lines" and len(lines) > 1:
            i = draw(st.integers(0, len(lines) - 2))
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
            out = b"".join(lines)
        elif op == "separator":
            a, b = draw(st.sampled_from([(b",", b";"), (b"\t", b","), (b",", b"\t"), (b".", b","), (b";", b",")]))
            out = out.replace(a, b)
        elif op == "encoding":
            enc = draw(st.sampled_from(["utf-16", "utf-8-sig", "latin-1"]))
            try:
                out = out.decode("utf-8").encode(enc)
            except (UnicodeDecodeError, UnicodeEncodeError):
                pass
        elif op == "flip" and out:
            i = draw(st.integers(0, len(out) - 1))
            out = out[:i] + bytes([draw(st.integers(0, 255))]) + out[i + 1 :]
        elif op == "blank_line" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            out = b"".join(lines[:i] + [b"\n"] + lines[i:])
    return out


def check_reader_contract(data: bytes, name: str, *, kind: str = "plate", format: str | None = None) -> pd.DataFrame | None:
    """Read ``data``; assert a valid canonical table or an AssaykitError (returns the table or None)."""
    src = Source(data=data, name=name)
    reader = read_plate if kind == "plate" else read_qpcr
    try:
        df = reader(src, format=format)
    except AssaykitError as exc:
        assert str(exc), "error message must not be empty"
        assert "{" not in exc.message or "}" not in exc.message, f"unfilled placeholder in {exc.message!r}"
        return None
    (validate_plate_table if kind == "plate" else validate_qpcr_table)(df)
    return df
