"""assaykit: instrument exports to correct, tidy, figure-ready results.

Data flows one way: read (:mod:`assaykit.io`) → annotate with a plate layout
(:mod:`assaykit.layout`) → analyse (:mod:`assaykit.immunoassay`, :mod:`assaykit.qpcr`)
→ report (:mod:`assaykit.report`, the ``assaykit`` command).
"""

from assaykit._version import __version__
from assaykit.errors import (
    AnalysisError,
    AssaykitError,
    AssaykitWarning,
    FitError,
    FormatDetectionError,
    LayoutError,
    ProtocolError,
    ReaderError,
    ReportError,
    SchemaError,
)
from assaykit.io import read_many, read_plate, read_qpcr
from assaykit.layout import annotate, read_layout

__all__ = [
    "AnalysisError",
    "AssaykitError",
    "AssaykitWarning",
    "FitError",
    "FormatDetectionError",
    "LayoutError",
    "ProtocolError",
    "ReaderError",
    "ReportError",
    "SchemaError",
    "__version__",
    "annotate",
    "read_layout",
    "read_many",
    "read_plate",
    "read_qpcr",
]
