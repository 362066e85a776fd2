"""Relative quantification: ΔΔCq (Livak), efficiency-corrected (Pfaffl / Thermo EqCq).

All three methods are computed in one frame: every Cq is first turned into an
efficiency-corrected Cq ``ECq = Cq · log2(1 + E)`` (``E = 1`` for Livak), so that

* ``ΔCq(s, t) = mean ECq(s, t) − mean_r mean ECq(s, r)`` over the reference genes r
  (the mean of reference ECq is log2 of the geometric mean of their relative
  quantities, Vandesompele 2002);
* ``ΔΔCq(g, t) = ΔCq(g, t) − ΔCq(control, t)`` and ``fold change = 2^(−ΔΔCq)``.

With efficiencies this equals Pfaffl's ratio ``(1+E_t)^ΔCq_t / (1+E_r)^ΔCq_r`` of
the mean Cqs, and Thermo Design & Analysis's ``2^(−ΔΔEqCq)``. See docs/qpcr.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import DdctResult, StandardCurveResult
from assaykit.qpcr.efficiency import _check_efficiency
from assaykit.qpcr.replicates import EXCLUDED, NOT_ANALYSED, USED, _combine, _factor_str, _qc
from assaykit.stats import (
    RESULT_COLUMNS,
    TESTS,
    _empty_row,
    _pairs,
    _two_sample_t,
    compare_groups,
    empty_result,
)
from assaykit.stats import p_adjust as stats_p_adjust

__all__ = ["INSTRUMENT_FLAGS", "METHODS", "P_ADJUST_FAMILIES", "ddct"]

#: Quantification methods understood by :func:`ddct`.
METHODS: tuple[str, ...] = ("livak", "pfaffl", "thermo_ecq")

ERRORS: tuple[str, ...] = ("sd", "sem", "ci95")
PAIRINGS: tuple[str, ...] = ("auto", "same_well", "separate")

#: Families over which ``p_adjust`` is applied (see :func:`ddct`).
P_ADJUST_FAMILIES: tuple[str, ...] = ("target", "all")

#: Handling of instrument-flagged wells (passed to :func:`assaykit.qpcr.qc_wells`).
INSTRUMENT_FLAGS: tuple[str, ...] = ("flag", "exclude")

#: Well flags meaning the Cq used is the undetermined cut-off.
_CUTOFF_FLAGS: tuple[str, ...] = ("undetermined_set_to_cutoff", "above_cutoff_set_to_cutoff")


def _efficiencies(targets: list[str], method: str, efficiency) -> dict[str, float]:
    if method == "livak":
        if efficiency is not None:
            raise AnalysisError(
                "method='livak' assumes 100 % efficiency for every target",
                expected="efficiency=None, or method='pfaffl' / 'thermo_ecq' to use efficiencies",
                found="efficiency given",
            )
        return dict.fromkeys(targets, 1.0)
    if efficiency is None:
        raise AnalysisError(
            f"method='{method}' needs amplification efficiencies",
            expected="efficiency={target: E} or a standard_curve() result",
            found="efficiency=None",
        )
    if isinstance(efficiency, StandardCurveResult):
        eff = efficiency.efficiencies()
    elif isinstance(efficiency, Mapping):
        eff = dict(efficiency)
    else:
        raise AnalysisError(
            "efficiency has an unsupported type",
            expected="a dict {target: E} or a standard_curve() result",
            found=type(efficiency).__name__,
        )
    missing = [t for t in targets if t not in eff]
    if missing:
        msg = "no efficiency for a target"
        if isinstance(efficiency, StandardCurveResult):
            cur = efficiency.curves
            row = cur.loc[cur["target"].astype(str) == str(missing[0])]
            if len(row):
                msg += (
                    f": its standard curve was not fitted (status '{row['status'].iloc[0]}': {row['reason'].iloc[0]})"
                )
            else:
                msg += ": the standard_curve() result has no curve for it (no standard wells of this target)"
        raise AnalysisError(
            msg,
            target=missing[0],
            expected=f"efficiencies for {targets}",
            found=f"efficiencies for {sorted(eff)}",
        )
    sel = {t: eff[t] for t in targets}
    _check_efficiency(sel)
    return {t: float(e) for t, e in sel.items()}


#: samples.qc_flag flag of a sample whose name equals another's up to case / white space.
VARIANT_FLAG = "sample_name_variant"


def _name_variants(samples_u: np.ndarray, s_codes: np.ndarray, p_codes: np.ndarray, p_names: np.ndarray) -> dict[int, str]:
    """{sample index: reason} for sample names equal after casefold()+strip() but written differently."""
    norm = pd.Series([str(x).casefold().strip() for x in samples_u])
    dup = norm.duplicated(keep=False).to_numpy()
    if not dup.any():
        return {}
    plates = pd.DataFrame({"s": s_codes, "p": p_codes}).drop_duplicates().groupby("s")["p"].agg(list)

    def where(i: int) -> str:
        return ", ".join(sorted(str(x) for x in p_names[plates.get(i, [])]))

    out: dict[int, str] = {}
    for _, idx in norm[dup].groupby(norm[dup]).groups.items():
        idx = list(idx)
        for i in idx:
            others = "; ".join(f"'{samples_u[j]}' on plate(s) {where(j)}" for j in idx if j != i)
            out[i] = (
                f"sample name '{samples_u[i]}' on plate(s) {where(i)} differs only by case or white space from "
                f"{others}: counted as separate biological samples (expected one spelling per sample)"
            )
    return out


def _group_flags(gt, ok_s, flag_join, S, T, ref_idx, n_t, gsize) -> np.ndarray:
    """';'-joined flags of the target and reference rows of the samples entering each group."""
    out = np.full(gsize, "", dtype=object)
    rows = np.flatnonzero(ok_s)
    if not len(rows):
        return out
    keys = [gt[rows]]
    flags = [flag_join[rows]]
    for j in ref_idx:
        keys.append(gt[rows])
        flags.append(flag_join[S[rows] * n_t + j])
    k = np.concatenate(keys)
    f = np.concatenate(flags)
    has = f != ""
    if not has.any():
        return out
    tmp = pd.DataFrame({"k": k[has], "f": f[has]})
    tmp = tmp.assign(f=tmp["f"].str.split(";")).explode("f").drop_duplicates()
    agg = tmp.groupby("k", sort=False)["f"].agg(";".join)
    out[agg.index.to_numpy()] = agg.to_numpy()
    return out


def _role(name: str, control: str) -> str:
    return f"control '{name}'" if name == control else f"group '{name}'"


def _complete_rows(res: pd.DataFrame, sub: pd.DataFrame, target_col: str, group_col: str, targets, control: str, test: str) -> pd.DataFrame:
    """Add a not_tested row for every comparison the call implies that compare_groups left out.

    compare_groups only visits targets with at least one value; a target whose
    samples all lack a ΔCq (e.g. the control has none, so no sample is valid)
    would otherwise have no row.
    """
    all_groups = list(pd.unique(sub[group_col]))
    if test == "anova":
        pairs = [("(all)", "")]
    else:
        pairs = _pairs(all_groups, None if test == "tukey" else control)
    have = set(zip(res[target_col], res["group"], res["versus"], strict=True))
    counts = sub.loc[sub["dcq"].notna()].groupby([target_col, group_col]).size()
    extra = []
    for t in targets:
        for g, c in pairs:
            if (t, g, c) in have:
                continue
            if test == "anova":
                why = f"no group has a valid ΔCq for {t}"
                row = _empty_row(g, c, test, 0.95, why, n=0, n_versus=np.nan)
            else:
                ng, nc = int(counts.get((t, g), 0)), int(counts.get((t, c), 0))
                # name the control first when it is the cause
                short = [x for x, k in ((c, nc), (g, ng)) if k == 0]
                why = "; ".join(f"{_role(x, control)} has no valid ΔCq for {t}" for x in short) or "not tested"
                row = _empty_row(g, c, test, 0.95, why, n=ng, n_versus=nc)
            row[target_col] = t
            extra.append(row)
    if extra:
        res = pd.concat([res, pd.DataFrame(extra, columns=res.columns)], ignore_index=True)
    order = {t: i for i, t in enumerate(targets)}
    res = res.assign(_o=res[target_col].map(order)).sort_values("_o", kind="mergesort").drop(columns="_o")
    res["n"] = res["n"].astype("int64")
    return res.reset_index(drop=True)


def _not_tested_reasons(res: pd.DataFrame, target_col: str, control: str) -> pd.DataFrame:
    """Name the group (or control) lacking biological samples in every not_tested row."""
    bad = np.flatnonzero((res["status"] != "ok").to_numpy())
    if not len(bad):
        return res
    reason = res["reason"].to_numpy(dtype=object).copy()
    for i in bad:
        t, g, c = res[target_col].iat[i], res["group"].iat[i], res["versus"].iat[i]
        if g == "(all)":
            continue
        parts = []
        for name, n in ((c, res["n_versus"].iat[i]), (g, res["n"].iat[i])):
            if name == "" or not np.isfinite(n):
                continue
            if n == 0:
                parts.append(f"{_role(name, control)} has no valid ΔCq for {t}")
            elif n == 1:
                parts.append(f"{_role(name, control)} has 1 biological sample (needs 2)")
        if parts:
            reason[i] = "; ".join(parts)
        elif not reason[i]:
            reason[i] = "not tested"
    res = res.copy()
    res["reason"] = reason
    return res


def _bincount(codes: np.ndarray, w: np.ndarray | None, size: int) -> np.ndarray:
    return np.bincount(codes, weights=w, minlength=size)[:size]


def _mean_var(codes: np.ndarray, x: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = np.isfinite(x)
    c = codes[ok]
    v = x[ok]
    n = _bincount(c, None, size)
    s = _bincount(c, v, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        dev = v - mean[c]
        ss = _bincount(c, dev * dev, size)
        var = np.where(n > 1, ss / (n - 1), np.nan)
    return n.astype(np.int64), mean, var


def ddct(
    data: pd.DataFrame,
    reference: str | Sequence[str],
    control: str,
    *,
    group_col: str = "group",
    sample_col: str = "sample",
    target_col: str = "target",
    method: str = "livak",
    efficiency: Mapping[str, float] | StandardCurveResult | None = None,
    undetermined: str | float = "exclude",
    outlier: str | None = None,
    outlier_threshold: float | None = None,
    ntc_margin: float = 5.0,
    tm_tolerance: float = 1.0,
    tasks: tuple[str, ...] = ("unknown",),
    pairing: str = "auto",
    error: str = "sd",
    propagate_control: bool = False,
    test: str | None = "welch",
    p_adjust: str = "holm",
    p_adjust_family: str = "target",
    instrument_flags: str = "flag",
) -> DdctResult:
    """Relative expression by the ΔΔCq method (Livak), or efficiency-corrected.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table (one row per well × target) with a ``group_col``
        column (e.g. added by :func:`assaykit.annotate`).
    reference : str or list of str
        Reference (endogenous control) gene(s); with several, their mean ECq is
        used (= geometric mean of relative quantities).
    control : str
        The control group (value of ``group_col``); it may hold several samples.
    group_col : str
        Column naming the condition of each sample. Pass ``group_col=sample_col``
        to treat each sample as its own group.
    sample_col : str
        Column naming the biological sample; wells sharing it (and the target) are
        technical replicates.
    target_col : str
        Column naming the target gene.
    method : {'livak', 'pfaffl', 'thermo_ecq'}
        ``livak``: 2^−ΔΔCq assuming 100 % efficiency. ``pfaffl`` and
        ``thermo_ecq``: efficiency-corrected (identical numbers; both names kept
        so a report can state the convention followed).
    efficiency : dict or StandardCurveResult, optional
        Efficiency (fraction) per target, required by ``pfaffl``/``thermo_ecq``.
    undetermined : 'exclude' or float
        Wells without Cq: excluded, or set to this cut-off (flagged).
    outlier, outlier_threshold : optional
        Technical-replicate outlier rule, see :func:`assaykit.qpcr.qc_wells`.
    ntc_margin, tm_tolerance : float
        Negative-control and melt-curve flag thresholds (cycles, °C).
    tasks : tuple of str
        Well tasks analysed.
    pairing : {'auto', 'same_well', 'separate'}
        How the technical error of ΔCq is computed. ``same_well``: SD of the
        per-well ΔCq (target and references multiplexed in one well);
        ``separate``: √(SD_target² + SD_ref²) (separate tubes, Livak/ABI bulletin #2).
        ``auto`` picks ``same_well`` for a sample × target when every used
        target well also holds all the references.
    error : {'sd', 'sem', 'ci95'}
        Convention of the error bars to show by default; all three are always in
        ``groups`` (``fold_change_sd_low`` ...), this one is named in ``error_convention``.
    propagate_control : bool
        If True the control group's ΔCq error is added in quadrature to each
        group's ΔΔCq error (ci95 then uses Welch–Satterthwaite df); if False
        (pcr, Thermo D&A) the control ΔCq is treated as a constant.
    test : {'welch', 'student', 'mann_whitney', 'anova', 'tukey', 'dunnett'} or None
        Test of the biological replicates' ΔCq of each group against the control,
        per target (see :func:`assaykit.stats.compare_groups`). None: no tests.
    p_adjust : {'holm', 'bh', 'none'}
        Multiple-testing correction (``welch``, ``student``, ``mann_whitney``;
        ``anova`` with ``p_adjust_family='all'``).
    p_adjust_family : {'target', 'all'}
        The family ``p_adjust`` is applied over: the comparisons of each target
        (``'target'``), or every test row of the call, all targets together
        (``'all'``). Named in ``stats.p_adjust_family``. Tukey and Dunnett
        p-values are adjusted within each target by the procedure itself, so
        ``'all'`` is refused for them.
    instrument_flags : {'flag', 'exclude'}
        Wells with a Cq that carry an instrument flag in ``cq_flag`` (HIGHSD,
        EXPFAIL, ...): kept and flagged ``instrument_flag``, or excluded
        (see :func:`assaykit.qpcr.qc_wells`).

    Returns
    -------
    DdctResult
        ``wells``, ``samples``, ``groups``, ``stats`` tables (columns in docs/qpcr.md).
        Sample names that differ only by case or surrounding white space
        ('Mouse1' / 'mouse1 ') stay separate samples but are flagged
        ``sample_name_variant`` in ``samples.qc_flag`` (and ``groups.qc_flag``)
        with a reason naming both spellings and their plates.

    Raises
    ------
    AnalysisError
        Unknown option; missing column; reference gene or control group absent
        from the data; a sample in several groups; missing efficiencies (the
        message gives the standard curve's status and reason when it was not fitted).
    """
    refs = [reference] if isinstance(reference, str) else list(reference)
    if method not in METHODS:
        raise AnalysisError("unknown quantification method", expected=f"one of {METHODS}", found=repr(method))
    if error not in ERRORS:
        raise AnalysisError("unknown error convention", expected=f"one of {ERRORS}", found=repr(error))
    if pairing not in PAIRINGS:
        raise AnalysisError("unknown pairing", expected=f"one of {PAIRINGS}", found=repr(pairing))
    if test is not None and test not in TESTS:
        raise AnalysisError("unknown statistical test", expected=f"one of {TESTS} or None", found=repr(test))
    if p_adjust not in ("holm", "bh", "none"):
        raise AnalysisError("unknown p-value adjustment", expected="one of ('holm', 'bh', 'none')", found=repr(p_adjust))
    if p_adjust_family not in P_ADJUST_FAMILIES:
        raise AnalysisError(
            "unknown p_adjust_family", expected=f"one of {P_ADJUST_FAMILIES}", found=repr(p_adjust_family)
        )
    if p_adjust_family == "all" and test in ("tukey", "dunnett"):
        raise AnalysisError(
            f"p_adjust_family='all' is not available with test='{test}'",
            expected="p_adjust_family='target' (the procedure adjusts the comparisons of each target) or test='welch'",
            found=f"test='{test}', p_adjust_family='all'",
        )
    if instrument_flags not in INSTRUMENT_FLAGS:
        raise AnalysisError(
            "unknown instrument_flags option", expected=f"one of {INSTRUMENT_FLAGS}", found=repr(instrument_flags)
        )
    if not refs:
        raise AnalysisError("no reference gene given", expected="reference='GAPDH' or a list", found="[]")
    if group_col not in data.columns:
        raise AnalysisError(
            "group column missing",
            column=group_col,
            expected=f"a column '{group_col}' (annotate with a layout, or pass group_col='{sample_col}')",
            found=str(list(data.columns)),
        )
    wells, keys = _qc(
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
    )
    grp_all = _factor_str(wells[group_col])
    state = keys["state"]
    no_group = (grp_all[1] == "")[grp_all[0]] & (state != NOT_ANALYSED)
    if no_group.any():
        status_w = wells["status"].to_numpy(dtype=object).copy()
        reason_w = wells["reason"].to_numpy(dtype=object).copy()
        cq_used_w = wells["cq_used"].to_numpy(dtype=float).copy()
        status_w[no_group] = "not_analysed"
        state = state.copy()
        state[no_group] = NOT_ANALYSED
        reason_w[no_group] = f"no group assigned (column '{group_col}' is empty)"
        cq_used_w[no_group] = np.nan
        wells["status"], wells["reason"], wells["cq_used"] = status_w, reason_w, cq_used_w
    analysed = state != NOT_ANALYSED
    every = bool(analysed.all())

    def sel(x: np.ndarray) -> np.ndarray:
        return x if every else x[analysed]

    def refactor(codes_uniques: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if every:  # every unique value occurs: the codes are already dense
            return codes_uniques
        c, idx = pd.factorize(sel(codes_uniques[0]))
        return c, codes_uniques[1][idx]

    s_codes, samples_u = refactor(keys["sample"])
    t_codes, targets_u = refactor(keys["target"])
    grp_codes, groups_all = refactor(grp_all)
    targets_all = list(targets_u)
    for r in refs:
        if r not in targets_all:
            raise AnalysisError(
                "reference gene not found", target=r, expected=f"one of the targets {targets_all}", found=repr(r)
            )
    groups_present = list(groups_all)
    if str(control) not in groups_present:
        raise AnalysisError(
            "control group not found",
            sample=str(control),
            expected=f"one of the groups {groups_present} in column '{group_col}'",
            found=repr(control),
        )
    control = str(control)
    eff = _efficiencies(targets_all, method, efficiency)

    # ---- codes ---------------------------------------------------------------
    n_s, n_t = len(samples_u), len(targets_u)
    # sample -> group, must be unique
    first = np.full(n_s, -1, dtype=np.int64)
    order = np.arange(len(s_codes))
    first[s_codes[::-1]] = order[::-1]
    sample_group_code = grp_codes[first]
    sample_group = groups_all[sample_group_code]
    mismatch = grp_codes != sample_group_code[s_codes]
    if mismatch.any():
        i = int(np.flatnonzero(mismatch)[0])
        raise AnalysisError(
            "sample belongs to several groups",
            sample=str(samples_u[s_codes[i]]),
            expected="one group per biological sample (check sample names across plates and the layout)",
            found=f"groups '{sample_group[s_codes[i]]}' and '{groups_all[grp_codes[i]]}'",
        )
    is_ref_t = np.isin(targets_u, refs)
    ref_idx = np.array([int(np.flatnonzero(targets_u == r)[0]) for r in refs])
    e_t = np.array([eff[t] for t in targets_u], dtype=float)
    f_t = np.log2(1.0 + e_t)

    cq_used = sel(wells["cq_used"].to_numpy(dtype=float))
    ecq = cq_used * f_t[t_codes]
    st_codes = s_codes * n_t + t_codes
    size = n_s * n_t
    n_wells = _bincount(st_codes, None, size).astype(np.int64)
    n_used, cq_mean, cq_var = _mean_var(st_codes, cq_used, size)
    _, ecq_mean, ecq_var = _mean_var(st_codes, ecq, size)

    # ---- reference per sample -----------------------------------------------
    E2 = ecq_mean.reshape(n_s, n_t)
    V2 = ecq_var.reshape(n_s, n_t)
    N2 = n_used.reshape(n_s, n_t)
    ref_ok = (N2[:, ref_idx] > 0).all(axis=1)
    k = len(ref_idx)
    ref_mean = np.where(ref_ok, E2[:, ref_idx].mean(axis=1), np.nan)
    # variance of the reference mean of one measurement: Σ var_r / k²  (single wells -> 0)
    ref_var = np.where(ref_ok, np.nansum(np.where(N2[:, ref_idx] > 1, V2[:, ref_idx], 0.0), axis=1) / k**2, np.nan)
    ref_se2 = np.where(
        ref_ok, np.nansum(np.where(N2[:, ref_idx] > 1, V2[:, ref_idx] / np.maximum(N2[:, ref_idx], 1), 0.0), axis=1) / k**2, np.nan
    )
    ref_n_min = np.where(ref_ok, N2[:, ref_idx].min(axis=1), 0)

    # ---- per-well ΔCq (multiplexed wells) -------------------------------------
    pw_codes = _combine(sel(keys["plate"][0]), sel(keys["well"][0]))
    n_pw = int(pw_codes.max()) + 1 if len(pw_codes) else 0
    is_ref_row = is_ref_t[t_codes]
    okr = is_ref_row & np.isfinite(ecq)
    pw_ref_n = _bincount(pw_codes[okr], None, n_pw)
    pw_ref_s = _bincount(pw_codes[okr], ecq[okr], n_pw)
    # a well's reference value needs every reference gene in that well
    ref_pos = np.full(n_t, -1, dtype=np.int64)
    ref_pos[ref_idx] = np.arange(len(ref_idx))
    seen = np.zeros(n_pw * len(ref_idx), dtype=bool)
    seen[pw_codes[okr] * len(ref_idx) + ref_pos[t_codes[okr]]] = True
    pw_ref_targets = seen.reshape(n_pw, len(ref_idx)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pw_ref = np.where(pw_ref_targets == k, pw_ref_s / pw_ref_n, np.nan)
    d_well = np.where(~is_ref_row, ecq - pw_ref[pw_codes], np.nan)
    n_pair, _, pair_var = _mean_var(st_codes, d_well, size)

    # ---- sample table ----------------------------------------------------------
    S = np.repeat(np.arange(n_s), n_t)
    T = np.tile(np.arange(n_t), n_s)
    is_ref = is_ref_t[T]
    dcq = np.where(is_ref, np.nan, ecq_mean - ref_mean[S])
    same_well = (n_pair == n_used) & (n_used > 0) & (n_pair > 0)
    if pairing == "same_well":
        use_pair = n_pair > 0
    elif pairing == "separate":
        use_pair = np.zeros(size, bool)
    else:
        use_pair = same_well
    t_var = np.where(n_used > 1, ecq_var, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sep_sd = np.sqrt(t_var + ref_var[S])
        sep_se2 = t_var / np.maximum(n_used, 1) + ref_se2[S]
        # Welch–Satterthwaite df of a difference of a target mean and a reference mean
        a1 = t_var / np.maximum(n_used, 1)
        a2 = ref_se2[S]
        sep_df = sep_se2**2 / (
            np.where(n_used > 1, a1**2 / (n_used - 1), 0.0) + np.where(ref_n_min[S] > 1, a2**2 / (ref_n_min[S] - 1), 0.0)
        )
        pair_sd = np.sqrt(pair_var)
        dcq_sd = np.where(use_pair, pair_sd, sep_sd)
        dcq_se = np.where(use_pair, pair_sd / np.sqrt(n_pair), np.sqrt(sep_se2))
        dcq_df = np.where(use_pair, n_pair - 1.0, sep_df)
    # no technical error without replicates of the target and of every reference
    single = np.where(use_pair, n_pair <= 1, (n_used <= 1) | (ref_n_min[S] <= 1))
    dcq_sd = np.where(single | is_ref | ~np.isfinite(dcq), np.nan, dcq_sd)
    dcq_se = np.where(np.isfinite(dcq_sd), dcq_se, np.nan)
    dcq_df = np.where(np.isfinite(dcq_sd) & (dcq_df > 0), dcq_df, np.nan)
    pair_name = np.where(use_pair, "same_well", "separate")

    # status / reason
    status = np.full(size, "ok", dtype=object)
    reason = np.full(size, "", dtype=object)
    status[is_ref] = "reference"
    reason[is_ref] = "reference gene (used for normalisation)"
    nowell = (n_wells == 0) & ~is_ref
    noval = (n_wells > 0) & (n_used == 0) & ~is_ref
    noref = ~is_ref & (n_used > 0) & ~ref_ok[S]
    status[noref] = "no_reference"
    if noref.any():
        missing_ref = np.array(
            [", ".join(r for r, j in zip(refs, ref_idx, strict=False) if N2[s, j] == 0) for s in range(n_s)], dtype=object
        )
        reason[noref] = "no valid well of reference gene(s) " + missing_ref[S[noref]] + " in this sample"
    status[noval] = "no_valid_wells"
    reason[noval] = "all wells of this sample × target were excluded (see wells.reason)"
    status[nowell] = "no_wells"
    reason[nowell] = "target not measured in this sample"
    if nowell.any():
        # name the plates: a target only on some plates, or sample names differing between plates
        p_codes = sel(keys["plate"][0])
        p_names = keys["plate"][1]
        sp = pd.DataFrame({"k": s_codes, "p": p_codes}).drop_duplicates().groupby("k")["p"].agg(list)
        tp = pd.DataFrame({"k": t_codes, "p": p_codes}).drop_duplicates().groupby("k")["p"].agg(list)
        for i in np.flatnonzero(nowell):
            sp_i = ", ".join(sorted(p_names[sp.get(S[i], [])]))
            tp_i = ", ".join(sorted(p_names[tp.get(T[i], [])]))
            reason[i] = f"target not measured in this sample (sample on plate(s) {sp_i}; target on plate(s) {tp_i})"
    ref_missing_for_ref = is_ref & (n_used == 0)
    status[ref_missing_for_ref] = "reference_no_valid_wells"
    reason[ref_missing_for_ref] = np.where(
        n_wells[ref_missing_for_ref] == 0, "reference gene not measured in this sample", "all wells of this reference gene were excluded"
    )

    # flags gathered from wells
    qf = sel(wells["qc_flag"].to_numpy(dtype=object))
    has_flag = qf != ""
    flag_join = np.full(size, "", dtype=object)
    if has_flag.any():
        tmp = pd.DataFrame({"k": st_codes[has_flag], "f": qf[has_flag]})
        tmp = tmp.assign(f=tmp["f"].str.split(";")).explode("f").drop_duplicates()
        agg = tmp.groupby("k")["f"].agg(";".join)
        flag_join[agg.index.to_numpy()] = agg.to_numpy()
    n_excl = _bincount(st_codes, (sel(state) == EXCLUDED).astype(float), size).astype(np.int64)
    # Cq set to the undetermined cut-off in a used well: per sample × target, then the
    # sample's ΔCq of a target uses it when the target or any reference well did
    imp_w = np.zeros(len(st_codes), dtype=bool)
    if has_flag.any():
        qf_codes, qf_u = pd.factorize(qf)
        cut_u = np.array([any(f in str(x).split(";") for f in _CUTOFF_FLAGS) for x in qf_u], dtype=bool)
        imp_w = cut_u[qf_codes] & (sel(state) == USED)
    imp_st = _bincount(st_codes, imp_w.astype(float), size) > 0
    imp_ref_s = imp_st.reshape(n_s, n_t)[:, ref_idx].any(axis=1)
    imp_row = (imp_st | imp_ref_s[S]) & ~is_ref

    # sample names equal after casefold() + strip() but spelled differently
    variant_reason = _name_variants(samples_u, s_codes, sel(keys["plate"][0]), keys["plate"][1])
    if variant_reason:
        for si in variant_reason:
            rows_i = si * n_t + np.arange(n_t)
            flag_join[rows_i] = [f + ";" + VARIANT_FLAG if f else VARIANT_FLAG for f in flag_join[rows_i]]

    s_ok = status == "ok"
    samples = pd.DataFrame(
        {
            group_col: sample_group[S],
            sample_col: samples_u[S],
            target_col: targets_u[T],
            "is_reference": is_ref,
            "n_wells": n_wells,
            "n_used": n_used,
            "n_excluded": n_excl,
            "cq_mean": cq_mean,
            "cq_sd": np.sqrt(cq_var),
            "efficiency": e_t[T],
            "ecq_mean": ecq_mean,
            "ecq_sd": np.sqrt(ecq_var),
            "ref_ecq_mean": ref_mean[S],
            "dcq": np.where(s_ok, dcq, np.nan),
            "dcq_sd": np.where(s_ok, dcq_sd, np.nan),
            "dcq_se": np.where(s_ok, dcq_se, np.nan),
            "dcq_df": np.where(s_ok, dcq_df, np.nan),
            "pairing": pair_name,
            "qc_flag": flag_join,
            "status": status,
            "reason": reason,
        }
    )
    if variant_reason:
        for si, why in variant_reason.items():
            rows_i = si * n_t + np.arange(n_t)
            reason[rows_i] = [why + "; " + r if r else why for r in reason[rows_i]]
        samples["reason"] = reason
    if sample_col == group_col:
        samples = samples.loc[:, ~samples.columns.duplicated()]

    # ---- groups ------------------------------------------------------------------
    g_codes, groups_u = pd.factorize(sample_group)
    groups_u = np.asarray(groups_u, dtype=object)
    n_g = len(groups_u)
    toi = np.flatnonzero(~is_ref_t)
    ok_s = s_ok & np.isfinite(dcq)
    gt = g_codes[S] * n_t + T
    gsize = n_g * n_t
    dcq_ok = np.where(ok_s, dcq, np.nan)
    gn, gmean, gvar = _mean_var(gt, dcq_ok, gsize)
    # technical fallback for a group of one sample
    one_idx = np.full(gsize, -1, dtype=np.int64)
    one_idx[gt[ok_s]] = np.flatnonzero(ok_s)
    bio = gn >= 2
    safe = np.maximum(one_idx, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g_sd = np.where(bio, np.sqrt(gvar), np.where(gn == 1, dcq_sd[safe], np.nan))
        g_se = np.where(bio, np.sqrt(gvar) / np.sqrt(gn), np.where(gn == 1, dcq_se[safe], np.nan))
        g_df = np.where(bio, gn - 1.0, np.where(gn == 1, dcq_df[safe], np.nan))
    source = np.where(bio, "biological", np.where(gn == 1, "technical", ""))
    G = np.repeat(np.arange(n_g), n_t)
    TT = np.tile(np.arange(n_t), n_g)
    c_code = int(np.flatnonzero(groups_u == control)[0])
    cidx = c_code * n_t + TT
    c_mean, c_sd, c_se, c_df = gmean[cidx], g_sd[cidx], g_se[cidx], g_df[cidx]
    ddcq = gmean - c_mean
    is_ctrl = G == c_code
    with np.errstate(invalid="ignore", divide="ignore"):
        if propagate_control:
            h_sd = np.where(is_ctrl, g_sd, np.sqrt(g_sd**2 + c_sd**2))
            se_tot = np.where(is_ctrl, g_se, np.sqrt(g_se**2 + c_se**2))
            df_tot = np.where(is_ctrl, g_df, se_tot**4 / (g_se**4 / g_df + c_se**4 / c_df))
        else:
            h_sd, se_tot, df_tot = g_sd, g_se, g_df
        h_ci = _st.t.ppf(0.975, df_tot) * se_tot
    gstatus = np.full(gsize, "ok", dtype=object)
    greason = np.full(gsize, "", dtype=object)
    nog = gn == 0
    gstatus[nog] = "no_valid_samples"
    greason[nog] = "no sample of this group has a valid ΔCq for this target (see samples.reason)"
    noc = ~nog & ~np.isfinite(c_mean)
    gstatus[noc] = "no_control"
    greason[noc] = f"the control group '{control}' has no valid ΔCq for this target"
    ddcq = np.where(gstatus == "ok", ddcq, np.nan)
    noerr = (gstatus == "ok") & ~np.isfinite(h_sd)
    greason[noerr] = "no error bars: a single sample without replicated target and reference wells"
    # samples entering each group mean: cut-off Cq used, and their flags (target and reference rows)
    n_imp = _bincount(gt[ok_s], imp_row[ok_s].astype(float), gsize).astype(np.int64)
    gflag = _group_flags(gt, ok_s, flag_join, S, T, ref_idx, n_t, gsize)
    has_imp = n_imp > 0
    if has_imp.any():
        cut_txt = f"{float(undetermined):g}" if not isinstance(undetermined, str) else "?"
        msg = np.array(
            [
                f"{k} of {n} sample(s) use the undetermined cut-off Cq ({cut_txt}) for this target or a reference gene"
                for k, n in zip(n_imp[has_imp], gn[has_imp], strict=True)
            ],
            dtype=object,
        )
        greason[has_imp] = np.where(greason[has_imp] == "", msg, greason[has_imp] + "; " + msg)
    has_var = np.array([VARIANT_FLAG in f.split(";") for f in gflag], dtype=bool)
    if has_var.any():
        msg = "sample names differing only by case or white space are counted as separate samples (see samples.reason)"
        greason[has_var] = np.where(greason[has_var] == "", msg, greason[has_var] + "; " + msg)

    groups = pd.DataFrame(
        {
            group_col: groups_u[G],
            target_col: targets_u[TT],
            "is_control": is_ctrl,
            "n_samples": gn,
            "n_imputed": n_imp,
            "error_source": source,
            "dcq_mean": gmean,
            "dcq_sd": g_sd,
            "dcq_se": g_se,
            "dcq_df": g_df,
            "control_dcq_mean": c_mean,
            "ddcq": ddcq,
            "ddcq_sd": np.where(gstatus == "ok", h_sd, np.nan),
            "ddcq_se": np.where(gstatus == "ok", se_tot, np.nan),
            "ddcq_ci95_halfwidth": np.where(gstatus == "ok", h_ci, np.nan),
            "fold_change": 2.0 ** -ddcq,
        }
    )
    for name, h in (("sd", h_sd), ("sem", se_tot), ("ci95", h_ci)):
        groups[f"fold_change_{name}_low"] = 2.0 ** -(ddcq + h)
        groups[f"fold_change_{name}_high"] = 2.0 ** -(ddcq - h)
    groups["error_convention"] = error
    groups["control_error_propagated"] = bool(propagate_control)
    groups["qc_flag"] = gflag
    groups["status"] = gstatus
    groups["reason"] = greason
    groups = groups.loc[~is_ref_t[TT]].reset_index(drop=True)
    # ddcq / rq per biological sample (points over bars)
    samp_ctrl = gmean[c_code * n_t + T]
    samples["ddcq"] = samples["dcq"].to_numpy() - samp_ctrl
    samples["rq"] = 2.0 ** -samples["ddcq"].to_numpy()
    no_ctrl = (samples["status"].to_numpy() == "ok") & ~np.isfinite(samp_ctrl)
    if no_ctrl.any():
        samples.loc[no_ctrl, "status"] = "no_control"
        samples.loc[no_ctrl, "reason"] = f"the control group '{control}' has no valid ΔCq for this target"

    # ---- statistics -------------------------------------------------------------------
    fc_cols = [("fold_change", "float64"), ("fold_change_ci_low", "float64"), ("fold_change_ci_high", "float64")]
    st_cols = [target_col, *RESULT_COLUMNS, "p_adjust_family", *(c for c, _ in fc_cols)]
    if test is None or n_g < 2:
        stats_df = empty_result([target_col], [("p_adjust_family", "object"), *fc_cols])[st_cols]
    else:
        # valid ΔCq per sample (no_control samples keep theirs: Tukey / ANOVA do not need the control)
        valid = np.isfinite(samples["dcq"].to_numpy(dtype=float)) & ~samples["is_reference"].to_numpy(dtype=bool)
        if test in ("welch", "student"):
            # vectorised from the group summaries above (same numbers as compare_groups)
            others = np.array([i for i in range(n_g) if i != c_code], dtype=np.int64)
            Gi = np.tile(others, len(toi))  # target-major: the rows of a target together
            Ti = np.repeat(toi, len(others))
            gi_, ci_ = Gi * n_t + Ti, c_code * n_t + Ti
            left = pd.DataFrame({"n": gn[gi_], "mean": gmean[gi_], "var": gvar[gi_]})
            right = pd.DataFrame({"n": gn[ci_], "mean": gmean[ci_], "var": gvar[ci_]})
            t = _two_sample_t(left, right, equal_var=(test == "student"), ci_level=0.95)
            stats_df = pd.DataFrame(
                {
                    target_col: targets_u[Ti],
                    "group": groups_u[Gi],
                    "versus": control,
                    "test": test,
                    "n": gn[gi_],
                    "n_versus": gn[ci_],
                    "mean": gmean[gi_],
                    "mean_versus": gmean[ci_],
                }
            )
            stats_df = pd.concat([stats_df, t], axis=1)
            stats_df["ci_level"] = 0.95
            adj = np.full(len(stats_df), np.nan)
            for tt in np.unique(Ti):
                m = Ti == tt
                adj[m] = stats_p_adjust(stats_df["p_value"].to_numpy(dtype=float)[m], p_adjust)
            stats_df["p_adjusted"] = adj
            stats_df["p_adjust_method"] = np.where(stats_df["status"] == "ok", p_adjust, "")
        else:
            ok_rows = samples.loc[valid, [target_col, group_col, "dcq"]]
            # one NaN row per group × target: every group and target is known to compare_groups
            holder = pd.DataFrame(
                {target_col: np.tile(targets_u[toi], n_g), group_col: np.repeat(groups_u, len(toi)), "dcq": np.nan}
            )
            sub = pd.concat([ok_rows, holder], ignore_index=True)
            stats_df = compare_groups(
                sub,
                "dcq",
                group_col,
                control=None if test == "tukey" else control,
                test=test,
                by=target_col,
                p_adjust_method=p_adjust,
            )
            stats_df = _complete_rows(stats_df, sub, target_col, group_col, targets_u[toi], control, test)
        stats_df = _not_tested_reasons(stats_df, target_col, control)
        if p_adjust_family == "all":
            p_all = stats_df["p_value"].to_numpy(dtype=float)
            stats_df["p_adjusted"] = stats_p_adjust(p_all, p_adjust)
            stats_df["p_adjust_method"] = np.where(stats_df["status"] == "ok", p_adjust, "")
        stats_df["p_adjust_family"] = np.where(stats_df["p_adjust_method"] != "", p_adjust_family, "")
        stats_df["fold_change"] = 2.0 ** -stats_df["estimate"].astype(float)
        stats_df["fold_change_ci_low"] = 2.0 ** -stats_df["ci_high"].astype(float)
        stats_df["fold_change_ci_high"] = 2.0 ** -stats_df["ci_low"].astype(float)
        stats_df = stats_df[st_cols].reset_index(drop=True)
    eff_w = np.full(len(wells), np.nan)
    eff_w[analysed] = e_t[t_codes]
    wells["efficiency"] = eff_w
    wells["ecq"] = wells["cq_used"].to_numpy(dtype=float) * np.log2(1.0 + eff_w)
    settings = {
        "reference": refs,
        "control": control,
        "group_col": group_col,
        "sample_col": sample_col,
        "method": method,
        "efficiencies": eff,
        "undetermined": undetermined,
        "outlier": outlier,
        "outlier_threshold": outlier_threshold,
        "pairing": pairing,
        "error": error,
        "propagate_control": propagate_control,
        "test": test,
        "p_adjust": p_adjust,
        "p_adjust_family": p_adjust_family,
        "instrument_flags": instrument_flags,
    }
    return DdctResult(wells=wells, samples=samples, groups=groups, stats=stats_df, settings=settings)
