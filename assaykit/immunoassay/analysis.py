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

from assaykit.errors import AnalysisError, SettingsError
from assaykit.immunoassay.batch import CurveBatch
from assaykit.immunoassay.curve import StandardCurve
from assaykit.immunoassay.engine import fit_curves
from assaykit.immunoassay.qc import detect_hook, dilution_linearity, level_passes
from assaykit.immunoassay.settings import AnalysisSettings
from assaykit.immunoassay.standards import standard_concentrations

__all__ = ["ROLES", "WELL_STATUS", "AnalysisSettings", "ImmunoassayResult", "analyze", "options_from_mapping"]

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
    settings : AnalysisSettings
        The settings the analysis ran with.
    """

    wells: pd.DataFrame
    samples: pd.DataFrame
    standards: pd.DataFrame
    curves: pd.DataFrame
    linearity: pd.DataFrame
    params: dict = field(repr=False)
    batch: CurveBatch = field(repr=False)
    settings: AnalysisSettings | None = field(default=None, repr=False)

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


def _apply_mask(plate: np.ndarray, well: np.ndarray, read: np.ndarray,
                mask: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from assaykit.schema import parse_well, well_name

    n = well.size
    hit = np.zeros(n, bool)
    reason = np.full(n, "", dtype=object)
    known = set(well.tolist())
    for w, why, p, r in mask[["well", "reason", "plate", "read"]].itertuples(index=False, name=None):
        try:
            wn = well_name(*parse_well(str(w)))
        except Exception:
            raise AnalysisError("mask names something that is not a well", well=str(w),
                                expected="a well like 'A1'", found=repr(w)) from None
        if wn not in known:
            raise AnalysisError("mask names a well that is not in the data", well=wn,
                                expected="a well of the plate", found=repr(w))
        sel = well == wn
        if p is not None and not (isinstance(p, float) and np.isnan(p)):
            sel &= plate == str(p)
        if r is not None and not (isinstance(r, float) and np.isnan(r)):
            sel &= read == str(r)
        hit |= sel
        reason[sel] = f"masked: {why}"
    return hit, reason


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.4g}"


# ----------------------------------------------------------------------------- analyze
class _Unset:
    """Marks a keyword of :func:`analyze` that was not given (the settings decide)."""

    def __repr__(self) -> str:
        return "<from settings>"


_UNSET: Any = _Unset()


def analyze(
    annotated_plate: pd.DataFrame,
    *,
    settings: AnalysisSettings | None = None,
    mask: Sequence | pd.DataFrame | None = None,
    standard_conc: pd.DataFrame | None = None,
    read: str | Sequence[str] | None = _UNSET,
    metric: str = _UNSET,
    reference_read: str | None = _UNSET,
    model: str = _UNSET,
    weights: str | tuple | None = _UNSET,
    role_col: str = _UNSET,
    conc_col: str | None = _UNSET,
    sample_col: str = _UNSET,
    dilution_col: str = _UNSET,
    expected_col: str | None = _UNSET,
    blank: str = _UNSET,
    recovery_window: tuple[float, float] = _UNSET,
    cv_max: float = _UNSET,
    hook: str = _UNSET,
    hook_tolerance: float = _UNSET,
    interval: str = _UNSET,
    level: float = _UNSET,
    asymmetry: str = _UNSET,
    linearity_cv_max: float = _UNSET,
) -> ImmunoassayResult:
    """Fit standard curves and back-calculate every well of an annotated immunoassay plate.

    The options are those of :class:`~assaykit.immunoassay.settings.AnalysisSettings`.
    They may be passed whole (``settings=``), one by one as keywords, or both: each
    keyword given explicitly overrides the same setting of ``settings``; a keyword not
    given takes its value from ``settings``, or, without ``settings``, the default of
    :class:`AnalysisSettings` (shown in brackets below).

    Parameters
    ----------
    annotated_plate : pandas.DataFrame
        Canonical plate-read table joined to a layout (:func:`assaykit.annotate`).
    settings : AnalysisSettings, optional
        All options at once (e.g. from a protocol); explicit keywords override them.
    mask : list of (well, reason), or DataFrame, optional
        Wells to exclude (columns ``well``, ``reason``, optional ``plate``, ``read``);
        they keep their row with status ``masked``.
    standard_conc : pandas.DataFrame, optional
        Per-analyte standard concentrations ``plate, well, read, conc`` (overrides the
        layout and the export).
    read : str or sequence of str, optional
        Read(s) (wavelength / analyte) to analyse [every read of ``metric``].
    metric : str
        Metric to analyse [``'raw'``; ``'net_mfi'`` or ``'median'`` for bead assays].
    reference_read : str, optional
        A read subtracted well by well first (e.g. ``'abs_630'`` from ``'abs_450'``,
        giving read ``'abs_450-630'``) [None].
    model : {'4pl', '5pl', 'auto', 'linear', 'loglinear'}
        Curve model (``'auto'``: 4PL or 5PL by AIC per curve) [``'4pl'``].
    weights : str or tuple
        Variance model (``'none'``, ``'1/y'``, ``'1/y^2'``, ``'1/y^2-xponent'``, ``'power'``,
        ``'power:K'``; see :func:`~assaykit.immunoassay.weights.parse_weights`) [``'none'``].
    role_col : str
        Layout column with ``standard`` / ``blank`` / ``sample`` / ``control`` (synonyms in
        :data:`ROLES`; case-insensitive). Wells without a role get status ``no_role``
        [``'role'``].
    conc_col : str, optional
        Layout column of standard concentrations (e.g. ``'std_conc_pg_ml'``; its suffix
        after ``conc_`` becomes ``conc_unit``). Default: the first column starting with
        ``std_conc``, else the export's expected concentrations (``metric ==
        'expected_conc'`` rows, xPONENT/MSD; see
        :func:`~assaykit.immunoassay.standards.standard_concentrations`).
    sample_col, dilution_col : str
        Layout columns naming the sample and its dilution factor (fold, >= 1 usually;
        missing → each well is its own sample / dilution 1) [``'sample'``, ``'dilution'``].
    expected_col : str, optional
        Layout column of expected control concentrations (default: first column starting
        with ``expected_conc``); gives controls a ``recovery_pct`` in ``samples``.
    blank : {'subtract_mean', 'zero_standard', 'none'}
        Subtract the mean of the blank wells of each plate × read from every response;
        fit the blanks as a zero-concentration standard; or ignore them [``'subtract_mean'``].
    recovery_window : (float, float)
        Accepted back-fit recovery of standards in percent (LLOQ/ULOQ) [(80, 120)].
    cv_max : float
        Largest accepted replicate %CV (standards for LLOQ/ULOQ; sample ``cv_flag``) [20].
    hook : {'detect', 'peak', 'off'}
        Detect a high-dose hook and mask the hooked standards (recorded in ``curves``):
        ``'detect'`` masks the levels above the response peak and then tests the peak (and
        the next levels down) against the 4PL trend of the lower standards; ``'peak'`` only
        masks the levels above the peak (see :func:`~assaykit.immunoassay.qc.detect_hook`)
        [``'detect'``].
    hook_tolerance : float
        Smallest response drop at the top standards that counts as a hook (fraction of
        the response range) [0.05].
    interval : {'delta', 'inversion'}
        CI of back-calculated concentrations: delta method on ln x (vectorised), or the
        inversion (fiducial) interval of :meth:`StandardCurve.back_calculate` (per curve,
        slower; possibly asymmetric, 0 / inf when the band does not close) [``'delta'``].
    level : float
        Confidence level of the CIs [0.95].
    asymmetry : {'auto', 'high', 'low'}
        5PL orientation [``'auto'``].
    linearity_cv_max : float
        Largest accepted %CV of dilution-corrected concentrations (``linearity``) [20].

    Returns
    -------
    ImmunoassayResult
        Tables ``wells``, ``samples``, ``standards``, ``curves``, ``linearity``; ``params``
        records the settings used (with the read list, concentration column and source
        actually used).

    Raises
    ------
    AnalysisError
        If a needed column is missing (names the column and the columns found), no
        row matches ``read``/``metric``, a dilution is not positive, or the mask names
        an unknown well. An invalid option raises :class:`~assaykit.errors.SettingsError`
        (an ``AnalysisError``) naming the setting. Problems of one curve (too few levels,
        zero concentration in a log model, non-convergence) are reported per curve instead.
    """
    given = {k: v for k, v in locals().items() if k in _SETTING_NAMES and v is not _UNSET}
    s = _settings(settings, given)
    df = annotated_plate
    _check_table(df, s.role_col)
    try:
        lo_w, hi_w = (float(v) for v in s.recovery_window)
    except (TypeError, ValueError):
        raise AnalysisError("invalid recovery window", expected="(low, high) with 0 <= low < high",
                            found=repr(s.recovery_window)) from None
    msel, read_all, reads = _select_reads(df, s.metric, s.read, s.reference_read)
    wd = _well_data(df, msel, read_all, reads, s)
    conc = _concentrations(df, wd, s, standard_conc)
    ex = _exclusions(wd, mask)
    fit = _fit_curves(wd, conc, ex, s)
    bc = _back_calculate(wd, conc, ex, fit, s)
    standards, lloq_g, uloq_g = _standards_table(wd, conc, fit, bc, (lo_w, hi_w), s.cv_max)
    wells = _wells_table(wd, conc, ex, fit, bc, lloq_g, uloq_g, s.metric)
    samples = _samples_table(wd, conc, ex, fit, bc, lloq_g, uloq_g, s.cv_max)
    linearity = dilution_linearity(samples, cv_max=s.linearity_cv_max)
    curves = _curves_table(wd, conc, fit, bc, lloq_g, uloq_g, s.blank)
    params = {
        "read": reads, "metric": s.metric, "reference_read": s.reference_read, "model": s.model,
        "weights": s.weights if isinstance(s.weights, str) or s.weights is None else list(s.weights),
        "role_col": s.role_col, "conc_col": conc["conc_col"], "conc_source": conc["source"],
        "sample_col": s.sample_col, "dilution_col": s.dilution_col, "expected_col": conc["expected_col"],
        "blank": s.blank, "recovery_window": [lo_w, hi_w], "cv_max": s.cv_max, "hook": s.hook,
        "hook_tolerance": s.hook_tolerance, "interval": s.interval, "level": s.level, "asymmetry": s.asymmetry,
        "linearity_cv_max": s.linearity_cv_max, "n_masked": int(ex["masked"].sum()),
    }
    return ImmunoassayResult(wells=wells, samples=samples, standards=standards, curves=curves,
                             linearity=linearity, params=params, batch=fit["batch"], settings=s)


_SETTING_NAMES = frozenset(AnalysisSettings.keys())


def _settings(settings: AnalysisSettings | None, given: dict[str, Any]) -> AnalysisSettings:
    """The settings of one call: ``settings`` (or the defaults) with the explicit keywords over them."""
    if settings is None:
        return AnalysisSettings.from_mapping(given)
    if not isinstance(settings, AnalysisSettings):
        raise SettingsError("settings must be an AnalysisSettings", expected="assaykit.immunoassay.AnalysisSettings",
                            found=type(settings).__name__)
    return settings.replace(**given) if given else settings


def _check_table(df: Any, role_col: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise AnalysisError("analyze needs a plate table", expected="a pandas DataFrame", found=type(df).__name__)
    for c in ("plate", "well", "read", "metric", "value"):
        if c not in df.columns:
            raise _err_cols(f"plate table has no '{c}' column", c, df, "a canonical plate-read table")
    if role_col not in df.columns:
        raise _err_cols(f"no role column '{role_col}' in the annotated plate (join a layout that "
                        "gives each well a role)", role_col, df, "values standard/blank/sample/control")


# ---------------------------------------------------------------- reads
def _select_reads(df: pd.DataFrame, metric: str, read: Sequence[str] | None,
                  reference_read: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows of the metric, every row's read, and the reads to analyse."""
    metric_v = df["metric"].to_numpy(object)
    msel = metric_v == metric
    if not msel.any():
        raise AnalysisError("no rows with this metric", column="metric", expected=repr(metric),
                            found=", ".join(sorted(map(str, pd.unique(metric_v)))))
    read_all = df["read"].to_numpy(object).astype(str)
    all_reads = list(dict.fromkeys(read_all[msel]))
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
    return msel, read_all, reads


