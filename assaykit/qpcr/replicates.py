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
    why a well is excluded / not analysed; '' for used wells, except a used well
    that carries an instrument flag (``instrument_flags='flag'``), whose reason
    names the flag.
``qc_flag``
    ';'-joined flags that do not by themselves exclude the well (see :data:`QC_FLAGS`).

Rules (applied in this order, each explicit):

1. ``cq_flag`` containing ``omitted`` → excluded.
2. No numeric Cq: ``undetermined='exclude'`` → excluded; a number *c* → Cq set
   to *c* (flag ``undetermined_set_to_cutoff``); Cq above *c* are also set to *c*
   (flag ``above_cutoff_set_to_cutoff``). Non-numeric text / empty cells are always excluded.
3. Instrument flags: an analysed, not omitted well with an exported numeric Cq
   whose ``cq_flag`` holds any entry other than assaykit's own reader flags
   (:data:`READER_FLAGS`: undetermined, omitted, not_numeric, empty, no_result),
   e.g. ``highsd``, ``expfail``, ``outlierrg``, ``noamp``, ``ampnc``, SDS
   ``flagged``/``naw``: ``instrument_flags='flag'`` (default) keeps its Cq, adds
   ``instrument_flag`` to ``qc_flag`` and sets ``reason`` to ``"instrument flag:
   highsd (Cq kept)"``; ``instrument_flags='exclude'`` excludes it (``reason``
   ``"instrument flag: highsd"``). Several flags are listed comma-separated.
4. Outliers among the remaining technical replicates (same plate × sample ×
   target; wells excluded by rules 1–3 take no part), one rule per call. *n* is
   the number of remaining wells of the group:

   ``'median'`` (threshold *t*, default 0.5 cycles): a well is an outlier when
   |Cq − median of the group| > *t*. The outliers are excluded only when they
   are fewer than half of the group (2·k < n); otherwise (every well, half of
   the wells, or a pair) all wells are kept and flagged ``replicates_disagree``.
   ``'sd'`` (default 0.3): if the group's SD (ddof 1) > *t* and n ≥ 3, the well
   farthest from the median is excluded (one pass); a pair with SD > *t* is
   flagged ``replicates_disagree``.
   ``'grubbs'`` (level *t*, default 0.05): two-sided Grubbs test, one outlier
   per group, n ≥ 3.
   ``'max_dcq'`` (default 0.5 cycles): while the range max − min of the
   remaining wells exceeds *t*, the well farthest from the median of the
   remaining wells is removed; a removal is allowed only when more than half of
   the group's n wells would remain (n − removed − 1 > n/2) and the farthest
   well is unique (a tie within 1e-9 cycles cannot tell which well is wrong).
   If the range reaches ≤ *t* the removed wells are excluded; otherwise no
   well is excluded and all wells of the group are flagged ``replicates_disagree``.
5. Negative controls: an NTC-like well (task ``ntc``, ``negative_control`` or
   ``blank``) / a no-RT well (task ``nrt``) with a numeric Cq is flagged
   ``ntc_amplified`` / ``nrt_amplified``; used sample wells of the same plate ×
   target (NTC-like) or plate × sample × target (no-RT) whose Cq is less than
   ``ntc_margin`` cycles below the lowest Cq of those controls are flagged
   ``ntc_within_margin`` / ``nrt_within_margin``.
6. Melt curve: the modal Tm of a target is computed from its *analysed* wells
   only (task in ``tasks``, an exported numeric Cq, not omitted; wells excluded
   as outliers or for instrument flags still count): each Tm is rounded to the
   nearest 0.5 °C (``round(2·Tm)/2``, halves to even), the most frequent bin is
   the mode, a tie goes to the lower bin. Every well of the target with a Tm
   (NTC, no-RT and standards too) that differs from that mode by more than
   ``tm_tolerance`` °C is flagged ``tm_off_mode``. A target without analysed
   wells that have a Tm has no mode: none of its wells is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError
from assaykit.qpcr.settings import (
    INSTRUMENT_FLAGS,
    OUTLIER_RULES,
    DdctSettings,
    QcSettings,
    accepts_settings,
)
from assaykit.schema import QPCR_COLUMNS

__all__ = ["INSTRUMENT_FLAG_OPTIONS", "NTC_TASKS", "OUTLIER_RULES", "QC_FLAGS", "READER_FLAGS", "qc_wells", "summarise_replicates"]

