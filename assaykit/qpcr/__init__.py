"""qPCR analysis: ΔΔCq, efficiency-corrected ratios, reference-gene stability, QC.

Pure functions on the canonical qPCR table (:data:`assaykit.schema.QPCR_COLUMNS`)
returning frozen result objects whose tables are pandas DataFrames:

* :func:`ddct` — Livak 2^−ΔΔCq, Pfaffl / Thermo EqCq efficiency-corrected ratios,
  several reference genes, replicate QC, error conventions, group statistics.
* :func:`ddct_lm` — ΔΔCq by linear regression on ΔCq or Cq (covariates, group
  interactions, explicit designs; Yuan 2006, R pcr ``lm``).
* :func:`standard_curve` — slope, intercept, R², efficiency with CI;
  :func:`relative_standard_curve` — the relative standard-curve method.
* :func:`genorm`, :func:`normfinder` — reference-gene stability (NormFinder also
  scores every pair of candidates).
* :func:`ratio_propagation` — Taylor (delta-method) error of the Pfaffl ratio
  including efficiency errors (qpcR ``ratiocalc``); :func:`rest_randomisation` —
  REST pair-wise fixed reallocation test and REST confidence interval.
* :func:`qc_wells`, :func:`summarise_replicates` — technical replicates.
* :func:`calibrate_runs` — inter-run calibration with shared calibrator samples.
* :class:`QcSettings`, :class:`DdctSettings`, :class:`QpcrSettings` — the options as
  typed, frozen settings (:mod:`assaykit.qpcr.settings`); every function above that
  takes options also takes ``settings=``.
* :mod:`assaykit.qpcr.workflow` — ``run(data, settings)``: the analysis of
  ``assaykit qpcr`` (calibration, efficiencies, method, ``ddct``) for Python users,
  returning a :class:`QpcrRunResult`.

Formulas and conventions: docs/qpcr.md.
"""

from assaykit.qpcr import workflow
from assaykit.qpcr._result import (
    DdctResult,
    GenormResult,
    NormfinderResult,
    RunCalibration,
    StandardCurveResult,
)
from assaykit.qpcr.calibration import calibrate_runs
from assaykit.qpcr.ddct import METHODS, ddct
from assaykit.qpcr.efficiency import (
    efficiency_corrected_cq,
    efficiency_from_slope,
    livak_validation,
    pfaffl_ratio,
    standard_curve,
)
from assaykit.qpcr.models import ddct_lm
from assaykit.qpcr.ratio import (
    PROPAGATION_COLUMNS,
    REST_COLUMNS,
    ratio_propagation,
    rest_randomisation,
)
from assaykit.qpcr.relative import relative_standard_curve
from assaykit.qpcr.replicates import OUTLIER_RULES, QC_FLAGS, qc_wells, summarise_replicates
from assaykit.qpcr.settings import DdctSettings, QcSettings, QpcrSettings
from assaykit.qpcr.stability import genorm, normfinder
from assaykit.qpcr.workflow import QpcrRunResult

__all__ = [
    "METHODS",
    "OUTLIER_RULES",
    "PROPAGATION_COLUMNS",
    "QC_FLAGS",
    "REST_COLUMNS",
    "DdctResult",
    "DdctSettings",
    "GenormResult",
    "NormfinderResult",
    "QcSettings",
    "QpcrRunResult",
    "QpcrSettings",
    "RunCalibration",
    "StandardCurveResult",
    "calibrate_runs",
    "ddct",
    "ddct_lm",
    "efficiency_corrected_cq",
    "efficiency_from_slope",
    "genorm",
    "livak_validation",
    "normfinder",
    "pfaffl_ratio",
    "qc_wells",
    "ratio_propagation",
    "relative_standard_curve",
    "rest_randomisation",
    "standard_curve",
    "summarise_replicates",
    "workflow",
]
