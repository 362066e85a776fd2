"""Reference-gene stability: geNorm (Vandesompele 2002) and NormFinder (Andersen 2004).

Only the samples to be normalised are scored: by default wells whose ``task`` is
not ``'unknown'`` (standards, NTC, no-RT) and wells omitted in the instrument
software are dropped, so a raw :func:`assaykit.read_qpcr` table can be passed as
is; ``n_samples`` in the result tables says how many samples were scored and
``excluded_samples`` lists the others with the reason.

Both work on log2 relative quantities ``L`` (one row per sample, one column per
candidate gene). From Cq, ``L = −Cq · log2(1 + E)`` (E = 1 unless given); from
relative quantities, ``L = log2(q)``.

geNorm
    ``V_jk = SD_s(L_j − L_k)`` (ddof 1); ``M_j = mean_{k≠j} V_jk``. The gene with
    the highest M is dropped and M recomputed until two genes remain (stepwise,
    as NormqPCR ``selectHKs``). Pairwise variation
    ``V_n/n+1 = SD_s(log2 NF_n − log2 NF_n+1)`` where ``NF_n`` is the geometric mean
    of the n best-ranked genes' quantities; Vandesompele suggest 0.15 as cut-off.

NormFinder (model-based, Andersen et al. 2004, supplementary)
    For gene i, group g, sample j: residual
    ``r_igj = y_igj − ȳ_ig· − ȳ_·gj + ȳ_·g·``; ``s²_ig = Σ_j r²_igj / ((n_g−1)(1−2/k))``;
    bias-corrected intragroup variance ``σ²_ig = s²_ig − Σ_i s²_ig / (k(k−1))``.
    Intergroup difference ``d_ig = ȳ_ig· − ȳ_·g· − mean_g(ȳ_ig· − ȳ_·g·)``;
    ``γ² = max(0, Σ d²/((G−1)(k−1)) − Σ σ²_ig/n_g / (G k))``;
    shrunk ``d̃_ig = d_ig γ²/(γ² + σ²_ig/n_g)``, posterior variance
    ``v_ig = (σ²_ig/n_g) γ²/(γ² + σ²_ig/n_g)``; stability
    ``ρ_i = mean_g (|d̃_ig| + √(σ²_ig/n_g + v_ig))``. With one group, ``ρ_i = √σ²_i``.

NormFinder best pair (Andersen et al. 2004, supplementary, as corrected in the
authors' NormFinder R code of 05/01-2015: mean over groups, σ² not squared)
    Stability of the average of genes i and j:
    ``ρ_ij = mean_g (√(k/(k−2)) · |d̃_ig + d̃_jg|/2 + √(σ²_ig/n_g + v_ig + σ²_jg/n_g + v_jg)/2)``;
    differences of opposite sign cancel. One group: the pair's average replaces the
    two genes (k−1 "genes") and ``ρ_ij`` is its ``√σ²`` (needs k ≥ 4). Every pair is
    scored (the NormFinder program only scores candidates with ρ < 0.25, or its 4 best).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import GenormResult, NormfinderResult

__all__ = ["genorm", "normfinder"]

SCALES = ("cq", "quantity", "log2_quantity")
RANKINGS = ("stepwise", "single_pass")


def _log2_matrix(
    data: pd.DataFrame,
    *,
    sample_col: str,
    target_col: str,
    value_col: str,
    scale: str,
    targets: Sequence[str] | None,
    efficiency: Mapping[str, float] | None,
    tasks: Sequence[str] | None = ("unknown",),
    extra: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    if scale not in SCALES:
        raise AnalysisError("unknown value scale", expected=f"one of {SCALES}", found=repr(scale))
    for c in (sample_col, target_col, value_col) + ((extra,) if extra else ()):
        if c not in data.columns:
            raise AnalysisError("column missing for stability analysis", column=c, expected=f"a column '{c}'", found=str(list(data.columns)))
    d = data
    if "status" in d.columns:  # a DdctResult.wells / qc_wells table: only used wells
        d = d.loc[d["status"] == "used"]
    d, dropped, omitted_keys = _select_wells(d, sample_col=sample_col, target_col=target_col, tasks=tasks)
    if len(d) == 0:
        first = next(iter(dropped.items()), None)
        raise AnalysisError(
            "no well left for the stability analysis",
            expected=f"wells with task in {tuple(tasks) if tasks is not None else 'any'} that are not omitted",
            found=f"none (first left out: sample {first[0]!r}, {first[1]})" if first else "an empty table",
        )
    if targets is not None:
        missing = [t for t in targets if t not in set(d[target_col].astype(str))]
        if missing:
            raise AnalysisError("candidate gene not in the data", target=missing[0], expected=f"targets {sorted(set(d[target_col].astype(str)))}")
        d = d.loc[d[target_col].astype(str).isin(list(targets))]
    v = pd.to_numeric(d[value_col], errors="coerce").astype(float)
    if scale == "quantity":
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log2(v.where(v > 0))
    elif scale == "cq":
        e = d[target_col].astype(str).map(lambda t: (efficiency or {}).get(t, 1.0)).astype(float)
        v = -v * np.log2(1.0 + e)
    frame = pd.DataFrame({"sample": d[sample_col].astype(str).to_numpy(), "target": d[target_col].astype(str).to_numpy(), "v": v.to_numpy()})
    wide = frame.pivot_table(index="sample", columns="target", values="v", aggfunc="mean", sort=False)
    order = list(targets) if targets is not None else list(pd.unique(frame["target"]))
    samples_order = list(pd.unique(frame["sample"]))
    wide = wide.reindex(index=samples_order, columns=order)
    incomplete = wide.isna().any(axis=1)
    reasons = []
    for s in wide.index[incomplete]:
        parts = []
        for t in wide.columns[wide.loc[s].isna()].astype(str):
            parts.append(f"{t} (wells omitted in the instrument software)" if (s, t) in omitted_keys else t)
        reasons.append("no value for " + ", ".join(parts))
    excl = pd.DataFrame(
        {
            "sample": pd.Series(list(dropped) + list(wide.index[incomplete].astype(str)), dtype=object),
            "reason": pd.Series(list(dropped.values()) + reasons, dtype=object),
        },
        columns=["sample", "reason"],
    )
    wide = wide.loc[~incomplete]
    grp = None
    if extra:
        grp = d.drop_duplicates(sample_col).set_index(d.drop_duplicates(sample_col)[sample_col].astype(str))[extra].astype(str)
        grp = grp.reindex(wide.index)
    if wide.shape[1] < 2:
        raise AnalysisError("stability analysis needs at least 2 candidate genes", expected="≥ 2 targets", found=str(wide.shape[1]))
    return wide, excl, grp


def _select_wells(
    d: pd.DataFrame, *, sample_col: str, target_col: str, tasks: Sequence[str] | None
) -> tuple[pd.DataFrame, dict[str, str], set[tuple[str, str]]]:
    """Keep wells of the analysed tasks, drop wells omitted in the instrument software.

    Returns the kept rows, ``{sample: reason}`` for samples left with no well at all,
    and the (sample, target) pairs that lost wells because they were omitted.
    """
    if isinstance(tasks, str):
        tasks = (tasks,)
    keep = np.ones(len(d), dtype=bool)
    why = np.full(len(d), "", dtype=object)
    if tasks is not None and "task" in d.columns:
        wanted = {str(t).lower() for t in tasks}
        task = d["task"].fillna("").astype(str).str.lower().to_numpy(dtype=object)
        off = ~np.isin(task, list(wanted))
        keep &= ~off
        why[off] = [f"task '{t}' is not analysed (tasks={tuple(tasks)!r})" for t in task[off]]
    omitted_keys: set[tuple[str, str]] = set()
    if "cq_flag" in d.columns:
        omitted = d["cq_flag"].fillna("").astype(str).str.lower().str.contains("omitted", regex=False).to_numpy(dtype=bool)
        om = omitted & keep
        keep &= ~omitted
        why[om] = "every well omitted in the instrument software"
        if om.any():
            omitted_keys = set(zip(d[sample_col].astype(str).to_numpy()[om], d[target_col].astype(str).to_numpy()[om], strict=True))
    if keep.all():
        return d, {}, omitted_keys
    samples = d[sample_col].astype(str).to_numpy(dtype=object)
    kept_samples = set(samples[keep])
    dropped: dict[str, str] = {}
    for s, w in zip(samples[~keep], why[~keep], strict=True):
        if s not in kept_samples and s not in dropped:
            dropped[s] = w
    return d.loc[keep], dropped, omitted_keys


def _m_values(L: np.ndarray) -> np.ndarray:
    g = L.shape[1]
    V = np.zeros((g, g))
    for j in range(g):
        V[j] = np.std(L[:, [j]] - L, axis=0, ddof=1)
    return V.sum(axis=1) / (g - 1)


def genorm(
    data: pd.DataFrame,
    *,
    sample_col: str = "sample",
    target_col: str = "target",
    value_col: str = "cq",
    scale: str = "cq",
    targets: Sequence[str] | None = None,
    efficiency: Mapping[str, float] | None = None,
    tasks: Sequence[str] | None = ("unknown",),
    ranking: str = "stepwise",
) -> GenormResult:
    """geNorm stability M (stepwise) and pairwise variation V (Vandesompele 2002).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (technical replicates are averaged) or per
        sample × gene. A ``status`` column (``qc_wells`` / ``DdctResult.wells``)
        restricts it to used wells.
    sample_col, target_col, value_col : str
        Columns naming the sample, the candidate gene and the value.
    scale : {'cq', 'quantity', 'log2_quantity'}
        What ``value_col`` holds.
    targets : list of str, optional
        Candidate genes (default: every target).
    efficiency : dict, optional
        Efficiency per target (fraction) when ``scale='cq'`` (default 1 = 100 %).
    tasks : tuple of str or None
        Well tasks whose samples are scored (default: ``'unknown'`` only, so the
        standards and NTCs of a raw :func:`assaykit.read_qpcr` table do not count
        as samples). A table without a ``task`` column is taken as all unknowns;
        None keeps every task. Wells whose ``cq_flag`` contains ``omitted`` are
        always dropped.
    ranking : {'stepwise', 'single_pass'}
        ``stepwise`` (Vandesompele 2002, NormqPCR ``selectHKs``): drop the gene
        with the highest M and recompute until two remain. ``single_pass``
        (rdmlpython ``genorm``): rank the genes by their M among all candidates,
        one row per gene in ``ranking`` (distinct ranks); ``m_values`` and
        ``mean_m`` then hold only step 1. ``pairwise_v`` follows the ranking.

    Returns
    -------
    GenormResult
        ``mean_m`` carries ``n_samples``, the number of samples scored. Samples left out (another task, omitted wells, or lacking a value
        for a candidate) are listed with the reason in ``excluded_samples``.

    Raises
    ------
    AnalysisError
        Unknown ranking, fewer than 2 candidate genes or 2 complete samples, or a
        missing column.
    """
    if ranking not in RANKINGS:
        raise AnalysisError("unknown geNorm ranking", expected=f"one of {RANKINGS}", found=repr(ranking))
    wide, excl, _ = _log2_matrix(
        data,
        sample_col=sample_col,
        target_col=target_col,
        value_col=value_col,
        scale=scale,
        targets=targets,
        efficiency=efficiency,
        tasks=tasks,
    )
    if wide.shape[0] < 2:
        raise AnalysisError(
            "geNorm needs at least 2 samples with every candidate gene",
            expected="≥ 2 samples",
            found=f"{wide.shape[0]} (left out: {len(excl)}{_first_reason(excl)})",
        )
    L = wide.to_numpy(dtype=float)
    genes = list(wide.columns.astype(str))
    cur = list(range(len(genes)))
    m_rows, mean_rows, excluded = [], [], []
    step = 1
    if ranking == "single_pass":
        M = _m_values(L)
        order = [int(i) for i in np.argsort(M, kind="mergesort")]
        m_rows = [{"step": 1, "n_genes": len(genes), "target": genes[i], "m": float(M[i])} for i in range(len(genes))]
        mean_rows = [{"n_genes": len(genes), "mean_m": float(M.mean()), "excluded_next": ""}]
        return _genorm_result(L, genes, order, list(range(1, len(genes) + 1)), m_rows, mean_rows, excl)
    while len(cur) >= 2:
        M = _m_values(L[:, cur])
        for gi, m in zip(cur, M, strict=False):
            m_rows.append({"step": step, "n_genes": len(cur), "target": genes[gi], "m": float(m)})
        worst = cur[int(np.argmax(M))] if len(cur) > 2 else None
        mean_rows.append({"n_genes": len(cur), "mean_m": float(M.mean()), "excluded_next": genes[worst] if worst is not None else ""})
        if worst is None:
            break
        excluded.append(worst)
        cur = [c for c in cur if c != worst]
        step += 1
    rank_order = cur + excluded[::-1]
    return _genorm_result(L, genes, rank_order, [1, 1, *range(2, len(excluded) + 2)], m_rows, mean_rows, excl)


def _first_reason(excl: pd.DataFrame) -> str:
    return f"; first: {excl['sample'].iloc[0]!r}: {excl['reason'].iloc[0]}" if len(excl) else ""


def _genorm_result(
    L: np.ndarray, genes: list[str], rank_order: list[int], ranks: list[int], m_rows: list, mean_rows: list, excl: pd.DataFrame
) -> GenormResult:
    n_samples = int(L.shape[0])
    ranking = pd.DataFrame({"rank": ranks, "target": [genes[i] for i in rank_order]})
    vrows = []
    for n in range(2, len(genes)):
        nf_n = L[:, rank_order[:n]].mean(axis=1)
        nf_n1 = L[:, rank_order[: n + 1]].mean(axis=1)
        vrows.append({"pair": f"V{n}/{n + 1}", "n_genes": n, "v": float(np.std(nf_n - nf_n1, ddof=1))})
    mean_m = pd.DataFrame(mean_rows, columns=["n_genes", "mean_m", "excluded_next"])
    mean_m["n_samples"] = np.full(len(mean_m), n_samples, dtype="int64")
    return GenormResult(
        m_values=pd.DataFrame(m_rows, columns=["step", "n_genes", "target", "m"]),
        mean_m=mean_m,
        pairwise_v=pd.DataFrame(vrows, columns=["pair", "n_genes", "v"]).astype({"pair": object, "n_genes": "int64", "v": "float64"}),
        ranking=ranking,
        excluded_samples=excl,
    )


def normfinder(
    data: pd.DataFrame,
    *,
    group_col: str | None = "group",
    sample_col: str = "sample",
    target_col: str = "target",
    value_col: str = "cq",
    scale: str = "cq",
    targets: Sequence[str] | None = None,
    efficiency: Mapping[str, float] | None = None,
    tasks: Sequence[str] | None = ("unknown",),
) -> NormfinderResult:
    """NormFinder stability ρ of candidate reference genes (Andersen et al. 2004).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (see :func:`genorm`) with a group column.
    group_col : str or None
        Column naming each sample's group; None treats all samples as one group.
    sample_col, target_col, value_col, scale, targets, efficiency, tasks
        As in :func:`genorm` (by default only ``'unknown'`` wells are scored and
        omitted wells are dropped).

    Returns
    -------
    NormfinderResult
        ``stability`` sorted from most to least stable, with ``n_samples`` (the
        number of samples scored); left-out samples and why in ``excluded_samples``.

    Raises
    ------
    AnalysisError
        Fewer than 3 candidate genes, a group with fewer than 2 samples, or a missing column.
    """
    wide, excl, grp = _log2_matrix(
        data,
        sample_col=sample_col,
        target_col=target_col,
        value_col=value_col,
        scale=scale,
        targets=targets,
        efficiency=efficiency,
        tasks=tasks,
        extra=group_col,
    )
    genes = list(wide.columns.astype(str))
    k = len(genes)
    if k < 3:
        raise AnalysisError("NormFinder needs at least 3 candidate genes", expected="≥ 3 targets", found=str(k))
    Y = wide.to_numpy(dtype=float)
    labels = np.zeros(len(wide), dtype=object) if grp is None else grp.to_numpy(dtype=object)
    levels = list(pd.unique(labels))
    sigma2 = np.zeros((k, len(levels)))
    means = np.zeros((k, len(levels)))
    ns = np.zeros(len(levels))
    for gi, lev in enumerate(levels):
        y = Y[labels == lev]
        n_g = y.shape[0]
        if n_g < 2:
            raise AnalysisError("NormFinder needs at least 2 samples per group", sample=str(lev), expected="≥ 2 samples", found=str(n_g))
        gene_mean = y.mean(axis=0)
        samp_mean = y.mean(axis=1, keepdims=True)
        r = y - gene_mean - samp_mean + y.mean()
        s2 = (r**2).sum(axis=0) / ((n_g - 1) * (1 - 2 / k))
        sigma2[:, gi] = s2 - s2.sum() / (k * (k - 1))
        means[:, gi] = gene_mean
        ns[gi] = n_g
    G = len(levels)
    if G == 1:
        rho = np.sqrt(np.maximum(sigma2[:, 0], 0.0))
        gamma2 = 0.0
        d = np.zeros((k, 1))
        dt = d
    else:
        z = means - means.mean(axis=0, keepdims=True)
        d = z - z.mean(axis=1, keepdims=True)
        gamma2 = float((d**2).sum() / ((G - 1) * (k - 1)) - (sigma2 / ns).sum() / (G * k))
        gamma2 = max(gamma2, 0.0)
        var_d = sigma2 / ns
        with np.errstate(invalid="ignore", divide="ignore"):
            shrink = np.where(gamma2 + var_d > 0, gamma2 / (gamma2 + var_d), 0.0)
        dt = d * shrink
        v = var_d * shrink
        rho = (np.abs(dt) + np.sqrt(np.maximum(var_d + v, 0.0))).mean(axis=1)
    order = np.argsort(rho, kind="mergesort")
    stability = pd.DataFrame(
        {
            "rank": np.arange(1, k + 1),
            "target": [genes[i] for i in order],
            "rho": rho[order],
            "n_samples": np.full(k, len(wide), dtype="int64"),
        }
    )
    per_group = pd.DataFrame(
        {
            "target": np.repeat(genes, G),
            "group": np.tile(np.asarray(levels, dtype=object), k).astype(str),
            "intergroup_diff": d.ravel(),
            "intragroup_var": sigma2.ravel(),
            "shrunk_diff": dt.ravel(),
            "n": np.tile(ns, k).astype(int),
        }
    )
    pairs = _normfinder_pairs(Y, genes, G, sigma2, ns, dt, gamma2)
    return NormfinderResult(
        stability=stability, per_group=per_group, gamma_sq=gamma2, excluded_samples=excl, pairs=pairs
    )


def _one_group_sigma2(y: np.ndarray) -> np.ndarray:
    """Bias-corrected intragroup variance of every gene (columns of ``y``), one group."""
    n, k = y.shape
    r = y - y.mean(axis=0) - y.mean(axis=1, keepdims=True) + y.mean()
    s2 = (r**2).sum(axis=0) / ((n - 1) * (1 - 2 / k))
    return s2 - s2.sum() / (k * (k - 1))


def _normfinder_pairs(
    Y: np.ndarray, genes: list[str], G: int, sigma2: np.ndarray, ns: np.ndarray, dt: np.ndarray, gamma2: float
) -> pd.DataFrame:
    """Stability of the average of every pair of genes (Andersen 2004, supplementary)."""
    k = len(genes)
    rows = []
    for i in range(k - 1):
        for j in range(i + 1, k):
            if G > 1:
                vi, vj = sigma2[i] / ns, sigma2[j] / ns
                with np.errstate(invalid="ignore", divide="ignore"):
                    post_i = np.where(gamma2 + vi > 0, vi * gamma2 / (gamma2 + vi), 0.0)
                    post_j = np.where(gamma2 + vj > 0, vj * gamma2 / (gamma2 + vj), 0.0)
                bias = np.abs(dt[i] + dt[j]) / 2 * np.sqrt(k / (k - 2))
                spread = np.sqrt(np.maximum(vi + post_i + vj + post_j, 0.0)) / 2
                rho = float((bias + spread).mean())
            else:
                if k < 4:
                    continue
                keep = [c for c in range(k) if c not in (i, j)]
                y = np.column_stack([Y[:, keep], Y[:, [i, j]].mean(axis=1)])
                rho = float(np.sqrt(max(_one_group_sigma2(y)[-1], 0.0)))
            rows.append({"target_1": genes[i], "target_2": genes[j], "rho": rho})
    pairs = pd.DataFrame(rows, columns=["target_1", "target_2", "rho"])
    pairs = pairs.sort_values("rho", kind="mergesort").reset_index(drop=True)
    pairs.insert(0, "rank", np.arange(1, len(pairs) + 1, dtype="int64"))
    return pairs.astype({"rank": "int64", "target_1": object, "target_2": object, "rho": "float64"})