#: Flags :func:`qc_wells` may set in ``qc_flag``.
QC_FLAGS: dict[str, str] = {
    "undetermined_set_to_cutoff": "no Cq; the cut-off given as undetermined= was used",
    "above_cutoff_set_to_cutoff": "Cq above the cut-off; the cut-off was used",
    "replicates_disagree": "the outlier rule cannot single out outliers (a pair, or half or more of the wells); all kept",
    "instrument_flag": "the instrument flagged the well (cq_flag); its Cq is kept (instrument_flags='flag')",
    "ntc_amplified": "a no-template control (task ntc, negative_control or blank) has a Cq",
    "nrt_amplified": "a no-RT control has a Cq",
    "ntc_within_margin": "sample Cq less than ntc_margin cycles below an amplified NTC of its target",
    "nrt_within_margin": "sample Cq less than ntc_margin cycles below its amplified no-RT control",
    "tm_off_mode": "melt Tm differs from the target's mode by more than tm_tolerance",
}


#: ``cq_flag`` entries set by assaykit's readers themselves (not instrument QC calls).
READER_FLAGS: frozenset[str] = frozenset({"undetermined", "omitted", "not_numeric", "empty", "no_result"})

#: Values of ``instrument_flags``.
INSTRUMENT_FLAG_OPTIONS: tuple[str, ...] = INSTRUMENT_FLAGS

#: Tasks treated as no-template controls.
NTC_TASKS: tuple[str, ...] = ("ntc", "negative_control", "blank")

_TIE = 1e-9  # cycles: farthest-well ties in the max_dcq rule

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


@accepts_settings(QcSettings, DdctSettings)
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
    instrument_flags: str = "flag",
    settings: QcSettings | DdctSettings | None = None,
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
    outlier : {'median', 'sd', 'grubbs', 'max_dcq'} or None
        Technical-replicate outlier rule (None: no rule); each rule is defined
        in the module documentation (rule 4).
    outlier_threshold : float, optional
        Threshold of the rule (defaults in :data:`OUTLIER_RULES`).
    ntc_margin : float
        Cycles: sample wells closer than this to an amplified negative control are flagged.
    tm_tolerance : float
        °C from the target's modal Tm (computed from analysed wells only) beyond
        which a well is flagged.
    instrument_flags : {'flag', 'exclude'}
        Wells with a numeric Cq and an instrument QC flag in ``cq_flag`` (any entry
        not in :data:`READER_FLAGS`): ``'flag'`` keeps the Cq and adds
        ``instrument_flag`` to ``qc_flag``; ``'exclude'`` excludes the well.
    settings : QcSettings or DdctSettings, optional
        The options above as one object (a :class:`DdctSettings` also gives
        ``sample_col`` and ``target_col``); keywords given explicitly win over it (rule
        in :mod:`assaykit.qpcr.settings`).

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``cq_used``, ``qc_flag``, ``status`` and ``reason`` appended.

    Raises
    ------
    AnalysisError
        For a missing column, an unknown outlier rule, an invalid ``undetermined``
        or ``instrument_flags``.
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
        instrument_flags=instrument_flags,
    )[0]


def _instrument_flags(flag: str) -> list[str]:
    """Entries of one ``cq_flag`` value that are instrument QC flags (not assaykit's own)."""
    return [f for f in (x.strip() for x in flag.split(";")) if f and f not in READER_FLAGS]


def _qc(
    data,
    *,
    sample_col,
    target_col,
    tasks,
    undetermined,
    outlier,
    outlier_threshold,
    ntc_margin,
    tm_tolerance,
    instrument_flags="flag",
):
    """qc_wells, also returning the factorized key columns {name: (codes, uniques)}."""
    cutoff = _check_qc_options(data, sample_col, target_col, outlier, undetermined, instrument_flags)
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
    _no_duplicate_wells(keys)

    omitted = np.array(["omitted" in x for x in cf_u], dtype=bool)[cf_codes]
    m = analysed & omitted
    state[m], reason[m] = EXCLUDED, "omitted in the instrument software"
    _no_cq(w, cq, cf_codes, cf_u, analysed & ~omitted, cutoff, state, reason, flags)
    has_cq = np.isfinite(w["cq"].to_numpy(dtype=float))  # an exported numeric Cq
    _instrument_flagged(cf_codes, cf_u, analysed & ~omitted & has_cq, instrument_flags, state, reason, flags)

    # outliers among technical replicates
    if outlier is not None:
        group = _combine(keys["plate"][0], keys["sample"][0], keys["target"][0])
        _outliers(cq, state, reason, flags, outlier, thr, group)
    _negative_controls(w["cq"].to_numpy(dtype=float), cq, task, keys, state, flags, ntc_margin)
    _melt(w["tm"].to_numpy(dtype=float), keys["target"][0], analysed & ~omitted & has_cq, tm_tolerance, flags)

    cq_used = np.where(state == USED, cq, np.nan)
    w["cq_used"] = cq_used
    w["qc_flag"] = flags
    w["status"] = _STATUS[state]
    keys["state"] = state
    w["reason"] = reason
    return w, keys


