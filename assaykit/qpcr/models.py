"""Linear models of ΔCq (Yuan et al. 2006; R ``pcr::pcr_test(test='lm')``).

:func:`ddct_lm` fits, per target gene, an ordinary least-squares model of the
per-sample ΔCq (``response='dcq'``)::

    ΔCq_s = x_s · b + e_s,   e_s ~ N(0, σ²)

with ``x_s`` = intercept, one indicator per non-control group (treatment coding, so
the group coefficient is the adjusted ΔΔCq of that group against the control),
covariates, and group × covariate interactions — or an explicit per-sample design
matrix (R's ``lm(ΔCq ~ model_matrix + 0)``). ``b = (XᵀX)⁻¹Xᵀy``,
``σ̂² = RSS/(n − p)``, ``SE(b_j) = √(σ̂² [(XᵀX)⁻¹]_jj)``, ``t = b_j/SE``, two-sided
``p`` from Student's t with ``n − p`` df, CI ``b_j ± t_{1−α/2, n−p} SE``; fold change
``2^−b_j`` with CI ``[2^−ci_high, 2^−ci_low]``.

``response='cq'`` is Yuan's multiple-regression model: the target's and each
reference gene's (efficiency-corrected) Cq are modelled with the same design, fully
interacted with the gene, ``Cq_{s,g} = x_s · b_g + e`` with one pooled σ²
(target and reference wells treated as independent measurements, as for separate
tubes). The reported coefficient is ``b_target − mean_r b_r`` with variance
``σ̂² ([(X_tᵀX_t)⁻¹]_jj + Σ_r [(X_rᵀX_r)⁻¹]_jj / k²)`` and ``Σ n_g − p(1 + k)`` df.

Factor covariates use sum-to-zero (deviation) coding, so that with interactions a
group coefficient is the unweighted average over the covariate's levels of the
group difference (SAS ``ESTIMATE`` / LS-means convention): on Yuan's data the
saturated ``gene × treatment × dilution`` Cq model gives ΔΔCq −0.6848 with 95 % CI
−0.9262 … −0.4435, the paper's regression / ANCOVA interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import StandardCurveResult
from assaykit.qpcr.ddct import ddct
from assaykit.qpcr.settings import DdctSettings, QcSettings, accepts_settings

__all__ = ["LM_COLUMNS", "RESPONSES", "ddct_lm"]

#: Columns of the table returned by :func:`ddct_lm`.
LM_COLUMNS: tuple[str, ...] = (
    "target",
    "term",
    "group",
    "estimate",
    "se",
    "t",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "fold_change",
    "fold_change_ci_low",
    "fold_change_ci_high",
    "n_samples",
    "response",
    "status",
    "reason",
)

#: What :func:`ddct_lm` models.
RESPONSES: tuple[str, ...] = ("dcq", "cq")


def _per_sample(data: pd.DataFrame, sample_col: str, column: str) -> pd.Series:
    """One value of ``column`` per sample; error if a sample carries several."""
    if column not in data.columns:
        raise AnalysisError("covariate column missing", column=column, expected=f"a column '{column}'", found=str(list(data.columns)))
    sub = data[[sample_col, column]].copy()
    sub[sample_col] = sub[sample_col].astype(str)
    n_values = sub.groupby(sample_col, sort=False)[column].nunique(dropna=False)
    if (n_values > 1).any():
        s = str(n_values.index[n_values > 1][0])
        vals = sub.loc[sub[sample_col] == s, column].unique()
        raise AnalysisError(
            "covariate differs between wells of one sample",
            sample=s,
            column=column,
            expected="one value per biological sample",
            found=", ".join(map(str, vals[:3])),
        )
    return sub.drop_duplicates(sample_col).set_index(sample_col)[column]


def _build_design(
    data: pd.DataFrame,
    samples: list[str],
    sample_group: dict[str, str],
    control: str,
    *,
    group_col: str,
    sample_col: str,
    covariates: Sequence[str],
    interactions: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per-sample design matrix and ``{term: group level}`` for the group terms."""
    levels = [g for g in dict.fromkeys(sample_group[s] for s in samples) if g != control]
    cols: dict[str, np.ndarray] = {"intercept": np.ones(len(samples))}
    group_terms: dict[str, str] = {}
    gcols: dict[str, np.ndarray] = {}
    for lvl in levels:
        name = f"{group_col}[{lvl}]"
        gcols[name] = np.array([sample_group[s] == lvl for s in samples], dtype=float)
        group_terms[name] = lvl
    cols.update(gcols)
    unknown = [c for c in interactions if c not in covariates]
    if unknown:
        raise AnalysisError(
            "interaction with a covariate that is not in the model",
            column=unknown[0],
            expected=f"one of covariates={list(covariates)}",
            found=repr(unknown[0]),
        )
    for cov in covariates:
        values = _per_sample(data, sample_col, cov).reindex(samples)
        ccols: dict[str, np.ndarray] = {}
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            x = values.to_numpy(dtype=float)
            if not np.isfinite(x).all():
                s = samples[int(np.flatnonzero(~np.isfinite(x))[0])]
                raise AnalysisError("covariate value missing", sample=s, column=cov, expected="a finite number", found=str(values[s]))
            ccols[cov] = x
        else:
            labels = values.astype(str).to_numpy(dtype=object)
            lv = list(dict.fromkeys(labels))
            for lvl in lv[:-1]:  # sum-to-zero coding against the last level
                ccols[f"{cov}[{lvl}]"] = (labels == lvl).astype(float) - (labels == lv[-1]).astype(float)
        cols.update(ccols)
        if cov in interactions:
            for gname, g in gcols.items():
                for cname, c in ccols.items():
                    cols[f"{gname}:{cname}"] = g * c
    return pd.DataFrame(cols, index=pd.Index(samples, name=sample_col)), group_terms


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Coefficients, (XᵀX)⁻¹, residual sum of squares, residual df."""
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ (X.T @ y)
    r = y - X @ b
    return b, xtx_inv, float(r @ r), X.shape[0] - X.shape[1]


@accepts_settings(DdctSettings, QcSettings)
def ddct_lm(
    data: pd.DataFrame,
    reference: str | Sequence[str] | None = None,
    control: str | None = None,
    *,
    group_col: str = "group",
    sample_col: str = "sample",
    target_col: str = "target",
    covariates: Sequence[str] = (),
    interactions: Sequence[str] = (),
    design: pd.DataFrame | None = None,
    response: str = "dcq",
    method: str | None = "livak",
    efficiency: Mapping[str, float] | StandardCurveResult | None = None,
    undetermined: str | float = "exclude",
    outlier: str | None = None,
    outlier_threshold: float | None = None,
    ntc_margin: float = 5.0,
    tm_tolerance: float = 1.0,
    instrument_flags: str = "flag",
    tasks: tuple[str, ...] = ("unknown",),
    conf_level: float = 0.95,
    settings: DdctSettings | QcSettings | None = None,
) -> pd.DataFrame:
    """ΔΔCq by linear regression on ΔCq (or on Cq), with covariates.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table with a ``group_col`` column (and the covariate columns).
        Technical replicates are averaged and QC'd exactly as in
        :func:`assaykit.qpcr.ddct` (same ``undetermined``, ``outlier`` … ``tasks``).
    reference : str or list of str
        Reference gene(s); with several, ΔCq uses their mean (efficiency-corrected) Cq.
        Required, here or in ``settings``.
    control : str
        Control group: the baseline of the group terms. Required, here or in ``settings``.
    group_col, sample_col, target_col : str
        Columns naming the condition, the biological sample and the gene.
    covariates : sequence of str
        Per-sample columns added to the model (numeric as is; others as factors,
        sum-to-zero coded). Each must hold one value per sample.
    interactions : sequence of str
        Covariates whose effect differs by group (adds group × covariate terms).
    design : pandas.DataFrame, optional
        Explicit design matrix, one row per sample (index = sample names), numeric
        columns = terms, used as given (no intercept added, R ``lm(y ~ X + 0)``).
        Excludes ``covariates``/``interactions``.
    response : {'dcq', 'cq'}
        ``dcq``: model the per-sample ΔCq (R pcr). ``cq``: model target and
        reference Cq with a gene-specific copy of the design and pooled variance
        (Yuan 2006 multiple regression); see the module notes.
    method, efficiency, undetermined, outlier, outlier_threshold, ntc_margin, tm_tolerance, instrument_flags, tasks
        As in :func:`assaykit.qpcr.ddct` (they decide which wells and samples enter the model).
    conf_level : float
        Confidence level of the intervals (default 0.95).
    settings : DdctSettings or QcSettings, optional
        Options as one object: from a :class:`DdctSettings` the reference, control,
        columns, ``method`` and QC options are used (its test and error options do not
        apply to a linear model); keywords given explicitly win over it (rule in
        :mod:`assaykit.qpcr.settings`).

    Returns
    -------
    pandas.DataFrame
        One row per target of interest × model term, columns :data:`LM_COLUMNS`:
        ``estimate`` (ΔΔCq for a group term ``group[level]``, whose level is in
        ``group``; '' for other terms), ``se``, ``t``, ``df``, ``p_value``,
        ``ci_low``/``ci_high``, ``fold_change`` = 2^−estimate and its CI,
        ``n_samples`` (samples with a ΔCq / a target Cq in the fit),
        ``status`` ('ok' or 'not_estimable', NaN numbers) and ``reason``.

    Raises
    ------
    AnalysisError
        Unknown response, bad ``conf_level``, a covariate missing, non-numeric or
        not constant within a sample, a design lacking a sample, both ``design``
        and covariates given; and every error of :func:`assaykit.qpcr.ddct`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from assaykit.schema import qpcr_table
    >>> t = qpcr_table({"well": [f"A{i}" for i in range(1, 9)], "sample": [f"s{i // 2}" for i in range(8)],
    ...                 "target": ["IL6", "GAPDH"] * 4, "cq": [25, 20, 25.2, 20.1, 23, 20, 23.1, 20.2]})
    >>> t["group"] = ["veh"] * 4 + ["drug"] * 4
    >>> r = ddct_lm(t, "GAPDH", "veh")
    >>> r.loc[r["term"] == "group[drug]", ["estimate", "df"]].round(3).to_numpy().tolist()
    [[-2.1, 2.0]]
    """
    if response not in RESPONSES:
        raise AnalysisError("unknown model response", expected=f"one of {RESPONSES}", found=repr(response))
    if not 0.0 < float(conf_level) < 1.0:
        raise AnalysisError("confidence level out of range", expected="0 < conf_level < 1", found=repr(conf_level))
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    interactions = [interactions] if isinstance(interactions, str) else list(interactions)
    if design is not None and (covariates or interactions):
        raise AnalysisError(
            "design given together with covariates",
            expected="either design= (a full model matrix) or covariates=/interactions=",
            found=f"design and covariates={covariates}, interactions={interactions}",
        )
    refs = [reference] if isinstance(reference, str) else list(reference or [])
    res = ddct(
        data,
        refs,
        control,
        group_col=group_col,
        sample_col=sample_col,
        target_col=target_col,
        method=method,
        efficiency=efficiency,
        undetermined=undetermined,
        outlier=outlier,
        outlier_threshold=outlier_threshold,
        ntc_margin=ntc_margin,
        tm_tolerance=tm_tolerance,
        instrument_flags=instrument_flags,
        tasks=tasks,
        test=None,
    )
    smp = res.samples
    samples_all = list(dict.fromkeys(smp[sample_col].astype(str)))
    sample_group = dict(zip(smp[sample_col].astype(str), smp[group_col].astype(str), strict=False))
    if design is None:
        X_all, group_terms = _build_design(
            data,
            samples_all,
            sample_group,
            str(control),
            group_col=group_col,
            sample_col=sample_col,
            covariates=covariates,
            interactions=interactions,
        )
    else:
        X_all, group_terms = _check_design(design, samples_all), {}
    terms = list(X_all.columns.astype(str))
    rows: list[dict] = []
    targets = list(dict.fromkeys(smp.loc[~smp["is_reference"], target_col].astype(str)))
    for target in targets:
        sub = smp.loc[(smp[target_col].astype(str) == target) & (smp["status"] == "ok")]
        if response == "dcq":
            ok = sub.loc[np.isfinite(sub["dcq"].to_numpy(dtype=float))]
            s_ids = ok[sample_col].astype(str).tolist()
            fit = _fit_dcq(X_all.loc[s_ids].to_numpy(dtype=float), ok["dcq"].to_numpy(dtype=float))
        else:
            ok = sub.loc[np.isfinite(sub["ecq_mean"].to_numpy(dtype=float))]
            s_ids = ok[sample_col].astype(str).tolist()
            blocks = [(X_all.loc[s_ids].to_numpy(dtype=float), ok["ecq_mean"].to_numpy(dtype=float))]
            for r in refs:
                rr = smp.loc[(smp[target_col].astype(str) == r) & np.isfinite(smp["ecq_mean"].to_numpy(dtype=float))]
                rr = rr.loc[rr[sample_col].astype(str).isin(set(s_ids))]
                blocks.append((X_all.loc[rr[sample_col].astype(str)].to_numpy(dtype=float), rr["ecq_mean"].to_numpy(dtype=float)))
            fit = _fit_cq(blocks)
        est, se, df, reason = fit
        for j, term in enumerate(terms):
            rows.append(_row(target, term, group_terms.get(term, ""), est, se, df, j, reason, len(s_ids), response, conf_level))
    out = pd.DataFrame(rows, columns=list(LM_COLUMNS))
    return out.astype(
        {
            "target": object,
            "term": object,
            "group": object,
            "estimate": "float64",
            "se": "float64",
            "t": "float64",
            "df": "float64",
            "p_value": "float64",
            "ci_low": "float64",
            "ci_high": "float64",
            "fold_change": "float64",
            "fold_change_ci_low": "float64",
            "fold_change_ci_high": "float64",
            "n_samples": "int64",
            "response": object,
            "status": object,
            "reason": object,
        }
    )


def _check_design(design: pd.DataFrame, samples: list[str]) -> pd.DataFrame:
    if not isinstance(design, pd.DataFrame):
        raise AnalysisError(
            "design must be a DataFrame", expected="a DataFrame indexed by sample, one numeric column per term", found=type(design).__name__
        )
    X = design.copy()
    X.index = X.index.astype(str)
    missing = [s for s in samples if s not in X.index]
    if missing:
        raise AnalysisError("sample missing from the design matrix", sample=missing[0], expected="one design row per sample", found=f"{len(X)} rows")
    bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if bad:
        raise AnalysisError("design column is not numeric", column=str(bad[0]), expected="numbers (build factors as indicator columns)", found=str(X[bad[0]].dtype))
    if X.index.duplicated().any():
        raise AnalysisError("design matrix has a sample twice", sample=str(X.index[X.index.duplicated()][0]), expected="one row per sample", found="duplicate index")
    return X.loc[samples].astype(float)


def _fit_dcq(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, str]:
    p = X.shape[1]
    if X.shape[0] <= p:
        return np.full(p, np.nan), np.full(p, np.nan), np.nan, f"{X.shape[0]} samples for {p} model terms (need more samples than terms)"
    if np.linalg.matrix_rank(X) < p:
        return np.full(p, np.nan), np.full(p, np.nan), np.nan, "design matrix is rank deficient for the samples with a ΔCq"
    b, xtx_inv, rss, df = _ols(X, y)
    return b, np.sqrt(_residual_var(rss, df, y) * np.diag(xtx_inv)), float(df), ""


def _residual_var(rss: float, df: int, y: np.ndarray) -> float:
    """RSS/df, or 0 when the residual SD is at rounding level (an exact fit)."""
    s2 = rss / df
    return 0.0 if np.sqrt(s2) <= 1e-10 * max(1.0, float(np.max(np.abs(y)))) else s2


def _fit_cq(blocks: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, float, str]:
    p = blocks[0][0].shape[1]
    k = len(blocks) - 1
    nan = (np.full(p, np.nan), np.full(p, np.nan), np.nan)
    for X, _ in blocks:
        if X.shape[0] <= p or np.linalg.matrix_rank(X) < p:
            return (*nan, "design matrix is rank deficient (or too few samples) for one of the genes")
    fits = [_ols(X, y) for X, y in blocks]
    df = sum(f[3] for f in fits)
    s2 = _residual_var(sum(f[2] for f in fits), df, np.concatenate([y for _, y in blocks]))
    b = fits[0][0] - sum(f[0] for f in fits[1:]) / k
    var = np.diag(fits[0][1]) + sum(np.diag(f[1]) for f in fits[1:]) / k**2
    return b, np.sqrt(s2 * var), float(df), ""


def _row(target, term, group, est, se, df, j, reason, n, response, conf_level) -> dict:
    b, s = float(est[j]), float(se[j])
    if not reason and not s > 0:
        reason = "zero residual variance (exact fit): no standard error, test or interval"
    if reason:
        tval = p = lo = hi = np.nan
    else:
        tval = b / s
        p = float(2 * _st.t.sf(abs(tval), df))
        half = float(_st.t.ppf(0.5 + float(conf_level) / 2, df)) * s
        lo, hi = b - half, b + half
    return {
        "target": target,
        "term": term,
        "group": group,
        "estimate": b,
        "se": s,
        "t": tval,
        "df": df,
        "p_value": p,
        "ci_low": lo,
        "ci_high": hi,
        "fold_change": 2.0**-b,
        "fold_change_ci_low": 2.0**-hi,
        "fold_change_ci_high": 2.0**-lo,
        "n_samples": n,
        "response": response,
        "status": "not_estimable" if reason else "ok",
        "reason": reason,
    }
