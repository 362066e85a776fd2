"""Immutable result objects of the qPCR analyses (tables are plain DataFrames)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["DdctResult", "GenormResult", "NormfinderResult", "RunCalibration", "StandardCurveResult"]


@dataclass(frozen=True)
class StandardCurveResult:
    """Standard curves, one per target (see :func:`assaykit.qpcr.standard_curve`).

    Attributes
    ----------
    curves : pandas.DataFrame
        One row per target: ``target``, ``n_points``, ``n_levels``, ``slope``,
        ``slope_se``, ``slope_ci95_low``, ``slope_ci95_high``, ``intercept``,
        ``r_squared``, ``efficiency`` (fraction, 10^(−1/slope) − 1),
        ``efficiency_ci95_low``, ``efficiency_ci95_high``, ``amplification_factor``
        (1 + efficiency), ``status``, ``reason``.
    points : pandas.DataFrame
        The wells used: ``target``, ``plate``, ``well``, ``quantity``,
        ``log10_quantity``, ``cq``, ``fitted_cq``, ``residual``.
    """

    curves: pd.DataFrame
    points: pd.DataFrame

    def efficiencies(self) -> dict[str, float]:
        """Return ``{target: efficiency}`` for the fitted targets."""
        ok = self.curves.loc[self.curves["status"] == "ok"]
        return dict(zip(ok["target"], ok["efficiency"].astype(float), strict=False))


@dataclass(frozen=True)
class DdctResult:
    """Result of :func:`assaykit.qpcr.ddct`.

    Attributes
    ----------
    wells : pandas.DataFrame
        Every input row with ``cq_used``, ``efficiency``, ``ecq``, ``qc_flag``,
        ``status`` (``used``/``excluded``/``not_analysed``) and ``reason``.
    samples : pandas.DataFrame
        One row per biological sample × target (technical replicates summarised);
        ``qc_flag`` is the union of its wells' flags, plus ``sample_name_variant``
        when another sample's name differs from it only by case or white space.
    groups : pandas.DataFrame
        One row per group × target of interest: ΔCq, ΔΔCq, fold change and its
        error bars under each convention (``fold_change_sd_low`` ...);
        ``n_imputed`` (int: samples of the group whose target or reference Cq is
        the undetermined cut-off) and ``qc_flag`` (union of the flags of the
        target and reference rows of the samples entering the group mean).
    stats : pandas.DataFrame
        Tests of ΔCq between each group and the control (Tukey: all pairs;
        ANOVA: one row), per target: one row for every comparison the call
        implies, ``not_tested`` with a reason when it cannot be run;
        ``p_adjust_family`` names the family of the p-value adjustment.
    settings : dict
        The options the analysis was run with (method, references, control ...).
    """

    wells: pd.DataFrame
    samples: pd.DataFrame
    groups: pd.DataFrame
    stats: pd.DataFrame
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GenormResult:
    """Result of :func:`assaykit.qpcr.genorm` (Vandesompele et al. 2002).

    Attributes
    ----------
    m_values : pandas.DataFrame
        ``step`` (1 = all genes), ``n_genes``, ``target``, ``m`` — every gene's
        stability M at every step of the stepwise exclusion (``ranking='single_pass'``:
        step 1 only).
    mean_m : pandas.DataFrame
        ``n_genes``, ``mean_m``, ``excluded_next`` (the gene with the highest M),
        ``n_samples`` (the number of samples scored).
    pairwise_v : pandas.DataFrame
        ``pair`` ('V2/3' ...), ``n_genes`` (n of Vn/n+1), ``v``.
    ranking : pandas.DataFrame
        ``rank`` (1 = most stable; stepwise: the last two genes share rank 1;
        single_pass: distinct ranks), ``target``.
    excluded_samples : pandas.DataFrame
        ``sample``, ``reason`` for every sample not scored (a task not analysed,
        every well omitted, or no value for some gene).
    """

    m_values: pd.DataFrame
    mean_m: pd.DataFrame
    pairwise_v: pd.DataFrame
    ranking: pd.DataFrame
    excluded_samples: pd.DataFrame


@dataclass(frozen=True)
class NormfinderResult:
    """Result of :func:`assaykit.qpcr.normfinder` (Andersen et al. 2004).

    Attributes
    ----------
    stability : pandas.DataFrame
        ``rank``, ``target``, ``rho`` (stability value, lower is more stable),
        ``n_samples`` (the number of samples scored).
    per_group : pandas.DataFrame
        ``target``, ``group``, ``intergroup_diff`` (d), ``intragroup_var`` (σ²),
        ``shrunk_diff`` (d̃), ``n`` (samples in the group).
    gamma_sq : float
        The estimated between-group variance γ² (0 for a single group).
    excluded_samples : pandas.DataFrame
        ``sample``, ``reason`` for every sample not scored.
    pairs : pandas.DataFrame
        ``rank``, ``target_1``, ``target_2``, ``rho`` — stability of the average of
        every pair of candidates (NormFinder's "best combination of two genes"),
        sorted from most to least stable. Empty (same columns) with one group and
        fewer than 4 candidates, where the one-group pair measure is undefined.
    """

    stability: pd.DataFrame
    per_group: pd.DataFrame
    gamma_sq: float
    excluded_samples: pd.DataFrame
    pairs: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"rank": pd.Series(dtype="int64"), "target_1": pd.Series(dtype=object), "target_2": pd.Series(dtype=object), "rho": pd.Series(dtype="float64")}
        )
    )


@dataclass(frozen=True)
class RunCalibration:
    """Result of :func:`assaykit.qpcr.calibrate_runs` (inter-run calibration).

    Attributes
    ----------
    data : pandas.DataFrame
        The input table with ``cq`` corrected, the original in ``cq_uncalibrated``
        and the subtracted ``run_offset``.
    offsets : pandas.DataFrame
        ``plate``, ``target``, ``n_calibrator_wells``, ``calibrator_cq_mean``,
        ``overall_calibrator_cq_mean``, ``run_offset``.
    """

    data: pd.DataFrame
    offsets: pd.DataFrame
