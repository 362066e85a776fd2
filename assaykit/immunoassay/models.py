"""Standard-curve models: plain numpy functions, inverses, derivatives, converters.

Canonical parameterisation (Gottschalk & Dunn 2005; BioTek Gen5, MyAssays)::

    4PL:  y = d + (a - d) / (1 + (x/c)^b)
    5PL:  y = d + (a - d) / (1 + (x/c)^b)^g          (asymmetry on the high-dose tail)

``a`` is the response at x -> 0, ``d`` the response at x -> inf, ``c`` > 0 the
inflection concentration (the EC50 of a 4PL), ``b`` > 0 the slope and ``g`` > 0
the asymmetry. Increasing curves (sandwich ELISA) have ``a < d``; decreasing
(competitive) curves have ``a > d``.

The 5PL is *not* symmetric under a change of slope sign, so it comes in two
orientations (``asymmetry=``):

``'high'``  y = d + (a - d) / (1 + (x/c)^b)^g      g shapes the approach to ``d`` (high dose)
``'low'``   y = a + (d - a) / (1 + (c/x)^b)^g      g shapes the approach to ``a`` (low dose)

``'low'`` is the orientation of GraphPad Prism's asymmetric 5PL (positive Hill
slope) and of drc ``LL.5`` with a negative slope; both are identities
``five_pl(x, a, b, c, d, g, 'low') == five_pl(x, d, -b, c, a, g, 'high')``.

Also: ``linear`` (y = slope*x + intercept) and ``loglinear``
(log10 y = intercept + slope*log10 x).

All functions broadcast over numpy arrays. Inverses return NaN where no finite
positive concentration maps to the response (beyond an asymptote); callers that
report concentrations (:meth:`StandardCurve.back_calculate`) turn that into a
status, never a silent NaN.

Examples
--------
>>> import numpy as np
>>> y = four_pl(np.array([0.0, 10.0, 1e9]), a=0.05, b=1.3, c=10.0, d=3.0)
>>> np.round(y, 4).tolist()
[0.05, 1.525, 3.0]
>>> round(float(four_pl_inverse(1.525, 0.05, 1.3, 10.0, 3.0)), 9)
10.0
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from assaykit.errors import FitError

__all__ = [
    "MODELS",
    "PARAM_NAMES",
    "ec50",
    "five_pl",
    "five_pl_inverse",
    "four_pl",
    "four_pl_inverse",
    "from_drc",
    "from_prism",
    "gd_jacobian",
    "gd_log_inverse_gradient",
    "gd_predict",
    "linear",
    "linear_inverse",
    "loglinear",
    "loglinear_inverse",
    "lmfit_model",
    "to_drc",
    "to_prism",
]

#: Model names accepted by the fitting functions.
MODELS: tuple[str, ...] = ("4pl", "5pl", "linear", "loglinear")

#: Public parameter names of each model, in order.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "4pl": ("a", "b", "c", "d"),
    "5pl": ("a", "b", "c", "d", "g"),
    "linear": ("slope", "intercept"),
    "loglinear": ("slope", "intercept"),
}

Asymmetry = Literal["high", "low"]


# --------------------------------------------------------------------------- core G&D
def _sig(x: np.ndarray, b: np.ndarray, log_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """s = 1/(1 + (x/c)^b), its log, and L = ln x - ln c (0 where x <= 0).

    x = 0 is handled exactly: s = 1 for b > 0 and s = 0 for b < 0.
    """
    x = np.asarray(x, dtype=float)
    pos = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.where(pos, np.log(np.where(pos, x, 1.0)) - log_c, 0.0)
        t = b * L
        log_s = -np.logaddexp(0.0, t)
        s = np.exp(log_s)
    zero = ~pos
    if np.any(zero):
        bb = np.broadcast_to(b, s.shape)
        s = np.where(zero, np.where(bb > 0, 1.0, 0.0), s)
        log_s = np.where(zero, np.where(bb > 0, 0.0, -np.inf), log_s)
    return s, log_s, L


def gd_predict(x: ArrayLike, a, b, c, d, g=1.0) -> np.ndarray:
    """Gottschalk–Dunn curve ``d + (a - d) * (1 + (x/c)^b)^-g`` for any sign of ``b``.

    Parameters
    ----------
    x : array_like
        Concentrations (>= 0).
    a, b, c, d, g : float or array_like
        Parameters (broadcast against ``x``); ``c`` and ``g`` must be > 0.

    Returns
    -------
    numpy.ndarray
        Responses.
    """
    b = np.asarray(b, dtype=float)
    g = np.asarray(g, dtype=float)
    s, log_s, _ = _sig(x, b, np.log(np.asarray(c, dtype=float)))
    with np.errstate(invalid="ignore", over="ignore"):
        sg = np.where(g == 1.0, s, np.exp(g * log_s))
    return np.asarray(a, dtype=float) * sg + np.asarray(d, dtype=float) * (1.0 - sg)


def four_pl(x: ArrayLike, a: float, b: float, c: float, d: float) -> np.ndarray:
    """4PL curve ``y = d + (a - d) / (1 + (x/c)^b)``.

    Parameters
    ----------
    x : array_like
        Concentrations (>= 0; x = 0 gives ``a`` when b > 0).
    a : float
        Response at x -> 0.
    b : float
        Slope (> 0 in the canonical form).
    c : float
        Inflection concentration (EC50), > 0.
    d : float
        Response at x -> inf.

    Returns
    -------
    numpy.ndarray
        Responses, same shape as ``x``.
    """
    return gd_predict(x, a, b, c, d, 1.0)


def five_pl(
    x: ArrayLike, a: float, b: float, c: float, d: float, g: float, asymmetry: Asymmetry = "high"
) -> np.ndarray:
    """5PL curve in the Gottschalk–Dunn form.

    ``asymmetry='high'``: ``y = d + (a - d) / (1 + (x/c)^b)^g``;
    ``asymmetry='low'``: ``y = a + (d - a) / (1 + (c/x)^b)^g``.

    Parameters
    ----------
    x : array_like
        Concentrations (>= 0).
    a, d : float
        Responses at x -> 0 and x -> inf.
    b : float
        Slope (> 0 in the canonical form).
    c : float
        Location concentration (> 0); not the EC50 unless g = 1 (see :func:`ec50`).
    g : float
        Asymmetry (> 0); g = 1 gives the 4PL.
    asymmetry : {'high', 'low'}
        Which tail ``g`` shapes.

    Returns
    -------
    numpy.ndarray
        Responses.
    """
    if asymmetry == "high":
        return gd_predict(x, a, b, c, d, g)
    if asymmetry == "low":
        return gd_predict(x, d, -np.asarray(b, dtype=float), c, a, g)
    raise FitError("unknown 5PL asymmetry", expected="'high' or 'low'", found=repr(asymmetry))


def _gd_inverse(y, a, b, c, d, g):
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = (a - d) / (y - d)
        if np.all(np.asarray(g) == 1.0):
            q = (a - y) / (y - d)  # r - 1, without cancellation
        else:
            q = np.expm1(np.log(r) / g)
        ok = (r > 1) & (q > 0) & np.isfinite(q)
        x = c * np.exp(np.log(np.where(ok, q, 1.0)) / b)
    return np.where(ok & np.isfinite(x), x, np.nan)


def four_pl_inverse(y: ArrayLike, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Concentration of a response on a 4PL: ``x = c * ((a - d)/(y - d) - 1)^(1/b)``.

    Returns NaN where ``y`` is not strictly between ``a`` and ``d``.

    Parameters
    ----------
    y : array_like
        Responses.
    a, b, c, d : float
        4PL parameters as in :func:`four_pl`.

    Returns
    -------
    numpy.ndarray
        Concentrations (NaN beyond the asymptotes).
    """
    return _gd_inverse(y, a, b, c, d, 1.0)


