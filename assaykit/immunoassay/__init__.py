"""Immunoassay standard curves: 4PL/5PL/linear models, weighted fits, batched fits, back-calculation.

The plate analysis is :func:`analyze` (options: :class:`AnalysisSettings`); the workflow
used by ``assaykit immunoassay`` (alias ``assaykit elisa``) is
:mod:`assaykit.immunoassay.workflow` (``run(data, settings)``).

>>> from assaykit.immunoassay import fit_curve, four_pl
"""

from assaykit.immunoassay.analysis import ImmunoassayResult, analyze
from assaykit.immunoassay.batch import CurveBatch, lm_batch
from assaykit.immunoassay.curve import BACKCALC_STATUS, STATUS_PRIORITY, StandardCurve, worst_status
from assaykit.immunoassay.engine import fit_curves
from assaykit.immunoassay.fit import fit_curve
from assaykit.immunoassay.models import (
    MODELS,
    ec50,
    five_pl,
    five_pl_inverse,
    four_pl,
    four_pl_inverse,
    from_drc,
    from_prism,
    linear,
    linear_inverse,
    loglinear,
    loglinear_inverse,
    to_drc,
    to_prism,
)
from assaykit.immunoassay.settings import AnalysisSettings
from assaykit.immunoassay.standards import standards_from_plate
from assaykit.immunoassay.weights import WEIGHTS, parse_weights

__all__ = [
    "AnalysisSettings",
    "BACKCALC_STATUS",
    "CurveBatch",
    "ImmunoassayResult",
    "MODELS",
    "STATUS_PRIORITY",
    "WEIGHTS",
    "StandardCurve",
    "analyze",
    "ec50",
    "fit_curve",
    "fit_curves",
    "five_pl",
    "five_pl_inverse",
    "four_pl",
    "four_pl_inverse",
    "from_drc",
    "from_prism",
    "linear",
    "linear_inverse",
    "lm_batch",
    "loglinear",
    "loglinear_inverse",
    "parse_weights",
    "standards_from_plate",
    "to_drc",
    "to_prism",
    "worst_status",
]