# ---------------------------------------------------------------- wells
def _well_data(df: pd.DataFrame, msel: np.ndarray, read_all: np.ndarray, reads: list[str],
               s: AnalysisSettings) -> dict[str, Any]:
    """Per analysed well × read: keys, value (minus the reference read), flag, role, sample, dilution."""
    rows = np.flatnonzero(msel & np.isin(read_all, reads))
    w = df.iloc[rows]
    n = rows.size
    plate = w["plate"].to_numpy(object).astype(str)
    well = w["well"].to_numpy(object).astype(str)
    orig_read = read_all[rows]
    rd = orig_read.copy()
    value = pd.to_numeric(w["value"], errors="coerce").to_numpy(float)
    flag = (w["flag"].fillna("").to_numpy(object).astype(str) if "flag" in w.columns else np.full(n, ""))
    raw = (w["raw"].astype("string").fillna("").to_numpy(object).astype(str) if "raw" in w.columns
           else np.full(n, ""))
    pw = np.char.add(np.char.add(plate, "\x00"), well)
    if s.reference_read is not None:
        value, rd, flag = _subtract_reference(df, msel, read_all, s.reference_read, pw, value, orig_read, flag)
    role = _roles(w[s.role_col], s.role_col)
    has_sample = s.sample_col in w.columns
    smp = w[s.sample_col].astype("string").fillna("").to_numpy(object).astype(str) if has_sample else np.full(n, "")
    smp = np.where(smp == "", np.where(role == "blank", "blank", well), smp)
    dil = _dilutions(w, s.dilution_col, plate, well) if s.dilution_col in w.columns else np.ones(n)
    return {"w": w, "n": n, "plate": plate, "well": well, "orig_read": orig_read, "rd": rd, "value": value,
            "flag": flag, "raw": raw, "pw": pw, "role": role, "smp": smp, "dil": dil}