def five_pl_inverse(
    y: ArrayLike, a: float, b: float, c: float, d: float, g: float, asymmetry: Asymmetry = "high"
) -> np.ndarray:
    """Concentration of a response on a 5PL.

    ``'high'``: ``x = c * (((a - d)/(y - d))^(1/g) - 1)^(1/b)``;
    ``'low'``: ``x = c * (((d - a)/(y - a))^(1/g) - 1)^(-1/b)``.
    NaN where ``y`` is not strictly between ``a`` and ``d``.

    Parameters
    ----------
    y : array_like
        Responses.
    a, b, c, d, g, asymmetry
        As in :func:`five_pl`.

    Returns
    -------
    numpy.ndarray
        Concentrations (NaN beyond the asymptotes).
    """
    if asymmetry == "high":
        return _gd_inverse(y, a, b, c, d, g)
    if asymmetry == "low":
        return _gd_inverse(y, d, -np.asarray(b, dtype=float), c, a, g)
    raise FitError("unknown 5PL asymmetry", expected="'high' or 'low'", found=repr(asymmetry))


def ec50(b: float, c: float, g: float = 1.0, asymmetry: Asymmetry = "high") -> float:
    """Concentration giving the response halfway between ``a`` and ``d``.

    ``'high'``: ``c * (2^(1/g) - 1)^(1/b)``; ``'low'``: ``c * (2^(1/g) - 1)^(-1/b)``.

    Parameters
    ----------
    b, c, g : float
        Curve parameters (g = 1 for a 4PL).
    asymmetry : {'high', 'low'}
        5PL orientation.

    Returns
    -------
    float
        The EC50.
    """
    sign = 1.0 if asymmetry == "high" else -1.0
    return float(c * (2.0 ** (1.0 / g) - 1.0) ** (sign / b))


