"""Reports: tidy tables to an Excel workbook, and matplotlib figures.

* :func:`write_workbook` — several tidy tables in one ``.xlsx`` with an ``info``
  provenance sheet first (:mod:`assaykit.report.excel`).
* :func:`plate_heatmap`, :func:`save_figure` — figures (:mod:`assaykit.report.figures`);
  every plotting function takes ``ax=`` and returns it.

Reports never hold analysis logic: they draw or write what the analysis returned.
matplotlib is imported only when a figure function is first used.
"""

from __future__ import annotations

from typing import Any

from assaykit.report.excel import file_sha256, info_table, sheet_names, write_workbook

__all__ = [
    "file_sha256",
    "info_table",
    "plate_heatmap",
    "save_figure",
    "sheet_names",
    "write_workbook",
]

_FIGURES = ("plate_heatmap", "save_figure")


def __getattr__(name: str) -> Any:
    if name in _FIGURES:
        from assaykit.report import figures

        return getattr(figures, name)
    raise AttributeError(f"module 'assaykit.report' has no attribute {name!r}")
