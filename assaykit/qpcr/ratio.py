"""Uncertainty of the efficiency-corrected expression ratio: error propagation and REST.

Both functions work on reactions (one row per well × target, e.g. the canonical qPCR
table with a group column) and compare each treated group with the control group, for
every target of interest, normalised by one or more reference genes. The ratio is the
Pfaffl (2001) / REST (Pfaffl et al. 2002) ratio from mean Cq:

``R = A_t^(C̄_t − S̄_t) / Π_r A_r^((C̄_r − S̄_r)/k)``

with ``A = 1 + E`` the amplification factor, ``C̄``/``S̄`` the mean Cq in the control
and the treated group and k reference genes (geometric mean of the references'
ratios, REST 2009; k = 1 is Pfaffl's ratio).

:func:`ratio_propagation` — first- and second-order Taylor (delta-method)
propagation of the variances of the mean Cq and of the efficiencies, as qpcR
``propagate`` (Spiess; used by ``ratiocalc``, "Prop" column):

* variables ``x``: for every gene g, ``C̄_g``, ``S̄_g`` and ``A_g`` (one efficiency per
  gene, shared by control and treated reactions), covariance ``Σ`` diagonal with
  ``var(C̄_g) = s²`` (``cq_spread='sd'``: the replicate variance, as qpcR) or ``s²/n``
  (``cq_spread='se'``: the variance of the mean) and ``var(A_g) = SE(E_g)²``;
* first order: ``mean = R(x̄)``, ``var = ∇Rᵀ Σ ∇R``;
* second order: ``mean = R + ½ tr(H Σ)``, ``var = ∇Rᵀ Σ ∇R + ½ tr(H Σ H Σ)`` with H the
  Hessian of R (exact for Gaussian inputs up to the second-order terms; JCGM 101 /
  GUM 5.1.2 note; qpcR ``propagate(second.order=TRUE)``);
* CI: ``mean ± z_(1−α/2) · sd`` (normal, as qpcR).

Derivatives are analytic: with ``h = log R = Σ_g w_g ln A_g (C̄_g − S̄_g)``
(``w_t = 1``, ``w_r = −1/k``), ``∂R/∂x = R ∂h/∂x`` and
``∂²R/∂x∂y = R (∂h/∂x ∂h/∂y + ∂²h/∂x∂y)``.

:func:`rest_randomisation` — REST (Pfaffl, Horgan & Dempfle 2002) "pair-wise fixed
reallocation randomisation test": the biological samples (each with its target and
reference Cq kept together, i.e. pair-wise fixed) are randomly reallocated to the two
groups, keeping the group sizes, and the ratio recomputed. Two-sided p-value: the
proportion of reallocations whose ``|log R|`` is at least the observed one; by
complete enumeration when the number of distinct reallocations is at most
``n_permutations`` (exact), else from ``n_permutations`` seeded random reallocations as
``(b + 1)/(N + 1)`` (Phipson & Smyth 2010; never 0), with its Monte-Carlo standard
error ``√(p(1−p)/N)``. The REST 2008 confidence interval of the ratio (qpcR
``ratiocalc`` "Perm") is the distribution of single-sample ratios
``A_t^(c_t,i − s_t,j) / Π_r A_r^((c_r,i − s_r,j)/k)`` over control sample i and treated
sample j drawn at random: here every (i, j) pair is enumerated (no sampling error) and
the interval is their 2.5 and 97.5 % quantiles (linear interpolation, R type 7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError

__all__ = ["PROPAGATION_COLUMNS", "REST_COLUMNS", "ratio_propagation", "rest_randomisation"]

PROPAGATION_COLUMNS: tuple[str, ...] = (
    "target",
    "group",
    "versus",
    "n_target",
    "n_target_versus",
    "n_reference",
    "n_reference_versus",
    "cq_spread",
    "ratio",
    "ratio_sd_first_order",
    "ci_low_first_order",
    "ci_high_first_order",
    "ratio_mean_second_order",
    "ratio_sd_second_order",
    "ci_low_second_order",
    "ci_high_second_order",
    "ci_level",
    "status",
    "reason",
)

REST_COLUMNS: tuple[str, ...] = (
    "target",
    "group",
    "versus",
    "n_samples",
    "n_samples_versus",
    "n_samples_incomplete",
    "ratio",
    "p_value",
    "p_value_method",
    "n_reallocations",
    "p_value_mc_se",
    "pair_ratio_mean",
    "pair_ratio_sd",
    "pair_ratio_median",
    "pair_ci_low",
    "pair_ci_high",
    "ci_level",
    "status",
    "reason",
)

_SPREADS = ("sd", "se")
_INT_COLS = (
    "n_target",
    "n_target_versus",
    "n_reference",
    "n_reference_versus",
    "n_samples",
    "n_samples_versus",
    "n_samples_incomplete",
    "n_reallocations",
)
_STR_COLS = ("target", "group", "versus", "cq_spread", "p_value_method", "status", "reason")


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(columns))
    for c in columns:
        if c in _INT_COLS:
            out[c] = out[c].astype("int64")
        elif c in _STR_COLS:
            out[c] = out[c].astype(object)
        else:
            out[c] = out[c].astype(float)
    return out


def _prepare(
    data: pd.DataFrame,
    reference: str | Sequence[str],
    control: str,
    cols: tuple[str, ...],
    efficiency: Mapping[str, float] | None,
    efficiency_se: Mapping[str, float] | None,
) -> tuple[pd.DataFrame, list[str], list[str], list[str], dict[str, float], dict[str, float]]:
    for c in cols:
        if c not in data.columns:
            raise AnalysisError(
                "column missing for the ratio analysis",
                column=c,
                expected=f"a column '{c}'",
                found=str(list(data.columns)),
            )
    dup = [c for c in cols if isinstance(data[c], pd.DataFrame)]
    if dup:
        raise AnalysisError(
            "column name appears more than once",
            column=dup[0],
            expected="unique column names",
            found=str(list(data.columns)),
        )
    target_col, group_col, value_col = cols[0], cols[1], cols[-1]
    refs = [reference] if isinstance(reference, str) else list(reference)
    if not refs:
        raise AnalysisError(
            "no reference gene given", expected="reference='<gene>' or a list", found="[]"
        )
    d = data
    if "status" in d.columns:  # DdctResult.wells / qc_wells: only used wells
        d = d.loc[d["status"] == "used"]
    v = pd.to_numeric(d[value_col], errors="coerce").astype(float)
    d = pd.DataFrame({c: d[c].astype(str).to_numpy() for c in cols if c != value_col}).assign(
        v=v.to_numpy()
    )
    d = d.loc[np.isfinite(d["v"].to_numpy())]
    genes = list(pd.unique(d[target_col]))
    for r in refs:
        if r not in genes:
            raise AnalysisError(
                "reference gene not in the data",
                target=r,
                expected=f"one of {genes}",
                found=repr(r),
            )
    groups = list(pd.unique(d[group_col]))
    if control not in groups:
        raise AnalysisError(
            "control group not in the data",
            sample=str(control),
            expected=f"one of {groups}",
            found=repr(control),
        )
    eff: dict[str, float] = {}
    se: dict[str, float] = {}
    for g in genes:
        e = 1.0 if efficiency is None else efficiency.get(g, np.nan)
        s = 0.0 if efficiency_se is None else efficiency_se.get(g, 0.0)
        try:
            e, s = float(e), float(s)
        except (TypeError, ValueError):
            raise AnalysisError(
                "efficiency is not a number",
                target=g,
                expected="a fraction in (0, 1.5]",
                found=repr(e),
            ) from None
        if not (0.0 < e <= 1.5):
            raise AnalysisError(
                "efficiency missing or outside (0, 1.5] (give fractions: 0.97, not 1.97)",
                target=g,
                expected="a fraction in (0, 1.5]",
                found=repr(e),
            )
        if not (np.isfinite(s) and s >= 0):
            raise AnalysisError(
                "efficiency standard error must be finite and ≥ 0",
                target=g,
                expected="SE ≥ 0",
                found=repr(s),
            )
        eff[g], se[g] = e, s
    toi = [g for g in genes if g not in refs]
    return d, refs, toi, [g for g in groups if g != control], eff, se


def _weights(target: str, refs: list[str]) -> tuple[list[str], np.ndarray]:
    return [target, *refs], np.array([1.0] + [-1.0 / len(refs)] * len(refs))


def _taylor(C, S, A, varC, varS, varA, w, z):
    """Gradient/Hessian of R = exp(Σ w ln A (C − S)) over x = (C, S, A) per gene."""
    m = len(w)
    lam = np.log(A)
    D = C - S
    R = float(np.exp(np.sum(w * lam * D)))
    dh = np.concatenate([w * lam, -w * lam, w * D / A])
    d2h = np.zeros((3 * m, 3 * m))
    for g in range(m):
        ia = 2 * m + g
        d2h[ia, ia] = -w[g] * D[g] / A[g] ** 2
        d2h[ia, g] = d2h[g, ia] = w[g] / A[g]
        d2h[ia, m + g] = d2h[m + g, ia] = -w[g] / A[g]
    grad = R * dh
    H = R * (np.outer(dh, dh) + d2h)
    Sig = np.diag(np.concatenate([varC, varS, varA]))
    v1 = float(grad @ Sig @ grad)
    HS = H @ Sig
    mean2 = R + 0.5 * float(np.trace(HS))
    v2 = v1 + 0.5 * float(np.trace(HS @ HS))
    sd1, sd2 = np.sqrt(v1), np.sqrt(v2)
    return R, sd1, R - z * sd1, R + z * sd1, mean2, sd2, mean2 - z * sd2, mean2 + z * sd2


def _summary(stats: pd.DataFrame, gene: str, group: str) -> pd.Series:
    """Mean, variance and count of a gene's Cq in a group (count 0 when absent)."""
    key = (gene, group)
    if key in stats.index:
        return stats.loc[key]
    return pd.Series({"mean": np.nan, "var": np.nan, "count": 0})