def linear(x: ArrayLike, slope: float, intercept: float) -> np.ndarray:
    """Straight line ``y = slope * x + intercept``.

    Parameters
    ----------
    x : array_like
        Concentrations.
    slope, intercept : float
        Line parameters.

    Returns
    -------
    numpy.ndarray
        Responses.
    """
    return slope * np.asarray(x, dtype=float) + intercept


def linear_inverse(y: ArrayLike, slope: float, intercept: float) -> np.ndarray:
    """Inverse of :func:`linear`: ``x = (y - intercept) / slope`` (NaN if slope is 0).

    Parameters
    ----------
    y : array_like
        Responses.
    slope, intercept : float
        Line parameters.

    Returns
    -------
    numpy.ndarray
        Concentrations (may be negative).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (np.asarray(y, dtype=float) - intercept) / slope
    return np.where(np.isfinite(x), x, np.nan)


def loglinear(x: ArrayLike, slope: float, intercept: float) -> np.ndarray:
    """Log–log line ``log10 y = intercept + slope * log10 x``, i.e. ``y = 10^intercept * x^slope``.

    Parameters
    ----------
    x : array_like
        Concentrations (> 0).
    slope, intercept : float
        Parameters on the log10 scale.

    Returns
    -------
    numpy.ndarray
        Responses (NaN for x <= 0).
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, 10.0 ** (intercept + slope * np.log10(np.where(x > 0, x, 1.0))), np.nan)


def loglinear_inverse(y: ArrayLike, slope: float, intercept: float) -> np.ndarray:
    """Inverse of :func:`loglinear`: ``x = 10^((log10 y - intercept) / slope)`` (NaN for y <= 0).

    Parameters
    ----------
    y : array_like
        Responses.
    slope, intercept : float
        Parameters on the log10 scale.

    Returns
    -------
    numpy.ndarray
        Concentrations.
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = 10.0 ** ((np.log10(np.where(y > 0, y, 1.0)) - intercept) / slope)
    return np.where((y > 0) & np.isfinite(x) & (x > 0), x, np.nan)


# --------------------------------------------------------------------------- derivatives
def gd_jacobian(x: ArrayLike, a, b, log_c, d, log_g=0.0, *, with_g: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and Jacobian of the G&D curve in the fitting parameters.

    The fitting parameters are ``(a, b, ln c, d, ln g)`` (``ln g`` omitted when
    ``with_g`` is False); all arguments broadcast (e.g. ``x`` of shape (m, n) and
    parameters of shape (m, 1) for m curves).

    Parameters
    ----------
    x : array_like
        Concentrations (>= 0).
    a, b, log_c, d, log_g : float or array_like
        Parameters.
    with_g : bool
        Whether to include the ``ln g`` column.

    Returns
    -------
    y : numpy.ndarray
        Predictions, shape of the broadcast.
    jac : numpy.ndarray
        Derivatives, shape ``y.shape + (4 or 5,)``.
    """
    b = np.asarray(b, dtype=float)
    log_c = np.asarray(log_c, dtype=float)
    a = np.asarray(a, dtype=float)
    d = np.asarray(d, dtype=float)
    g = np.exp(np.asarray(log_g, dtype=float))
    s, log_s, L = _sig(x, b, log_c)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        sg = np.exp(g * log_s)
        amd = a - d
        # d s^g / d(b L) = -g s^g (1 - s)
        common = amd * g * sg * (1.0 - s)
        d_b = -common * L
        d_logc = common * b
        d_logg = np.where(sg > 0, amd * sg * g * log_s, 0.0)
    y = a * sg + d * (1.0 - sg)
    shape = y.shape
    cols = [np.broadcast_to(sg, shape), np.broadcast_to(d_b, shape), np.broadcast_to(d_logc, shape),
            np.broadcast_to(1.0 - sg, shape)]
    if with_g:
        cols.append(np.broadcast_to(d_logg, shape))
    return y, np.stack(cols, axis=-1)


