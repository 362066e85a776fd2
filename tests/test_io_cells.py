"""The one cell-parsing toolbox (``assaykit.io._cells``) and the rule that readers share it
instead of importing each other's private helpers."""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assaykit.io import _cells
from assaykit.io._cells import (
    ExportMetadata,
    bead_cell_value,
    cell_text,
    parse_cells,
    parse_number,
    parse_value,
)
from tests.fuzzing import FUZZ_SETTINGS

IO = Path(__file__).resolve().parent.parent / "assaykit" / "io"

# ---------------------------------------------------------------- the number parser
_PIECES = ["0", "1", "7", "12", ".", ",", "e", "E", "+", "-", " ", "_", "\t", "nan", "inf", "x", "1,000",
           "\u0661"]  # fmt: skip
_text = st.lists(st.sampled_from(_PIECES), max_size=5).map("".join)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _reference(text: str, decimal_comma: bool, thousands: bool) -> float | None:
    """What parse_number must give, written from its specification (regular expressions)."""
    t = text.strip()
    if _DECIMAL.fullmatch(t):
        v = float(t)
    elif decimal_comma and re.fullmatch(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?", t):
        v = float(t.replace(",", "."))
    elif thousands and re.fullmatch(r"[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][+-]?\d+)?", t) and "," in t:
        v = float(t.replace(",", ""))
    else:
        return None
    return v if math.isfinite(v) else None


@FUZZ_SETTINGS
@given(_text, st.booleans(), st.booleans())
def test_parse_number_follows_its_specification(text, decimal_comma, thousands):
    assert parse_number(text, decimal_comma=decimal_comma, thousands=thousands) == _reference(
        text, decimal_comma, thousands
    )


@pytest.mark.parametrize(
    ("cell", "kw", "expected"),
    [
        ("2.5", {}, 2.5),
        (" -1e3 ", {}, -1000.0),
        (".5", {}, 0.5),
        ("5.", {}, 5.0),
        ("1,5", {}, None),
        ("1,5", {"decimal_comma": True}, 1.5),
        (",5", {"decimal_comma": True}, 0.5),
        ("1,5", {"thousands": True}, None),
        ("36,431.130", {"thousands": True}, 36431.13),
        ("1_000", {}, None),
        ("nan", {}, None),
        ("-inf", {}, None),
        ("1e999", {}, None),
        ("", {}, None),
        ("   ", {}, None),
        ("Undetermined", {}, None),
        (True, {}, None),
        (None, {}, None),
        (3, {}, 3.0),
        (np.float32(0.5), {}, 0.5),
        (np.int64(4), {}, 4.0),
        (float("nan"), {}, None),
        (dt.date(2020, 1, 1), {}, None),
    ],
)
def test_parse_number_cases(cell, kw, expected):
    assert parse_number(cell, **kw) == expected


def test_parse_number_keeps_the_sign_of_zero():
    assert math.copysign(1, parse_number("-0.0")) == -1.0


# ---------------------------------------------------------------- cell_text
@pytest.mark.parametrize(
    ("cell", "exported", "stripped"),
    [
        (None, "", ""),
        (" a ", " a ", "a"),
        (3.0, "3", "3"),
        (0.5, "0.5", "0.5"),
        (-2.0, "-2", "-2"),
        (1e20, "1e+20", "1e+20"),
        (float("nan"), "nan", ""),
        (float("inf"), "inf", "inf"),
        (True, "TRUE", "TRUE"),
        (7, "7", "7"),
        (dt.date(2020, 1, 2), "2020-01-02", "2020-01-02"),
    ],
)
def test_cell_text(cell, exported, stripped):
    assert cell_text(cell) == exported and cell_text(cell, strip=True) == stripped


# ---------------------------------------------------------------- plate and bead cells
@pytest.mark.parametrize(
    ("cell", "kw", "expected"),
    [
        ("0.123", {}, (0.123, "0.123", "")),
        (" 0.123 ", {}, (0.123, " 0.123 ", "")),
        ("0,123", {"decimal_comma": True}, (0.123, "0,123", "")),
        ("0,123", {}, (math.nan, "0,123", "not_numeric")),
        ("OVRFLW", {}, (math.nan, "OVRFLW", "overflow")),
        ("sat", {}, (math.nan, "sat", "overflow")),
        ("?????", {}, (math.nan, "?????", "invalid")),
        ("", {}, (math.nan, "", "empty")),
        (None, {}, (math.nan, "", "empty")),
        (2.0, {}, (2.0, "2", "")),
        (3, {}, (3.0, "3", "")),
        (True, {}, (math.nan, "TRUE", "not_numeric")),
        (float("inf"), {}, (math.nan, "inf", "not_numeric")),
        (dt.time(1, 2), {}, (math.nan, "01:02:00", "not_numeric")),
    ],
)
def test_parse_value(cell, kw, expected):
    v, raw, flag = parse_value(cell, **kw)
    assert (raw, flag) == expected[1:]
    assert (v != v and expected[0] != expected[0]) or v == expected[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", (12.5, "")),
        ("", (math.nan, "empty")),
        ("< 0.105", (0.105, "out_of_range_low")),
        (">2000", (2000.0, "out_of_range_high")),
        ("OOR <", (math.nan, "out_of_range_low")),
        ("OOR >", (math.nan, "out_of_range_high")),
        ("*3.2", (3.2, "extrapolated")),
        ("NaN", (math.nan, "not_numeric")),
        ("1,5", (math.nan, "not_numeric")),
    ],
)
def test_bead_cell_value(text, expected):
    v, flag = bead_cell_value(text)
    assert flag == expected[1] and ((v != v and expected[0] != expected[0]) or v == expected[0])