def _subtract_reference(df, msel, read_all, reference_read, pw, value, orig_read, flag):
    """Subtract the reference read well by well; reads become ``'<read>-<ref suffix>'``; flags are joined."""
    n = value.size
    rr = np.flatnonzero(msel & (read_all == reference_read))
    rkey = pd.Index(np.char.add(np.char.add(df["plate"].to_numpy(object)[rr].astype(str), "\x00"),
                                df["well"].to_numpy(object)[rr].astype(str)))
    pos = rkey.get_indexer(pw)
    ok = pos >= 0
    rv = np.full(n, np.nan)
    rv[ok] = pd.to_numeric(df["value"].iloc[rr], errors="coerce").to_numpy(float)[pos[ok]]
    value = value - rv
    suffix = reference_read.split("_")[-1]
    rd = np.array([f"{r}-{suffix}" for r in orig_read], dtype=object).astype(str)
    if "flag" in df.columns:
        rf = np.full(n, "", dtype=object)
        rf[ok] = df["flag"].fillna("").to_numpy(object)[rr][pos[ok]]
        flag = np.array([";".join(x for x in (a, b) if x) for a, b in zip(flag, rf, strict=True)], dtype=object)
    return value, rd, flag


def _roles(roles_raw: pd.Series, role_col: str) -> np.ndarray:
    """Layout roles mapped through :data:`ROLES` (``''`` for none); an unknown role raises."""
    rcodes, runiq = pd.factorize(roles_raw.to_numpy(object), use_na_sentinel=True)
    rmap = np.array([ROLES.get(str(u).strip().lower(), "") for u in runiq] + [""], dtype=object)
    role = rmap[rcodes].astype(str)
    unknown_roles = sorted({str(u) for u, k in zip(runiq, rmap[:-1], strict=True)
                            if k == "" and str(u).strip() != "" and pd.notna(u)})
    if unknown_roles:
        raise AnalysisError(f"unknown role in column '{role_col}'", column=role_col,
                            expected="standard, blank, sample or control", found=", ".join(unknown_roles))
    return role


