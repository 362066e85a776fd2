"""The qPCR workflow: from an annotated qPCR table and :class:`QpcrSettings` to every result.

:func:`run` holds the analysis policy of ``assaykit qpcr`` so that Python users get the
same analysis as the command line:

1. the settings must name the reference gene(s) and the control group
   (:func:`check_settings`);
2. with ``calibrators``, :func:`~assaykit.qpcr.calibrate_runs` removes each plate ×
   target's Cq offset first (with one plate the offsets are 0);
3. efficiencies: ``efficiency='auto'`` fits the standard curves of the run's standard
   wells (:func:`~assaykit.qpcr.standard_curve`; an error without standard wells), a
   table ``{target: E}`` is used as is, efficiencies passed to :func:`run` (for
   example read from a CSV file by the caller) are used as given;
4. the method: ``method`` unset is ``livak`` without efficiencies and ``pfaffl`` with
   them;
5. :func:`~assaykit.qpcr.ddct` with every other option of the settings.

Examples
--------
>>> import assaykit
>>> from assaykit.datasets import path
>>> from assaykit.qpcr import QpcrSettings
>>> from assaykit.qpcr.workflow import run
>>> data = assaykit.annotate(assaykit.read_qpcr(path("qpcr_pbmc_quantstudio.txt")),
...                          assaykit.read_layout(path("qpcr_pbmc_layout.toml")))
>>> result = run(data, QpcrSettings(reference=("GAPDH", "ACTB"), control="vehicle", group_col="condition"))
>>> result.method, sorted(result.tables())
('livak', ['groups', 'samples', 'stats', 'wells'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import DdctResult, RunCalibration, StandardCurveResult
from assaykit.qpcr.calibration import calibrate_runs
from assaykit.qpcr.ddct import ddct
from assaykit.qpcr.efficiency import standard_curve
from assaykit.qpcr.settings import QpcrSettings

__all__ = ["QpcrRunResult", "check_settings", "run"]

#: How the workbook names efficiencies fitted on the run's own standards.
AUTO_LABEL = "auto (standard curves of the run)"


@dataclass(frozen=True)
class QpcrRunResult:
    """Result of :func:`run`.

    Attributes
    ----------
    settings : QpcrSettings
        The settings the workflow was given.
    method : str
        The quantification method used (``settings.method`` or the one implied).
    data : pandas.DataFrame
        The table analysed (after inter-run calibration, when ``calibrators`` are set).
    ddct : DdctResult
        The relative quantification.
    curves : StandardCurveResult or None
        The run's standard curves (``efficiency='auto'``).
    calibration : RunCalibration or None
        The inter-run calibration applied (``calibrators``).
    efficiency_source : object
        What the efficiencies were: None, ``'auto (standard curves of the run)'``,
        the efficiency table (a dict) or the name of the file they were read from.
    """

    settings: QpcrSettings
    method: str
    data: pd.DataFrame
    ddct: DdctResult
    curves: StandardCurveResult | None = None
    calibration: RunCalibration | None = None
    efficiency_source: Any = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name, in the order they are written.

        ``wells``, ``samples``, ``groups``, ``stats`` (docs/qpcr.md §4);
        ``standard_curves`` and ``standard_points`` with ``efficiency='auto'``;
        ``run_calibration`` with calibrators.
        """
        out = {"wells": self.ddct.wells, "samples": self.ddct.samples, "groups": self.ddct.groups, "stats": self.ddct.stats}
        if self.curves is not None:
            out["standard_curves"] = self.curves.curves
            out["standard_points"] = self.curves.points
        if self.calibration is not None:
            out["run_calibration"] = self.calibration.offsets
        return out

    def parameters(self) -> dict[str, Any]:
        """Every option the analysis ran with, for a report (the workbook's info sheet).

        The settings (``method`` resolved, tuples as lists, ``calibrators`` None when
        unset), ``efficiency`` as :attr:`efficiency_source`, and ``efficiency_<target>``
        for each target whose efficiency was used.
        """
        s = self.settings
        first = ("reference", "control", "group_col", "sample_col", "method", "undetermined", "outlier", "error",
                 "test", "p_adjust", "propagate_control", "pairing", "instrument_flags", "p_adjust_family",
                 "outlier_threshold", "ntc_margin", "tm_tolerance")  # fmt: skip
        values = {**s.to_dict(), "method": self.method}
        out = {k: values[k] for k in first}
        out.update({k: v for k, v in values.items() if k not in out and k not in ("efficiency", "calibrators")})
        out["efficiency"] = dict(self.efficiency_source) if isinstance(self.efficiency_source, Mapping) else self.efficiency_source
        out["calibrators"] = list(s.calibrators) or None
        if self.efficiency_source is not None:
            w = self.ddct.wells
            used = w.dropna(subset=["efficiency"]).groupby("target", sort=False)["efficiency"].first()
            out.update({f"efficiency_{t}": float(e) for t, e in used.items()})
        return out


