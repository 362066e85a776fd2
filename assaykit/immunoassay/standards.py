"""Standard concentrations of an immunoassay plate: from the layout, a table, or the export.

:func:`standards_from_plate` reads the expected standard concentrations that bead-assay
exports (Luminex xPONENT, MSD) carry as ``metric == 'expected_conc'`` rows of the canonical
plate table; :func:`standard_concentrations` resolves, for every analysed well, the
concentration :func:`~assaykit.immunoassay.analyze` fits it at (an explicit
``standard_conc`` table, else a layout column, else the export's expected concentrations).

Pure functions on tidy tables: the analysis reads no export itself.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError, AssaykitWarning, SchemaError

__all__ = ["standard_concentrations", "standards_from_plate"]

_STD_NUM_RE = re.compile(r"(\d+)\s*$")


def standards_from_plate(df: pd.DataFrame) -> pd.DataFrame:
    """Expected standard concentrations per analyte carried by a bead-assay export.

    Pure function on a plate table read from an xPONENT or MSD export: the rows with
    ``metric == 'expected_conc'`` and a numeric value, i.e. one row per standard (or
    control) well × analyte.

    Parameters
    ----------
    df : pandas.DataFrame
        A canonical plate table with a ``sample_label`` column (as the xPONENT and MSD
        readers return).

    Returns
    -------
    pandas.DataFrame
        Columns ``plate, well, read, expected_conc, sample_label`` in the table's row
        order, with a fresh index; empty (same columns) when the export carries no
        expected concentrations. Controls appear too (their ``sample_label`` says so).

    Raises
    ------
    SchemaError
        If ``df`` lacks one of the columns used.

    Warns
    -----
    AssaykitWarning
        When, for one plate × analyte, the concentrations of labels numbered like
        ``Standard1, Standard2 ...`` are not monotonic in that number: the export's
        numbers are probably corrupt (e.g. a lost decimal point, ``215625`` for
        ``215.625``). The values are returned unchanged.

    Examples
    --------
    >>> t = pd.DataFrame({"plate": ["1"] * 2, "well": ["A1", "A2"], "read": ["IL6"] * 2,
    ...                   "metric": ["expected_conc"] * 2, "value": [100.0, 50.0],
    ...                   "sample_label": ["Standard1", "Standard2"]})
    >>> standards_from_plate(t)["expected_conc"].tolist()
    [100.0, 50.0]
    """
    need = ["plate", "well", "read", "metric", "value", "sample_label"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(
            "not a bead-assay plate table",
            expected=f"columns {need}",
            found=f"columns {list(df.columns)[:12]} (missing {missing})",
        )
    sel = df.loc[(df["metric"] == "expected_conc") & df["value"].notna(), need]
    out = pd.DataFrame(
        {
            "plate": sel["plate"].astype(str).to_numpy(),
            "well": sel["well"].to_numpy(),
            "read": sel["read"].to_numpy(),
            "expected_conc": sel["value"].astype(float).to_numpy(),
            "sample_label": sel["sample_label"].astype(str).to_numpy(),
        }
    )
    _check_monotonic(out)
    return out


def _check_monotonic(std: pd.DataFrame) -> None:
    bad: list[str] = []
    for (plate, read), grp in std.groupby(["plate", "read"], sort=False):
        levels: dict[int, float] = {}
        for label, conc in zip(grp["sample_label"], grp["expected_conc"], strict=True):
            if label.lower().startswith(("control", "ctrl", "qc")):
                continue
            m = _STD_NUM_RE.search(label)
            if m:
                levels.setdefault(int(m.group(1)), float(conc))
        if len(levels) < 3:
            continue
        seq = [levels[k] for k in sorted(levels)]
        diffs = np.diff(seq)
        if (diffs > 0).any() and (diffs < 0).any():
            bad.append(f"{read} (plate {plate})")
    if bad:
        shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        warnings.warn(
            AssaykitWarning(
                "expected standard concentrations are not monotonic in the standard number for "
                f"{shown}; the export's numbers may be corrupt (e.g. a lost decimal point)"
            ),
            stacklevel=3,
        )


def _err_cols(msg: str, column: str, df: pd.DataFrame, expected: str) -> AnalysisError:
    return AnalysisError(msg, column=column, expected=expected, found="columns " + ", ".join(map(str, df.columns)))


def _key(*cols: np.ndarray) -> np.ndarray:
    """One string key per row joining several columns with NUL."""
    out = np.asarray(cols[0], dtype=object).astype(str)
    for c in cols[1:]:
        out = np.char.add(np.char.add(out, "\x00"), np.asarray(c, dtype=object).astype(str))
    return out


def _unit_of(conc_col: str | None) -> str:
    if not conc_col:
        return ""
    m = re.search(r"conc_(.+)$", conc_col)
    return m.group(1) if m else ""


def standard_concentrations(
    df: pd.DataFrame,
    wells: pd.DataFrame,
    key3: np.ndarray,
    *,
    conc_col: str | None,
    standard_conc: pd.DataFrame | None,
) -> tuple[np.ndarray, str, str, str | None]:
    """The standard concentration of every analysed well, and where it comes from.

    Parameters
    ----------
    df : pandas.DataFrame
        The whole annotated plate table (the export's ``expected_conc`` rows live here).
    wells : pandas.DataFrame
        Its analysed rows (one per well × read), in analysis order.
    key3 : numpy.ndarray
        ``plate NUL well NUL read`` of each analysed row (the read before any reference
        subtraction).
    conc_col : str, optional
        Layout column of standard concentrations; default the first numeric column whose
        name starts with ``std_conc``, else the export's expected concentrations.
    standard_conc : pandas.DataFrame, optional
        Explicit ``plate, well, read, conc`` table (wins over everything else).

    Returns
    -------
    conc : numpy.ndarray
        Concentration per analysed row (NaN where none is given).
    unit : str
        Unit taken from the column name after ``conc_`` (``''`` when unknown).
    source : str
        ``'standard_conc'``, the layout column's name, or ``'export expected_conc'``.
    conc_col : str or None
        The layout column used (None when not a column).

    Raises
    ------
    AnalysisError
        If ``standard_conc`` lacks a column, ``conc_col`` names no column, or no
        source of standard concentrations exists.
    """
    if standard_conc is not None:
        for c in ("plate", "well", "read", "conc"):
            if c not in standard_conc.columns:
                raise _err_cols(f"standard_conc has no '{c}' column", c, standard_conc, "plate, well, read, conc")
        sc = standard_conc.drop_duplicates(["plate", "well", "read"])
        pos = pd.Index(_key(sc["plate"].to_numpy(object), sc["well"].to_numpy(object),
                            sc["read"].to_numpy(object))).get_indexer(key3)
        conc = np.where(pos >= 0, pd.to_numeric(sc["conc"], errors="coerce").to_numpy(float)[pos], np.nan)
        return conc, "", "standard_conc", conc_col
    if conc_col is None:
        cand = [c for c in wells.columns if str(c).startswith("std_conc")
                and pd.to_numeric(wells[c], errors="coerce").notna().any()]
        conc_col = cand[0] if cand else None
    if conc_col is not None:
        if conc_col not in wells.columns:
            raise _err_cols(f"no standard-concentration column '{conc_col}'", conc_col, df,
                            "a layout column of standard concentrations")
        return pd.to_numeric(wells[conc_col], errors="coerce").to_numpy(float), _unit_of(conc_col), conc_col, conc_col
    if (df["metric"].to_numpy(object) == "expected_conc").any() and "sample_label" in df.columns:
        ex = standards_from_plate(df)  # warns when an analyte's series is not monotonic
        idx = pd.Index(_key(ex["plate"].to_numpy(object), ex["well"].to_numpy(object), ex["read"].to_numpy(object)))
        keep = ~idx.duplicated()
        pos = idx[keep].get_indexer(key3)
        ev = ex["expected_conc"].to_numpy(float)[keep]
        return np.where(pos >= 0, ev[pos], np.nan), "", "export expected_conc", None
    raise _err_cols("no standard-concentration column: name one with conc_col", "std_conc", df,
                    "a layout column like std_conc_pg_ml, or an export with expected concentrations")