def _dilutions(w: pd.DataFrame, dilution_col: str, plate: np.ndarray, well: np.ndarray) -> np.ndarray:
    dil_in = w[dilution_col]
    dil = pd.to_numeric(dil_in, errors="coerce").to_numpy(float)
    bad = (~(dil > 0) | ~np.isfinite(dil)) & dil_in.notna().to_numpy()
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisError("dilution factors must be positive numbers", column=dilution_col,
                            plate=plate[i], well=well[i], expected="> 0", found=repr(dil_in.iloc[i]))
    return np.where(np.isnan(dil), 1.0, dil)


# ---------------------------------------------------------------- concentrations
def _concentrations(df: pd.DataFrame, wd: dict[str, Any], s: AnalysisSettings,
                    standard_conc: pd.DataFrame | None) -> dict[str, Any]:
    """Standard concentrations (with unit and source), the fitted standards, expected control concentrations."""
    w, n, role = wd["w"], wd["n"], wd["role"]
    key3 = np.char.add(np.char.add(wd["pw"], "\x00"), wd["orig_read"])
    std_conc, unit_s, source, conc_col = standard_concentrations(df, w, key3, conc_col=s.conc_col,
                                                                 standard_conc=standard_conc)
    unit = np.full(n, "", dtype=object)
    unit[:] = unit_s
    if "analyte_unit" in w.columns and not any(unit):
        unit = np.array([_norm_unit(u) for u in w["analyte_unit"]], dtype=object)
    all_std = (role == "standard") | ((role == "blank") & (s.blank == "zero_standard"))
    if s.blank == "zero_standard":
        std_conc = np.where(role == "blank", 0.0, std_conc)
    std_conc = np.where(all_std, std_conc, np.nan)
    expected_col = s.expected_col
    if expected_col is None:
        cand = [c for c in w.columns if str(c).startswith("expected_conc")
                and pd.to_numeric(w[c], errors="coerce").notna().any()]
        expected_col = cand[0] if cand else None
    elif expected_col not in w.columns:
        raise _err_cols(f"no expected-concentration column '{expected_col}'", expected_col, df,
                        "a layout column of expected control concentrations")
    exp_conc = (pd.to_numeric(w[expected_col], errors="coerce").to_numpy(float) if expected_col
                else np.full(n, np.nan))
    return {"std_conc": std_conc, "unit": unit, "source": source, "conc_col": conc_col, "all_std": all_std,
            "exp_conc": exp_conc, "expected_col": expected_col}


# ---------------------------------------------------------------- exclusions
def _exclusions(wd: dict[str, Any], mask: Any) -> dict[str, np.ndarray]:
    """User-masked and reader-flagged wells, with their reasons, and the usable wells."""
    n, flag, value, raw = wd["n"], wd["flag"], wd["value"], wd["raw"]
    if mask is None:
        masked, reason = np.zeros(n, bool), np.full(n, "", dtype=object)
    else:
        masked, reason = _apply_mask(wd["plate"], wd["well"], wd["rd"], _mask_frame(mask))
    has_flag = flag != ""
    rejected = np.zeros(n, bool)
    for i in np.flatnonzero(has_flag & ~masked):
        parts = set(flag[i].split(";"))
        if parts & REJECT_FLAGS or not np.isfinite(value[i]):
            rejected[i] = True
            reason[i] = f"reader flag {flag[i]} (exported {raw[i]!r})"
    usable = ~masked & ~rejected & np.isfinite(value) & (wd["role"] != "")
    return {"masked": masked, "reason": reason, "rejected": rejected, "usable": usable}


