"""Immunoassay plate analysis: standard curves, back-calculated concentrations and QC.

:func:`analyze` takes an annotated plate-read table (:func:`assaykit.annotate` of a
reader's table and a wellmap layout) and returns an immutable :class:`ImmunoassayResult`
with tidy tables ``wells``, ``samples``, ``standards``, ``curves`` and ``linearity``.
One standard curve is fitted per plate × read (analyte) with the batched engine
(:func:`~assaykit.immunoassay.fit_curves`), so every analyte of a multiplex export
is fitted in one call.

Every input well stays in ``wells`` with a ``status`` and a ``reason``:

``ok``            quantified within LLOQ-ULOQ
``below_lloq`` / ``above_uloq``  back-calculated, but outside the quantification limits
``extrapolated``  back-calculated outside the standards' range and no limits available
``below_curve`` / ``above_curve``  response beyond an asymptote: no concentration (NaN)
``masked``        excluded by the user (``mask=``) or as a high-dose hook standard
``reader_flag``   the instrument flagged the value (overflow, missed, invalid ...)
``missing``       no numeric value and no reader flag
``no_curve``      the curve of this plate × read could not be fitted (reason given)
``no_role``       the layout gives the well no role: not analysed

Nothing is clamped and nothing is dropped.

Examples
--------
>>> import assaykit
>>> from assaykit.datasets import path
>>> plate = assaykit.read_plate(path("elisa_il6_gen5.txt"))
>>> ann = assaykit.annotate(plate, assaykit.read_layout(path("elisa_il6_layout.toml")))
>>> res = analyze(ann, read="abs_450", reference_read="abs_630", conc_col="std_conc_pg_ml")
>>> res.curves["status"].tolist()
['ok']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.immunoassay.batch import CurveBatch, fit_curves
from assaykit.immunoassay.curve import StandardCurve
from assaykit.immunoassay.qc import detect_hook, dilution_linearity, quantification_limits

__all__ = ["ROLES", "WELL_STATUS", "ImmunoassayResult", "analyze"]

#: Well roles understood by :func:`analyze` (layout values are lower-cased; synonyms mapped).
ROLES: dict[str, str] = {
    "standard": "standard", "std": "standard", "calibrator": "standard",
    "blank": "blank", "background": "blank", "blk": "blank",
    "sample": "sample", "unknown": "sample", "spl": "sample",
    "control": "control", "qc": "control", "ctrl": "control",
}

#: Well statuses assigned by :func:`analyze` (see the module docstring).
WELL_STATUS: tuple[str, ...] = (
    "ok", "below_lloq", "above_uloq", "extrapolated", "below_curve", "above_curve",
    "masked", "reader_flag", "missing", "no_curve", "no_role",
)

#: Reader flags that make a value unusable (the well gets status ``reader_flag``).
REJECT_FLAGS: frozenset[str] = frozenset({
    "overflow", "missed", "not_numeric", "invalid", "empty", "excluded", "low_bead_count",
})

_BLANK = ("subtract_mean", "zero_standard", "none")
_KEYS = ["plate", "read"]


@dataclass(frozen=True, eq=False)
class ImmunoassayResult:
    """Result of :func:`analyze` (immutable; tables are plain DataFrames).

    Attributes
    ----------
    wells : pandas.DataFrame
        One row per input well × read: keys, layout role/sample/dilution, ``value``,
        ``response`` (after blank handling), back-calculated ``conc_in_well`` and ``conc``
        (× dilution) with ``ci_low``/``ci_high``, ``status``, ``reason``.
    samples : pandas.DataFrame
        One row per plate × read × role × sample × dilution: replicate statistics and the
        concentration back-calculated from the mean response, with status.
    standards : pandas.DataFrame
        One row per plate × read × standard level: back-fitted recovery, CV, QC.
    curves : pandas.DataFrame
        One row per plate × read: model parameters, fit statistics, LLOQ/ULOQ, status.
    linearity : pandas.DataFrame
        Dilution linearity of samples read at several dilutions.
    params : dict
        The analysis options used.
    batch : CurveBatch
        The fitted curves (for figures and further back-calculation).
    """

    wells: pd.DataFrame
    samples: pd.DataFrame
    standards: pd.DataFrame
    curves: pd.DataFrame
    linearity: pd.DataFrame
    params: dict = field(repr=False)
    batch: CurveBatch = field(repr=False)

    def curve(self, plate: Any, read: str) -> StandardCurve | None:
        """The fitted :class:`StandardCurve` of a plate × read (None when it failed).

        Parameters
        ----------
        plate : str
            Plate name.
        read : str
            Read (analyte) name.

        Returns
        -------
        StandardCurve or None
        """
        return self.batch.curves.get((str(plate), str(read)))

    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by name (``wells``, ``samples``, ``standards``, ``curves``, ``linearity``).

        Returns
        -------
        dict
        """
        return {"wells": self.wells, "samples": self.samples, "standards": self.standards,
                "curves": self.curves, "linearity": self.linearity}