def ratio_propagation(
    data: pd.DataFrame,
    reference: str | Sequence[str],
    control: str,
    *,
    efficiency: Mapping[str, float] | None = None,
    efficiency_se: Mapping[str, float] | None = None,
    cq_spread: str = "se",
    ci_level: float = 0.95,
    target_col: str = "target",
    group_col: str = "group",
    value_col: str = "cq",
) -> pd.DataFrame:
    """Efficiency-aware Taylor (delta-method) error of the Pfaffl ratio (qpcR ``ratiocalc`` "Prop").

    Parameters
    ----------
    data : pandas.DataFrame
        One row per reaction with target, group and Cq columns (e.g. the canonical
        qPCR table with a group column; a ``status`` column keeps only ``used`` wells).
        Rows without a numeric Cq are ignored.
    reference : str or list of str
        Reference gene(s); several are combined by the geometric mean of their ratios.
    control : str
        Control group.
    efficiency : dict, optional
        Efficiency per gene as a fraction (0.97 = amplification factor 1.97);
        default 1 (100 %) for every gene.
    efficiency_se : dict, optional
        Standard error of each gene's efficiency (fraction units; default 0).
    cq_spread : {'se', 'sd'}
        Variance given to each mean Cq: ``'se'`` the variance of the mean (s²/n, the
        uncertainty of the ratio of means), ``'sd'`` the replicate variance s² (what
        qpcR ``propagate``/``ratiocalc`` use; describes single reactions).
    ci_level : float
        Level of the normal intervals ``mean ± z · sd``.
    target_col, group_col, value_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        :data:`PROPAGATION_COLUMNS`, one row per target of interest × treated group:
        ``ratio`` (Pfaffl ratio from mean Cq = first-order mean), its first-order SD
        and CI, the second-order mean, SD and CI; ``status`` ``ok`` or
        ``not_computed`` with a ``reason`` (a gene with fewer than 2 Cq in a group).

    Raises
    ------
    AnalysisError
        Missing column, unknown ``cq_spread``, reference or control absent,
        efficiency missing or outside (0, 1.5], negative efficiency SE.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"target": ["T"] * 4 + ["R"] * 4, "group": ["c", "c", "t", "t"] * 2,
    ...                    "cq": [25.0, 25.2, 23.0, 23.2, 20.0, 20.2, 20.0, 20.2]})
    >>> res = ratio_propagation(df, "R", "c")
    >>> float(res.loc[0, "ratio"])
    4.0
    """
    if cq_spread not in _SPREADS:
        raise AnalysisError(
            "unknown Cq spread for error propagation",
            expected=f"one of {_SPREADS}",
            found=repr(cq_spread),
        )
    if not (0.0 < ci_level < 1.0):
        raise AnalysisError(
            "confidence level must be in (0, 1)", expected="0 < ci_level < 1", found=repr(ci_level)
        )
    d, refs, toi, treated, eff, se = _prepare(
        data, reference, control, (target_col, group_col, value_col), efficiency, efficiency_se
    )
    z = float(_st.norm.ppf(0.5 + ci_level / 2))
    stats = d.groupby([target_col, group_col], sort=False)["v"].agg(["mean", "var", "count"])
    rows = []
    for t in toi:
        genes, w = _weights(t, refs)
        for grp in treated:
            row = dict.fromkeys(PROPAGATION_COLUMNS, np.nan)
            row.update(
                target=t,
                group=grp,
                versus=control,
                cq_spread=cq_spread,
                ci_level=ci_level,
                status="ok",
                reason="",
            )

            sc = [_summary(stats, g, control) for g in genes]
            ss = [_summary(stats, g, grp) for g in genes]
            row["n_target"], row["n_target_versus"] = int(ss[0]["count"]), int(sc[0]["count"])
            row["n_reference"] = int(min(s["count"] for s in ss[1:]))
            row["n_reference_versus"] = int(min(s["count"] for s in sc[1:]))
            short = [
                f"{g} in '{lab}' ({int(s['count'])})"
                for g, s_c, s_s in zip(genes, sc, ss, strict=True)
                for s, lab in ((s_c, control), (s_s, grp))
                if int(s["count"]) < 2
            ]
            if short:
                row["status"] = "not_computed"
                row["reason"] = "fewer than 2 Cq values: " + ", ".join(short)
                rows.append(row)
                continue
            C = np.array([s["mean"] for s in sc])
            S = np.array([s["mean"] for s in ss])
            nC = np.array([s["count"] for s in sc], dtype=float)
            nS = np.array([s["count"] for s in ss], dtype=float)
            varC = np.array([s["var"] for s in sc])
            varS = np.array([s["var"] for s in ss])
            if cq_spread == "se":
                varC, varS = varC / nC, varS / nS
            A = np.array([1.0 + eff[g] for g in genes])
            varA = np.array([se[g] ** 2 for g in genes])
            vals = _taylor(C, S, A, varC, varS, varA, w, z)
            for k, val in zip(
                (
                    "ratio",
                    "ratio_sd_first_order",
                    "ci_low_first_order",
                    "ci_high_first_order",
                    "ratio_mean_second_order",
                    "ratio_sd_second_order",
                    "ci_low_second_order",
                    "ci_high_second_order",
                ),
                vals,
                strict=True,
            ):
                row[k] = float(val)
            rows.append(row)
    return _frame(rows, PROPAGATION_COLUMNS)


