"""The immunoassay workflow: settings from their layers, then the analysis, for Python and the CLI alike.

``assaykit immunoassay`` (alias ``assaykit elisa``) only parses its arguments, reads the
export and the layout, joins them, calls :func:`run` and writes what it returns. The
policy lives here:

* :func:`settings_from_tables` layers the options, later wins: the defaults of
  :class:`~assaykit.immunoassay.settings.AnalysisSettings`, a protocol's
  ``[immunoassay]`` table (or its older name ``[elisa]``), the layout's table, the options
  given explicitly (command line);
* :func:`run` analyses an annotated plate with those settings and returns the immutable
  :class:`~assaykit.immunoassay.analysis.ImmunoassayResult` (``tables()`` gives ``wells``,
  ``samples``, ``standards``, ``curves``, ``linearity``).

Examples
--------
>>> import assaykit
>>> from assaykit.datasets import path
>>> ann = assaykit.annotate(assaykit.read_plate(path("elisa_il6_gen5.txt")),
...                         assaykit.read_layout(path("elisa_il6_layout.toml")))
>>> s = settings_from_tables({"elisa": {"read": "abs_450", "reference_read": "abs_630"}})
>>> run(ann, s).curves["read"].tolist()
['abs_450-630']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from assaykit.immunoassay.analysis import ImmunoassayResult, analyze
from assaykit.immunoassay.settings import AnalysisSettings, settings_table

__all__ = ["run", "settings_from_tables"]


def settings_from_tables(
    protocol: Mapping[str, Any] | None = None,
    layout: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    where: tuple[str | None, str | None] = (None, None),
) -> AnalysisSettings:
    """Layer the options of a protocol, a layout and explicit options (later wins).

    Parameters
    ----------
    protocol, layout : mapping, optional
        Top-level tables of a protocol TOML / of a layout (:func:`assaykit.layout_params`);
        their ``[immunoassay]`` (or ``[elisa]``) table is used, other tables are ignored.
    options : mapping, optional
        Settings given explicitly (e.g. on the command line); ``None`` values count as
        not given.
    where : (str, str)
        The protocol and layout files, named in errors.

    Returns
    -------
    AnalysisSettings

    Raises
    ------
    SettingsError
        On an unknown key (naming its file and listing the allowed keys), an invalid
        value, or a file holding both ``[immunoassay]`` and ``[elisa]``.
    """
    layers = [settings_table(protocol or {}, where=where[0]), settings_table(layout or {}, where=where[1]),
              {k: v for k, v in (options or {}).items() if v is not None}]
    return AnalysisSettings.merged(*layers, where=(where[0], where[1], None))


def run(
    data: pd.DataFrame,
    settings: AnalysisSettings | None = None,
    *,
    mask: Sequence | pd.DataFrame | None = None,
    standard_conc: pd.DataFrame | None = None,
) -> ImmunoassayResult:
    """Analyse an annotated immunoassay plate with the given settings.

    Parameters
    ----------
    data : pandas.DataFrame
        A plate-read table joined to a layout (:func:`assaykit.annotate`).
    settings : AnalysisSettings, optional
        The options (default: :class:`AnalysisSettings` defaults).
    mask, standard_conc : optional
        Wells to exclude and explicit standard concentrations, as in
        :func:`~assaykit.immunoassay.analyze`.

    Returns
    -------
    ImmunoassayResult
        Frozen; ``tables()`` gives every table by name, ``params`` the settings used.

    Raises
    ------
    AnalysisError
        As :func:`~assaykit.immunoassay.analyze`.
    """
    return analyze(data, settings=settings or AnalysisSettings(), mask=mask, standard_conc=standard_conc)