# ----------------------------------------------------------------------------- helpers
def _err_cols(msg: str, column: str, df: pd.DataFrame, expected: str) -> AnalysisError:
    return AnalysisError(msg, column=column, expected=expected,
                         found="columns " + ", ".join(map(str, df.columns)))


def _unit_of(conc_col: str | None) -> str:
    if not conc_col:
        return ""
    m = re.search(r"conc_(.+)$", conc_col)
    return m.group(1) if m else ""


def _norm_unit(u: Any) -> str:
    if u is None or (isinstance(u, float) and np.isnan(u)):
        return ""
    return re.sub(r"[^0-9a-z]+", "_", str(u).strip().lower()).strip("_")


def _mask_frame(mask: Any) -> pd.DataFrame:
    """Normalise ``mask`` to columns plate, well, read, reason (plate/read None = any)."""
    if mask is None:
        return pd.DataFrame(columns=["plate", "well", "read", "reason"])
    if isinstance(mask, pd.DataFrame):
        if "well" not in mask.columns:
            raise _err_cols("mask table has no 'well' column", "well", mask, "columns well and reason")
        m = pd.DataFrame({"well": mask["well"].astype(str)})
        m["reason"] = mask["reason"].astype(str) if "reason" in mask.columns else "masked by the user"
        m["plate"] = mask["plate"].astype(str) if "plate" in mask.columns else None
        m["read"] = mask["read"].astype(str) if "read" in mask.columns else None
        return m
    rows = []
    for item in mask:
        if isinstance(item, str):
            rows.append((item, "masked by the user"))
        elif isinstance(item, Sequence) and len(item) == 2:
            rows.append((str(item[0]), str(item[1])))
        else:
            raise AnalysisError("cannot read a mask entry", expected="'A1' or ('A1', 'reason')", found=repr(item))
    m = pd.DataFrame(rows, columns=["well", "reason"])
    m["plate"] = None
    m["read"] = None
    return m


def _apply_mask(wells: pd.DataFrame, mask: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from assaykit.schema import parse_well, well_name

    n = len(wells)
    hit = np.zeros(n, bool)
    reason = np.full(n, "", dtype=object)
    wv = wells["well"].to_numpy()
    pv = wells["plate"].to_numpy()
    rv = wells["read"].to_numpy()
    known = set(wv)
    for w, why, p, r in mask[["well", "reason", "plate", "read"]].itertuples(index=False, name=None):
        try:
            wn = well_name(*parse_well(str(w)))
        except Exception:
            raise AnalysisError("mask names a well that is not a well name", well=str(w),
                                expected="a well like 'A1'", found=repr(w)) from None
        if wn not in known:
            raise AnalysisError("mask names a well that is not in the data", well=wn,
                                expected="a well of the plate", found=repr(w))
        sel = wv == wn
        if p is not None and not (isinstance(p, float) and np.isnan(p)):
            sel &= pv == str(p)
        if r is not None and not (isinstance(r, float) and np.isnan(r)):
            sel &= rv == str(r)
        hit |= sel
        reason[sel] = f"masked: {why}"
    return hit, reason


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.4g}"


