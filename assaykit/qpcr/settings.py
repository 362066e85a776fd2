"""Typed settings of the qPCR analyses: one declaration per option, used everywhere.

Three frozen :class:`~assaykit.settings.Settings` classes hold the options of the qPCR
functions; the ``[qpcr]`` table of a protocol or layout, the ``assaykit qpcr`` command
line and the Python keyword API all come from them:

:class:`QcSettings`
    The well-level quality control shared by :func:`~assaykit.qpcr.qc_wells`,
    :func:`~assaykit.qpcr.ddct` and :func:`~assaykit.qpcr.ddct_lm`: ``undetermined``,
    ``outlier``, ``outlier_threshold``, ``ntc_margin``, ``tm_tolerance``,
    ``instrument_flags``, ``tasks``.
:class:`DdctSettings`
    Everything :func:`~assaykit.qpcr.ddct` takes besides the data and the
    efficiencies: ``reference``, ``control``, the column names, ``method``, the error
    and test conventions, and ``qc`` (a nested :class:`QcSettings` whose keys sit at
    the same level of a table).
:class:`QpcrSettings`
    The workflow (:func:`assaykit.qpcr.workflow.run`, ``assaykit qpcr``): every
    :class:`DdctSettings` option, plus where efficiencies come from (``efficiency``:
    ``'auto'``, a table or a CSV file) and the inter-run ``calibrators``; its ``method``
    may be left unset (``livak``, or ``pfaffl`` when efficiencies are given).

Settings and keywords
---------------------
The analysis functions take their options as keywords, as before, and also a whole
settings object, ``settings=``. The rule, for every option that is a parameter of the
function:

1. a keyword given explicitly in the call wins;
2. otherwise the value in ``settings`` is used (nested ``qc`` values included);
3. otherwise the keyword's default.

Options of ``settings`` that are not parameters of the function are not used (for
example :func:`~assaykit.qpcr.ddct_lm` fits no group test, so ``test`` and ``error`` of a
:class:`DdctSettings` do not apply to it; :func:`~assaykit.qpcr.qc_wells` takes
``sample_col`` and ``target_col`` but no ``reference``). Values taken from ``settings``
are checked by the function exactly like keywords, with the same messages.

Examples
--------
>>> s = DdctSettings(reference=("GAPDH",), control="vehicle", error="sem")
>>> s.qc.ntc_margin
5.0
>>> s.replace(outlier="median").qc.outlier
'median'
>>> QpcrSettings.from_mapping({"reference": "GAPDH", "efficiency": "auto"}).reference
('GAPDH',)
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from assaykit.errors import AnalysisError, ProtocolError, SettingsError
from assaykit.settings import Settings, option
from assaykit.stats import TESTS

__all__ = [
    "ERRORS",
    "INSTRUMENT_FLAGS",
    "METHODS",
    "OUTLIER_RULES",
    "PAIRINGS",
    "P_ADJUST_FAMILIES",
    "P_ADJUST_METHODS",
    "DdctSettings",
    "QcSettings",
    "QpcrSettings",
]

#: Quantification methods understood by :func:`~assaykit.qpcr.ddct`.
METHODS: tuple[str, ...] = ("livak", "pfaffl", "thermo_ecq")

#: Error-bar conventions of :func:`~assaykit.qpcr.ddct`.
ERRORS: tuple[str, ...] = ("sd", "sem", "ci95")

#: How the technical error of ΔCq is computed.
PAIRINGS: tuple[str, ...] = ("auto", "same_well", "separate")

#: Multiple-testing corrections.
P_ADJUST_METHODS: tuple[str, ...] = ("holm", "bh", "none")

#: Families over which ``p_adjust`` is applied (see :func:`~assaykit.qpcr.ddct`).
P_ADJUST_FAMILIES: tuple[str, ...] = ("target", "all")

#: Handling of instrument-flagged wells (see :func:`~assaykit.qpcr.qc_wells`).
INSTRUMENT_FLAGS: tuple[str, ...] = ("flag", "exclude")

#: Outlier rules and their default thresholds.
OUTLIER_RULES: dict[str, float] = {"median": 0.5, "sd": 0.3, "grubbs": 0.05, "max_dcq": 0.5}


def _are_names(value: Any) -> bool:
    """A non-empty tuple of non-empty names."""
    return len(value) > 0 and all(isinstance(x, str) and x != "" for x in value)


def _as_tuple(value: Any) -> Any:
    """A single name for a tuple-of-names setting becomes a 1-tuple."""
    return (value,) if isinstance(value, str) else value


class _QpcrBase(Settings):
    """Refuses None for a setting whose type does not allow it (TOML has no null; Python may pass one)."""

    def validate(self) -> None:
        specs = _own_specs(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            spec = specs.get(f.name)
            if spec is not None and getattr(self, f.name) is None and not _type_ok(spec.type, None):
                raise self._error(f.name, None, spec.expected or _describe(spec.type))


@functools.cache
def _own_specs(cls: type[Settings]) -> dict[str, Any]:
    return {s.name: s for s in cls.specs()}


@dataclass(frozen=True)
class QcSettings(_QpcrBase):
    """Well-level QC options shared by ``qc_wells``, ``ddct`` and ``ddct_lm`` (module doc).

    ``undetermined`` is normalised on construction: ``'Exclude'`` → ``'exclude'``, a
    number or a numeric text (``'40'``, from the command line) → a float.

    Examples
    --------
    >>> QcSettings(undetermined="40").undetermined
    40.0
    """

    section = "qpcr"

    undetermined: str | float = option(
        "exclude", help="wells without a Cq: 'exclude', or a cycle cut-off such as 40 (flagged)",
        expected="'exclude' or a number",
    )  # fmt: skip
    outlier: str | None = option(
        None, help="technical-replicate outlier rule (none: no rule)", choices=(None, *OUTLIER_RULES)
    )
    outlier_threshold: float | None = option(
        None, help="threshold of the outlier rule (default 0.5 cycles / 0.3 cycles / alpha 0.05 / 0.5 cycles)"
    )
    ntc_margin: float = option(
        5.0, help="cycles: sample wells less than this below an amplified NTC / no-RT of their target are flagged"
    )
    tm_tolerance: float = option(1.0, help="°C from the target's modal Tm above which wells are flagged tm_off_mode")
    instrument_flags: str = option(
        "flag", help="wells with an instrument flag (e.g. HIGHSD): 'flag' (kept, flagged) or 'exclude'",
        choices=INSTRUMENT_FLAGS,
    )  # fmt: skip
    tasks: tuple[str, ...] = option(
        ("unknown",), help="well tasks analysed (others are not_analysed)", check=_are_names,
        expected="a task name or a list of names",
    )  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", _as_tuple(self.tasks))
        object.__setattr__(self, "undetermined", _undetermined(self.undetermined))
        super().__post_init__()


def _undetermined(value: Any) -> str | float:
    """'exclude' or a float cut-off (texts such as '40' from the command line accepted)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text == "exclude":
        return "exclude"
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingsError(
            "undetermined must be 'exclude' or a cycle number", key="undetermined",
            expected="'exclude' or e.g. 40", found=repr(value),
        ) from None  # fmt: skip