def _check_qc_options(data, sample_col, target_col, outlier, undetermined, instrument_flags) -> float | None:
    """Check the columns and options of qc_wells; return the undetermined cut-off (None: exclude)."""
    needed = [c for c in ("plate", "well", "cq", "cq_flag", "task", "tm") if c in QPCR_COLUMNS]
    for c in [*needed, sample_col, target_col]:
        if c not in data.columns:
            raise AnalysisError(
                "column missing from qPCR table", column=c, expected=f"a column '{c}'", found=str(list(data.columns))
            )
    if outlier is not None and outlier not in OUTLIER_RULES:
        raise AnalysisError("unknown outlier rule", expected=f"one of {list(OUTLIER_RULES)} or None", found=repr(outlier))
    if not isinstance(instrument_flags, str) or instrument_flags not in INSTRUMENT_FLAG_OPTIONS:
        raise AnalysisError(
            "invalid instrument_flags option",
            column="instrument_flags",
            expected=f"instrument_flags one of {list(INSTRUMENT_FLAG_OPTIONS)}",
            found=repr(instrument_flags),
        )
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
    return cutoff


def _no_duplicate_wells(keys: dict) -> None:
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


def _no_cq(w, cq, cf_codes, cf_u, live, cutoff, state, reason, flags) -> None:
    """Rule 2: wells without a numeric Cq (``live``: analysed, not omitted); arrays updated."""
    nocq = live & ~np.isfinite(cq)
    undet = np.array(["undetermined" in x for x in cf_u], dtype=bool)[cf_codes]
    if cutoff is None:
        m = nocq & undet
        state[m], reason[m] = EXCLUDED, "undetermined (no Cq) and undetermined='exclude'"
    else:
        m = nocq & undet
        cq[m] = cutoff
        _append(flags, m, "undetermined_set_to_cutoff")
        above = live & np.isfinite(cq) & (cq > cutoff)
        cq[above] = cutoff
        _append(flags, above, "above_cutoff_set_to_cutoff")
    m = nocq & ~undet
    if m.any():
        fl = cf_u[cf_codes[m]]
        raw = w["cq_raw"].to_numpy(dtype=object)[m]
        state[m] = EXCLUDED
        reason[m] = np.array([f"no numeric Cq (cq_flag '{f}', cq_raw '{r}')" for f, r in zip(fl, raw, strict=True)], dtype=object)


def _instrument_flagged(cf_codes, cf_u, live, instrument_flags, state, reason, flags) -> None:
    """Rule 3: instrument QC flags on wells that have a Cq (``live``); arrays updated."""
    inst_u = [_instrument_flags(x) for x in cf_u]
    if not any(inst_u):
        return
    has_inst = np.array([bool(x) for x in inst_u], dtype=bool)[cf_codes]
    m = live & has_inst
    if m.any():
        names = np.array(["instrument flag: " + ", ".join(x) for x in inst_u], dtype=object)[cf_codes[m]]
        if instrument_flags == "exclude":
            state[m] = EXCLUDED
            reason[m] = names
        else:
            _append(flags, m, "instrument_flag")
            reason[m] = names + " (Cq kept)"


