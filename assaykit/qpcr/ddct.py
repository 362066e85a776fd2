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
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import DdctResult, StandardCurveResult
from assaykit.qpcr.efficiency import _check_efficiency
from assaykit.qpcr.replicates import EXCLUDED, NOT_ANALYSED, USED, _combine, _factor_str, _qc
from assaykit.qpcr.settings import (
    ERRORS,
    INSTRUMENT_FLAGS,
    METHODS,
    P_ADJUST_FAMILIES,
    P_ADJUST_METHODS,
    PAIRINGS,
    DdctSettings,
    accepts_settings,
)
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


@accepts_settings(DdctSettings)
def ddct(
    data: pd.DataFrame,
    reference: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    group_col: str = "group",
    sample_col: str = "sample",
    target_col: str = "target",
    method: str | None = "livak",
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
    settings: DdctSettings | None = None,
) -> DdctResult:
    """Relative expression by the ΔΔCq method (Livak), or efficiency-corrected.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table (one row per well × target) with a ``group_col``
        column (e.g. added by :func:`assaykit.annotate`).
    reference : str or list of str
        Reference (endogenous control) gene(s); with several, their mean ECq is
        used (= geometric mean of relative quantities). Required, here or in
        ``settings``.
    control : str
        The control group (value of ``group_col``); it may hold several samples.
        Required, here or in ``settings``.
    group_col : str
        Column naming the condition of each sample. Pass ``group_col=sample_col``
        to treat each sample as its own group.
    sample_col : str
        Column naming the biological sample; wells sharing it (and the target) are
        technical replicates.
    target_col : str
        Column naming the target gene.
    method : {'livak', 'pfaffl', 'thermo_ecq'} or None
        ``livak``: 2^−ΔΔCq assuming 100 % efficiency. ``pfaffl`` and
        ``thermo_ecq``: efficiency-corrected (identical numbers; both names kept
        so a report can state the convention followed). None: ``livak`` when
        ``efficiency`` is None, else ``pfaffl``.
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
    settings : DdctSettings, optional
        All the options above (but ``efficiency``) as one object; keywords given
        explicitly in the call win over it (the rule is in
        :mod:`assaykit.qpcr.settings`). A :class:`~assaykit.qpcr.QpcrSettings` is
        accepted too (its ``efficiency`` and ``calibrators`` are workflow options and
        are not used here).

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
        Unknown option; no reference or control given; missing column; reference gene or control group absent
        from the data; a sample in several groups; missing efficiencies (the
        message gives the standard curve's status and reason when it was not fitted).
    """
    if method is None:
        method = "livak" if efficiency is None else "pfaffl"
    refs = [reference] if isinstance(reference, str) else list(reference or [])
    _check_options(method, error, pairing, test, p_adjust, p_adjust_family, instrument_flags)
    if not refs:
        raise AnalysisError("no reference gene given", expected="reference='GAPDH' or a list", found="[]")
    if control is None:
        raise AnalysisError("no control group given", expected="control='vehicle' (a value of group_col)", found="None")
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
    state = _ungrouped_not_analysed(wells, keys, group_col)
    fr = _code(wells, keys, state, refs, control, group_col, method, efficiency)
    control = fr.control
    st = _per_sample(fr, pairing)
    status, reason = _sample_status(fr, st)
    fl = _sample_flags(fr, wells, state)
    samples = _samples_table(fr, st, fl, status, reason, group_col, sample_col, target_col)
    gr = _group_means(fr, st, status, propagate_control)
    groups = _groups_table(fr, fl, gr, control, undetermined, error, propagate_control, group_col, target_col)
    _sample_ratios(samples, fr, gr, control)
    stats_df = _stats(fr, gr, samples, control, test, p_adjust, p_adjust_family, group_col, target_col)
    eff_w = np.full(len(wells), np.nan)
    eff_w[fr.analysed] = fr.e_t[fr.t_codes]
    wells["efficiency"] = eff_w
    wells["ecq"] = wells["cq_used"].to_numpy(dtype=float) * np.log2(1.0 + eff_w)
    used = {
        "reference": refs,
        "control": control,
        "group_col": group_col,
        "sample_col": sample_col,
        "method": method,
        "efficiencies": fr.eff,
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
    return DdctResult(wells=wells, samples=samples, groups=groups, stats=stats_df, settings=used)


# ---------------------------------------------------------------------- the steps of ddct
def _check_options(
    method: str, error: str, pairing: str, test: str | None, p_adjust: str, p_adjust_family: str, instrument_flags: str
) -> None:
    """The option values ddct accepts (one error per bad value, the allowed ones listed)."""
    if method not in METHODS:
        raise AnalysisError("unknown quantification method", expected=f"one of {METHODS}", found=repr(method))
    if error not in ERRORS:
        raise AnalysisError("unknown error convention", expected=f"one of {ERRORS}", found=repr(error))
    if pairing not in PAIRINGS:
        raise AnalysisError("unknown pairing", expected=f"one of {PAIRINGS}", found=repr(pairing))
    if test is not None and test not in TESTS:
        raise AnalysisError("unknown statistical test", expected=f"one of {TESTS} or None", found=repr(test))
    if p_adjust not in P_ADJUST_METHODS:
        raise AnalysisError("unknown p-value adjustment", expected=f"one of {P_ADJUST_METHODS}", found=repr(p_adjust))
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


def _ungrouped_not_analysed(wells: pd.DataFrame, keys: dict, group_col: str) -> np.ndarray:
    """Wells without a group become not_analysed (``wells`` updated); the well states."""
    grp_all = _factor_str(wells[group_col])
    keys["group"] = grp_all
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
    return state


@dataclass(frozen=True)
class _Coded:
    """The analysed wells as integer codes: samples s, targets t, sample × target cells st."""

    analysed: np.ndarray
    control: str
    refs: list[str]
    eff: dict[str, float]
    s_codes: np.ndarray
    samples_u: np.ndarray
    t_codes: np.ndarray
    targets_u: np.ndarray
    p_codes: np.ndarray
    p_names: np.ndarray
    w_codes: np.ndarray
    sample_group: np.ndarray
    groups_all: np.ndarray
    is_ref_t: np.ndarray
    ref_idx: np.ndarray
    e_t: np.ndarray
    cq_used: np.ndarray
    ecq: np.ndarray
    st_codes: np.ndarray
    n_s: int
    n_t: int

    @property
    def size(self) -> int:
        return self.n_s * self.n_t

    @cached_property
    def S(self) -> np.ndarray:  # noqa: N802 - the sample index of each sample × target row
        return np.repeat(np.arange(self.n_s), self.n_t)

    @cached_property
    def T(self) -> np.ndarray:  # noqa: N802 - the target index of each sample × target row
        return np.tile(np.arange(self.n_t), self.n_s)


def _code(
    wells: pd.DataFrame, keys: dict, state: np.ndarray, refs: list[str], control, group_col: str,
    method: str, efficiency,
) -> _Coded:  # fmt: skip
    """Codes of the analysed wells; checks references, control, efficiencies, one group per sample."""
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
    grp_codes, groups_all = refactor(keys["group"])
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
    eff = _efficiencies(targets_all, method, efficiency)
    sample_group = _one_group_per_sample(s_codes, samples_u, grp_codes, groups_all)
    n_s, n_t = len(samples_u), len(targets_u)
    e_t = np.array([eff[t] for t in targets_u], dtype=float)
    cq_used = sel(wells["cq_used"].to_numpy(dtype=float))
    return _Coded(
        analysed=analysed,
        control=str(control),
        refs=refs,
        eff=eff,
        s_codes=s_codes,
        samples_u=samples_u,
        t_codes=t_codes,
        targets_u=targets_u,
        p_codes=sel(keys["plate"][0]),
        p_names=keys["plate"][1],
        w_codes=sel(keys["well"][0]),
        sample_group=sample_group,
        groups_all=groups_all,
        is_ref_t=np.isin(targets_u, refs),
        ref_idx=np.array([int(np.flatnonzero(targets_u == r)[0]) for r in refs]),
        e_t=e_t,
        cq_used=cq_used,
        ecq=cq_used * np.log2(1.0 + e_t)[t_codes],
        st_codes=s_codes * n_t + t_codes,
        n_s=n_s,
        n_t=n_t,
    )


def _one_group_per_sample(
    s_codes: np.ndarray, samples_u: np.ndarray, grp_codes: np.ndarray, groups_all: np.ndarray
) -> np.ndarray:
    """The group of each sample (its first well's); error when a sample is in several."""
    first = np.full(len(samples_u), -1, dtype=np.int64)
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
    return sample_group


@dataclass(frozen=True)
class _PerSample:
    """Replicate summaries per sample × target and the ΔCq with its technical error."""

    n_wells: np.ndarray
    n_used: np.ndarray
    cq_mean: np.ndarray
    cq_var: np.ndarray
    ecq_mean: np.ndarray
    ecq_var: np.ndarray
    ref_ok: np.ndarray
    ref_mean: np.ndarray
    n_by_target: np.ndarray  # n_used as (n_s, n_t)
    dcq: np.ndarray
    dcq_sd: np.ndarray
    dcq_se: np.ndarray
    dcq_df: np.ndarray
    pair_name: np.ndarray


def _per_sample(fr: _Coded, pairing: str) -> _PerSample:
    """Means of the replicates, the reference per sample, ΔCq and its technical error."""
    size, S = fr.size, fr.S
    n_wells = _bincount(fr.st_codes, None, size).astype(np.int64)
    n_used, cq_mean, cq_var = _mean_var(fr.st_codes, fr.cq_used, size)
    _, ecq_mean, ecq_var = _mean_var(fr.st_codes, fr.ecq, size)

    # ---- reference per sample -----------------------------------------------
    ref_idx = fr.ref_idx
    E2 = ecq_mean.reshape(fr.n_s, fr.n_t)
    V2 = ecq_var.reshape(fr.n_s, fr.n_t)
    N2 = n_used.reshape(fr.n_s, fr.n_t)
    ref_ok = (N2[:, ref_idx] > 0).all(axis=1)
    k = len(ref_idx)
    ref_mean = np.where(ref_ok, E2[:, ref_idx].mean(axis=1), np.nan)
    # variance of the reference mean of one measurement: Σ var_r / k²  (single wells -> 0)
    ref_var = np.where(ref_ok, np.nansum(np.where(N2[:, ref_idx] > 1, V2[:, ref_idx], 0.0), axis=1) / k**2, np.nan)
    ref_se2 = np.where(
        ref_ok, np.nansum(np.where(N2[:, ref_idx] > 1, V2[:, ref_idx] / np.maximum(N2[:, ref_idx], 1), 0.0), axis=1) / k**2, np.nan
    )
    ref_n_min = np.where(ref_ok, N2[:, ref_idx].min(axis=1), 0)

    n_pair, pair_var = _per_well_dcq(fr)
    is_ref = fr.is_ref_t[fr.T]
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
    return _PerSample(
        n_wells=n_wells, n_used=n_used, cq_mean=cq_mean, cq_var=cq_var, ecq_mean=ecq_mean, ecq_var=ecq_var,
        ref_ok=ref_ok, ref_mean=ref_mean, n_by_target=N2, dcq=dcq, dcq_sd=dcq_sd, dcq_se=dcq_se, dcq_df=dcq_df,
        pair_name=np.where(use_pair, "same_well", "separate"),
    )  # fmt: skip


def _per_well_dcq(fr: _Coded) -> tuple[np.ndarray, np.ndarray]:
    """Count and variance of the per-well ΔCq of multiplexed wells, per sample × target."""
    pw_codes = _combine(fr.p_codes, fr.w_codes)
    n_pw = int(pw_codes.max()) + 1 if len(pw_codes) else 0
    ecq, t_codes, ref_idx = fr.ecq, fr.t_codes, fr.ref_idx
    is_ref_row = fr.is_ref_t[t_codes]
    okr = is_ref_row & np.isfinite(ecq)
    pw_ref_n = _bincount(pw_codes[okr], None, n_pw)
    pw_ref_s = _bincount(pw_codes[okr], ecq[okr], n_pw)
    # a well's reference value needs every reference gene in that well
    ref_pos = np.full(fr.n_t, -1, dtype=np.int64)
    ref_pos[ref_idx] = np.arange(len(ref_idx))
    seen = np.zeros(n_pw * len(ref_idx), dtype=bool)
    seen[pw_codes[okr] * len(ref_idx) + ref_pos[t_codes[okr]]] = True
    pw_ref_targets = seen.reshape(n_pw, len(ref_idx)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pw_ref = np.where(pw_ref_targets == len(ref_idx), pw_ref_s / pw_ref_n, np.nan)
    d_well = np.where(~is_ref_row, ecq - pw_ref[pw_codes], np.nan)
    n_pair, _, pair_var = _mean_var(fr.st_codes, d_well, fr.size)
    return n_pair, pair_var


def _sample_status(fr: _Coded, st: _PerSample) -> tuple[np.ndarray, np.ndarray]:
    """Status and reason of each sample × target row."""
    S, T = fr.S, fr.T
    is_ref = fr.is_ref_t[T]
    n_wells, n_used = st.n_wells, st.n_used
    status = np.full(fr.size, "ok", dtype=object)
    reason = np.full(fr.size, "", dtype=object)
    status[is_ref] = "reference"
    reason[is_ref] = "reference gene (used for normalisation)"
    nowell = (n_wells == 0) & ~is_ref
    noval = (n_wells > 0) & (n_used == 0) & ~is_ref
    noref = ~is_ref & (n_used > 0) & ~st.ref_ok[S]
    status[noref] = "no_reference"
    if noref.any():
        N2 = st.n_by_target
        missing_ref = np.array(
            [", ".join(r for r, j in zip(fr.refs, fr.ref_idx, strict=False) if N2[s, j] == 0) for s in range(fr.n_s)],
            dtype=object,
        )
        reason[noref] = "no valid well of reference gene(s) " + missing_ref[S[noref]] + " in this sample"
    status[noval] = "no_valid_wells"
    reason[noval] = "all wells of this sample × target were excluded (see wells.reason)"
    status[nowell] = "no_wells"
    reason[nowell] = "target not measured in this sample"
    if nowell.any():
        # name the plates: a target only on some plates, or sample names differing between plates
        p_names = fr.p_names
        sp = pd.DataFrame({"k": fr.s_codes, "p": fr.p_codes}).drop_duplicates().groupby("k")["p"].agg(list)
        tp = pd.DataFrame({"k": fr.t_codes, "p": fr.p_codes}).drop_duplicates().groupby("k")["p"].agg(list)
        for i in np.flatnonzero(nowell):
            sp_i = ", ".join(sorted(p_names[sp.get(S[i], [])]))
            tp_i = ", ".join(sorted(p_names[tp.get(T[i], [])]))
            reason[i] = f"target not measured in this sample (sample on plate(s) {sp_i}; target on plate(s) {tp_i})"
    ref_missing_for_ref = is_ref & (n_used == 0)
    status[ref_missing_for_ref] = "reference_no_valid_wells"
    reason[ref_missing_for_ref] = np.where(
        n_wells[ref_missing_for_ref] == 0, "reference gene not measured in this sample", "all wells of this reference gene were excluded"
    )
    return status, reason


@dataclass(frozen=True)
class _Flags:
    """QC flags per sample × target gathered from the wells."""

    flag_join: np.ndarray
    n_excl: np.ndarray
    imp_row: np.ndarray
    variant_reason: dict[int, str]


def _sample_flags(fr: _Coded, wells: pd.DataFrame, state: np.ndarray) -> _Flags:
    """Union of the wells' flags, excluded wells, cut-off Cqs used, sample-name variants."""
    size, st_codes = fr.size, fr.st_codes
    sel_state = state[fr.analysed]
    qf = wells["qc_flag"].to_numpy(dtype=object)[fr.analysed]
    has_flag = qf != ""
    flag_join = np.full(size, "", dtype=object)
    if has_flag.any():
        tmp = pd.DataFrame({"k": st_codes[has_flag], "f": qf[has_flag]})
        tmp = tmp.assign(f=tmp["f"].str.split(";")).explode("f").drop_duplicates()
        agg = tmp.groupby("k")["f"].agg(";".join)
        flag_join[agg.index.to_numpy()] = agg.to_numpy()
    n_excl = _bincount(st_codes, (sel_state == EXCLUDED).astype(float), size).astype(np.int64)
    # Cq set to the undetermined cut-off in a used well: per sample × target, then the
    # sample's ΔCq of a target uses it when the target or any reference well did
    imp_w = np.zeros(len(st_codes), dtype=bool)
    if has_flag.any():
        qf_codes, qf_u = pd.factorize(qf)
        cut_u = np.array([any(f in str(x).split(";") for f in _CUTOFF_FLAGS) for x in qf_u], dtype=bool)
        imp_w = cut_u[qf_codes] & (sel_state == USED)
    imp_st = _bincount(st_codes, imp_w.astype(float), size) > 0
    imp_ref_s = imp_st.reshape(fr.n_s, fr.n_t)[:, fr.ref_idx].any(axis=1)
    imp_row = (imp_st | imp_ref_s[fr.S]) & ~fr.is_ref_t[fr.T]

    # sample names equal after casefold() + strip() but spelled differently
    variant_reason = _name_variants(fr.samples_u, fr.s_codes, fr.p_codes, fr.p_names)
    for si in variant_reason:
        rows_i = si * fr.n_t + np.arange(fr.n_t)
        flag_join[rows_i] = [f + ";" + VARIANT_FLAG if f else VARIANT_FLAG for f in flag_join[rows_i]]
    return _Flags(flag_join=flag_join, n_excl=n_excl, imp_row=imp_row, variant_reason=variant_reason)


def _samples_table(
    fr: _Coded, st: _PerSample, fl: _Flags, status: np.ndarray, reason: np.ndarray,
    group_col: str, sample_col: str, target_col: str,
) -> pd.DataFrame:  # fmt: skip
    """The samples table (one row per biological sample × target)."""
    S, T = fr.S, fr.T
    s_ok = status == "ok"
    samples = pd.DataFrame(
        {
            group_col: fr.sample_group[S],
            sample_col: fr.samples_u[S],
            target_col: fr.targets_u[T],
            "is_reference": fr.is_ref_t[T],
            "n_wells": st.n_wells,
            "n_used": st.n_used,
            "n_excluded": fl.n_excl,
            "cq_mean": st.cq_mean,
            "cq_sd": np.sqrt(st.cq_var),
            "efficiency": fr.e_t[T],
            "ecq_mean": st.ecq_mean,
            "ecq_sd": np.sqrt(st.ecq_var),
            "ref_ecq_mean": st.ref_mean[S],
            "dcq": np.where(s_ok, st.dcq, np.nan),
            "dcq_sd": np.where(s_ok, st.dcq_sd, np.nan),
            "dcq_se": np.where(s_ok, st.dcq_se, np.nan),
            "dcq_df": np.where(s_ok, st.dcq_df, np.nan),
            "pairing": st.pair_name,
            "qc_flag": fl.flag_join,
            "status": status,
            "reason": reason,
        }
    )
    if fl.variant_reason:
        for si, why in fl.variant_reason.items():
            rows_i = si * fr.n_t + np.arange(fr.n_t)
            reason[rows_i] = [why + "; " + r if r else why for r in reason[rows_i]]
        samples["reason"] = reason
    if sample_col == group_col:
        samples = samples.loc[:, ~samples.columns.duplicated()]
    return samples


@dataclass(frozen=True)
class _GroupMeans:
    """ΔCq summaries per group × target (biological replicates) and the control's."""

    groups_u: np.ndarray
    n_g: int
    c_code: int
    ok_s: np.ndarray
    gt: np.ndarray
    gn: np.ndarray
    gmean: np.ndarray
    gvar: np.ndarray
    g_sd: np.ndarray
    g_se: np.ndarray
    g_df: np.ndarray
    source: np.ndarray
    c_mean: np.ndarray
    h_sd: np.ndarray
    se_tot: np.ndarray
    h_ci: np.ndarray


def _group_means(fr: _Coded, st: _PerSample, status: np.ndarray, propagate_control: bool) -> _GroupMeans:
    """Mean ΔCq of each group × target, its error (technical for one sample), the control's."""
    g_codes, groups_u = pd.factorize(fr.sample_group)
    groups_u = np.asarray(groups_u, dtype=object)
    n_g, n_t = len(groups_u), fr.n_t
    ok_s = (status == "ok") & np.isfinite(st.dcq)
    gt = g_codes[fr.S] * n_t + fr.T
    gsize = n_g * n_t
    dcq_ok = np.where(ok_s, st.dcq, np.nan)
    gn, gmean, gvar = _mean_var(gt, dcq_ok, gsize)
    # technical fallback for a group of one sample
    one_idx = np.full(gsize, -1, dtype=np.int64)
    one_idx[gt[ok_s]] = np.flatnonzero(ok_s)
    bio = gn >= 2
    safe = np.maximum(one_idx, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g_sd = np.where(bio, np.sqrt(gvar), np.where(gn == 1, st.dcq_sd[safe], np.nan))
        g_se = np.where(bio, np.sqrt(gvar) / np.sqrt(gn), np.where(gn == 1, st.dcq_se[safe], np.nan))
        g_df = np.where(bio, gn - 1.0, np.where(gn == 1, st.dcq_df[safe], np.nan))
    source = np.where(bio, "biological", np.where(gn == 1, "technical", ""))
    G = np.repeat(np.arange(n_g), n_t)
    TT = np.tile(np.arange(n_t), n_g)
    c_code = int(np.flatnonzero(groups_u == fr.control)[0])
    cidx = c_code * n_t + TT
    c_mean, c_sd, c_se, c_df = gmean[cidx], g_sd[cidx], g_se[cidx], g_df[cidx]
    is_ctrl = G == c_code
    with np.errstate(invalid="ignore", divide="ignore"):
        if propagate_control:
            h_sd = np.where(is_ctrl, g_sd, np.sqrt(g_sd**2 + c_sd**2))
            se_tot = np.where(is_ctrl, g_se, np.sqrt(g_se**2 + c_se**2))
            df_tot = np.where(is_ctrl, g_df, se_tot**4 / (g_se**4 / g_df + c_se**4 / c_df))
        else:
            h_sd, se_tot, df_tot = g_sd, g_se, g_df
        h_ci = _st.t.ppf(0.975, df_tot) * se_tot
    return _GroupMeans(
        groups_u=groups_u, n_g=n_g, c_code=c_code, ok_s=ok_s, gt=gt, gn=gn, gmean=gmean, gvar=gvar, g_sd=g_sd,
        g_se=g_se, g_df=g_df, source=source, c_mean=c_mean, h_sd=h_sd, se_tot=se_tot, h_ci=h_ci,
    )  # fmt: skip


def _groups_table(
    fr: _Coded, fl: _Flags, gr: _GroupMeans, control: str, undetermined, error: str,
    propagate_control: bool, group_col: str, target_col: str,
) -> pd.DataFrame:  # fmt: skip
    """The groups table: ΔΔCq, fold change and error bars per group × target of interest."""
    n_t, gsize = fr.n_t, len(gr.gn)
    G = np.repeat(np.arange(gr.n_g), n_t)
    TT = np.tile(np.arange(n_t), gr.n_g)
    gn, c_mean = gr.gn, gr.c_mean
    ddcq = gr.gmean - c_mean
    gstatus = np.full(gsize, "ok", dtype=object)
    greason = np.full(gsize, "", dtype=object)
    nog = gn == 0
    gstatus[nog] = "no_valid_samples"
    greason[nog] = "no sample of this group has a valid ΔCq for this target (see samples.reason)"
    noc = ~nog & ~np.isfinite(c_mean)
    gstatus[noc] = "no_control"
    greason[noc] = f"the control group '{control}' has no valid ΔCq for this target"
    ddcq = np.where(gstatus == "ok", ddcq, np.nan)
    noerr = (gstatus == "ok") & ~np.isfinite(gr.h_sd)
    greason[noerr] = "no error bars: a single sample without replicated target and reference wells"
    # samples entering each group mean: cut-off Cq used, and their flags (target and reference rows)
    ok_s, gt = gr.ok_s, gr.gt
    n_imp = _bincount(gt[ok_s], fl.imp_row[ok_s].astype(float), gsize).astype(np.int64)
    gflag = _group_flags(gt, ok_s, fl.flag_join, fr.S, fr.T, fr.ref_idx, n_t, gsize)
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
    ok = gstatus == "ok"
    groups = pd.DataFrame(
        {
            group_col: gr.groups_u[G],
            target_col: fr.targets_u[TT],
            "is_control": G == gr.c_code,
            "n_samples": gn,
            "n_imputed": n_imp,
            "error_source": gr.source,
            "dcq_mean": gr.gmean,
            "dcq_sd": gr.g_sd,
            "dcq_se": gr.g_se,
            "dcq_df": gr.g_df,
            "control_dcq_mean": c_mean,
            "ddcq": ddcq,
            "ddcq_sd": np.where(ok, gr.h_sd, np.nan),
            "ddcq_se": np.where(ok, gr.se_tot, np.nan),
            "ddcq_ci95_halfwidth": np.where(ok, gr.h_ci, np.nan),
            "fold_change": 2.0 ** -ddcq,
        }
    )
    for name, h in (("sd", gr.h_sd), ("sem", gr.se_tot), ("ci95", gr.h_ci)):
        groups[f"fold_change_{name}_low"] = 2.0 ** -(ddcq + h)
        groups[f"fold_change_{name}_high"] = 2.0 ** -(ddcq - h)
    groups["error_convention"] = error
    groups["control_error_propagated"] = bool(propagate_control)
    groups["qc_flag"] = gflag
    groups["status"] = gstatus
    groups["reason"] = greason
    return groups.loc[~fr.is_ref_t[TT]].reset_index(drop=True)


def _sample_ratios(samples: pd.DataFrame, fr: _Coded, gr: _GroupMeans, control: str) -> None:
    """ΔΔCq and relative quantity per biological sample (points over bars); in place."""
    samp_ctrl = gr.gmean[gr.c_code * fr.n_t + fr.T]
    samples["ddcq"] = samples["dcq"].to_numpy() - samp_ctrl
    samples["rq"] = 2.0 ** -samples["ddcq"].to_numpy()
    no_ctrl = (samples["status"].to_numpy() == "ok") & ~np.isfinite(samp_ctrl)
    if no_ctrl.any():
        samples.loc[no_ctrl, "status"] = "no_control"
        samples.loc[no_ctrl, "reason"] = f"the control group '{control}' has no valid ΔCq for this target"


_FC_COLUMNS = [("fold_change", "float64"), ("fold_change_ci_low", "float64"), ("fold_change_ci_high", "float64")]


def _stats(
    fr: _Coded, gr: _GroupMeans, samples: pd.DataFrame, control: str, test: str | None, p_adjust: str,
    p_adjust_family: str, group_col: str, target_col: str,
) -> pd.DataFrame:  # fmt: skip
    """The stats table: ΔCq of each group against the control, per target."""
    st_cols = [target_col, *RESULT_COLUMNS, "p_adjust_family", *(c for c, _ in _FC_COLUMNS)]
    empty = empty_result([target_col], [("p_adjust_family", "object"), *_FC_COLUMNS])[st_cols]
    if test is None or gr.n_g < 2:
        return empty
    toi = np.flatnonzero(~fr.is_ref_t)
    if test in ("welch", "student"):
        stats_df = _t_tests(fr, gr, toi, control, test, p_adjust, target_col)
    else:
        # valid ΔCq per sample (no_control samples keep theirs: Tukey / ANOVA do not need the control)
        valid = np.isfinite(samples["dcq"].to_numpy(dtype=float)) & ~samples["is_reference"].to_numpy(dtype=bool)
        ok_rows = samples.loc[valid, [target_col, group_col, "dcq"]]
        # one NaN row per group × target: every group and target is known to compare_groups
        holder = pd.DataFrame(
            {target_col: np.tile(fr.targets_u[toi], gr.n_g), group_col: np.repeat(gr.groups_u, len(toi)), "dcq": np.nan}
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
        stats_df = _complete_rows(stats_df, sub, target_col, group_col, fr.targets_u[toi], control, test)
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
    # text columns as object, as in the empty table (pandas 3 would infer its str dtype)
    text = [c for c in st_cols if empty[c].dtype == object and stats_df[c].dtype != object]
    return stats_df.astype(dict.fromkeys(text, object)) if text else stats_df


def _t_tests(
    fr: _Coded, gr: _GroupMeans, toi: np.ndarray, control: str, test: str, p_adjust: str, target_col: str
) -> pd.DataFrame:
    """Welch / Student t-tests vectorised from the group summaries (same numbers as compare_groups)."""
    n_t, c_code = fr.n_t, gr.c_code
    gn, gmean, gvar = gr.gn, gr.gmean, gr.gvar
    others = np.array([i for i in range(gr.n_g) if i != c_code], dtype=np.int64)
    Gi = np.tile(others, len(toi))  # target-major: the rows of a target together
    Ti = np.repeat(toi, len(others))
    gi_, ci_ = Gi * n_t + Ti, c_code * n_t + Ti
    left = pd.DataFrame({"n": gn[gi_], "mean": gmean[gi_], "var": gvar[gi_]})
    right = pd.DataFrame({"n": gn[ci_], "mean": gmean[ci_], "var": gvar[ci_]})
    t = _two_sample_t(left, right, equal_var=(test == "student"), ci_level=0.95)
    stats_df = pd.DataFrame(
        {
            target_col: fr.targets_u[Ti],
            "group": gr.groups_u[Gi],
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
    return stats_df
