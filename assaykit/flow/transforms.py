"""Transforms for display and gating: logicle, asinh, hyperlog, FlowJo biex, linear, log.

Each function returns the FlowKit transform object with the given parameters, so the
maths is FlowKit's / flowutils' own (``.apply(x)`` and ``.inverse(y)`` on arrays; the
logicle and hyperlog are flowutils' C code) and a strategy that uses them exports to
GatingML unchanged. :func:`default_transforms` gives FlowJo-like per-channel defaults.

Examples
--------
>>> import numpy as np
>>> xf = logicle(t=262144, w=0.5, m=4.5)
>>> float(np.round(xf.apply(np.array([[0.0]]))[0, 0], 4))
0.1111
"""

from __future__ import annotations

from collections.abc import Mapping

from assaykit.errors import AnalysisError
from assaykit.events import FlowSample

__all__ = ["asinh", "biex", "default_transforms", "hyperlog", "is_scatter", "is_time", "linear", "log", "logicle"]


def _fk():
    from flowkit import transforms

    return transforms


def logicle(t: float = 262144.0, w: float = 0.5, m: float = 4.5, a: float = 0.0):
    """GatingML 2.0 logicle transform (FlowKit ``LogicleTransform``, flowutils C code).

    Parameters
    ----------
    t : float
        Top of scale (data value mapped to 1).
    w : float
        Width of the linear region, in decades.
    m : float
        Number of decades of the full scale.
    a : float
        Additional negative decades.

    Returns
    -------
    flowkit.transforms.LogicleTransform
    """
    return _fk().LogicleTransform(param_t=float(t), param_w=float(w), param_m=float(m), param_a=float(a))


def asinh(t: float = 262144.0, m: float = 4.5, a: float = 0.0):
    """GatingML 2.0 asinh transform (FlowKit ``AsinhTransform``); parameters as :func:`logicle`."""
    return _fk().AsinhTransform(param_t=float(t), param_m=float(m), param_a=float(a))


def hyperlog(t: float = 262144.0, w: float = 0.5, m: float = 4.5, a: float = 0.0):
    """GatingML 2.0 hyperlog transform (FlowKit ``HyperlogTransform``); parameters as :func:`logicle`."""
    return _fk().HyperlogTransform(param_t=float(t), param_w=float(w), param_m=float(m), param_a=float(a))


def biex(negative: float = 0.0, width: float = -10.0, positive: float = 4.41854,
         max_value: float = 262144.000029):
    """FlowJo 10 biexponential transform (FlowKit ``WSPBiexTransform``; FlowJo's defaults).

    Parameters
    ----------
    negative : float
        Extra negative decades.
    width : float
        FlowJo's width basis (negative, e.g. -10).
    positive : float
        Positive decades.
    max_value : float
        Top of scale.
    """
    return _fk().WSPBiexTransform(negative=float(negative), width=float(width), positive=float(positive),
                                  max_value=float(max_value))


def linear(t: float = 262144.0, a: float = 0.0):
    """GatingML 2.0 linear transform (``(x + a) / (t + a)``)."""
    return _fk().LinearTransform(param_t=float(t), param_a=float(a))


def log(t: float = 262144.0, m: float = 4.5):
    """GatingML 2.0 log transform (``(1/m) log10(x/t) + 1``)."""
    return _fk().LogTransform(param_t=float(t), param_m=float(m))


_MAKERS = {"logicle": logicle, "asinh": asinh, "hyperlog": hyperlog, "linear": linear, "log": log}


def is_scatter(name: str) -> bool:
    """True for scatter channels (``FSC*``/``SSC*``, as FlowKit classifies them)."""
    return name.upper().startswith(("FSC", "SSC"))


def is_time(name: str) -> bool:
    """True for the time channel."""
    return name.strip().lower() == "time"


def _top(sample: FlowSample, i: int) -> float:
    value = sample.metadata.get(f"p{i + 1}r")
    try:
        return float(value) if value is not None else 262144.0
    except ValueError:
        return 262144.0


def default_transforms(sample: FlowSample, fluoro: str = "logicle",
                       params: Mapping[str, Mapping[str, float]] | None = None, **defaults: float) -> dict:
    """FlowJo-like per-channel transforms for one sample.

    Scatter and time channels get a linear transform with ``t = $PnR``; fluorescence
    channels get ``fluoro`` (logicle ``w=0.5, m=4.5``, or biex with FlowJo's defaults)
    with ``t = $PnR`` unless given.

    Parameters
    ----------
    sample : FlowSample
    fluoro : {'logicle', 'asinh', 'hyperlog', 'biex', 'linear', 'log'}
        Transform of the fluorescence channels.
    params : mapping, optional
        Per-channel parameters: ``{channel or marker: {param: value}}`` (e.g.
        ``{'CD25': {'w': 1.0}}``), overriding the defaults for that channel only.
    **defaults
        Parameters for every fluorescence channel (e.g. ``w=0.7``).

    Returns
    -------
    dict
        Channel name (PnN) → FlowKit transform.
    """
    per = {sample.channels[sample.channel(k)]: dict(v) for k, v in (params or {}).items()}
    out = {}
    for i, ch in enumerate(sample.channels):
        top = _top(sample, i)
        if is_scatter(ch) or is_time(ch):
            out[ch] = linear(t=top)
            continue
        kw = {**defaults, **per.get(ch, {})}
        if fluoro == "biex":
            kw.setdefault("max_value", top)
            out[ch] = biex(**kw)
        elif fluoro in _MAKERS:
            kw.setdefault("t", top)
            try:
                out[ch] = _MAKERS[fluoro](**kw)
            except TypeError as exc:
                raise AnalysisError("bad transform parameters", channel=ch, found=str(exc)) from None
        else:
            raise AnalysisError("unknown transform", channel=ch,
                                expected="one of: " + ", ".join([*_MAKERS, "biex"]), found=repr(fluoro))
    return out
