"""Well-level quality control and technical-replicate summaries.

:func:`qc_wells` decides, for every well of a canonical qPCR table, whether its Cq
is used, and says why not. Nothing is dropped: each row gets

``cq_used``
    the Cq the analysis uses (the exported Cq, or the cut-off for undetermined
    wells when ``undetermined`` is a number; NaN when excluded).
``status``
    ``used``, ``excluded`` (a sample well whose Cq is not used) or
    ``not_analysed`` (standards, NTC, no-RT and other tasks not in ``tasks``).
``reason``
    why a well is excluded / not analysed ('' for used wells).
``qc_flag``
    ';'-joined flags that do not by themselves exclude the well (see :data:`QC_FLAGS`).

Rules (applied in this order, each explicit):

1. ``cq_flag`` containing ``omitted`` → excluded.
2. No numeric Cq: ``undetermined='exclude'`` → excluded; a number *c* → Cq set
   to *c* (flag ``undetermined_set_to_cutoff``); Cq above *c* are also set to *c*
   (flag ``above_cutoff_set_to_cutoff``). Non-numeric text / empty cells are always excluded.
3. Outliers among the remaining technical replicates (same plate × sample ×
   target), one rule per call:
   ``'median'`` exclude wells with |Cq − replicate median| > threshold (default 0.5
   cycles; groups of ≥ 3 wells); ``'sd'`` if the replicates' SD > threshold
   (default 0.3) exclude the well farthest from the median (one pass, ≥ 3 wells);
   ``'grubbs'`` two-sided Grubbs test at level threshold (default 0.05), one
   outlier per group, ≥ 3 wells. Groups of 2 wells that break the rule are
   flagged ``replicates_disagree`` and kept (the rule cannot tell which is wrong).
4. Negative controls: an NTC / no-RT well with a Cq is flagged ``ntc_amplified``
   / ``nrt_amplified``; sample wells of the same plate × target (NTC) or plate ×
   sample × target (no-RT) whose Cq is less than ``ntc_margin`` cycles below that
   control's Cq are flagged ``ntc_within_margin`` / ``nrt_within_margin``.
5. Melt curve: a well whose ``tm`` differs from the mode of its target's Tm
   (values rounded to 0.5 °C, ties → lower) by more than ``tm_tolerance`` °C is
   flagged ``tm_off_mode``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError
from assaykit.schema import QPCR_COLUMNS

__all__ = ["OUTLIER_RULES", "QC_FLAGS", "qc_wells", "summarise_replicates"]

#: Flags :func:`qc_wells` may set in ``qc_flag``.
QC_FLAGS: dict[str, str] = {
    "undetermined_set_to_cutoff": "no Cq; the cut-off given as undetermined= was used",
    "above_cutoff_set_to_cutoff": "Cq above the cut-off; the cut-off was used",
    "replicates_disagree": "two replicates break the outlier rule; both kept",
    "ntc_amplified": "a no-template control has a Cq",
    "nrt_amplified": "a no-RT control has a Cq",
    "ntc_within_margin": "sample Cq less than ntc_margin cycles below an amplified NTC of its target",
    "nrt_within_margin": "sample Cq less than ntc_margin cycles below its amplified no-RT control",
    "tm_off_mode": "melt Tm differs from the target's mode by more than tm_tolerance",
}

#: Outlier rules and their default thresholds.
OUTLIER_RULES: dict[str, float] = {"median": 0.5, "sd": 0.3, "grubbs": 0.05}

USED, EXCLUDED, NOT_ANALYSED = 0, 1, 2
_STATUS = np.array(["used", "excluded", "not_analysed"], dtype=object)


def _append(flags: np.ndarray, mask: np.ndarray, name: str) -> None:
    idx = np.flatnonzero(mask)
    for i in idx:
        flags[i] = name if not flags[i] else flags[i] + ";" + name


def _factor_str(values) -> tuple[np.ndarray, np.ndarray]:
    """Factorize a column and convert only its unique values to str (NaN/None -> '')."""
    arr = np.asarray(values, dtype=object)
    if len(arr) and isinstance(arr[0], str) and (arr == arr[0]).all():  # one value (e.g. every task 'unknown')
        return np.zeros(len(arr), dtype=np.int64), np.array([arr[0]], dtype=object)
    codes, uniq = pd.factorize(arr)
    u = [str(x) for x in uniq]
    if len(codes) and codes.min() < 0:  # missing values: code -1 -> the last entry, ''
        u.append("")
    c2, u2 = pd.factorize(np.array(u, dtype=object))
    return c2[codes], np.asarray(u2, dtype=object)


def _combine(*codes: np.ndarray) -> np.ndarray:
    """One non-negative integer code per combination (dense only when the product is large)."""
    out = np.zeros(len(codes[0]), dtype=np.int64)
    span = 1
    for c in codes:
        k = int(c.max()) + 1 if len(c) else 1
        out = out * k + c
        span *= k
    if span > max(8 * len(out), 1 << 22):
        return pd.factorize(out)[0]
    return out


def qc_wells(
    data: pd.DataFrame,
    *,
    sample_col: str = "sample",
    target_col: str = "target",
    tasks: tuple[str, ...] = ("unknown",),
    undetermined: str | float = "exclude",
    outlier: str | None = None,
    outlier_threshold: float | None = None,
    ntc_margin: float = 5.0,
    tm_tolerance: float = 1.0,
) -> pd.DataFrame:
    """Decide which wells are used and flag quality problems (rules in the module doc).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table (:data:`assaykit.schema.QPCR_COLUMNS`), possibly
        annotated with layout columns.
    sample_col, target_col : str
        Columns naming the biological sample and the target.
    tasks : tuple of str
        Tasks analysed (lower-case); other rows become ``not_analysed``.
    undetermined : 'exclude' or float
        What to do with wells without a Cq (``cq_flag`` ``undetermined``).
    outlier : {'median', 'sd', 'grubbs'} or None
        Technical-replicate outlier rule (None: no rule).
    outlier_threshold : float, optional
        Threshold of the rule (defaults in :data:`OUTLIER_RULES`).
    ntc_margin : float
        Cycles: sample wells closer than this to an amplified negative control are flagged.
    tm_tolerance : float
        °C from the target's modal Tm beyond which a well is flagged.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``cq_used``, ``qc_flag``, ``status`` and ``reason`` appended.

    Raises
    ------
    AnalysisError
        For a missing column, an unknown outlier rule or an invalid ``undetermined``.
    """
    return _qc(
        data,
        sample_col=sample_col,
        target_col=target_col,
        tasks=tasks,
        undetermined=undetermined,
        outlier=outlier,
        outlier_threshold=outlier_threshold,
        ntc_margin=ntc_margin,
        tm_tolerance=tm_tolerance,
    )[0]


def _qc(data, *, sample_col, target_col, tasks, undetermined, outlier, outlier_threshold, ntc_margin, tm_tolerance):
    """qc_wells, also returning the factorized key columns {name: (codes, uniques)}."""
    needed = [c for c in ("plate", "well", "cq", "cq_flag", "task", "tm") if c in QPCR_COLUMNS]
    for c in [*needed, sample_col, target_col]:
        if c not in data.columns:
            raise AnalysisError(
                "column missing from qPCR table", column=c, expected=f"a column '{c}'", found=str(list(data.columns))
            )
    if outlier is not None and outlier not in OUTLIER_RULES:
        raise AnalysisError("unknown outlier rule", expected=f"one of {list(OUTLIER_RULES)} or None", found=repr(outlier))
    cutoff = None
    if isinstance(undetermined, str):
        if undetermined != "exclude":
            raise AnalysisError(
                "invalid undetermined option", expected="'exclude' or a cycle cut-off such as 40", found=repr(undetermined)
            )
    else:
        try:
            cutoff = float(undetermined)
        except (TypeError, ValueError):
            raise AnalysisError(
                "invalid undetermined option", expected="'exclude' or a cycle cut-off such as 40", found=repr(undetermined)
            ) from None
    thr = OUTLIER_RULES.get(outlier, np.nan) if outlier_threshold is None else float(outlier_threshold)

    if not pd.api.types.is_float_dtype(data["cq"]):
        raise AnalysisError(
            "column 'cq' must hold numbers", column="cq", expected="float Cq values (NaN when absent)", found=str(data["cq"].dtype)
        )
    w = data.copy(deep=False)
    n = len(w)
    cq = w["cq"].to_numpy(dtype=float, copy=True)
    cf_codes, cf_u = _factor_str(w["cq_flag"])
    cf_u = np.array([x.lower() for x in cf_u], dtype=object)
    tk_codes, tk_u = _factor_str(w["task"])
    tk_u = np.array([x.lower() for x in tk_u], dtype=object)
    task = tk_u[tk_codes]
    analysed = np.isin(tk_u, [t.lower() for t in tasks])[tk_codes]
    state = np.where(analysed, USED, NOT_ANALYSED).astype(np.int8)  # see _STATUS
    reason = np.full(n, "", dtype=object)
    flags = np.full(n, "", dtype=object)
    if (~analysed).any():
        msg = np.array([f"task '{t}' is not analysed for relative quantification" for t in tk_u], dtype=object)
        reason[~analysed] = msg[tk_codes[~analysed]]
    keys = {
        "plate": _factor_str(w["plate"]),
        "well": _factor_str(w["well"]),
        "sample": _factor_str(w[sample_col]),
        "target": _factor_str(w[target_col]),
    }

    dup_key = _combine(keys["plate"][0], keys["well"][0], keys["target"][0])
    counts = np.bincount(dup_key)
    if (counts > 1).any():
        i = int(np.flatnonzero(counts[dup_key] > 1)[0])
        raise AnalysisError(
            "duplicate well × target",
            plate=str(keys["plate"][1][keys["plate"][0][i]]),
            well=str(keys["well"][1][keys["well"][0][i]]),
            target=str(keys["target"][1][keys["target"][0][i]]),
            expected="one row per plate × well × target",
            found=f"{int(counts[dup_key[i]])} rows",
        )

    omitted = np.array(["omitted" in x for x in cf_u], dtype=bool)[cf_codes]
    m = analysed & omitted
    state[m], reason[m] = EXCLUDED, "omitted in the instrument software"
    nocq = analysed & ~omitted & ~np.isfinite(cq)
    undet = np.array(["undetermined" in x for x in cf_u], dtype=bool)[cf_codes]
    if cutoff is None:
        m = nocq & undet
        state[m], reason[m] = EXCLUDED, "undetermined (no Cq) and undetermined='exclude'"
    else:
        m = nocq & undet
        cq[m] = cutoff
        _append(flags, m, "undetermined_set_to_cutoff")
        above = analysed & ~omitted & np.isfinite(cq) & (cq > cutoff)
        cq[above] = cutoff
        _append(flags, above, "above_cutoff_set_to_cutoff")
    m = nocq & ~undet
    if m.any():
        fl = cf_u[cf_codes[m]]
        raw = w["cq_raw"].to_numpy(dtype=object)[m]
        state[m] = EXCLUDED
        reason[m] = np.array([f"no numeric Cq (cq_flag '{f}', cq_raw '{r}')" for f, r in zip(fl, raw, strict=True)], dtype=object)

    # outliers among technical replicates
    if outlier is not None:
        group = _combine(keys["plate"][0], keys["sample"][0], keys["target"][0])
        _outliers(cq, state, reason, flags, outlier, thr, group)

    # negative controls (keys compared as integer codes)
    cq_raw_num = w["cq"].to_numpy(dtype=float)
    for neg, (flag_amp, flag_near) in {
        "ntc": ("ntc_amplified", "ntc_within_margin"),
        "nrt": ("nrt_amplified", "nrt_within_margin"),
    }.items():
        is_neg = (task == neg) & np.isfinite(cq_raw_num)
        if not is_neg.any():
            continue
        _append(flags, is_neg, flag_amp)
        kcols = ["plate", "target"] if neg == "ntc" else ["plate", "sample", "target"]
        frame = pd.DataFrame({k: keys[k][0] for k in kcols})
        neg_cq = frame.loc[is_neg].assign(neg_cq=cq_raw_num[is_neg]).groupby(kcols)["neg_cq"].min()
        joined = frame.join(neg_cq, on=kcols)["neg_cq"].to_numpy(dtype=float)
        near = (state == USED) & np.isfinite(joined) & (joined - cq < ntc_margin)
        _append(flags, near, flag_near)

    # melt temperature
    tm = w["tm"].to_numpy(dtype=float)
    has_tm = np.isfinite(tm)
    if has_tm.any():
        t_codes = keys["target"][0]
        tmf = pd.DataFrame({"target": t_codes[has_tm], "bin": np.round(tm[has_tm] * 2) / 2})
        counts = tmf.groupby(["target", "bin"]).size().reset_index(name="k")
        counts = counts.sort_values(["target", "k", "bin"], ascending=[True, False, True])
        mode = counts.drop_duplicates("target").set_index("target")["bin"]
        mode_all = pd.Series(t_codes).map(mode).to_numpy(dtype=float)
        off = has_tm & (np.abs(tm - mode_all) > tm_tolerance)
        _append(flags, off, "tm_off_mode")

    cq_used = np.where(state == USED, cq, np.nan)
    w["cq_used"] = cq_used
    w["qc_flag"] = flags
    w["status"] = _STATUS[state]
    keys["state"] = state
    w["reason"] = reason
    return w, keys


def _outliers(cq, state, reason, flags, rule, thr, group) -> None:
    live = state == USED
    if not live.any():
        return
    codes = pd.factorize(group[live])[0]
    x = cq[live]
    g = pd.Series(x).groupby(codes)
    n = g.transform("count").to_numpy()
    med = g.transform("median").to_numpy()
    dev = np.abs(x - med)
    sd = g.transform("std").to_numpy()
    mean = g.transform("mean").to_numpy()
    idx_live = np.flatnonzero(live)
    if rule == "median":
        bad = dev > thr
        two = (n == 2) & bad
        out = (n >= 3) & bad
        why = [f"outlier: |Cq − replicate median| = {d:.3f} > {thr:g} cycles" for d in dev[out]]
    else:
        # the well farthest from the median (or mean, for Grubbs) in each group
        far = dev if rule == "sd" else np.abs(x - mean)
        order = pd.Series(far).groupby(codes).transform("max").to_numpy()
        is_far = far == order
        # keep only the first farthest well per group
        first = pd.Series(is_far).groupby(codes).cumsum().to_numpy() == 1
        is_far &= first
        if rule == "sd":
            breach = sd > thr
            why_fn = lambda i: f"outlier: replicate SD {sd[i]:.3f} > {thr:g}; farthest from the median"  # noqa: E731
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                G = far / sd
                tcrit = _st.t.isf(thr / (2 * n), n - 2)
                gcrit = (n - 1) / np.sqrt(n) * np.sqrt(tcrit**2 / (n - 2 + tcrit**2))
            breach = G > gcrit
            why_fn = lambda i: f"outlier: Grubbs G = {G[i]:.3f} > {gcrit[i]:.3f} (alpha {thr:g})"  # noqa: E731
        two = (n == 2) & (sd > thr) if rule == "sd" else np.zeros(len(x), bool)
        out = (n >= 3) & breach & is_far
        why = [why_fn(i) for i in np.flatnonzero(out)]
    gi = idx_live[out]
    state[gi] = EXCLUDED
    reason[gi] = np.array(why, dtype=object) if len(why) else reason[gi]
    _append(flags, np.isin(np.arange(len(state)), idx_live[two]), "replicates_disagree")


def summarise_replicates(
    wells: pd.DataFrame, *, by: tuple[str, ...] = ("plate", "sample", "target"), value: str = "cq_used"
) -> pd.DataFrame:
    """Mean, SD and count of technical replicates.

    Parameters
    ----------
    wells : pandas.DataFrame
        Output of :func:`qc_wells` (or any table with ``value`` and ``status``).
    by : tuple of str
        Columns identifying a replicate group.
    value : str
        Column averaged (NaN values are not counted).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``n_wells``, ``n_used``, ``cq_mean``, ``cq_sd`` (ddof 1,
        NaN for one well), ``cq_min``, ``cq_max``.
    """
    g = wells.groupby(list(by), sort=False, observed=True)
    out = g[value].agg(n_used="count", cq_mean="mean", cq_sd="std", cq_min="min", cq_max="max")
    out.insert(0, "n_wells", g.size())
    return out.reset_index()