def gd_log_inverse_gradient(y: ArrayLike, a, b, c, d, g=1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln x̂ of the G&D inverse and its derivatives in ``(a, b, c, d, g)`` and ``y``.

    ``ln x = ln c + ln(q)/b`` with ``q = ((a - d)/(y - d))^(1/g) - 1``.

    Parameters
    ----------
    y : array_like
        Responses.
    a, b, c, d, g : float or array_like
        G&D parameters (any sign of b), broadcast against ``y``.

    Returns
    -------
    log_x : numpy.ndarray
        ln of the back-calculated concentration (NaN beyond the asymptotes).
    grad : numpy.ndarray
        Shape ``log_x.shape + (5,)``: d ln x / d(a, b, c, d, g).
    d_dy : numpy.ndarray
        d ln x / d y.
    """
    y = np.asarray(y, dtype=float)
    a, b, c, d, g = (np.asarray(v, dtype=float) for v in (a, b, c, d, g))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ymd = y - d
        r = (a - d) / ymd
        log_r = np.log(r)
        q = np.where(g == 1.0, (a - y) / ymd, np.expm1(log_r / g))
        ok = (r > 1) & (q > 0)
        log_q = np.log(np.where(ok, q, 1.0))
        log_x = np.where(ok, np.log(c) + log_q / b, np.nan)
        r1g = np.exp(log_r / g)  # r^(1/g)
        dlx_dq = 1.0 / (b * q)
        dq_dr = r1g / (g * r)
        dr_da = 1.0 / ymd
        dr_dd = (a - y) / ymd**2
        dr_dy = -(a - d) / ymd**2
        grad_a = dlx_dq * dq_dr * dr_da
        grad_b = -log_q / b**2
        grad_c = np.broadcast_to(1.0 / c, log_x.shape)
        grad_d = dlx_dq * dq_dr * dr_dd
        grad_g = dlx_dq * (-r1g * log_r / g**2)
        d_dy = dlx_dq * dq_dr * dr_dy
    shape = log_x.shape
    grad = np.stack([np.broadcast_to(v, shape) for v in (grad_a, grad_b, grad_c, grad_d, grad_g)], axis=-1)
    nan = ~ok
    grad = np.where(nan[..., None], np.nan, grad)
    d_dy = np.where(nan, np.nan, d_dy)
    return log_x, grad, d_dy


# --------------------------------------------------------------------------- converters
def to_drc(params: dict[str, float], model: str = "4pl", asymmetry: Asymmetry = "high") -> dict[str, float]:
    """Convert canonical parameters to R drc ``LL.4`` / ``LL.5``.

    drc: ``f(x) = c + (d - c) / (1 + exp(b (ln x - ln e)))^f``. The 4PL maps to
    ``LL.4(b = -b, c = a, d = d, e = c)`` (an increasing curve has a negative drc
    slope); the 5PL ``'high'`` orientation to ``LL.5(b = b, c = d, d = a, e = c, f = g)``
    and ``'low'`` to ``LL.5(b = -b, c = a, d = d, e = c, f = g)``.

    Parameters
    ----------
    params : dict
        Canonical parameters ``a, b, c, d`` (and ``g`` for 5PL).
    model : {'4pl', '5pl'}
        Model.
    asymmetry : {'high', 'low'}
        5PL orientation.

    Returns
    -------
    dict
        drc parameters ``b, c, d, e`` (and ``f``).
    """
    p = params
    if model == "4pl":
        return {"b": -p["b"], "c": p["a"], "d": p["d"], "e": p["c"]}
    if model == "5pl":
        if asymmetry == "high":
            return {"b": p["b"], "c": p["d"], "d": p["a"], "e": p["c"], "f": p["g"]}
        return {"b": -p["b"], "c": p["a"], "d": p["d"], "e": p["c"], "f": p["g"]}
    raise FitError("converters exist for the 4PL and 5PL only", expected="'4pl' or '5pl'", found=repr(model))


def from_drc(drc: dict[str, float]) -> tuple[dict[str, float], str]:
    """Convert drc ``LL.4`` (keys b, c, d, e) or ``LL.5`` (plus f) to canonical parameters.

    Parameters
    ----------
    drc : dict
        drc parameters.

    Returns
    -------
    params : dict
        Canonical ``a, b, c, d`` (and ``g``), with ``b > 0``.
    asymmetry : str
        ``'high'`` or ``'low'`` (always ``'high'`` for LL.4, where it does not matter).
    """
    b, c, d, e = drc["b"], drc["c"], drc["d"], drc["e"]
    if "f" not in drc:
        # y = c + (d - c)/(1 + (x/e)^b): G&D with a = d, d = c, slope b; make the slope positive.
        if b > 0:
            return {"a": d, "b": b, "c": e, "d": c}, "high"
        return {"a": c, "b": -b, "c": e, "d": d}, "high"
    f = drc["f"]
    if b > 0:
        return {"a": d, "b": b, "c": e, "d": c, "g": f}, "high"
    return {"a": c, "b": -b, "c": e, "d": d, "g": f}, "low"


def to_prism(params: dict[str, float], model: str = "4pl", asymmetry: Asymmetry = "high") -> dict[str, float]:
    """Convert canonical parameters to GraphPad Prism (X = log10 concentration).

    4PL: ``Y = Bottom + (Top - Bottom) / (1 + 10^((LogEC50 - X) * HillSlope))`` with
    ``Bottom = a, Top = d, HillSlope = b, LogEC50 = log10 c``.
    Asymmetric 5PL: ``Y = Bottom + (Top - Bottom) / (1 + 10^((LogXb - X) * HillSlope))^S``,
    ``LogXb = LogEC50 + log10(2^(1/S) - 1) / HillSlope``. ``'low'`` maps to ``Bottom = a,
    Top = d, HillSlope = b``; ``'high'`` to ``Bottom = d, Top = a, HillSlope = -b``; ``S = g``.
    (Prism's Bottom/Top are the X -> -inf / X -> +inf plateaus only for a positive
    HillSlope.)

    Parameters
    ----------
    params : dict
        Canonical parameters.
    model : {'4pl', '5pl'}
        Model.
    asymmetry : {'high', 'low'}
        5PL orientation.

    Returns
    -------
    dict
        ``Bottom, Top, HillSlope, LogEC50`` (and ``S``, ``LogXb`` for 5PL).
    """
    p = params
    if model == "4pl":
        return {"Bottom": p["a"], "Top": p["d"], "HillSlope": p["b"], "LogEC50": float(np.log10(p["c"]))}
    if model != "5pl":
        raise FitError("converters exist for the 4PL and 5PL only", expected="'4pl' or '5pl'", found=repr(model))
    if asymmetry == "low":
        bottom, top, h = p["a"], p["d"], p["b"]
    else:
        bottom, top, h = p["d"], p["a"], -p["b"]
    s = p["g"]
    log_xb = float(np.log10(p["c"]))
    log_ec50 = log_xb - float(np.log10(2.0 ** (1.0 / s) - 1.0)) / h
    return {"Bottom": bottom, "Top": top, "HillSlope": h, "LogEC50": log_ec50, "S": s, "LogXb": log_xb}


def from_prism(prism: dict[str, float]) -> tuple[dict[str, float], str]:
    """Convert Prism 4PL (Bottom, Top, HillSlope, LogEC50) or asymmetric 5PL (plus S) parameters.

    Parameters
    ----------
    prism : dict
        Prism parameters; for the 5PL ``LogEC50`` (or ``LogXb``) and ``S``.

    Returns
    -------
    params : dict
        Canonical parameters with ``b > 0``.
    asymmetry : str
        ``'high'`` or ``'low'``.
    """
    bottom, top, h = prism["Bottom"], prism["Top"], prism["HillSlope"]
    if "S" not in prism:
        c = 10.0 ** prism["LogEC50"]
        if h > 0:
            return {"a": bottom, "b": h, "c": c, "d": top}, "high"
        return {"a": top, "b": -h, "c": c, "d": bottom}, "high"
    s = prism["S"]
    if "LogXb" in prism:
        log_xb = prism["LogXb"]
    else:
        log_xb = prism["LogEC50"] + float(np.log10(2.0 ** (1.0 / s) - 1.0)) / h
    c = 10.0**log_xb
    if h > 0:
        return {"a": bottom, "b": h, "c": c, "d": top, "g": s}, "low"
    return {"a": top, "b": -h, "c": c, "d": bottom, "g": s}, "high"


# --------------------------------------------------------------------------- lmfit wrappers
def lmfit_model(model: str = "4pl", asymmetry: Asymmetry = "high"):
    """A thin :class:`lmfit.Model` for a curve, with a data-driven ``guess()``.

    The 4PL/5PL models are parameterised with ``log_c`` (and ``log_g``) so that
    steps stay valid; ``c`` and ``g`` are derived parameters.

    Parameters
    ----------
    model : {'4pl', '5pl', 'linear', 'loglinear'}
        Curve model.
    asymmetry : {'high', 'low'}
        5PL orientation.

    Returns
    -------
    lmfit.Model
        The model; ``model.guess(y, x=x)`` gives starting parameters.
    """
    import lmfit

    from assaykit.immunoassay._start import start_values

    if model in ("4pl", "5pl"):
        if model == "4pl":

            def f4(x, a, b, log_c, d):
                return gd_predict(x, a, b, np.exp(log_c), d, 1.0)

            func = f4
        else:
            sign = 1.0 if asymmetry == "high" else -1.0

            def f5(x, a, b, log_c, d, log_g):
                if sign > 0:
                    return gd_predict(x, a, b, np.exp(log_c), d, np.exp(log_g))
                return gd_predict(x, d, -b, np.exp(log_c), a, np.exp(log_g))

            func = f5

        class _CurveModel(lmfit.Model):
            def guess(self, data, x=None, **kwargs):
                st = start_values(np.asarray(x, float)[None, :], np.asarray(data, float)[None, :], model)
                a0, b0, lc0, d0 = (float(v) for v in st[0, :4])
                pars = self.make_params(a=a0, b=b0, log_c=lc0, d=d0, **({"log_g": 0.0} if model == "5pl" else {}))
                pars.add("c", expr="exp(log_c)")
                if model == "5pl":
                    pars.add("g", expr="exp(log_g)")
                return lmfit.models.update_param_vals(pars, self.prefix, **kwargs)

        return _CurveModel(func, name=model)

    if model == "linear":
        return lmfit.models.LinearModel()
    if model == "loglinear":

        def fll(x, slope, intercept):
            return loglinear(x, slope, intercept)

        class _LogLin(lmfit.Model):
            def guess(self, data, x=None, **kwargs):
                lx, ly = np.log10(np.asarray(x, float)), np.log10(np.asarray(data, float))
                sl, ic = np.polyfit(lx, ly, 1)
                return lmfit.models.update_param_vals(self.make_params(slope=sl, intercept=ic), self.prefix, **kwargs)

        return _LogLin(fll, name="loglinear")
    raise FitError("unknown curve model", expected=" or ".join(repr(m) for m in MODELS), found=repr(model))