@dataclass(frozen=True)
class DdctSettings(_QpcrBase):
    """Options of :func:`~assaykit.qpcr.ddct` (and the columns of ``ddct_lm``); module doc.

    ``reference`` accepts one name (made a 1-tuple) or several (geometric mean of their
    relative quantities); ``reference`` and ``control`` have no default and must be given
    here or to the function.
    """

    section = "qpcr"

    reference: tuple[str, ...] | None = option(
        None, help="reference gene(s): several → geometric mean of their relative quantities (required)",
        check=_are_names, expected="a gene name or a list of names",
    )  # fmt: skip
    control: str | None = option(None, help="control group, a value of group_col (required)")
    group_col: str = option("group", help="column naming the condition of each sample")
    sample_col: str = option("sample", help="column naming the biological sample")
    target_col: str = option("target", help="column naming the target gene")
    method: str = option("livak", help="quantification: livak, pfaffl or thermo_ecq", choices=METHODS)
    error: str = option("sd", help="error bars drawn and named: sd, sem or ci95 (all three are in groups)", choices=ERRORS)
    test: str | None = option(
        "welch", help="test of ΔCq against the control (none: no tests)", choices=(None, *TESTS)
    )
    p_adjust: str = option("holm", help="multiple-testing correction", choices=P_ADJUST_METHODS)
    p_adjust_family: str = option(
        "target", help="multiple-testing family: each target, or all tests of the run", choices=P_ADJUST_FAMILIES
    )
    propagate_control: bool = option(False, help="add the control group's error to each ΔΔCq")
    pairing: str = option(
        "auto", help="technical error of ΔCq: target and references in the same well, or separate wells",
        choices=PAIRINGS,
    )  # fmt: skip
    qc: QcSettings = option(nested=True, help="well-level quality control", default_factory=QcSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference", _as_tuple(self.reference))
        super().__post_init__()


def _efficiency_ok(value: Any) -> bool:
    if isinstance(value, str | os.PathLike):
        return True
    return isinstance(value, Mapping) and all(_is_number(v) for v in value.values())


@dataclass(frozen=True)
class QpcrSettings(DdctSettings):
    """Options of the qPCR workflow: the ``[qpcr]`` table and the ``assaykit qpcr`` options.

    Every :class:`DdctSettings` option, plus ``efficiency`` and ``calibrators``;
    ``method`` unset means ``livak`` without efficiencies and ``pfaffl`` with them.
    ``efficiency`` is ``'auto'`` (standard curves of the run), a table
    ``{target: E}`` (fractions; held read-only), the name of a CSV file with columns
    ``target, efficiency``, or None; ``'none'`` stands for None.
    """

    section = "qpcr"

    method: str | None = option(
        None, help="quantification: livak, pfaffl or thermo_ecq (default livak, or pfaffl with efficiencies)",
        choices=(None, *METHODS),
    )  # fmt: skip
    efficiency: str | Mapping[str, float] | None = option(
        None, help="'auto' (standard curves of the run's standard wells), a CSV file (target, efficiency) "
        "or a table {target = E}", check=_efficiency_ok,
        expected="'auto', 'none', a CSV file name or a table {target = E}",
    )  # fmt: skip
    calibrators: tuple[str, ...] = option(
        (), help="inter-run calibrator sample(s) on every plate: Cq shifts between plates removed before ΔΔCq",
        cli="--calibrator", check=lambda v: all(isinstance(x, str) for x in v),
        expected="a sample name or a list of names",
    )  # fmt: skip

    def __post_init__(self) -> None:
        eff = self.efficiency
        if isinstance(eff, str) and eff.strip().lower() == "none":
            eff = None
        elif isinstance(eff, os.PathLike):
            eff = os.fspath(eff)
        elif isinstance(eff, Mapping) and _efficiency_ok(eff):
            eff = types.MappingProxyType({str(k): v for k, v in eff.items()})
        object.__setattr__(self, "efficiency", eff)
        object.__setattr__(self, "calibrators", () if self.calibrators is None else _as_tuple(self.calibrators))
        super().__post_init__()

    @classmethod
    def from_table(cls, table: Any, where: str | os.PathLike) -> dict[str, Any]:
        """Check a ``[qpcr]`` table of a protocol or layout file and return its options.

        Parameters
        ----------
        table : object
            The parsed table.
        where : str or path
            The file it comes from: named in errors, and the base of a relative
            efficiency CSV path.

        Returns
        -------
        dict
            The table's options (only those given), a relative ``efficiency`` file made
            relative to ``where``; ready for :meth:`merged`.

        Raises
        ------
        ProtocolError
            Not a table, an unknown option (the allowed ones are listed) or a value of
            the wrong type; a :class:`~assaykit.errors.SettingsError` (also a
            ProtocolError) for a value not allowed (e.g. an unknown outlier rule).
        """
        where = os.fspath(where)
        if not isinstance(table, Mapping):
            raise ProtocolError("[qpcr] must be a table of options", file=where, found=type(table).__name__)
        specs = {s.name: s for s in cls.specs()}
        unknown = [k for k in table if k not in specs]
        if unknown:
            raise ProtocolError(
                "unknown option in the [qpcr] table", file=where, expected=f"one of {sorted(specs)}", found=repr(unknown[0])
            )
        for key, value in table.items():
            spec = specs[key]
            norm = _as_tuple(value) if _names_hint(spec.type) else value
            if not _type_ok(spec.type, value) or (spec.check is not None and not spec.check(norm)):
                raise ProtocolError(
                    f"option '{key}' of the [qpcr] table has the wrong type",
                    file=where,
                    expected=spec.expected or _describe(spec.type),
                    found=repr(value),
                )
        out = dict(table)
        eff = out.get("efficiency")
        # a CSV named in a TOML file is relative to that file
        if isinstance(eff, str) and eff.lower() not in ("auto", "none") and not Path(eff).is_absolute():
            out["efficiency"] = str(Path(where).resolve().parent / eff)
        try:
            cls.from_mapping(out)
        except SettingsError as exc:  # a bad value: name the file
            loc = {k: v for k, v in exc.location.items() if k != "file"}
            raise SettingsError(exc.message, file=where, **loc, expected=exc.expected, found=exc.found) from None
        return out

    def resolved_method(self, efficiency_given: bool | None = None) -> str:
        """``method``, or ``livak`` / ``pfaffl`` when unset (by whether efficiencies are given)."""
        if self.method is not None:
            return self.method
        given = self.efficiency is not None if efficiency_given is None else efficiency_given
        return "pfaffl" if given else "livak"


# ------------------------------------------------------------------ value checks
def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _type_ok(hint: Any, value: Any) -> bool:
    """Whether a TOML value fits a setting's declared type."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_type_ok(h, value) for h in typing.get_args(hint))
    origin = typing.get_origin(hint)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:
        return _is_number(value)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, str) or (isinstance(value, list | tuple) and all(isinstance(x, str) for x in value))
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return isinstance(value, Mapping) and all(_is_number(v) for v in value.values())
    return True


def _names_hint(hint: Any) -> bool:
    """A ``tuple[str, ...]`` setting (optionally ``| None``)."""
    return any(typing.get_origin(h) is tuple for h in (*typing.get_args(hint), hint))


def _describe(hint: Any) -> str:
    base = [h for h in typing.get_args(hint) if h is not type(None)] or [hint]
    names = {bool: "true or false", float: "a number", str: "a text"}
    return " or ".join(names.get(h, getattr(h, "__name__", str(h))) for h in base)


def _leaf_values(settings: Settings) -> dict[str, Any]:
    """``{name: value}`` of every setting, nested ones flattened, tuples kept."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, f.name)
        out.update(_leaf_values(value) if isinstance(value, Settings) else {f.name: value})
    return out


# ------------------------------------------------------------------ settings= on the functions
F = TypeVar("F", bound=Callable[..., Any])


def accepts_settings(*classes: type[Settings]) -> Callable[[F], F]:
    """Decorator giving a keyword function a ``settings=`` parameter (rule in the module doc).

    The function must declare ``settings`` as a keyword parameter (default None). A
    settings object of one of ``classes`` (or a subclass) fills every parameter that is
    one of its options, is not given explicitly, and holds a value other than None for
    parameters without a default.
    """

    def deco(fn: F) -> F:
        sig = inspect.signature(fn)
        params = sig.parameters
        names = [n for n in dict.fromkeys(k for c in classes for k in c.keys()) if n in params]
        wanted = " or ".join(c.__name__ for c in classes)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            settings = kwargs.get("settings")
            if settings is None:
                return fn(*args, **kwargs)
            if not isinstance(settings, classes):
                raise AnalysisError(
                    "settings has an unsupported type", key="settings", expected=wanted, found=type(settings).__name__
                )
            given = sig.bind_partial(*args, **kwargs).arguments
            values = _leaf_values(settings)
            for name in names:
                if name in given or name not in values:
                    continue
                if values[name] is None and params[name].default is inspect.Parameter.empty:
                    continue
                kwargs[name] = values[name]
            kwargs["settings"] = None
            return fn(*args, **kwargs)

        return typing.cast(F, wrapper)

    return deco