# ----------------------------------------------------------------------------- analyze
def analyze(
    annotated_plate: pd.DataFrame,
    *,
    read: str | Sequence[str] | None = None,
    metric: str = "raw",
    reference_read: str | None = None,
    model: str = "4pl",
    weights: str | tuple | None = "none",
    role_col: str = "role",
    conc_col: str | None = None,
    sample_col: str = "sample",
    dilution_col: str = "dilution",
    expected_col: str | None = None,
    blank: str = "subtract_mean",
    recovery_window: tuple[float, float] = (80.0, 120.0),
    cv_max: float = 20.0,
    mask: Sequence | pd.DataFrame | None = None,
    hook: str = "detect",
    hook_tolerance: float = 0.05,
    standard_conc: pd.DataFrame | None = None,
    interval: str = "delta",
    level: float = 0.95,
    asymmetry: str = "auto",
    linearity_cv_max: float = 20.0,
) -> ImmunoassayResult:
    """Fit standard curves and back-calculate every well of an annotated immunoassay plate.

    Parameters
    ----------
    annotated_plate : pandas.DataFrame
        Canonical plate-read table joined to a layout (:func:`assaykit.annotate`).
    read : str or sequence of str, optional
        Read(s) (wavelength / analyte) to analyse; default every read of ``metric``.
    metric : str
        Metric to analyse (``'raw'``; ``'net_mfi'`` or ``'median'`` for bead assays).
    reference_read : str, optional
        A read subtracted well by well first (e.g. ``'abs_630'`` from ``'abs_450'``,
        giving read ``'abs_450-630'``).
    model : {'4pl', '5pl', 'auto', 'linear', 'loglinear'}
        Curve model (``'auto'``: 4PL or 5PL by AIC per curve).
    weights : str or tuple
        Variance model (``'none'``, ``'1/y'``, ``'1/y^2'``, ``'power'``, ``'power:K'``).
    role_col : str
        Layout column with ``standard`` / ``blank`` / ``sample`` / ``control`` (synonyms in
        :data:`ROLES`; case-insensitive). Wells without a role get status ``no_role``.
    conc_col : str, optional
        Layout column of standard concentrations (e.g. ``'std_conc_pg_ml'``; its suffix
        after ``conc_`` becomes ``conc_unit``). Default: the first column starting with
        ``std_conc``, else the export's expected concentrations (``metric ==
        'expected_conc'`` rows, xPONENT/MSD).
    sample_col, dilution_col : str
        Layout columns naming the sample and its dilution factor (fold, >= 1 usually;
        missing → each well is its own sample / dilution 1).
    expected_col : str, optional
        Layout column of expected control concentrations (default: first column starting
        with ``expected_conc``); gives controls a ``recovery_pct`` in ``samples``.
    blank : {'subtract_mean', 'zero_standard', 'none'}
        Subtract the mean of the blank wells of each plate × read from every response;
        fit the blanks as a zero-concentration standard; or ignore them.
    recovery_window : (float, float)
        Accepted back-fit recovery of standards in percent (LLOQ/ULOQ).
    cv_max : float
        Largest accepted replicate %CV (standards for LLOQ/ULOQ; sample ``cv_flag``).
    mask : list of (well, reason), or DataFrame, optional
        Wells to exclude (columns ``well``, ``reason``, optional ``plate``, ``read``);
        they keep their row with status ``masked``.
    hook : {'detect', 'off'}
        Detect a high-dose hook and mask the hooked standards (recorded in ``curves``).
    hook_tolerance : float
        Smallest response drop at the top standards that counts as a hook (fraction of
        the response range).
    standard_conc : pandas.DataFrame, optional
        Per-analyte standard concentrations ``plate, well, read, conc`` (overrides the
        layout and the export).
    interval : {'delta'}
        CI method of back-calculated concentrations (delta method on ln x).
    level : float
        Confidence level of the CIs.
    asymmetry : {'auto', 'high', 'low'}
        5PL orientation.
    linearity_cv_max : float
        Largest accepted %CV of dilution-corrected concentrations (``linearity``).

    Returns
    -------
    ImmunoassayResult
        Tables ``wells``, ``samples``, ``standards``, ``curves``, ``linearity``.

    Raises
    ------
    AnalysisError
        If a needed column is missing (names the column and the columns found), no
        row matches ``read``/``metric``, an option is invalid, a dilution is not positive,
        or the mask names an unknown well. Problems of one curve (too few levels, zero
        concentration in a log model, non-convergence) are reported per curve instead.
    """
    df = annotated_plate
    if not isinstance(df, pd.DataFrame):
        raise AnalysisError("analyze needs a plate table", expected="a pandas DataFrame", found=type(df).__name__)
    for c in ("plate", "well", "read", "metric", "value"):
        if c not in df.columns:
            raise _err_cols(f"plate table has no '{c}' column", c, df, "a canonical plate-read table")
    if role_col not in df.columns:
        raise _err_cols(f"no role column '{role_col}' in the annotated plate (join a layout that "
                        "gives each well a role)", role_col, df, "values standard/blank/sample/control")
    if blank not in _BLANK:
        raise AnalysisError("unknown blank handling", expected=" / ".join(_BLANK), found=repr(blank))
    if hook not in ("detect", "off"):
        raise AnalysisError("unknown hook option", expected="'detect' or 'off'", found=repr(hook))
    if interval != "delta":
        raise AnalysisError("unknown interval type", expected="'delta'", found=repr(interval))
    lo_w, hi_w = recovery_window
    if not (np.isfinite(lo_w) and np.isfinite(hi_w) and 0 <= lo_w < hi_w):
        raise AnalysisError("invalid recovery window", expected="(low, high) with 0 <= low < high",
                            found=repr(recovery_window))
    if not cv_max > 0:
        raise AnalysisError("invalid cv_max", expected="a positive percentage", found=repr(cv_max))

    sel = df.loc[df["metric"] == metric]
    if sel.empty:
        raise AnalysisError("no rows with this metric", column="metric", expected=repr(metric),
                            found=", ".join(sorted(map(str, df["metric"].unique()))))
    all_reads = list(dict.fromkeys(sel["read"].astype(str)))
    if reference_read is not None and reference_read not in all_reads:
        raise AnalysisError("reference read not in the data", read=reference_read,
                            expected=f"one of {all_reads}", found=repr(reference_read))
    if read is None:
        reads = [r for r in all_reads if r != reference_read]
    else:
        reads = [read] if isinstance(read, str) else list(read)
        unknown = [r for r in reads if r not in all_reads]
        if unknown:
            raise AnalysisError("read not in the data", read=unknown[0], expected=f"one of {all_reads}",
                                found=repr(unknown[0]))
    # ---------------------------------------------------------------- wells table
    w = sel.loc[sel["read"].astype(str).isin(reads)].copy()
    w["plate"] = w["plate"].astype(str)
    w["read"] = w["read"].astype(str)
    w = w.reset_index(drop=True)
    orig_read = w["read"].to_numpy(object)
    value = w["value"].to_numpy(float)
    flag = (w["flag"].fillna("").astype(str) if "flag" in w.columns else pd.Series([""] * len(w))).to_numpy()
    if reference_read is not None:
        ref = sel.loc[sel["read"].astype(str) == reference_read, ["plate", "well", "value"]].copy()
        ref["plate"] = ref["plate"].astype(str)
        ref = ref.drop_duplicates(["plate", "well"]).rename(columns={"value": "_ref"})
        m = w[["plate", "well"]].merge(ref, on=["plate", "well"], how="left")
        value = value - m["_ref"].to_numpy(float)
        suffix = reference_read.split("_")[-1]
        w["read"] = [f"{r}-{suffix}" for r in w["read"]]
        if "flag" in sel.columns:
            rf = sel.loc[sel["read"].astype(str) == reference_read, ["plate", "well", "flag"]].copy()
            rf["plate"] = rf["plate"].astype(str)
            rf = rf.drop_duplicates(["plate", "well"])
            mf = w[["plate", "well"]].merge(rf, on=["plate", "well"], how="left")["flag"].fillna("").to_numpy()
            flag = np.array([";".join(x for x in (a, b) if x) for a, b in zip(flag, mf, strict=True)], dtype=object)
    n = len(w)
    roles_raw = w[role_col]
    role = roles_raw.astype("string").str.strip().str.lower().map(ROLES).fillna("").astype(str).to_numpy(object)
    unknown_roles = sorted({str(r) for r, k in zip(roles_raw, role, strict=True) if k == "" and pd.notna(r)
                            and str(r).strip() != ""})
    if unknown_roles:
        raise AnalysisError(f"unknown role in column '{role_col}'", column=role_col,
                            expected="standard, blank, sample or control", found=", ".join(unknown_roles))
    # sample names and dilutions
    if sample_col in w.columns:
        smp = w[sample_col].astype("string").fillna("").astype(str).to_numpy(object)
    else:
        smp = np.full(n, "", dtype=object)
    smp = np.where(smp == "", w["well"].to_numpy(object), smp)
    smp = np.where((role == "blank") & (w[sample_col].isna().to_numpy() if sample_col in w.columns
                                        else np.ones(n, bool)), "blank", smp)
    if dilution_col in w.columns:
        dil = pd.to_numeric(w[dilution_col], errors="coerce").to_numpy(float)
        dil = np.where(np.isnan(dil), 1.0, dil)
        bad = ~(dil > 0) | ~np.isfinite(dil)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise AnalysisError("dilution factors must be positive and finite", column=dilution_col,
                                plate=w["plate"].iloc[i], well=w["well"].iloc[i], expected="> 0",
                                found=repr(w[dilution_col].iloc[i]))
    else:
        dil = np.ones(n)
    # standard concentrations
    std_conc = np.full(n, np.nan)
    unit = np.full(n, "", dtype=object)
    if standard_conc is not None:
        for c in ("plate", "well", "read", "conc"):
            if c not in standard_conc.columns:
                raise _err_cols(f"standard_conc has no '{c}' column", c, standard_conc, "plate, well, read, conc")
        sc = standard_conc[["plate", "well", "read", "conc"]].copy()
        sc["plate"] = sc["plate"].astype(str)
        m = w[["plate", "well", "read"]].merge(sc.drop_duplicates(["plate", "well", "read"]),
                                               on=["plate", "well", "read"], how="left")
        std_conc = pd.to_numeric(m["conc"], errors="coerce").to_numpy(float)
        conc_source = "standard_conc"
    else:
        if conc_col is None:
            cand = [c for c in w.columns if str(c).startswith("std_conc")
                    and pd.to_numeric(w[c], errors="coerce").notna().any()]
            conc_col = cand[0] if cand else None
        if conc_col is not None:
            if conc_col not in w.columns:
                raise _err_cols(f"no standard-concentration column '{conc_col}'", conc_col, df,
                                "a layout column of standard concentrations")
            std_conc = pd.to_numeric(w[conc_col], errors="coerce").to_numpy(float)
            unit[:] = _unit_of(conc_col)
            conc_source = conc_col
        elif (df["metric"] == "expected_conc").any():
            ex = df.loc[(df["metric"] == "expected_conc") & df["value"].notna(), ["plate", "well", "read", "value"]]
            ex = ex.assign(plate=ex["plate"].astype(str)).drop_duplicates(["plate", "well", "read"])
            m = w[["plate", "well"]].assign(read=orig_read)
            m = m.merge(ex.rename(columns={"value": "conc"}), on=["plate", "well", "read"], how="left")
            std_conc = m["conc"].to_numpy(float)
            conc_source = "export expected_conc"
        else:
            raise _err_cols("no standard-concentration column: name one with conc_col", "std_conc", df,
                            "a layout column like std_conc_pg_ml, or an export with expected concentrations")
    if "analyte_unit" in w.columns and not any(unit):
        unit = np.array([_norm_unit(u) for u in w["analyte_unit"]], dtype=object)
    if blank == "zero_standard":
        std_conc = np.where(role == "blank", 0.0, std_conc)
    # expected control concentrations
    if expected_col is None:
        cand = [c for c in w.columns if str(c).startswith("expected_conc")
                and pd.to_numeric(w[c], errors="coerce").notna().any()]
        expected_col = cand[0] if cand else None
    elif expected_col not in w.columns:
        raise _err_cols(f"no expected-concentration column '{expected_col}'", expected_col, df,
                        "a layout column of expected control concentrations")
    exp_conc = (pd.to_numeric(w[expected_col], errors="coerce").to_numpy(float) if expected_col
                else np.full(n, np.nan))

    # ---------------------------------------------------------------- exclusions
    masked, reason = _apply_mask(w, _mask_frame(mask))
    flag_parts = [set(f.split(";")) - {""} for f in flag]
    rejected = np.array([bool(p & REJECT_FLAGS) for p in flag_parts]) & ~masked
    rejected |= ~masked & ~np.isfinite(value) & np.array([bool(p) for p in flag_parts])
    raw = w["raw"].astype("string").fillna("").astype(str).to_numpy() if "raw" in w.columns else np.full(n, "")
    for i in np.flatnonzero(rejected):
        reason[i] = f"reader flag {flag[i]} (exported {raw[i]!r})"
    usable = ~masked & ~rejected & np.isfinite(value) & (role != "")

    # ---------------------------------------------------------------- blanks
    keys = pd.MultiIndex.from_arrays([w["plate"].to_numpy(), w["read"].to_numpy()])
    blank_mean = np.full(n, np.nan)
    if blank == "subtract_mean":
        bsel = usable & (role == "blank")
        bm = pd.Series(value[bsel]).groupby([w["plate"].to_numpy()[bsel], w["read"].to_numpy()[bsel]]).mean()
        if len(bm):
            blank_mean = bm.reindex(keys).to_numpy(float)
    response = value - np.nan_to_num(blank_mean, nan=0.0)

    # ---------------------------------------------------------------- hook detection
    curve_keys = list(dict.fromkeys(zip(w["plate"], w["read"], strict=True)))
    hook_wells: dict[tuple, list[str]] = {k: [] for k in curve_keys}
    hook_reason: dict[tuple, str] = {k: "" for k in curve_keys}
    std_use = usable & (role == "standard") | (usable & (role == "blank") & (blank == "zero_standard"))
    std_use &= np.isfinite(std_conc)
    hooked = np.zeros(n, bool)
    if hook == "detect":
        grp = pd.Series(np.arange(n)).groupby([w["plate"].to_numpy(), w["read"].to_numpy()], sort=False)
        for k, idx in grp.indices.items():
            idx = idx[std_use[idx]]
            if idx.size == 0:
                continue
            levels, why = detect_hook(std_conc[idx], response[idx], tolerance=hook_tolerance)
            if levels.size:
                hit = idx[np.isin(std_conc[idx], levels)]
                hooked[hit] = True
                hook_wells[tuple(k)] = list(w["well"].to_numpy()[hit])
                hook_reason[tuple(k)] = why
                for i in hit:
                    reason[i] = f"masked: {why}"
    excluded = masked | hooked | rejected
    # ---------------------------------------------------------------- fit
    fit_tab = pd.DataFrame({"plate": w["plate"].to_numpy(), "read": w["read"].to_numpy(),
                            "conc": np.where(std_use, std_conc, np.nan),
                            "response": np.where(std_use & ~hooked, response, np.nan)})
    # curves for every plate × read, even without standards (they fail with a reason)
    batch = fit_curves(fit_tab, by=_KEYS, conc_col="conc", response_col="response", model=model,
                       weights=weights, asymmetry=asymmetry)

    # ---------------------------------------------------------------- back-calculate wells
    bc = batch.back_calculate(pd.DataFrame({"plate": w["plate"].to_numpy(), "read": w["read"].to_numpy(),
                                            "response": response, "dilution": dil}),
                              dilution_col="dilution", level=level)
    conc = bc["conc"].to_numpy(float)
    x_well = conc / dil
    engine_status = bc["status"].to_numpy(object)

    # ---------------------------------------------------------------- standards QC (per level)
    st_rows = std_use & (role == "standard") | (std_use & (role == "blank") & (blank == "zero_standard"))
    sw = pd.DataFrame({
        "plate": w["plate"].to_numpy()[st_rows], "read": w["read"].to_numpy()[st_rows],
        "expected_conc": std_conc[st_rows], "value": value[st_rows], "response": response[st_rows],
        "x": x_well[st_rows], "hooked": hooked[st_rows], "well": w["well"].to_numpy()[st_rows],
    })
    # all standard wells (any status) for counts
    all_std = (role == "standard") | ((role == "blank") & (blank == "zero_standard"))
    allw = pd.DataFrame({"plate": w["plate"].to_numpy()[all_std], "read": w["read"].to_numpy()[all_std],
                         "expected_conc": std_conc[all_std], "well": w["well"].to_numpy()[all_std],
                         "excluded": excluded[all_std] | ~std_use[all_std]})
    lvl_keys = ["plate", "read", "expected_conc"]
    used_std = sw.loc[~sw["hooked"]]
    g = used_std.groupby(lvl_keys, sort=True)
    levels = g.agg(n_used=("value", "size"), response_mean=("response", "mean"), response_sd=("response", "std"),
                   value_mean=("value", "mean"), value_sd=("value", "std"),
                   conc_backfit=("x", lambda s: s.mean() if s.notna().all() else np.nan)).reset_index()
    allg = allw.groupby(lvl_keys, sort=True, dropna=False).agg(
        n_wells=("well", "size"), wells=("well", ";".join)).reset_index()
    allg = allg.loc[allg["expected_conc"].notna()]
    hk = sw.loc[sw["hooked"]].groupby(lvl_keys)["well"].size().rename("n_hook_masked").reset_index()
    standards = allg.merge(levels, on=lvl_keys, how="left").merge(hk, on=lvl_keys, how="left")
    standards["n_used"] = standards["n_used"].fillna(0).astype(int)
    standards["n_hook_masked"] = standards["n_hook_masked"].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        standards["cv_pct"] = (standards["value_sd"] / standards["value_mean"] * 100).astype(float)
        standards["recovery_pct"] = np.where(standards["expected_conc"] > 0,
                                             standards["conc_backfit"] / standards["expected_conc"] * 100, np.nan)
    limits, within = quantification_limits(standards, recovery_window=recovery_window, cv_max=cv_max)
    standards["within_qc"] = within
    standards["unit"] = ""
    standards["qc_reason"] = [
        _std_reason(r, c, e, nu, nh, lo_w, hi_w, cv_max)
        for r, c, e, nu, nh in zip(standards["recovery_pct"], standards["cv_pct"], standards["expected_conc"],
                                   standards["n_used"], standards["n_hook_masked"], strict=True)
    ]
    standards = standards[["plate", "read", "expected_conc", "n_wells", "n_used", "n_hook_masked", "wells",
                           "value_mean", "value_sd", "cv_pct", "response_mean", "response_sd", "conc_backfit",
                           "recovery_pct", "within_qc", "qc_reason"]]
    standards = standards.rename(columns={"conc_backfit": "conc_backfit"})
    lim = limits.set_index(_KEYS)
    lloq = lim["lloq"].reindex(keys).to_numpy(float) if len(lim) else np.full(n, np.nan)
    uloq = lim["uloq"].reindex(keys).to_numpy(float) if len(lim) else np.full(n, np.nan)

    # ---------------------------------------------------------------- well statuses
    ctab = batch.table.set_index(_KEYS)
    curve_reason = ctab["reason"].reindex(keys).fillna("").to_numpy(object)
    status, reason = _statuses(engine_status, x_well, lloq, uloq, role, masked | hooked, rejected,
                               np.isfinite(value), reason, curve_reason)
    wells = pd.DataFrame({
        "plate": w["plate"].to_numpy(), "well": w["well"].to_numpy(),
        "row": w["row"].to_numpy() if "row" in w.columns else "", "col": w["col"].to_numpy() if "col" in w.columns else 0,
        "read": w["read"].to_numpy(), "metric": metric, "role": role, "sample": smp, "dilution": dil,
        "std_conc": np.where(all_std, std_conc, np.nan), "expected_conc": exp_conc,
        "value": value, "raw": raw, "flag": flag, "blank_response": blank_mean, "response": response,
        "conc_in_well": x_well, "conc": conc, "ci_low": bc["ci_low"].to_numpy(float),
        "ci_high": bc["ci_high"].to_numpy(float), "conc_unit": unit, "lloq": lloq, "uloq": uloq,
        "used_in_fit": std_use & ~hooked, "status": status, "reason": reason,
        "source_file": w["source_file"].to_numpy() if "source_file" in w.columns else "",
    })
    samples = _samples(wells, usable & ~hooked, batch, lloq, uloq, cv_max, level, curve_reason)
    linearity = dilution_linearity(samples, cv_max=linearity_cv_max)

    # ---------------------------------------------------------------- curves table
    curves = batch.table.copy()
    ck = pd.MultiIndex.from_frame(curves[_KEYS])
    if len(lim):
        curves["lloq"] = lim["lloq"].reindex(ck).to_numpy(float)
        curves["uloq"] = lim["uloq"].reindex(ck).to_numpy(float)
    else:
        curves["lloq"] = np.nan
        curves["uloq"] = np.nan
    bmean = pd.Series(blank_mean).groupby([w["plate"].to_numpy(), w["read"].to_numpy()]).first()
    curves["blank_response"] = bmean.reindex(ck).to_numpy(float) if len(bmean) else np.nan
    curves["blank_method"] = blank
    nstd = standards.groupby(_KEYS)["expected_conc"].apply(lambda s: int((s > 0).sum()))
    curves["n_levels"] = nstd.reindex(ck).fillna(0).astype(int).to_numpy()
    curves["hook_masked_wells"] = [";".join(hook_wells.get(k, [])) for k in ck]
    curves["hook_reason"] = [hook_reason.get(k, "") for k in ck]
    curves["conc_source"] = conc_source
    un = pd.Series(unit).groupby([w["plate"].to_numpy(), w["read"].to_numpy()]).first()
    curves["conc_unit"] = un.reindex(ck).fillna("").to_numpy(object) if len(un) else ""
    curves["qc_reason"] = [
        _curve_qc(s, lo, hi) for s, lo, hi in zip(curves["status"], curves["lloq"], curves["uloq"], strict=True)
    ]
    params = {
        "read": reads, "metric": metric, "reference_read": reference_read, "model": model,
        "weights": weights if isinstance(weights, str) or weights is None else list(weights),
        "role_col": role_col, "conc_col": conc_col, "conc_source": conc_source, "sample_col": sample_col,
        "dilution_col": dilution_col, "expected_col": expected_col, "blank": blank,
        "recovery_window": list(recovery_window), "cv_max": cv_max, "hook": hook, "hook_tolerance": hook_tolerance,
        "interval": interval, "level": level, "asymmetry": asymmetry, "linearity_cv_max": linearity_cv_max,
        "n_masked": int(masked.sum()),
    }
    return ImmunoassayResult(wells=wells, samples=samples, standards=standards.reset_index(drop=True),
                             curves=curves, linearity=linearity, params=params, batch=batch)


