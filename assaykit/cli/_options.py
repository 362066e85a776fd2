"""Command-line options built from an assay's :class:`~assaykit.settings.Settings`.

Every assay declares its options once (a frozen settings dataclass); its command gets one
click option per setting from :func:`settings_options`, with the setting's help text and
allowed values, and :func:`given_options` returns the options the user actually typed, ready
to be layered over the protocol and layout tables with :meth:`Settings.merged`.

An option not typed is ``None`` (so that it does not override a protocol); a choice
``None`` is typed as ``none``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click

from assaykit.settings import OptionSpec, Settings

__all__ = ["given_options", "settings_options"]


def _base_type(hint: Any) -> Any:
    """The non-None member of ``X | None`` (or the hint itself)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return hint


def _click_option(spec: OptionSpec) -> Callable[[Callable], Callable]:
    hint = _base_type(spec.type)
    kwargs: dict[str, Any] = {"default": None, "help": spec.help, "show_default": False}
    if spec.choices is not None and all(isinstance(c, str) or c is None for c in spec.choices):
        names = [c if c is not None else "none" for c in spec.choices]
        kwargs["type"] = click.Choice(names, case_sensitive=False)
    elif hint is bool:
        return click.option(f"{spec.flag}/--no-{spec.flag[2:]}", spec.name, **kwargs)
    elif hint in (int, float):
        kwargs["type"] = hint
    if typing.get_origin(hint) is tuple:
        kwargs["multiple"] = True
        kwargs.pop("default")
    return click.option(spec.flag, spec.name, **kwargs)


def settings_options(
    cls: type[Settings], *, only: Iterable[str] | None = None, exclude: Iterable[str] = ()
) -> Callable[[Callable], Callable]:
    """Decorator adding one click option per setting of ``cls``.

    Parameters
    ----------
    cls : type of Settings
        The settings class (nested settings are flattened).
    only : iterable of str, optional
        Only these settings, in this order.
    exclude : iterable of str
        Settings that get no option (e.g. those given as arguments).

    Returns
    -------
    callable
        A decorator for a click command.
    """
    specs = {s.name: s for s in cls.specs()}
    names = list(only) if only is not None else [n for n in specs if n not in set(exclude)]

    def deco(fn: Callable) -> Callable:
        for name in reversed(names):
            fn = _click_option(specs[name])(fn)
        return fn

    return deco


def given_options(cls: type[Settings], params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of ``cls`` typed on the command line (not-given ones left out).

    ``none`` becomes ``None`` for settings whose choices include ``None``; an empty
    repeatable option counts as not given.
    """
    out: dict[str, Any] = {}
    for spec in cls.specs():
        value = params.get(spec.name)
        if value is None or value == ():
            continue
        if isinstance(value, str) and value.lower() == "none" and spec.choices and None in spec.choices:
            value = None
        out[spec.name] = value
    return out
