"""The readers' fast paths give the same answers as the plain rules they shortcut.

* ``_thermo.parse_numbers`` (empty columns, repeated texts, plain numbers, per-cell
  fallback) equals :func:`_thermo.parse_number` cell by cell, sign of zero included;
* :func:`schema.plate_table` / :func:`schema.qpcr_table` skip validating the built frame
  only when their input keys are distinct: a repeated key, or an ``extra`` column
  replacing a canonical one, still raises the validator's error;
* ``schema._fast_frame`` (one block per dtype) builds the same frame as ``pd.DataFrame``
  and declines (returns None) whenever a column is not plain ``str`` / float64 / int64.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import SchemaError
from assaykit.io.qpcr._thermo import parse_number, parse_numbers
from assaykit.schema import _fast_frame, plate_table, qpcr_table

_PIECES = ["0", "1", "7", "12", ".", ",", "e", "E", "+", "-", " ", "_", "\t", "nan", "inf", "x",
           "Undetermined", "1,000", "12,345.6", "\u0661"]  # fmt: skip
_cell = st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)


def _expected(values: list) -> np.ndarray:
    return np.asarray([math.nan if (v := parse_number(x)) is None else v for x in values], dtype=float)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and all(
        (x != x and y != y) or (x == y and math.copysign(1, x) == math.copysign(1, y))
        for x, y in zip(a.tolist(), b.tolist(), strict=True)
    )


@FUZZ_SETTINGS
@given(st.lists(_cell, max_size=12), st.integers(min_value=1, max_value=4))
def test_parse_numbers_equals_parse_number(cells, repeat):
    values = cells * repeat  # repeats take the memoised path
    assert _same(parse_numbers(values), _expected(values))


@pytest.mark.parametrize(
    "values",
    [
        ["", "", ""],  # empty column
        ["1.5", "", "-0.0", "2e3"],  # plain numbers
        ["5,720.562", "5,720.562", "1,000", "1,000"],  # repeated thousands separators
        ["27.1", "Undetermined", "1_000", "inf", "-0", " 3.5 "],  # per-cell fallback
        [1.0, "2", None, True, float("inf")],  # worksheet cells
    ],
)
def test_parse_numbers_cases(values):
    assert _same(parse_numbers(values), _expected(values))


@FUZZ_SETTINGS
@given(st.lists(_cell, max_size=12), st.integers(min_value=1, max_value=4))
def test_parse_numbers_of_known_text_equals_parse_number(cells, repeat):
    values = cells * repeat
    assert _same(parse_numbers(values, text=True), _expected(values))


def _frames_equal(a, b):

    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.dtypes) == list(b.dtypes)
    for c in a.columns:
        if a[c].dtype == object:
            assert [type(x) for x in a[c]] == [type(x) for x in b[c]]


def test_fast_frame_equals_dataframe():

    cols = {
        "a": ["x", "y", "z"],
        "f": np.array([1.5, np.nan, -0.0]),
        "b": ("p", "q", ""),
        "i": np.array([1, 2, 3], dtype=np.int64),
        "o": np.array(["u", "v", "w"], dtype=object),
        "g": np.array([2.0, 3.0, 4.0]),
    }
    fast = _fast_frame(cols, 3)
    assert fast is not None
    _frames_equal(fast, pd.DataFrame({k: (np.asarray(v, dtype=object) if not isinstance(v, np.ndarray) else v)
                                      for k, v in cols.items()}))  # fmt: skip
    assert list(fast.columns) == list(cols)
    fast.loc[0, "f"] = 9.0  # the frame owns its values
    assert cols["f"][0] == 1.5


@pytest.mark.parametrize(
    "cols",
    [
        {"a": ["x", None]},  # None among texts: pandas types the column
        {"a": ["x", 1.0]},
        {"a": np.array([1, 2], dtype=np.int32)},  # another numeric dtype
        {"a": ["x", "y"], "b": ["z"]},  # a length differs
        {"a": np.array([[1.0, 2.0]])},  # not one-dimensional
    ],
)
def test_fast_frame_declines(cols):
    assert _fast_frame(cols, 2) is None


def test_fast_frame_empty_declines():
    assert _fast_frame({"a": []}, 0) is None


def test_qpcr_table_non_text_cells_are_typed_as_before():
    df = qpcr_table({"well": ["A1", "A2"], "sample": [None, "s"], "target": ["T", "T"], "cq": [1.0, 2.0],
                     "plate": [1, 1], "cq_raw": [None, "2"]})  # fmt: skip
    assert df["plate"].tolist() == ["1", "1"] and df["cq_raw"].tolist() == ["", "2"]
    # a missing text stays None in an object column (under pandas 3 too), never "" or "None"
    assert df["sample"].tolist() == [None, "s"] and df["sample"].dtype == object


def test_qpcr_table_checked_skips_only_what_the_caller_checked():
    rows = {"well": ["A1", "A2"], "sample": ["s", "s"], "target": ["T", "T"], "cq": [20.0, 21.0]}
    _frames_equal(qpcr_table(rows, checked=True), qpcr_table(rows))


def test_qpcr_table_repeated_key_still_raises():
    with pytest.raises(SchemaError, match="duplicate well × target") as e:
        qpcr_table({"well": ["A1", "A01"], "sample": ["s", "s"], "target": ["T", "T"], "cq": [20.0, 21.0]})
    assert "well A1" in str(e.value) and "2 rows sharing a key" in str(e.value)


def test_plate_table_repeated_key_still_raises():
    with pytest.raises(SchemaError, match="duplicate well in plate table") as e:
        plate_table(plate="1", well=["B2", "b02", "C3"], read="abs_450", value=[1.0, 2.0, 3.0])
    assert "well B2" in str(e.value)


def test_plate_table_extra_replacing_a_canonical_column_is_validated():
    with pytest.raises(SchemaError, match="column 'value' must be float"):
        plate_table(plate="1", well=["A1"], read="abs_450", value=[1.0], extra={"value": ["high"]})


def test_large_tables_are_validated():
    n = 5001  # above the set-based check: the frame is validated by pandas
    wells = [f"A{1 + i % 12}" for i in range(n)]
    reads = [f"r{i // 12}" for i in range(n)]
    df = plate_table(plate="1", well=wells, read=reads, value=np.ones(n))
    assert len(df) == n
    reads[-1] = reads[-13]  # the last row now repeats the key of an earlier one
    with pytest.raises(SchemaError, match="duplicate well in plate table"):
        plate_table(plate="1", well=wells, read=reads, value=np.ones(n))


_XML_PIECES = [b" ", b"\n", b"\t", b"<adp>", b"</adp>", b"<mdp>", b"</mdp>", b"<rdml:adp>", b"</rdml:adp>", b"dp>",
               b"<", b">", b"<cyc>1</cyc>", b"<tmp>60</tmp>", b"<fluor>0.5</fluor>", b"x", b"<data>", b"</data>",
               b"  <adp><cyc>3</cyc><fluor>0.1</fluor></adp>\n", b"<rdml:cyc>2</rdml:cyc>", b"<x.y:mdp>", b"</x.y:mdp>",
               b"<fluor>", b"</fluor>", b"<tmp>", b"</tmp>", b"1.5", b"cyc>"]  # fmt: skip


@FUZZ_SETTINGS
@given(st.lists(st.sampled_from(_XML_PIECES), max_size=30))
def test_strip_curves_equals_regex_sub(pieces):
    from assaykit.io.qpcr.rdml import _CURVES_RE, _strip_curves

    data = b"".join(pieces)
    assert _strip_curves(data) == _CURVES_RE.sub(lambda m: b"\n" * m.group(0).count(b"\n"), data)