# ---------------------------------------------------------------- curves (plate × read)
def _fit_curves(wd: dict[str, Any], conc: dict[str, Any], ex: dict[str, np.ndarray],
                s: AnalysisSettings) -> dict[str, Any]:
    """Blank handling, hook masking and one fit per plate × read."""
    plate, rd, role, value, well = wd["plate"], wd["rd"], wd["role"], wd["value"], wd["well"]
    std_conc, usable, reason = conc["std_conc"], ex["usable"], ex["reason"]
    n = wd["n"]
    cid, ckeys = _factor(plate, rd)
    G = len(ckeys)
    blank_g = np.full(G, np.nan)
    if s.blank == "subtract_mean":
        bsel = usable & (role == "blank")
        cnt = np.bincount(cid[bsel], minlength=G)
        with np.errstate(invalid="ignore", divide="ignore"):
            blank_g = np.bincount(cid[bsel], weights=value[bsel], minlength=G) / cnt
    blank_mean = blank_g[cid]
    response = value - np.nan_to_num(blank_mean, nan=0.0)

    std_use = usable & conc["all_std"] & np.isfinite(std_conc)
    hooked = np.zeros(n, bool)
    hook_wells = [""] * G
    hook_reason = [""] * G
    if s.hook in ("detect", "peak"):
        for g in np.unique(cid[std_use]):
            idx = np.flatnonzero(std_use & (cid == g))
            levels, why = detect_hook(std_conc[idx], response[idx], tolerance=s.hook_tolerance,
                                      trend=s.hook == "detect")
            if levels.size:
                hit = idx[np.isin(std_conc[idx], levels)]
                hooked[hit] = True
                hook_wells[g] = ";".join(well[hit])
                hook_reason[g] = why
                reason[hit] = f"masked: {why}"
    fit_use = std_use & ~hooked
    fit_tab = pd.DataFrame({"plate": plate, "read": rd, "conc": np.where(std_use, std_conc, np.nan),
                            "response": np.where(fit_use, response, np.nan)})
    batch = fit_curves(fit_tab, by=_KEYS, conc_col="conc", response_col="response", model=s.model,
                       weights=s.weights, asymmetry=s.asymmetry)
    btab = batch.table
    bidx = pd.MultiIndex.from_frame(btab[_KEYS]).get_indexer(pd.MultiIndex.from_tuples(ckeys, names=_KEYS))
    curve_reason = btab["reason"].to_numpy(object)[bidx]
    return {"cid": cid, "ckeys": ckeys, "G": G, "blank_g": blank_g, "blank_mean": blank_mean, "response": response,
            "hooked": hooked, "hook_wells": hook_wells, "hook_reason": hook_reason, "fit_use": fit_use,
            "batch": batch, "curve_reason": curve_reason}


# ---------------------------------------------------------------- replicate groups and back-calculation
def _back_calculate(wd: dict[str, Any], conc: dict[str, Any], ex: dict[str, np.ndarray], fit: dict[str, Any],
                    s: AnalysisSettings) -> dict[str, Any]:
    """Replicate groups (samples) and standard levels, and one back-calculation of wells and group means."""
    plate, rd, dil, value, n = wd["plate"], wd["rd"], wd["dil"], wd["value"], wd["n"]
    cid, response, hooked, fit_use = fit["cid"], fit["response"], fit["hooked"], fit["fit_use"]
    masked, rejected, usable = ex["masked"], ex["rejected"], ex["usable"]
    std_conc, all_std = conc["std_conc"], conc["all_std"]
    sid, skeys = _factor(cid, wd["role"], wd["smp"], dil)
    S = len(skeys)
    s_first = _first_index(sid, S)
    uu = usable & ~hooked
    s_used = np.bincount(sid[uu], minlength=S)
    v_mean, v_sd = _mean_sd(sid, value, uu, S)
    r_mean, _ = _mean_sd(sid, response, uu, S)
    # standard levels
    lid, lkeys = _factor(cid[all_std], std_conc[all_std])
    L = len(lkeys)
    a_idx = np.flatnonzero(all_std)
    l_first = a_idx[_first_index(lid, L)]
    l_use = fit_use[a_idx]
    l_used = np.bincount(lid[l_use], minlength=L)
    lv_mean, lv_sd = _mean_sd(lid, value[a_idx], l_use, L)
    lr_mean, lr_sd = _mean_sd(lid, response[a_idx], l_use, L)
    # one back-calculation for wells and replicate means
    batch = fit["batch"]
    bc_in = pd.DataFrame({
        "plate": np.concatenate([plate, plate[s_first], plate[l_first]]),
        "read": np.concatenate([rd, rd[s_first], rd[l_first]]),
        "response": np.concatenate([response, r_mean, lr_mean]),
        "m": np.concatenate([np.ones(n), np.maximum(s_used, 1), np.maximum(l_used, 1)]).astype(float),
        "dilution": np.concatenate([dil, dil[s_first], np.ones(L)]),
    })
    bc = batch.back_calculate(bc_in, "response", n_replicates_col="m", dilution_col="dilution", level=s.level)
    conc_all = bc["conc"].to_numpy(float)
    lo_all = bc["ci_low"].to_numpy(float).copy()  # written below: a copy (read-only under copy-on-write)
    hi_all = bc["ci_high"].to_numpy(float).copy()
    if s.interval == "inversion":
        _inversion_intervals(batch, fit["ckeys"], np.concatenate([cid, cid[s_first], cid[l_first]]), bc_in,
                             lo_all, hi_all, s.level)
    conc_w = conc_all[:n]
    return {
        "sid": sid, "S": S, "s_first": s_first, "s_n": np.bincount(sid, minlength=S), "s_used": s_used,
        "v_mean": v_mean, "v_sd": v_sd, "r_mean": r_mean,
        "s_masked": np.bincount(sid[masked | hooked], minlength=S), "s_rej": np.bincount(sid[rejected], minlength=S),
        "lid": lid, "L": L, "a_idx": a_idx, "l_first": l_first, "l_n": np.bincount(lid, minlength=L),
        "l_use": l_use, "l_used": l_used, "l_hook": np.bincount(lid[hooked[a_idx]], minlength=L),
        "lv_mean": lv_mean, "lv_sd": lv_sd, "lr_mean": lr_mean, "lr_sd": lr_sd,
        "st_all": bc["status"].to_numpy(object), "lo_all": lo_all, "hi_all": hi_all,
        "conc": conc_w, "s_conc": conc_all[n:n + S], "l_mconc": conc_all[n + S:],
        "x_well": conc_w / dil, "s_x": conc_all[n:n + S] / dil[s_first],
    }