def _std_reason(rec, cv, conc, n_used, n_hook, lo, hi, cv_max) -> str:
    if conc == 0:
        return "zero standard: no recovery"
    if n_used == 0:
        return "hook-masked" if n_hook else "no usable well"
    bad = []
    if not np.isfinite(rec):
        bad.append("not back-calculable")
    elif not lo <= rec <= hi:
        bad.append(f"recovery {rec:.1f} % outside {lo:g}-{hi:g} %")
    if cv > cv_max:
        bad.append(f"CV {cv:.1f} % > {cv_max:g} %")
    return "; ".join(bad) if bad else "within QC"


def _curve_qc(status: str, lloq: float, uloq: float) -> str:
    if status == "failed":
        return "curve not fitted"
    if not np.isfinite(lloq):
        return "no standard level passed recovery/CV QC: no LLOQ/ULOQ"
    return f"quantification range {_fmt(lloq)}-{_fmt(uloq)}"


def _statuses(engine, x, lloq, uloq, role, masked, rejected, finite, reason, curve_reason):
    """Final status and reason per well (or sample) from the engine status and QC limits."""
    n = engine.size
    status = np.array(engine, dtype=object).copy()
    reason = np.array(reason, dtype=object).copy()
    with np.errstate(invalid="ignore"):
        has_lim = np.isfinite(lloq) & np.isfinite(uloq)
        below = has_lim & (x < lloq * (1 - 1e-9))
        above = has_lim & (x > uloq * (1 + 1e-9))
    num = np.isfinite(x)
    inside = num & has_lim & ~below & ~above
    status[num & below] = "below_lloq"
    status[num & above] = "above_uloq"
    status[inside] = "ok"
    # no limits: keep engine's ok/extrapolated
    for i in range(n):
        s = status[i]
        if role[i] == "":
            status[i] = "no_role"
            reason[i] = "the layout gives this well no role: not analysed"
            continue
        if masked[i]:
            status[i] = "masked"
            continue
        if rejected[i]:
            status[i] = "reader_flag"
            continue
        if s == "no_curve":
            reason[i] = f"no curve: {curve_reason[i]}"
        elif s == "missing" or not finite[i]:
            status[i] = "missing"
            reason[i] = "no numeric value"
        elif s == "below_curve":
            reason[i] = "response beyond the low-concentration asymptote: no concentration"
        elif s == "above_curve":
            reason[i] = "response beyond the high-concentration asymptote: no concentration"
        elif s == "below_lloq":
            reason[i] = f"{_fmt(x[i])} < LLOQ {_fmt(lloq[i])}"
        elif s == "above_uloq":
            reason[i] = f"{_fmt(x[i])} > ULOQ {_fmt(uloq[i])}"
        elif s == "ok" and has_lim[i]:
            reason[i] = f"within LLOQ-ULOQ {_fmt(lloq[i])}-{_fmt(uloq[i])}"
        elif s == "ok":
            reason[i] = "within the standards' range (no LLOQ/ULOQ: no standard passed QC)"
        elif s == "extrapolated":
            reason[i] = "outside the standards' range (no LLOQ/ULOQ: no standard passed QC)"
    return status, reason


