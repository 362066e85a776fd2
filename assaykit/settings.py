"""Typed, immutable settings: one source of truth for the options of every assay.

Each assay declares its options once, as a frozen dataclass deriving from
:class:`Settings`, with :func:`option` fields carrying the default, the help text and
the allowed values. From that one declaration come

* the keyword API of the analysis functions (``ddct(..., settings=DdctSettings(...))``),
* the tables of protocol TOML files and layouts (:meth:`Settings.from_mapping`, which
  rejects unknown keys and lists the allowed ones),
* the command-line options (``assaykit.cli`` builds its click options from
  :meth:`Settings.specs`),
* the ``info`` sheet of every workbook (:meth:`Settings.to_dict`).

Settings may nest: a field whose type is another :class:`Settings` class and that is
declared with ``option(nested=True)`` takes its keys at the same level of a mapping (the
``[qpcr]`` table holds ``outlier`` for :class:`~assaykit.qpcr.QcSettings` beside
``control`` for ``DdctSettings``).

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(Settings):
...     section = "demo"
...     level: float = option(0.95, help="confidence level", check=lambda v: 0 < v < 1)
...     test: str = option("welch", help="group test", choices=("welch", "student"))
>>> Demo.from_mapping({"level": 0.9}).level
0.9
>>> Demo.from_mapping({"levle": 0.9})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
SettingsError: key levle: not a setting of [demo] (expected one of: level, test)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Self

from assaykit.errors import SettingsError

__all__ = ["OptionSpec", "Settings", "SettingsError", "option"]

_META = "assaykit"


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    choices: tuple[Any, ...] | None = None,
    check: Callable[[Any], bool] | None = None,
    expected: str | None = None,
    nested: bool = False,
    cli: str | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """Declare one setting of a :class:`Settings` dataclass.

    Parameters
    ----------
    default : object
        The default value (immutable: use tuples, not lists).
    help : str
        One line saying what the setting does; shown by ``--help``, in the docs and in
        error messages.
    choices : tuple, optional
        The allowed values (checked on construction).
    check : callable, optional
        ``check(value) -> bool``; False raises :class:`SettingsError` naming the setting.
    expected : str, optional
        How the error of a failed ``check`` describes a valid value.
    nested : bool
        The field holds another :class:`Settings` whose keys sit at this level of a
        mapping.
    cli : str, optional
        The command-line flag when it differs from ``--name-with-dashes``.
    default_factory : callable, optional
        Instead of ``default`` (e.g. a nested settings class).

    Returns
    -------
    dataclasses.Field
    """
    meta = {_META: OptionSpec("", help, choices, check, expected, nested, cli)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class OptionSpec:
    """What :func:`option` declared about one setting (see :meth:`Settings.specs`)."""

    name: str
    help: str
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], bool] | None = None
    expected: str | None = None
    nested: bool = False
    cli: str | None = None
    default: Any = None
    type: Any = None

    @property
    def flag(self) -> str:
        """The command-line flag (``--outlier-threshold``)."""
        return self.cli or "--" + self.name.replace("_", "-")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _accepts(hint: Any, kind: type) -> bool:
    if hint is kind:
        return True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_accepts(h, kind) for h in typing.get_args(hint))
    return typing.get_origin(hint) is kind


def _coerce(hint: Any, value: Any) -> Any:
    """TOML and CLI values into the declared type: list → tuple, int → float."""
    if isinstance(value, list) and _accepts(hint, tuple):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and _accepts(hint, float) and not _accepts(hint, int):
        return float(value)
    return value


class Settings:
    """Base class of the frozen settings dataclasses (mix in with ``@dataclass(frozen=True)``).

    Subclasses set the class variable ``section`` (the TOML table name, e.g. ``'qpcr'``)
    and may override :meth:`validate` for checks that involve several settings.
    """

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = _coerce(hints.get(f.name), getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            spec = f.metadata.get(_META)
            if spec is None or spec.nested:
                continue
            if spec.choices is not None and None in spec.choices and isinstance(value, str) and value.lower() == "none":
                value = None  # TOML has no null: 'none' stands for it
                object.__setattr__(self, f.name, value)
            if spec.choices is not None and value not in spec.choices:
                raise self._error(f.name, value, "one of: " + ", ".join(map(repr, spec.choices)))
            if spec.check is not None and value is not None and not spec.check(value):
                raise self._error(f.name, value, spec.expected or spec.help)
        self.validate()

    def validate(self) -> None:
        """Checks across several settings (override; raise :meth:`_error`)."""

    def _error(self, name: str, value: Any, expected: str) -> SettingsError:
        table = f" of [{self.section}]" if self.section else ""
        return SettingsError(f"invalid value of a setting{table}", key=name, expected=expected, found=repr(value))

    # ------------------------------------------------------------ introspection
    @classmethod
    def specs(cls) -> list[OptionSpec]:
        """Every setting (nested ones flattened) with its help, choices, default and type."""
        out: list[OptionSpec] = []
        hints = _hints(cls)
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            spec: OptionSpec = f.metadata.get(_META) or OptionSpec("", "")
            if spec.nested:
                out.extend(hints[f.name].specs())
                continue
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append(dataclasses.replace(spec, name=f.name, default=default, type=hints.get(f.name)))
        return out

    @classmethod
    def keys(cls) -> list[str]:
        """Names accepted by :meth:`from_mapping` (nested settings' names included)."""
        return [s.name for s in cls.specs()]

    @classmethod
    def _nested(cls) -> Iterator[tuple[str, type[Settings]]]:
        hints = _hints(cls)
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            spec = f.metadata.get(_META)
            if spec is not None and spec.nested:
                yield f.name, hints[f.name]

    # ------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None = None, *, where: str | None = None, **overrides: Any) -> Self:
        """Build settings from a mapping (a protocol or layout table, parsed CLI options).

        Parameters
        ----------
        mapping : mapping, optional
            Setting name → value. Keys of nested settings sit at the same level.
        where : str, optional
            The file the mapping comes from, named in errors.
        **overrides
            Further settings; they win over ``mapping``.

        Returns
        -------
        Settings
            A new instance; unspecified settings keep their defaults.

        Raises
        ------
        SettingsError
            On a key that is not a setting (the allowed keys are listed) or an invalid value.
        """
        given = {**(mapping or {}), **overrides}
        allowed = cls.keys()
        for key in given:
            if key not in allowed:
                raise SettingsError(
                    f"not a setting of [{cls.section}]" if cls.section else "not a setting",
                    file=where,
                    key=key,
                    expected="one of: " + ", ".join(allowed),
                )
        return cls._build(given)

    @classmethod
    def _build(cls, given: Mapping[str, Any]) -> Self:
        kwargs: dict[str, Any] = {}
        nested = dict(cls._nested())
        for name, sub in nested.items():
            own = {k: v for k, v in given.items() if k in sub.keys()}
            kwargs[name] = sub._build(own)
        own_names = {f.name for f in dataclasses.fields(cls)} - set(nested)  # type: ignore[arg-type]
        kwargs.update({k: v for k, v in given.items() if k in own_names})
        return cls(**kwargs)

    @classmethod
    def merged(cls, *layers: Mapping[str, Any] | None, where: tuple[str | None, ...] = ()) -> Self:
        """Merge mappings in order, later wins (the usual order: protocol, layout, command line).

        Each layer holds only the settings it gives (:func:`assaykit.cli._options.given_options`
        leaves out the options not typed); unknown keys are reported with the layer's file
        from ``where``.
        """
        combined: dict[str, Any] = {}
        for i, layer in enumerate(layers):
            if not layer:
                continue
            unknown = [k for k in layer if k not in cls.keys()]
            if unknown:
                cls.from_mapping({unknown[0]: None}, where=where[i] if i < len(where) else None)
            combined.update(layer)
        return cls.from_mapping(combined)

    def replace(self, **changes: Any) -> Self:
        """A copy with some settings changed (nested settings' names accepted)."""
        return type(self).from_mapping({**self.to_dict(), **changes})

    # ------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        """Flat ``{name: value}`` of every setting (nested ones flattened), TOML-friendly."""
        out: dict[str, Any] = {}
        nested = dict(self._nested())
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in nested:
                out.update(value.to_dict())
            else:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out