def _negative_controls(cq_raw_num, cq, task, keys, state, flags, ntc_margin) -> None:
    """Rule 5: amplified NTC / no-RT wells and the sample wells near them (keys as integer codes)."""
    for neg, (flag_amp, flag_near) in {
        "ntc": ("ntc_amplified", "ntc_within_margin"),
        "nrt": ("nrt_amplified", "nrt_within_margin"),
    }.items():
        of_kind = np.isin(task, NTC_TASKS) if neg == "ntc" else task == neg
        is_neg = of_kind & np.isfinite(cq_raw_num)
        if not is_neg.any():
            continue
        _append(flags, is_neg, flag_amp)
        kcols = ["plate", "target"] if neg == "ntc" else ["plate", "sample", "target"]
        frame = pd.DataFrame({k: keys[k][0] for k in kcols})
        neg_cq = frame.loc[is_neg].assign(neg_cq=cq_raw_num[is_neg]).groupby(kcols)["neg_cq"].min()
        joined = frame.join(neg_cq, on=kcols)["neg_cq"].to_numpy(dtype=float)
        near = (state == USED) & np.isfinite(joined) & (joined - cq < ntc_margin)
        _append(flags, near, flag_near)


def _melt(tm, t_codes, in_analysis, tm_tolerance, flags) -> None:
    """Rule 6: wells whose Tm is off the target's modal Tm (mode from ``in_analysis`` wells)."""
    has_tm = np.isfinite(tm)
    in_mode = has_tm & in_analysis  # the mode comes from analysed wells only
    if in_mode.any():
        tmf = pd.DataFrame({"target": t_codes[in_mode], "bin": np.round(tm[in_mode] * 2) / 2})
        counts = tmf.groupby(["target", "bin"]).size().reset_index(name="k")
        counts = counts.sort_values(["target", "k", "bin"], ascending=[True, False, True])
        mode = counts.drop_duplicates("target").set_index("target")["bin"]
        mode_all = pd.Series(t_codes).map(mode).to_numpy(dtype=float)
        off = has_tm & (np.abs(tm - mode_all) > tm_tolerance)
        _append(flags, off, "tm_off_mode")


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
        k_bad = pd.Series(bad).groupby(codes).transform("sum").to_numpy()
        keep_all = 2 * k_bad >= n  # all, half or more of the wells (a pair included): cannot tell
        two = keep_all & (k_bad > 0)
        out = bad & ~keep_all
        why = [f"outlier: |Cq − replicate median| = {d:.3f} > {thr:g} cycles" for d in dev[out]]
    elif rule == "max_dcq":
        out, two, why = _max_dcq(x, codes, thr)
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
    if len(why):  # a reason already there (an instrument flag kept) follows the outlier reason
        prev = reason[gi]
        reason[gi] = np.array([w + "; " + p if p else w for w, p in zip(why, prev, strict=True)], dtype=object)
    _append(flags, np.isin(np.arange(len(state)), idx_live[two]), "replicates_disagree")


def _max_dcq(x: np.ndarray, codes: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The 'max_dcq' rule: (excluded mask, replicates_disagree mask, reasons of the excluded)."""
    out = np.zeros(len(x), dtype=bool)
    two = np.zeros(len(x), dtype=bool)
    why_of: dict[int, str] = {}
    g = pd.Series(x).groupby(codes)
    rng = (g.transform("max") - g.transform("min")).to_numpy()
    wide = np.flatnonzero(rng > thr)
    if not len(wide):
        return out, two, []
    order = np.argsort(codes[wide], kind="stable")
    members = wide[order]
    splits = np.flatnonzero(np.diff(codes[members])) + 1
    for idx in np.split(members, splits):
        n = len(idx)
        left = list(idx)
        removed: list[tuple[int, float, float]] = []
        ok = False
        while True:
            vals = x[left]
            span = float(vals.max() - vals.min())
            if span <= thr:
                ok = True
                break
            if (n - len(removed) - 1) * 2 <= n:
                break  # removing another well would leave half of the wells or fewer
            med = float(np.median(vals))
            dist = np.abs(vals - med)
            far = np.flatnonzero(dist >= dist.max() - _TIE)
            if len(far) > 1:
                break  # two wells equally far from the median: cannot tell which is wrong
            j = int(far[0])
            removed.append((left[j], span, med))
            del left[j]
        if ok:
            for i, span, med in removed:
                out[i] = True
                why_of[i] = (
                    f"outlier: replicate range (max ΔCq) {span:.3f} > {thr:g} cycles; "
                    f"farthest from the median {med:.3f}"
                )
        else:
            two[idx] = True
    why = [why_of[i] for i in np.flatnonzero(out)]
    return out, two, why


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