def _samples(wells: pd.DataFrame, usable: np.ndarray, batch: CurveBatch, lloq, uloq, cv_max, level,
             curve_reason) -> pd.DataFrame:
    """Replicate groups: mean/SD/%CV of the usable wells, conc from the mean response."""
    keys = ["plate", "read", "role", "sample", "dilution"]
    wl = wells.loc[wells["role"] != ""].copy()
    u = usable[wells["role"].to_numpy() != ""]
    wl["_use"] = u
    wl["_v"] = np.where(u, wl["value"], np.nan)
    wl["_r"] = np.where(u, wl["response"], np.nan)
    wl["_lloq"] = lloq[wells["role"].to_numpy() != ""]
    wl["_uloq"] = uloq[wells["role"].to_numpy() != ""]
    g = wl.groupby(keys, sort=False)
    s = g.agg(
        n_wells=("well", "size"), n_used=("_use", "sum"), wells=("well", ";".join),
        value_mean=("_v", "mean"), value_sd=("_v", "std"), response_mean=("_r", "mean"),
        expected_conc=("expected_conc", "first"), conc_unit=("conc_unit", "first"),
        lloq=("_lloq", "first"), uloq=("_uloq", "first"),
        n_masked=("status", lambda x: int((x == "masked").sum())),
        n_reader_flag=("status", lambda x: int((x == "reader_flag").sum())),
    ).reset_index()
    s["n_used"] = s["n_used"].astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        s["cv_pct"] = (s["value_sd"] / s["value_mean"] * 100).astype(float)
    s["cv_flag"] = (s["cv_pct"] > cv_max).to_numpy(bool)
    bc = batch.back_calculate(s.assign(_m=np.maximum(s["n_used"], 1)), "response_mean",
                              n_replicates_col="_m", dilution_col="dilution", level=level)
    conc = bc["conc"].to_numpy(float)
    x = conc / s["dilution"].to_numpy(float)
    engine = bc["status"].to_numpy(object)
    masked_all = (s["n_used"] == 0) & (s["n_masked"] > 0) & (s["n_masked"] >= s["n_wells"] - s["n_reader_flag"])
    rejected_all = (s["n_used"] == 0) & ~masked_all & (s["n_reader_flag"] > 0)
    reason0 = np.where(masked_all, "all wells masked", np.where(rejected_all, "all wells reader-flagged", ""))
    ck = pd.MultiIndex.from_frame(s[["plate", "read"]])
    cr = batch.table.set_index(_KEYS)["reason"].reindex(ck).fillna("").to_numpy(object)
    status, reason = _statuses(engine, x, s["lloq"].to_numpy(float), s["uloq"].to_numpy(float),
                               s["role"].to_numpy(object), masked_all.to_numpy(), rejected_all.to_numpy(),
                               np.isfinite(s["response_mean"].to_numpy(float)), reason0, cr)
    cvf = s["cv_flag"].to_numpy()
    reason = np.array([f"{r}; replicate CV {c:.1f} % > {cv_max:g} %" if f else r
                       for r, c, f in zip(reason, s["cv_pct"], cvf, strict=True)], dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = np.where(s["expected_conc"].to_numpy(float) > 0, conc / s["expected_conc"].to_numpy(float) * 100,
                       np.nan)
    out = pd.DataFrame({
        "plate": s["plate"], "read": s["read"], "role": s["role"], "sample": s["sample"],
        "dilution": s["dilution"].astype(float), "n_wells": s["n_wells"].astype(int), "n_used": s["n_used"],
        "wells": s["wells"], "value_mean": s["value_mean"], "value_sd": s["value_sd"], "cv_pct": s["cv_pct"],
        "cv_flag": s["cv_flag"].astype(bool), "response_mean": s["response_mean"], "conc_in_well": x,
        "conc": conc, "ci_low": bc["ci_low"].to_numpy(float), "ci_high": bc["ci_high"].to_numpy(float),
        "conc_unit": s["conc_unit"].fillna(""), "expected_conc": s["expected_conc"].astype(float),
        "recovery_pct": rec, "lloq": s["lloq"], "uloq": s["uloq"], "status": status, "reason": reason,
    })
    return out


def options_from_mapping(opts: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the keys of a layout ``[elisa]`` table / protocol that :func:`analyze` accepts.

    Parameters
    ----------
    opts : mapping
        Option name → value (TOML types; ``recovery_window`` as a 2-list).

    Returns
    -------
    dict
        Keyword arguments for :func:`analyze`.

    Raises
    ------
    AnalysisError
        On an unknown option name.
    """
    import inspect

    allowed = set(inspect.signature(analyze).parameters) - {"annotated_plate", "mask", "standard_conc"}
    out: dict[str, Any] = {}
    for k, v in opts.items():
        if k not in allowed:
            raise AnalysisError("unknown analysis option", expected=", ".join(sorted(allowed)), found=repr(k))
        out[k] = tuple(v) if k == "recovery_window" else v
    return out