def _inversion_intervals(batch: CurveBatch, ckeys: list[tuple], gi: np.ndarray, bc_in: pd.DataFrame,
                         lo_all: np.ndarray, hi_all: np.ndarray, level: float) -> None:
    """Replace the delta-method CIs by inversion intervals, curve by curve (writes into ``lo_all``, ``hi_all``)."""
    for g, key in enumerate(ckeys):
        curve = batch.curves.get((str(key[0]), str(key[1])))
        sel_g = np.flatnonzero(gi == g)
        if curve is None or sel_g.size == 0:
            continue
        inv = curve.back_calculate(bc_in["response"].to_numpy(float)[sel_g], bc_in["m"].to_numpy(float)[sel_g],
                                   bc_in["dilution"].to_numpy(float)[sel_g], interval="inversion", level=level)
        lo_all[sel_g] = inv["ci_low"].to_numpy(float)
        hi_all[sel_g] = inv["ci_high"].to_numpy(float)


# ---------------------------------------------------------------- standards QC per level
def _standards_table(wd: dict[str, Any], conc: dict[str, Any], fit: dict[str, Any], bc: dict[str, Any],
                     window: tuple[float, float], cv_max: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One row per plate × read × standard level, and the LLOQ/ULOQ of every curve."""
    plate, rd, well = wd["plate"], wd["rd"], wd["well"]
    std_conc, cid, G = conc["std_conc"], fit["cid"], fit["G"]
    lid, L, a_idx, l_first, l_use, l_used = bc["lid"], bc["L"], bc["a_idx"], bc["l_first"], bc["l_use"], bc["l_used"]
    lv_mean, lv_sd, l_mconc = bc["lv_mean"], bc["lv_sd"], bc["l_mconc"]
    lo_w, hi_w = window
    n, S = wd["n"], bc["S"]
    l_lo, l_hi = bc["lo_all"][n + S:], bc["hi_all"][n + S:]
    xs = bc["x_well"][a_idx]
    bad_x = np.bincount(lid[l_use & ~np.isfinite(xs)], minlength=L)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = np.bincount(lid[l_use & np.isfinite(xs)], weights=xs[l_use & np.isfinite(xs)],
                             minlength=L) / np.bincount(lid[l_use & np.isfinite(xs)], minlength=L)
    x_mean = np.where((bad_x > 0) | (l_used == 0), np.nan, x_mean)
    l_mconc = np.where(l_used > 0, l_mconc, np.nan)
    l_conc = std_conc[l_first]
    with np.errstate(invalid="ignore", divide="ignore"):
        l_cv = lv_sd / lv_mean * 100
        l_rec = np.where(l_conc > 0, l_mconc / l_conc * 100, np.nan)
        l_rec_w = np.where(l_conc > 0, x_mean / l_conc * 100, np.nan)
    l_cid = cid[l_first]
    within = level_passes(l_rec, np.where(l_used > 0, l_cv, np.nan), l_conc, (lo_w, hi_w), cv_max) & (l_used > 0)
    lloq_g = np.full(G, np.nan)
    uloq_g = np.full(G, np.nan)
    if L:
        wc = np.where(within, l_conc, np.nan)
        for g in np.unique(l_cid[within]):
            lloq_g[g] = np.nanmin(wc[l_cid == g])
            uloq_g[g] = np.nanmax(wc[l_cid == g])
    l_wells = _join(lid, well[a_idx], L)
    standards = pd.DataFrame({
        "plate": plate[l_first], "read": rd[l_first], "expected_conc": l_conc, "conc_unit": conc["unit"][l_first],
        "n_wells": bc["l_n"], "n_used": l_used, "n_hook_masked": bc["l_hook"], "wells": l_wells,
        "value_mean": lv_mean, "value_sd": lv_sd, "cv_pct": np.where(l_used > 0, l_cv, np.nan),
        "response_mean": bc["lr_mean"], "response_sd": bc["lr_sd"], "conc_backfit": l_mconc,
        "ci_low": np.where(l_used > 0, l_lo, np.nan), "ci_high": np.where(l_used > 0, l_hi, np.nan),
        "recovery_pct": l_rec, "conc_backfit_wells_mean": x_mean, "recovery_wells_pct": l_rec_w,
        "within_qc": within,
        "qc_reason": [_std_reason(*a, lo_w, hi_w, cv_max) for a in zip(l_rec, l_cv, l_conc, l_used, bc["l_hook"],
                                                                       strict=True)],
    })
    order = np.lexsort((l_conc, l_cid))
    return standards.iloc[order].reset_index(drop=True), lloq_g, uloq_g


# ---------------------------------------------------------------- wells, samples and curves tables
def _wells_table(wd: dict[str, Any], conc: dict[str, Any], ex: dict[str, np.ndarray], fit: dict[str, Any],
                 bc: dict[str, Any], lloq_g: np.ndarray, uloq_g: np.ndarray, metric: str) -> pd.DataFrame:
    """One row per input well × read with its final status and reason."""
    w, n, cid = wd["w"], wd["n"], fit["cid"]
    lloq, uloq = lloq_g[cid], uloq_g[cid]
    status, reason = _statuses(bc["st_all"][:n], bc["x_well"], lloq, uloq, wd["role"], ex["masked"] | fit["hooked"],
                               ex["rejected"], np.isfinite(wd["value"]), ex["reason"], fit["curve_reason"][cid])
    return pd.DataFrame({
        "plate": wd["plate"], "well": wd["well"],
        "row": w["row"].to_numpy() if "row" in w.columns else np.full(n, ""),
        "col": w["col"].to_numpy() if "col" in w.columns else np.zeros(n, int),
        "read": wd["rd"], "metric": metric, "role": wd["role"], "sample": wd["smp"], "dilution": wd["dil"],
        "std_conc": conc["std_conc"], "expected_conc": conc["exp_conc"], "value": wd["value"], "raw": wd["raw"],
        "flag": wd["flag"], "blank_response": fit["blank_mean"], "response": fit["response"],
        "conc_in_well": bc["x_well"], "conc": bc["conc"], "ci_low": bc["lo_all"][:n], "ci_high": bc["hi_all"][:n],
        "conc_unit": conc["unit"], "lloq": lloq, "uloq": uloq, "used_in_fit": fit["fit_use"], "status": status,
        "reason": reason,
        "source_file": w["source_file"].to_numpy() if "source_file" in w.columns else np.full(n, ""),
    })


def _samples_table(wd: dict[str, Any], conc: dict[str, Any], ex: dict[str, np.ndarray], fit: dict[str, Any],
                   bc: dict[str, Any], lloq_g: np.ndarray, uloq_g: np.ndarray, cv_max: float) -> pd.DataFrame:
    """One row per replicate group (plate × read × role × sample × dilution) of wells with a role."""
    n, S, s_first = wd["n"], bc["S"], bc["s_first"]
    s_cid = fit["cid"][s_first]
    s_n, s_used, s_masked, s_rej = bc["s_n"], bc["s_used"], bc["s_masked"], bc["s_rej"]
    s_role = wd["role"][s_first]
    keep = s_role != ""
    masked_all = (s_used == 0) & (s_masked > 0) & (s_masked >= s_n - s_rej)
    rejected_all = (s_used == 0) & ~masked_all & (s_rej > 0)
    reason0 = np.where(masked_all, "all wells masked", np.where(rejected_all, "all wells reader-flagged", ""))
    s_status, s_reason = _statuses(bc["st_all"][n:n + S], bc["s_x"], lloq_g[s_cid], uloq_g[s_cid], s_role,
                                   masked_all, rejected_all, np.isfinite(bc["r_mean"]), reason0.astype(object),
                                   fit["curve_reason"][s_cid])
    with np.errstate(invalid="ignore", divide="ignore"):
        s_cv = bc["v_sd"] / bc["v_mean"] * 100
    cv_flag = s_cv > cv_max
    s_reason = np.array([f"{r}; replicate CV {c:.1f} % > {cv_max:g} %" if f else r
                         for r, c, f in zip(s_reason, s_cv, cv_flag, strict=True)], dtype=object)
    s_exp = conc["exp_conc"][s_first]
    s_conc = bc["s_conc"]
    with np.errstate(invalid="ignore", divide="ignore"):
        s_rec = np.where(s_exp > 0, s_conc / s_exp * 100, np.nan)
    return pd.DataFrame({
        "plate": wd["plate"][s_first], "read": wd["rd"][s_first], "role": s_role, "sample": wd["smp"][s_first],
        "dilution": wd["dil"][s_first], "n_wells": s_n, "n_used": s_used, "wells": _join(bc["sid"], wd["well"], S),
        "value_mean": bc["v_mean"], "value_sd": bc["v_sd"], "cv_pct": s_cv, "cv_flag": cv_flag,
        "response_mean": bc["r_mean"], "conc_in_well": bc["s_x"], "conc": s_conc, "ci_low": bc["lo_all"][n:n + S],
        "ci_high": bc["hi_all"][n:n + S], "conc_unit": conc["unit"][s_first], "expected_conc": s_exp,
        "recovery_pct": s_rec, "lloq": lloq_g[s_cid], "uloq": uloq_g[s_cid], "status": s_status, "reason": s_reason,
    }).iloc[np.flatnonzero(keep)].reset_index(drop=True)


def _curves_table(wd: dict[str, Any], conc: dict[str, Any], fit: dict[str, Any], bc: dict[str, Any],
                  lloq_g: np.ndarray, uloq_g: np.ndarray, blank: str) -> pd.DataFrame:
    """The batch's curve table with units, levels, LLOQ/ULOQ, blank and hook records and a QC reason."""
    cid, ckeys, G = fit["cid"], fit["ckeys"], fit["G"]
    btab = fit["batch"].table
    L, l_first = bc["L"], bc["l_first"]
    l_cid, l_conc = cid[l_first], conc["std_conc"][l_first]
    curves = btab.copy()
    # map batch rows -> our curve ids
    cpos = pd.MultiIndex.from_tuples(ckeys, names=_KEYS).get_indexer(pd.MultiIndex.from_frame(btab[_KEYS]))
    curves["conc_unit"] = conc["unit"][_first_index(cid, G)][cpos]
    curves["n_levels"] = np.bincount(l_cid[l_conc > 0], minlength=G)[cpos] if L else 0
    curves["lloq"] = lloq_g[cpos]
    curves["uloq"] = uloq_g[cpos]
    curves["blank_method"] = blank
    curves["blank_response"] = fit["blank_g"][cpos]
    curves["hook_masked_wells"] = [fit["hook_wells"][i] for i in cpos]
    curves["hook_reason"] = [fit["hook_reason"][i] for i in cpos]
    curves["conc_source"] = conc["source"]
    curves["qc_reason"] = [_curve_qc(st, lo, hi) for st, lo, hi in
                           zip(curves["status"], curves["lloq"], curves["uloq"], strict=True)]
    return curves


# ----------------------------------------------------------------------------- numpy grouping
def _factor(*cols: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
    """Group ids (numbered by first appearance) of the combination of several columns."""
    n = len(cols[0])
    code = np.zeros(n, dtype=np.int64)
    for c in cols:
        k, u = pd.factorize(np.asarray(c), use_na_sentinel=False)
        code = pd.factorize(code * max(len(u), 1) + k)[0].astype(np.int64)  # stays < n: no overflow
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ids = rank[inv.ravel()]
    firsts = first[order]
    keys = [tuple(c[i] for c in cols) for i in firsts]
    return ids, keys


def _first_index(ids: np.ndarray, G: int) -> np.ndarray:
    first = np.full(G, ids.size, dtype=np.int64)
    np.minimum.at(first, ids, np.arange(ids.size))
    return first


def _mean_sd(ids: np.ndarray, x: np.ndarray, use: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray]:
    """Group mean and sample SD (ddof=1) of x over the ``use`` rows (NaN when undefined)."""
    u = use & np.isfinite(x)
    cnt = np.bincount(ids[u], minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ids[u], weights=x[u], minlength=G) / cnt
        dev = x[u] - mean[ids[u]]
        ss = np.bincount(ids[u], weights=dev * dev, minlength=G)
        sd = np.where(cnt >= 2, np.sqrt(ss / (cnt - 1)), np.nan)
    return mean, sd


def _join(ids: np.ndarray, labels: np.ndarray, G: int) -> list[str]:
    out: list[list[str]] = [[] for _ in range(G)]
    for i, lab in zip(ids.tolist(), labels.tolist(), strict=True):
        out[i].append(lab)
    return [";".join(x) for x in out]


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
    """Final status and reason per well (or replicate group) from the engine status and QC limits."""
    status = np.array(engine, dtype=object).copy()
    reason = np.array(reason, dtype=object).copy()
    with np.errstate(invalid="ignore"):
        has_lim = np.isfinite(lloq) & np.isfinite(uloq)
        below = has_lim & (x < lloq * (1 - 1e-9))
        above = has_lim & (x > uloq * (1 + 1e-9))
    num = np.isfinite(x)
    status[num & below] = "below_lloq"
    status[num & above] = "above_uloq"
    status[num & has_lim & ~below & ~above] = "ok"
    for i in range(status.size):
        s = status[i]
        if role[i] == "":
            status[i] = "no_role"
            reason[i] = "the layout gives this well no role: not analysed (conc shown for information only)"
        elif masked[i]:
            status[i] = "masked"
        elif rejected[i]:
            status[i] = "reader_flag"
        elif s == "no_curve":
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


def options_from_mapping(opts: Mapping[str, Any]) -> dict[str, Any]:
    """Check a layout / protocol table of options and return it as :func:`analyze` keywords.

    Kept for existing callers; new code builds :class:`AnalysisSettings` with
    :meth:`AnalysisSettings.from_mapping` and passes it as ``analyze(..., settings=...)``.

    Parameters
    ----------
    opts : mapping
        Option name → value (TOML types; ``recovery_window`` as a 2-list).

    Returns
    -------
    dict
        The given options, checked and converted to the settings' types (lists to tuples).

    Raises
    ------
    SettingsError
        On an unknown option name ("unknown analysis option", listing the allowed ones) or
        an invalid value.
    """
    s = AnalysisSettings.from_mapping(opts)
    return {k: getattr(s, k) for k in opts}