def rest_randomisation(
    data: pd.DataFrame,
    reference: str | Sequence[str],
    control: str,
    *,
    efficiency: Mapping[str, float] | None = None,
    n_permutations: int = 10000,
    seed: int = 0,
    ci_level: float = 0.95,
    target_col: str = "target",
    group_col: str = "group",
    sample_col: str = "sample",
    value_col: str = "cq",
) -> pd.DataFrame:
    """REST pair-wise fixed reallocation randomisation test and REST CI of the ratio.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per reaction with target, group, sample and Cq columns. A sample's
        Cq for a gene is the mean of its reactions; target and reference values of
        the same sample stay together when samples are reallocated. Samples lacking
        the target or a reference are left out (counted in ``n_samples_incomplete``).
    reference : str or list of str
        Reference gene(s) (geometric mean of their ratios).
    control : str
        Control group.
    efficiency : dict, optional
        Efficiency per gene as a fraction; default 1 (100 %).
    n_permutations : int
        Number of random reallocations (default 10,000) when complete enumeration
        would need more; the Monte-Carlo SE of p is at most ``0.5/√N`` (0.005).
    seed : int
        Seed of the random reallocations (``numpy.random.default_rng``).
    ci_level : float
        Level of the quantile interval of the single-sample ratios.
    target_col, group_col, sample_col, value_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        :data:`REST_COLUMNS`, one row per target of interest × treated group:
        ``ratio`` (from mean Cq), two-sided ``p_value``, ``p_value_method``
        (``exact`` or ``monte_carlo``), ``n_reallocations``, ``p_value_mc_se`` (0 when
        exact), the mean, SD, median and quantile interval of the single-sample
        ratios (``pair_*``), ``status`` (``ok``/``not_computed``) and ``reason``.

    Raises
    ------
    AnalysisError
        Missing column, reference or control absent, bad efficiency,
        ``n_permutations`` < 100.
    """
    if int(n_permutations) < 100:
        raise AnalysisError(
            "too few random reallocations",
            expected="n_permutations ≥ 100",
            found=repr(n_permutations),
        )
    if not (0.0 < ci_level < 1.0):
        raise AnalysisError(
            "confidence level must be in (0, 1)", expected="0 < ci_level < 1", found=repr(ci_level)
        )
    d, refs, toi, treated, eff, _ = _prepare(
        data, reference, control, (target_col, group_col, sample_col, value_col), efficiency, None
    )
    per = d.groupby([sample_col, group_col, target_col], sort=False)["v"].mean()
    wide = per.unstack(target_col)
    rng = np.random.default_rng(seed)
    alpha = 1.0 - ci_level
    rows = []
    for t in toi:
        genes, w = _weights(t, refs)
        coef = w * np.log2(np.array([1.0 + eff[g] for g in genes]))  # log2 R = Σ coef (C − S)
        sub = wide.reindex(columns=genes)
        for grp in treated:
            row = dict.fromkeys(REST_COLUMNS, np.nan)
            row.update(
                target=t,
                group=grp,
                versus=control,
                ci_level=ci_level,
                status="ok",
                reason="",
                p_value_method="",
            )
            gl = sub.index.get_level_values(group_col)
            both = sub.loc[(gl == control) | (gl == grp)]
            complete = both.notna().all(axis=1).to_numpy()
            row["n_samples_incomplete"] = int((~complete).sum())
            xc = both.loc[complete & (both.index.get_level_values(group_col) == control)].to_numpy(
                dtype=float
            )
            xs = both.loc[complete & (both.index.get_level_values(group_col) == grp)].to_numpy(
                dtype=float
            )
            nc, ns = len(xc), len(xs)
            row["n_samples"], row["n_samples_versus"], row["n_reallocations"] = ns, nc, 0
            if nc < 2 or ns < 2:
                row["status"] = "not_computed"
                row["reason"] = (
                    f"fewer than 2 complete samples (target and every reference): '{control}' {nc}, '{grp}' {ns}"
                )
                rows.append(row)
                continue
            yc, ys = xc @ coef, xs @ coef  # per-sample log2 contribution
            obs = yc.mean() - ys.mean()
            row["ratio"] = float(2.0**obs)
            pooled = np.concatenate([yc, ys])
            n = nc + ns
            total = comb(n, nc)
            tol = 1e-9 * max(1.0, abs(obs))
            if total <= n_permutations:
                idx = np.array(list(combinations(range(n), nc)), dtype=np.int64)
                sc = pooled[idx].sum(axis=1)
                stat = sc / nc - (pooled.sum() - sc) / ns
                b = int(np.sum(np.abs(stat) >= abs(obs) - tol))
                p = b / total
                row.update(
                    p_value=p, p_value_method="exact", n_reallocations=int(total), p_value_mc_se=0.0
                )
            else:
                N = int(n_permutations)
                perm = np.argsort(rng.random((N, n)), axis=1)[:, :nc]
                sc = pooled[perm].sum(axis=1)
                stat = sc / nc - (pooled.sum() - sc) / ns
                b = int(np.sum(np.abs(stat) >= abs(obs) - tol))
                p = (b + 1) / (N + 1)
                row.update(
                    p_value=p,
                    p_value_method="monte_carlo",
                    n_reallocations=N,
                    p_value_mc_se=float(np.sqrt(p * (1 - p) / N)),
                )
            pair = 2.0 ** (yc[:, None] - ys[None, :]).ravel()
            row["pair_ratio_mean"] = float(pair.mean())
            row["pair_ratio_sd"] = float(pair.std(ddof=1))
            row["pair_ratio_median"] = float(np.median(pair))
            row["pair_ci_low"], row["pair_ci_high"] = (
                float(q) for q in np.quantile(pair, [alpha / 2, 1 - alpha / 2])
            )
            rows.append(row)
    return _frame(rows, REST_COLUMNS)