def test_parse_cells_equals_the_cell_rules_and_returns_writable_arrays():
    raw = np.array(["1", "", "< 0.1", "1", "x", "*2", "inf", "1,5"], dtype=object)
    value, flag = parse_cells(raw)
    for j, text in enumerate(raw):
        v, f = bead_cell_value(text)
        assert flag[j] == f and ((v != v and value[j] != value[j]) or v == value[j])
    assert value.flags.writeable and flag.flags.writeable
    value2, _ = parse_cells(np.array(["1,5"], dtype=object), decimal_comma=True)
    assert value2.tolist() == [1.5]


def test_export_metadata_is_not_copied_by_deepcopy():
    import copy

    meta = ExportMetadata({"Instrument": "x"})
    assert copy.deepcopy(meta) is meta and meta == {"Instrument": "x"}


def test_readers_reexport_the_toolbox():
    from assaykit.io.plate import generic, luminex
    from assaykit.io.qpcr import _thermo

    assert generic.cell_text is _cells.cell_text and generic.parse_value is _cells.parse_value
    assert luminex.metric_name is _cells.metric_name and luminex.parse_cells is _cells.parse_cells
    assert _thermo.ExportMetadata is _cells.ExportMetadata
    assert _thermo.parse_number("5,720.562") == 5720.562  # Thermo: thousands separators


# ---------------------------------------------------------------- readers stand alone
def _reader_modules() -> list[Path]:
    return sorted(p for p in IO.glob("*/*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("module", _reader_modules(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_readers_import_no_other_reader(module):
    """A reader module imports the shared toolbox (``io._cells``, ``io._source``,
    ``io._registry``, its package's private helpers such as ``plate._grid``) and never
    another reader module, nor a private name of another module."""
    readers = {f"assaykit.io.{p.parent.name}.{p.stem}" for p in _reader_modules()}
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("assaykit.io"):
            assert node.module not in readers, f"{module.name} imports the reader {node.module}"
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{module.name} imports private names {private} from {node.module}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name not in readers, f"{module.name} imports the reader {alias.name}"