def check_settings(settings: QpcrSettings) -> None:
    """Raise when the settings lack what :func:`run` needs: reference gene(s) and a control group.

    Raises
    ------
    AnalysisError
        ``no reference gene given`` / ``no control group given``.
    """
    if not isinstance(settings, QpcrSettings):
        raise AnalysisError("settings must be QpcrSettings", key="settings", expected="QpcrSettings",
                            found=type(settings).__name__)  # fmt: skip
    if not settings.reference:
        raise AnalysisError(
            "no reference gene given", expected="--reference GAPDH (repeatable) or reference in a [qpcr] table", found="none"
        )
    if settings.control is None or str(settings.control) == "":
        raise AnalysisError("no control group given", expected="--control NAME or control in a [qpcr] table", found="none")


def run(
    data: pd.DataFrame,
    settings: QpcrSettings,
    *,
    efficiency: Mapping[str, float] | StandardCurveResult | None = None,
) -> QpcrRunResult:
    """Run the qPCR workflow (steps in the module documentation).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table annotated with the layout (a ``group_col`` column).
    settings : QpcrSettings
        The options (from a protocol, a layout, the command line or built in Python).
    efficiency : dict or StandardCurveResult, optional
        Efficiencies obtained by the caller: read from the file that
        ``settings.efficiency`` names, or standard curves of another run (then
        ``settings.efficiency`` must be None). Not allowed with ``'auto'`` or a table.

    Returns
    -------
    QpcrRunResult

    Raises
    ------
    AnalysisError
        No reference or control; a calibrator missing on a plate × target;
        ``efficiency='auto'`` without standard wells; an efficiency file not read;
        efficiencies given twice; every error of :func:`~assaykit.qpcr.ddct`.
    """
    check_settings(settings)
    calibration = None
    if settings.calibrators:
        calibration = calibrate_runs(data, list(settings.calibrators), sample_col=settings.sample_col)
        data = calibration.data
    eff, curves, source = _efficiency(data, settings, efficiency)
    method = settings.resolved_method(eff is not None)
    qc = settings.qc
    # every keyword spelled out: what a spy on this module's ddct sees is what the workflow passes
    res = ddct(
        data, list(settings.reference or ()), str(settings.control),
        group_col=settings.group_col, sample_col=settings.sample_col, target_col=settings.target_col,
        method=method, efficiency=eff, undetermined=qc.undetermined, outlier=qc.outlier,
        outlier_threshold=qc.outlier_threshold, ntc_margin=qc.ntc_margin, tm_tolerance=qc.tm_tolerance,
        tasks=qc.tasks, pairing=settings.pairing, error=settings.error, propagate_control=settings.propagate_control,
        test=settings.test, p_adjust=settings.p_adjust, p_adjust_family=settings.p_adjust_family,
        instrument_flags=qc.instrument_flags,
    )  # fmt: skip
    return QpcrRunResult(settings, method, data, res, curves, calibration, source)


def _efficiency(
    data: pd.DataFrame, settings: QpcrSettings, given: Mapping[str, float] | StandardCurveResult | None
) -> tuple[Any, StandardCurveResult | None, Any]:
    """(efficiencies for ddct, standard curves fitted here, how to name the source)."""
    opt = settings.efficiency
    is_auto = isinstance(opt, str) and opt.strip().lower() == "auto"
    is_file = isinstance(opt, str) and not is_auto
    if given is not None:
        if opt is not None and not is_file:
            raise AnalysisError(
                "efficiencies given twice", key="efficiency",
                expected="efficiency= to run() only with settings.efficiency None or a file name",
                found=f"settings.efficiency={opt!r} and efficiency=",
            )  # fmt: skip
        if is_file:
            return given, None, opt
        return given, None, dict(given) if isinstance(given, Mapping) else "standard curves given"
    if isinstance(opt, Mapping):
        table = {str(k): v for k, v in opt.items()}
        return table, None, dict(table)
    if is_auto:
        if not (data["task"].astype(str) == "standard").any():
            raise AnalysisError(
                "efficiency 'auto' needs standard wells in the run",
                expected="wells with task 'standard' and a quantity, or an efficiency CSV file",
                found="no standard wells",
            )
        curves = standard_curve(data)
        return curves, curves, AUTO_LABEL
    if is_file:
        raise AnalysisError(
            "efficiency file not read", key="efficiency",
            expected="run(data, settings, efficiency=<its table>) (assaykit.cli.qpcr.read_efficiency_file reads it)",
            found=repr(opt),
        )  # fmt: skip
    return None, None, None
