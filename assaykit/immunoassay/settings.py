"""Typed settings of the immunoassay analysis: one declaration for Python, protocols, layouts and the CLI.

:class:`AnalysisSettings` holds every option of :func:`~assaykit.immunoassay.analyze`
(and of :func:`~assaykit.immunoassay.workflow.run`) with its default, help text and
check. The same object is built from

* keywords (``AnalysisSettings(model="5pl")``) or ``analyze(..., settings=...)``,
* the ``[immunoassay]`` table of a protocol TOML or a layout (the older name ``[elisa]``
  is accepted as an alias; a file may not hold both), with :meth:`AnalysisSettings.from_mapping`,
* the options of ``assaykit immunoassay`` (alias ``assaykit elisa``), built by
  :func:`assaykit.cli._options.settings_options`.

Unknown keys are rejected with the list of allowed ones. The data-like inputs of
:func:`~assaykit.immunoassay.analyze` (``mask=``, ``standard_conc=``) are tables, not
settings, and stay keyword arguments.

Examples
--------
>>> s = AnalysisSettings.from_mapping({"model": "5pl", "recovery_window": [70, 130]})
>>> s.model, s.recovery_window
('5pl', (70, 130))
>>> AnalysisSettings.from_mapping({"modle": "4pl"})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
SettingsError: key modle: unknown analysis option: not a setting of [immunoassay] (expected one of: ...)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Self

from assaykit.errors import FitError, SettingsError
from assaykit.immunoassay.weights import parse_weights
from assaykit.settings import Settings, option

__all__ = ["MODEL_CHOICES", "SECTION", "SECTION_ALIASES", "AnalysisSettings", "settings_table"]

#: The TOML table of the immunoassay settings in protocols and layouts.
SECTION = "immunoassay"
#: Older names of that table, still accepted (``[elisa]``).
SECTION_ALIASES: tuple[str, ...] = ("elisa",)
#: Curve models of :func:`~assaykit.immunoassay.analyze` (``'auto'``: 4PL or 5PL by AIC per curve).
MODEL_CHOICES: tuple[str, ...] = ("4pl", "5pl", "auto", "linear", "loglinear")

# The error message of each setting that fails its check (the messages analyze has always used).
_MESSAGES = {
    "blank": "unknown blank handling",
    "hook": "unknown hook option",
    "interval": "unknown interval type",
    "recovery_window": "invalid recovery window",
    "cv_max": "invalid cv_max",
    "level": "invalid confidence level",
    "hook_tolerance": "invalid hook_tolerance",
    "linearity_cv_max": "invalid linearity_cv_max",
    "asymmetry": "unknown 5PL asymmetry",
    "model": "unknown curve model",
}


@cache
def _keys(cls: type[Settings]) -> tuple[str, ...]:
    return tuple(Settings.keys.__func__(cls))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _window_ok(v: Any) -> bool:
    try:
        lo, hi = (float(x) for x in v)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi


@dataclass(frozen=True)
class AnalysisSettings(Settings):
    """Options of the immunoassay analysis (frozen; see the module docstring).

    Every field is a setting of the ``[immunoassay]`` table and a command-line option
    (``--reference-read`` for ``reference_read`` ...). :func:`~assaykit.immunoassay.analyze`
    documents what each one does in detail.
    """

    section: ClassVar[str] = SECTION

    read: tuple[str, ...] | None = option(
        None, help="Read(s)/analytes to analyse (a name or a list) [default: every read of the metric].")
    metric: str = option("raw", help="Metric to analyse (net_mfi or median for bead assays) [default: raw].")
    reference_read: str | None = option(
        None, help="Read subtracted well by well first (e.g. abs_630 from abs_450 gives abs_450-630) [default: none].")
    model: str = option("4pl", help="Curve model (auto: 4PL or 5PL by AIC per curve) [default: 4pl].",
                        choices=MODEL_CHOICES)
    weights: str | tuple | None = option(
        "none", help="Variance model: none, 1/y, 1/y^2, 1/y^2-xponent, power, power:K (or ['power', K]) "
                  "[default: none].")
    role_col: str = option("role", help="Layout column of well roles (standard/blank/sample/control) [default: role].")
    conc_col: str | None = option(
        None, help="Layout column of standard concentrations [default: first std_conc* column, else the "
                   "export's expected concentrations].")
    sample_col: str = option("sample", help="Layout column naming the sample [default: sample].")
    dilution_col: str = option("dilution", help="Layout column of the dilution factor (missing: 1) [default: dilution].")
    expected_col: str | None = option(
        None, help="Layout column of expected control concentrations [default: first expected_conc* column].")
    blank: str = option("subtract_mean", help="Blank handling: subtract the plate x read mean of the blanks, fit "
                        "them as a zero standard, or ignore them [default: subtract_mean].", choices=("subtract_mean", "zero_standard", "none"))
    recovery_window: tuple[float, float] = option(
        (80.0, 120.0), help="Accepted back-fit recovery of standards in percent (low, high) [default: 80 120].",
        check=_window_ok,
        expected="(low, high) with 0 <= low < high")
    cv_max: float = option(20.0, help="Largest accepted replicate %CV (standards for LLOQ/ULOQ; sample cv_flag) "
                                                "[default: 20].",
                           check=lambda v: _is_number(v) and v > 0, expected="a positive percentage")
    hook: str = option("detect", help="High-dose hook: detect (peak and trend test), peak (levels above the peak "
                       "only) or off [default: detect].", choices=("detect", "peak", "off"))
    hook_tolerance: float = option(
        0.05, help="Smallest response drop at the top standards that counts as a hook (fraction of the range) "
                    "[default: 0.05].",
        check=lambda v: _is_number(v) and 0 <= v < 1, expected="a fraction 0 <= t < 1")
    interval: str = option("delta", help="CI of concentrations: delta (on ln x) or inversion (fiducial) [default: delta].",
                           choices=("delta", "inversion"))
    level: float = option(0.95, help="Confidence level of the CIs [default: 0.95].", check=lambda v: _is_number(v) and 0 < v < 1,
                          expected="0 < level < 1")
    asymmetry: str = option("auto", help="5PL orientation: auto (both, lower RSS), high or low [default: auto].",
                            choices=("auto", "high", "low"))
    linearity_cv_max: float = option(
        20.0, help="Largest accepted %CV of dilution-corrected concentrations (linearity table) "
                    "[default: 20].",
        check=lambda v: _is_number(v) and v > 0, expected="a positive percentage")

    def __post_init__(self) -> None:
        if isinstance(self.read, str):
            object.__setattr__(self, "read", (self.read,))
        elif isinstance(self.read, list):
            object.__setattr__(self, "read", tuple(self.read))
        if isinstance(self.model, str) and self.model.lower() in MODEL_CHOICES:
            object.__setattr__(self, "model", self.model.lower())
        super().__post_init__()

    def validate(self) -> None:
        """Check the weights specification (:func:`~assaykit.immunoassay.weights.parse_weights`)."""
        try:
            parse_weights(self.weights)
        except FitError as exc:
            raise SettingsError("unknown weights", key="weights", expected=exc.expected,
                                found=exc.found) from None

    def _error(self, name: str, value: Any, expected: str) -> SettingsError:
        message = _MESSAGES.get(name, f"invalid value of a setting of [{self.section}]")
        return SettingsError(message, key=name, expected=expected, found=repr(value))

    @classmethod
    def keys(cls) -> list[str]:
        """Names accepted by :meth:`from_mapping` (computed once: the fields never change)."""
        return list(_keys(cls))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None = None, *, where: str | None = None,
                     **overrides: Any) -> Self:
        """Build settings from a mapping (protocol or layout table, parsed CLI options).

        As :meth:`assaykit.settings.Settings.from_mapping`; an unknown key raises
        :class:`~assaykit.errors.SettingsError` "unknown analysis option" listing the
        allowed keys.
        """
        allowed = cls.keys()
        for key in {**(mapping or {}), **overrides}:
            if key not in allowed:
                raise SettingsError(f"unknown analysis option: not a setting of [{cls.section}]", file=where,
                                    key=key, expected="one of: " + ", ".join(allowed), found=repr(key))
        return super().from_mapping(mapping, where=where, **overrides)


def settings_table(tables: Mapping[str, Any], *, where: str | None = None) -> dict[str, Any]:
    """The immunoassay table of a parsed TOML document (``[immunoassay]``, or its alias ``[elisa]``).

    Parameters
    ----------
    tables : mapping
        Top-level tables of a protocol or layout (table name → mapping).
    where : str, optional
        The file, named in errors.

    Returns
    -------
    dict
        The table's options (empty when the document has neither table).

    Raises
    ------
    SettingsError
        If the document holds both ``[immunoassay]`` and ``[elisa]``, or the table is not
        a table.
    """
    names = [n for n in (SECTION, *SECTION_ALIASES) if n in tables]
    if len(names) > 1:
        raise SettingsError("both [immunoassay] and [elisa] tables: keep one (elisa is the older name)",
                            file=where, expected="one table of immunoassay options", found=", ".join(names))
    if not names:
        return {}
    table = tables[names[0]]
    if not isinstance(table, Mapping):
        raise SettingsError(f"[{names[0]}] must be a table of options", file=where, found=type(table).__name__)
    return dict(table)
