"""Group statistics usable by every assay (DataFrames in, DataFrames out).

Every test compares the values of one group with those of another (or with a
control group) and returns one row per comparison with self-explaining columns:

``group``, ``versus``, ``test``, ``n``, ``n_versus``, ``mean``, ``mean_versus``,
``estimate`` (the difference ``group − versus``: difference of means, or the
Hodges–Lehmann shift for Mann–Whitney), ``ci_low``, ``ci_high`` (95 % by default,
level in ``ci_level``), ``statistic``, ``df``, ``p_value``, ``p_adjusted``,
``p_adjust_method``, ``status`` (``'ok'`` or ``'not_tested'``) and ``reason``.

Tests
-----
``'welch'``  Welch's unequal-variance t-test (Welch 1947), Welch–Satterthwaite df.
``'student'`` pooled-variance t-test (equals a linear model / one-way ANOVA with two groups).
``'mann_whitney'`` Mann–Whitney U (Wilcoxon rank-sum) with the Hodges–Lehmann
shift and its distribution-free confidence interval (exact when both groups are
below 50 values without ties, normal approximation otherwise), as R ``wilcox.test``;
``ci_level`` is then the level the interval achieves (small groups cannot reach
95 %: 3 vs 3 gives 0.90) and ``reason`` says so when it is below the requested one.
``'anova'`` one-way ANOVA F test (one row per ``by`` level, ``group='(all)'``;
``estimate`` and CI are NaN, ``reason`` "omnibus test: no pairwise estimate").
``'tukey'`` Tukey HSD, all pairs (scipy.stats.tukey_hsd).
``'dunnett'`` Dunnett's many-to-one test against ``control`` (scipy.stats.dunnett).

Multiple-testing correction (:func:`p_adjust`): ``'holm'`` (Holm 1979) or ``'bh'``
(Benjamini & Hochberg 1995), applied within each ``by`` level.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3, "y": [1.0, 2.0, 3.0, 2.0, 3.0, 4.0]})
>>> res = compare_groups(df, "y", "g", control="a", test="student")
>>> float(res.loc[0, "estimate"]), round(float(res.loc[0, "p_value"]), 4)
(1.0, 0.2879)
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError

__all__ = ["RESULT_COLUMNS", "RESULT_DTYPES", "TESTS", "compare_groups", "HodgesLehmann", "empty_result", "hodges_lehmann", "hodges_lehmann_ci", "p_adjust"]

#: Tests understood by :func:`compare_groups`.
TESTS: tuple[str, ...] = ("welch", "student", "mann_whitney", "anova", "tukey", "dunnett")

_P_METHODS = ("holm", "bh", "none")

#: ``reason`` of an ANOVA row that was tested: its estimate / CI are NaN by design.
ANOVA_REASON = "omnibus test: no pairwise estimate"

RESULT_COLUMNS: tuple[str, ...] = (
    "group",
    "versus",
    "test",
    "n",
    "n_versus",
    "mean",
    "mean_versus",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "statistic",
    "df",
    "p_value",
    "p_adjusted",
    "p_adjust_method",
    "status",
    "reason",
)


#: Declared dtype of every :data:`RESULT_COLUMNS` column (an empty result keeps them;
#: ``n_versus`` is float only in ANOVA rows, where it is NaN).
RESULT_DTYPES: dict[str, str] = {
    c: ("int64" if c in ("n", "n_versus") else "object" if c in ("group", "versus", "test", "p_adjust_method", "status", "reason") else "float64")
    for c in RESULT_COLUMNS
}


def empty_result(by: Sequence[str] = (), extra: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """Return an empty comparison table with the declared column dtypes.

    Parameters
    ----------
    by : sequence of str
        Leading ``by`` columns (object dtype).
    extra : sequence of (name, dtype)
        Trailing columns appended after :data:`RESULT_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Zero rows; columns ``[*by, *RESULT_COLUMNS, *extra]``.
    """
    cols = {c: pd.Series(dtype=object) for c in by}
    cols.update({c: pd.Series(dtype=RESULT_DTYPES[c]) for c in RESULT_COLUMNS})
    cols.update({c: pd.Series(dtype=t) for c, t in extra})
    return pd.DataFrame(cols)


def p_adjust(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing.

    Parameters
    ----------
    p : sequence of float
        Raw p-values; NaN entries are ignored (and stay NaN).
    method : {'holm', 'bh', 'none'}
        Holm's step-down family-wise correction, Benjamini–Hochberg false
        discovery rate, or no correction.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (capped at 1), in the input order.

    Raises
    ------
    AnalysisError
        If ``method`` is unknown.

    Examples
    --------
    >>> p_adjust([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> p_adjust([0.01, 0.04, 0.03], "bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in _P_METHODS:
        raise AnalysisError("unknown p-value adjustment", expected=f"one of {_P_METHODS}", found=repr(method))
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if method == "none":
        out[ok] = q
        return out
    order = np.argsort(q, kind="mergesort")
    sq = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * sq)
    else:  # bh
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * sq[::-1])[::-1]
    adj = np.minimum(adj, 1.0)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def _wilcox_counts(m: int, n: int) -> np.ndarray:
    """Exact null frequencies of the Mann–Whitney U statistic (0..m·n)."""
    # f(i, j) over u: number of arrangements; recursion on the largest value.
    prev = [np.ones(1, dtype=float) for _ in range(n + 1)]  # i = 0: U = 0 for every j
    for i in range(1, m + 1):
        cur = [np.ones(1, dtype=float)]  # j = 0
        for j in range(1, n + 1):
            a = prev[j]  # largest from x: adds j to U
            b = cur[j - 1]  # largest from y
            size = i * j + 1
            f = np.zeros(size)
            f[j : j + a.size] += a
            f[: b.size] += b
            cur.append(f)
        prev = cur
    return prev[n]


class HodgesLehmann(NamedTuple):
    """Hodges–Lehmann shift with its confidence interval and the level it achieves."""

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float


def hodges_lehmann_ci(x: Sequence[float], y: Sequence[float], ci_level: float = 0.95) -> HodgesLehmann:
    """Hodges–Lehmann shift ``x − y``, its confidence interval and the level actually achieved.

    The estimate is the median of all ``m·n`` pairwise differences ``x_i − y_j``
    (sorted: ``d(1) ≤ … ≤ d(mn)``). The interval is ``[d(q), d(mn − q + 1)]`` where
    ``q`` is the smallest integer with ``P(U ≤ q) ≥ α/2`` under the null
    distribution of the Mann–Whitney U statistic (``α = 1 − ci_level``), raised to 1
    when it is 0, as R ``wilcox.test(conf.int=TRUE)``. Its coverage is
    ``1 − 2·P(U ≤ q − 1)``:

    * exact path (both samples below 50 values, no tied values): ``P`` from the
      exact null distribution of U; ``ci_level`` returned is this achieved level,
      which may be above the requested one (5 vs 5: 1 − 8/252 = 0.968) or below it
      when no interval reaches it (3 vs 3: q = 1, the full range of the differences,
      1 − 2/20 = 0.90; 1 vs 3: 1 − 2/4 = 0.50);
    * normal approximation otherwise: ``q = ⌊mn/2 − z·σ⌋`` with
      ``σ² = mn(m + n + 1)/12``; the requested level is returned, except when ``q``
      had to be raised to 1, where the level is ``1 − 2·Φ((0.5 − mn/2)/σ)``
      (continuity-corrected approximation of the full-range interval).

    Parameters
    ----------
    x, y : sequence of float
        The two samples (NaN are not removed: pass clean values).
    ci_level : float
        Requested confidence level, in (0, 1).

    Returns
    -------
    HodgesLehmann
        ``(estimate, ci_low, ci_high, ci_level)``; all NaN when a sample is empty.

    Examples
    --------
    >>> r = hodges_lehmann_ci([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    >>> float(r.estimate), float(r.ci_low), float(r.ci_high), round(float(r.ci_level), 4)
    (0.5, -1.5, 2.5, 0.9)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    m, n = x.size, y.size
    if m == 0 or n == 0:
        return HodgesLehmann(np.nan, np.nan, np.nan, np.nan)
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    est = float(np.median(diffs))
    alpha = 1 - ci_level
    mn = m * n
    ties = np.unique(np.concatenate([x, y])).size < m + n
    if m < 50 and n < 50 and not ties:
        counts = _wilcox_counts(m, n)
        cdf = np.cumsum(counts) / comb(m + n, m)
        qu = int(np.searchsorted(cdf, alpha / 2 - 1e-12))  # smallest q with P(U <= q) >= alpha/2
        qu = max(qu, 1)
        achieved = float(1.0 - 2.0 * cdf[qu - 1])
    else:
        z = _st.norm.ppf(1 - alpha / 2)
        sigma = np.sqrt(mn * (m + n + 1) / 12.0)
        qu = int(np.floor(mn / 2 - z * sigma))
        if qu < 1:
            qu = 1
            achieved = float(1.0 - 2.0 * _st.norm.cdf((0.5 - mn / 2) / sigma))
        else:
            achieved = float(ci_level)
    ql = mn - qu
    return HodgesLehmann(est, float(diffs[qu - 1]), float(diffs[ql]), achieved)


def hodges_lehmann(x: Sequence[float], y: Sequence[float], ci_level: float = 0.95) -> tuple[float, float, float]:
    """Hodges–Lehmann shift ``x − y`` with its distribution-free confidence interval.

    The estimate is the median of all pairwise differences ``x_i − y_j``; the
    interval uses the order statistics of those differences at the Mann–Whitney
    critical value (exact when ``len(x), len(y) < 50`` and no tied differences,
    normal approximation otherwise), as R ``wilcox.test(conf.int=TRUE)``.
    The level the interval actually achieves (small samples cannot reach 95 %) is
    returned by :func:`hodges_lehmann_ci`.

    Returns
    -------
    tuple of float
        ``(estimate, ci_low, ci_high)``.
    """
    r = hodges_lehmann_ci(x, y, ci_level)
    return r.estimate, r.ci_low, r.ci_high


def _empty_row(group, versus, test, ci_level, reason, **kw) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS, np.nan)
    row.update(
        group=group,
        versus=versus,
        test=test,
        ci_level=ci_level,
        p_adjust_method="",
        status="not_tested",
        reason=reason,
    )
    row.update(kw)
    return row


def _two_sample_t(g: pd.DataFrame, ctrl: pd.DataFrame, equal_var: bool, ci_level: float) -> pd.DataFrame:
    """Vectorised t-tests between aligned summary rows (n, mean, var)."""
    n1, m1, v1 = g["n"].to_numpy(float), g["mean"].to_numpy(float), g["var"].to_numpy(float)
    n2, m2, v2 = ctrl["n"].to_numpy(float), ctrl["mean"].to_numpy(float), ctrl["var"].to_numpy(float)
    diff = m1 - m2
    with np.errstate(divide="ignore", invalid="ignore"):
        if equal_var:
            df = n1 + n2 - 2
            sp2 = ((n1 - 1) * v1 + (n2 - 1) * v2) / df
            se = np.sqrt(sp2 * (1 / n1 + 1 / n2))
        else:
            a, b = v1 / n1, v2 / n2
            se = np.sqrt(a + b)
            df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
        t = diff / se
        p = 2 * _st.t.sf(np.abs(t), df)
        h = _st.t.ppf(0.5 + ci_level / 2, df) * se
    out = pd.DataFrame(
        {
            "estimate": diff,
            "ci_low": diff - h,
            "ci_high": diff + h,
            "statistic": t,
            "df": df,
            "p_value": p,
        }
    )
    bad = (n1 < 2) | (n2 < 2) | ~(se > 0)
    out["status"] = np.where(bad, "not_tested", "ok")
    out["reason"] = np.where(
        (n1 < 2) | (n2 < 2),
        "fewer than 2 values in a group",
        np.where(~(se > 0), "zero variance in both groups", ""),
    )
    out.loc[bad, ["estimate", "ci_low", "ci_high", "statistic", "df", "p_value"]] = np.nan
    out.loc[bad & (n1 >= 1) & (n2 >= 1), "estimate"] = diff[bad & (n1 >= 1) & (n2 >= 1)]
    return out


def compare_groups(
    data: pd.DataFrame,
    value: str,
    group: str,
    *,
    control: str | None = None,
    test: str = "welch",
    by: str | Sequence[str] | None = None,
    p_adjust_method: str = "holm",
    ci_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Compare the values of groups, optionally within levels of ``by``.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per observation (e.g. per biological replicate).
    value : str
        Numeric column compared (NaN values are dropped).
    group : str
        Column naming the group of each row.
    control : str, optional
        The group every other group is compared with (``welch``, ``student``,
        ``mann_whitney``, ``dunnett``). Without it, all pairs are compared
        (``dunnett`` requires it; ``tukey`` and ``anova`` ignore it).
    test : {'welch', 'student', 'mann_whitney', 'anova', 'tukey', 'dunnett'}
        See the module documentation.
    by : str or list of str, optional
        Columns (e.g. ``'target'``) within whose levels the tests are run separately.
    p_adjust_method : {'holm', 'bh', 'none'}
        Correction applied across the comparisons of each ``by`` level
        (Tukey and Dunnett p-values are already family-wise adjusted and are copied).
    ci_level : float
        Confidence level of ``ci_low``/``ci_high``.
    seed : int
        Seed of the quasi-Monte-Carlo integration used by Dunnett's test.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then :data:`RESULT_COLUMNS`.

    Raises
    ------
    AnalysisError
        Unknown test, missing column, or ``control`` not among the groups.
    """
    if test not in TESTS:
        raise AnalysisError("unknown statistical test", expected=f"one of {TESTS}", found=repr(test))
    if p_adjust_method not in _P_METHODS:
        raise AnalysisError(
            "unknown p-value adjustment", expected=f"one of {_P_METHODS}", found=repr(p_adjust_method)
        )
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for c in [value, group, *by_cols]:
        if c not in data.columns:
            raise AnalysisError(
                "column missing for group comparison", column=c, expected=f"a column '{c}'", found=str(list(data.columns))
            )
    if test == "dunnett" and control is None:
        raise AnalysisError("Dunnett's test needs a control group", expected="control='<group>'", found="None")
    d = data.loc[data[value].notna(), [*by_cols, group, value]].copy()
    d[value] = d[value].astype(float)
    all_groups = list(pd.unique(data[group]))
    if control is not None and control not in all_groups:
        raise AnalysisError(
            "control group not found", sample=str(control), expected=f"one of {all_groups}", found=repr(control)
        )
    if test in ("welch", "student"):
        res = _t_tests(d, value, group, by_cols, control, all_groups, test, ci_level)
    else:
        pieces = []
        levels = [((), d)] if not by_cols else list(d.groupby(by_cols, sort=False))
        for key, sub in levels:
            key = key if isinstance(key, tuple) else (key,)
            rows = _other_test(sub, value, group, control, all_groups, test, ci_level, seed)
            for r in rows:
                r.update(dict(zip(by_cols, key, strict=False)))
            pieces.extend(rows)
        res = pd.DataFrame(pieces, columns=[*by_cols, *RESULT_COLUMNS])
    # multiple-testing correction within each by-level
    res["p_adjust_method"] = ""
    res["p_adjusted"] = np.nan
    if len(res):
        if test in ("tukey", "dunnett", "anova"):
            res["p_adjusted"] = res["p_value"]
            res["p_adjust_method"] = {"tukey": "tukey_hsd", "dunnett": "dunnett", "anova": "none"}[test]
        else:
            keys = res[by_cols].astype(str).agg("|".join, axis=1) if by_cols else pd.Series("", index=res.index)
            adj = np.full(len(res), np.nan)
            for _, idx in res.groupby(keys.to_numpy(), sort=False).indices.items():
                adj[idx] = p_adjust(res["p_value"].to_numpy()[idx], p_adjust_method)
            res["p_adjusted"] = adj
            res["p_adjust_method"] = p_adjust_method
    res.loc[res["status"] != "ok", "p_adjust_method"] = ""
    if res.empty:
        return empty_result(by_cols)
    res = res[[*by_cols, *RESULT_COLUMNS]].reset_index(drop=True)
    # text columns as declared (pandas 3 would infer its str dtype): the same dtypes as an empty result
    text = [*by_cols, *(c for c in RESULT_COLUMNS if RESULT_DTYPES[c] == "object")]
    return res.astype(dict.fromkeys(text, object))


def _pairs(groups: list, control) -> list[tuple]:
    if control is not None:
        return [(g, control) for g in groups if g != control]
    return [(groups[i], groups[j]) for j in range(len(groups)) for i in range(j + 1, len(groups))]


def _t_tests(d, value, group, by_cols, control, all_groups, test, ci_level) -> pd.DataFrame:
    keys = [*by_cols, group]
    summ = d.groupby(keys, sort=False, observed=True)[value].agg(["count", "mean", "var"])
    summ = summ.rename(columns={"count": "n"}).reset_index()
    levels = summ[by_cols].drop_duplicates() if by_cols else pd.DataFrame(index=[0])
    pairs = _pairs(all_groups, control)
    frames = []
    for g, c in pairs:
        base = levels.copy()
        base["group"], base["versus"] = g, c
        left = summ.loc[summ[group] == g].drop(columns=group)
        right = summ.loc[summ[group] == c].drop(columns=group)
        if by_cols:
            base = base.merge(left, on=by_cols, how="left").merge(right, on=by_cols, how="left", suffixes=("", "_versus"))
        else:
            lr = left.reset_index(drop=True).join(right.reset_index(drop=True), rsuffix="_versus")
            if lr.empty:
                lr = pd.DataFrame({"n": [0], "mean": [np.nan], "var": [np.nan], "n_versus": [0], "mean_versus": [np.nan], "var_versus": [np.nan]})
            base = pd.concat([base.reset_index(drop=True), lr], axis=1)
        for col in ("n", "n_versus"):
            base[col] = base[col].fillna(0).astype(int)
        t = _two_sample_t(
            base[["n", "mean", "var"]],
            base[["n_versus", "mean_versus", "var_versus"]].set_axis(["n", "mean", "var"], axis=1),
            equal_var=(test == "student"),
            ci_level=ci_level,
        )
        base = pd.concat([base.reset_index(drop=True), t], axis=1)
        frames.append(base)
    if not frames:
        return pd.DataFrame(columns=[*by_cols, *RESULT_COLUMNS])
    res = pd.concat(frames, ignore_index=True)
    res["test"] = test
    res["ci_level"] = ci_level
    return res


def _other_test(sub, value, group, control, all_groups, test, ci_level, seed) -> list[dict]:
    vals = {g: sub.loc[sub[group] == g, value].to_numpy(float) for g in all_groups}
    rows: list[dict] = []

    def base_row(g, c, reason=""):
        x, y = vals[g], vals[c] if c is not None else np.array([])
        return _empty_row(
            g,
            c if c is not None else "",
            test,
            ci_level,
            reason,
            n=x.size,
            n_versus=y.size,
            mean=x.mean() if x.size else np.nan,
            mean_versus=y.mean() if y.size else np.nan,
        )

    if test == "mann_whitney":
        for g, c in _pairs(all_groups, control):
            row = base_row(g, c)
            x, y = vals[g], vals[c]
            if x.size < 1 or y.size < 1:
                row["reason"] = "a group has no values"
            else:
                exact = x.size < 50 and y.size < 50 and np.unique(np.concatenate([x, y])).size == x.size + y.size
                method = "exact" if exact else "asymptotic"
                r = _st.mannwhitneyu(x, y, alternative="two-sided", method=method)
                hl = hodges_lehmann_ci(x, y, ci_level)
                row.update(estimate=hl.estimate, ci_low=hl.ci_low, ci_high=hl.ci_high, statistic=float(r.statistic), p_value=float(r.pvalue))
                row.update(status="ok", reason="", ci_level=hl.ci_level)
                if hl.ci_level < ci_level - 1e-9:
                    full = hl.ci_low == x.min() - y.max() and hl.ci_high == x.max() - y.min()
                    row["reason"] = (
                        f"confidence level {ci_level:g} not reachable with {x.size} vs {y.size} values: "
                        f"achieved level {hl.ci_level:.4f} (interval [{hl.ci_low:.4g}, {hl.ci_high:.4g}]"
                        + (" = the full range of the pairwise differences)" if full else ")")
                    )
            rows.append(row)
        return rows
    present = [g for g in all_groups if vals[g].size >= 1]
    usable = [g for g in present if vals[g].size >= 2]
    if test == "anova":
        row = _empty_row("(all)", "", test, ci_level, "", n=sum(vals[g].size for g in present), n_versus=np.nan)
        if len(usable) < 2:
            row["reason"] = "fewer than 2 groups with 2 or more values"
        else:
            r = _st.f_oneway(*[vals[g] for g in present])
            k, n = len(present), sum(vals[g].size for g in present)
            row.update(
                statistic=float(r.statistic), df=float(n - k), p_value=float(r.pvalue), status="ok", reason=ANOVA_REASON
            )
            if not np.isfinite(row["statistic"]):
                row.update(status="not_tested", reason="zero variance within groups", p_value=np.nan)
        return [row]
    if test == "tukey":
        if len(usable) < 2 or len(usable) != len(present):
            for g, c in _pairs(all_groups, None):
                rows.append(base_row(g, c, "Tukey HSD needs 2 or more values in every group"))
            return rows
        r = _st.tukey_hsd(*[vals[g] for g in present])
        ci = r.confidence_interval(ci_level)
        idx = {g: i for i, g in enumerate(present)}
        for g, c in _pairs(all_groups, None):
            row = base_row(g, c)
            if g in idx and c in idx:
                i, j = idx[g], idx[c]
                row.update(
                    estimate=float(vals[g].mean() - vals[c].mean()),
                    ci_low=float(ci.low[i, j]),
                    ci_high=float(ci.high[i, j]),
                    statistic=float(r.statistic[i, j]),
                    p_value=float(r.pvalue[i, j]),
                    status="ok",
                    reason="",
                )
            rows.append(row)
        return rows
    # dunnett
    others = [g for g in present if g != control]
    if vals[control].size < 2 or not others or any(vals[g].size < 2 for g in others):
        for g, c in _pairs(all_groups, control):
            rows.append(base_row(g, c, "Dunnett's test needs 2 or more values in the control and every group"))
        return rows
    r = _st.dunnett(*[vals[g] for g in others], control=vals[control], rng=np.random.default_rng(seed))
    ci = r.confidence_interval(ci_level)
    for g, c in _pairs(all_groups, control):
        row = base_row(g, c)
        if g in others:
            i = others.index(g)
            row.update(
                estimate=float(vals[g].mean() - vals[control].mean()),
                ci_low=float(ci.low[i]),
                ci_high=float(ci.high[i]),
                statistic=float(r.statistic[i]),
                p_value=float(r.pvalue[i]),
                status="ok",
                reason="",
            )
        else:
            row["reason"] = "group has no values"
        rows.append(row)
    return rows
