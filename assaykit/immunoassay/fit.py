"""Single standard-curve fits (lmfit; restarts by the batched solver).

The weighting (variance models) is in :mod:`assaykit.immunoassay.weights`; its names
``WEIGHTS``, ``parse_weights`` and ``xponent_weights`` are re-exported here.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

import assaykit.immunoassay._stats as _stats
import assaykit.immunoassay.batch as _batch
from assaykit.errors import FitError
from assaykit.immunoassay._start import start_values
from assaykit.immunoassay.curve import StandardCurve
from assaykit.immunoassay.models import MODELS, gd_jacobian
from assaykit.immunoassay.weights import (
    WEIGHTS,
    XPONENT_WEIGHTS,
    parse_weights,
    replicate_power,
    response_floor,
    weight_values,
    xponent_weights,
)

__all__ = ["WEIGHTS", "XPONENT_WEIGHTS", "fit_curve", "parse_weights", "xponent_weights"]

#: Bounds on the 5PL asymmetry g (as R's reference script uses).
G_BOUNDS: tuple[float, float] = (1e-3, 1e3)

_MIN_LEVELS = {"4pl": 4, "5pl": 5, "linear": 2, "loglinear": 2}
_NPAR = {"4pl": 4, "5pl": 5, "linear": 2, "loglinear": 2}


def _check_standards(x: np.ndarray, y: np.ndarray, model: str, scheme: str) -> tuple[str, str, str] | None:
    """Why the used standards (x, y: finite, unmasked) cannot be fitted, or None.

    Returns ``(message, expected, found)``.
    """
    n = x.size
    if n == 0:
        return ("no usable standards (all masked or non-numeric)", "finite conc and response", "none")
    if np.any(x < 0):
        return ("negative standard concentration", "conc >= 0", f"{float(x[x < 0][0]):g}")
    if model == "loglinear" and np.any(x <= 0):
        return ("zero concentration in a log-log model", "conc > 0", f"{float(x[x <= 0][0]):g}")
    if model == "loglinear" and np.any(y <= 0):
        return ("non-positive response in a log-log model", "response > 0", f"{float(y[y <= 0][0]):g}")
    if scheme in ("1/y", "1/y^2") and np.any(y <= 0):
        return (f"weights {scheme} need positive responses", "response > 0", f"{float(y[y <= 0][0]):g}")
    levels = np.unique(x).size
    need = _MIN_LEVELS[model]
    if model in ("4pl", "5pl"):
        if np.count_nonzero(np.unique(x) > 0) < need - 1:
            return (f"too few non-zero standard levels for a {model.upper()}", f">= {need - 1}",
                    str(int(np.count_nonzero(np.unique(x) > 0))))
    if levels < need:
        return (f"too few distinct standard levels for a {model.upper() if 'pl' in model else model} fit",
                f">= {need}", str(levels))
    if n < _NPAR[model] + 1:
        return ("too few standard points to estimate the residual variance", f">= {_NPAR[model] + 1}", str(n))
    return None


def _as_arrays(conc, response, mask):
    try:
        x = np.asarray(conc, dtype=float).ravel()
        y = np.asarray(response, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise FitError("concentrations and responses must be numeric", found=str(exc)) from None
    if x.size != y.size:
        raise FitError("conc and response have different lengths", expected=str(x.size), found=str(y.size))
    if mask is None:
        m = np.zeros(x.size, dtype=bool)
    else:
        m = np.asarray(mask, dtype=bool).ravel()
        if m.size != x.size:
            raise FitError("mask has a different length than conc", expected=str(x.size), found=str(m.size))
    return x, y, m


def _lmfit_gd(x, y, w, model, theta0):
    """Fit a G&D curve with lmfit (TRF with native bounds, analytic Jacobian)."""
    import lmfit

    with_g = model == "5pl"
    sw = np.sqrt(w)
    params = lmfit.Parameters()
    params.add("a", value=float(theta0[0]))
    params.add("b", value=float(theta0[1]))
    params.add("log_c", value=float(theta0[2]), min=np.log(1e-12) if theta0[2] > np.log(1e-12) else None)
    params.add("d", value=float(theta0[3]))
    if with_g:
        lo, hi = np.log(G_BOUNDS[0]), np.log(G_BOUNDS[1])
        params.add("log_g", value=float(np.clip(theta0[4], lo, hi)), min=lo, max=hi)

    def vals(p):
        v = p.valuesdict()
        return v["a"], v["b"], v["log_c"], v["d"], v.get("log_g", 0.0)

    def resid(p):
        a, b, lc, d, lg = vals(p)
        yy, _ = gd_jacobian(x, a, b, lc, d, lg, with_g=False)
        r = sw * (y - yy)
        return np.where(np.isfinite(r), r, 1e150)

    def jac(p):
        a, b, lc, d, lg = vals(p)
        _, J = gd_jacobian(x, a, b, lc, d, lg, with_g=with_g)
        J = -sw[:, None] * J
        return np.where(np.isfinite(J), J, 0.0)

    with warnings.catch_warnings():
        # lmfit's own covariance (unused: ours is computed analytically) may divide by zero
        warnings.simplefilter("ignore", RuntimeWarning)
        out = lmfit.minimize(
            resid, params, method="least_squares", Dfun=jac, ftol=1e-13, xtol=1e-13, gtol=1e-13,
            x_scale="jac", max_nfev=500, calc_covar=False,
        )
    th = np.array([vals(out.params)[i] for i in range(5 if with_g else 4)])
    ok = bool(out.success) and np.all(np.isfinite(th))
    return th, ok, str(out.message), int(out.nfev)


def _fit_gd(x, y, w, model, theta0):
    """lmfit fit; if it stops before converging (5PL ridges), restart it from a
    Levenberg–Marquardt solution with geodesic acceleration."""
    th, ok, msg, nfev = _lmfit_gd(x, y, w, model, theta0)
    if ok:
        return th, ok, msg, nfev
    # the solver is looked up under its public name at call time (tests replace it there)
    t2, c2, it2, _ = _batch.lm_batch(x[None], y[None], w[None], np.asarray(theta0, float)[None], model, max_iter=1000,
                              accelerate=True)
    if c2[0]:
        th3, ok3, msg3, nfev3 = _lmfit_gd(x, y, w, model, t2[0])
        if ok3:
            return th3, ok3, f"{msg3} (restarted from accelerated LM)", nfev + nfev3 + int(it2[0])
        return t2[0], True, "converged (accelerated LM after lmfit stopped early)", nfev + int(it2[0])
    return th, ok, msg, nfev


def _fit_internal(x, y, model, scheme, k, theta0=None, floor=None):
    """Fit the used standards; return (theta, w, converged, message, nfev, k)."""
    floor = response_floor(y) if floor is None else floor
    if model == "linear" or model == "loglinear":
        w = weight_values(scheme, k or 0.0, y, None, floor) if model == "linear" else np.ones_like(y)
        th = _stats.linear_fit(x[None], y[None], w[None], model)[0]
        if scheme == "power" and model == "linear":
            for _ in range(50):
                yf = th[0] * x + th[1]
                w = weight_values(scheme, k, y, yf, floor)
                new = _stats.linear_fit(x[None], y[None], w[None], model)[0]
                done = np.allclose(new, th, rtol=1e-12, atol=0)
                th = new
                if done:
                    break
        return th, w, bool(np.all(np.isfinite(th)) and th[0] != 0), "closed-form least squares", 0
    if theta0 is None:
        theta0 = start_values(x[None], y[None], "4pl")[0]
        if scheme != "none":
            # as fit_curves: weighted fits start from the unweighted 4PL
            thu, oku, _, _ = _lmfit_gd(x, y, np.ones_like(y), "4pl", theta0)
            if oku and np.all(np.isfinite(thu)):
                theta0 = thu
        if model == "5pl":
            th4, ok4, _, _ = _lmfit_gd(x, y, weight_values(scheme, k or 0.0, y, None, floor), "4pl", theta0)
            theta0 = np.append(th4 if ok4 else theta0, 0.0)
    w = weight_values(scheme, k if k is not None else 0.0, y, None, floor)
    th, ok, msg, nfev = _fit_gd(x, y, w, model, theta0)
    if scheme == "power":
        total = nfev
        for _ in range(50):
            yf, _ = _stats.gd_eval(x[None], th[None], model)
            w = weight_values(scheme, k, y, yf[0], floor)
            new, ok, msg, nfev = _fit_gd(x, y, w, model, th)
            total += nfev
            done = np.allclose(new, th, rtol=1e-10, atol=1e-12)
            th = new
            if done:
                break
        else:
            ok, msg = False, "power-law weights did not converge (IRLS, 50 passes)"
        nfev = total
    return th, w, ok, msg, nfev


def fit_curve(
    conc: ArrayLike,
    response: ArrayLike,
    model: str = "4pl",
    weights: str | tuple | None = "none",
    *,
    mask: ArrayLike | None = None,
    asymmetry: str = "auto",
    name: str | None = None,
) -> StandardCurve:
    """Fit one standard curve.

    Parameters
    ----------
    conc : array_like
        Standard concentrations (>= 0; > 0 for ``'loglinear'``). Replicates are
        separate points.
    response : array_like
        Responses (same length). Non-finite pairs are ignored (kept in the curve's
        data with ``used = False``).
    model : {'4pl', '5pl', 'linear', 'loglinear', 'auto'}
        Curve model; ``'auto'`` fits the 4PL and both 5PL orientations and keeps the
        lowest AIC.
    weights : str or tuple, optional
        Variance model, see :func:`parse_weights` and the module docstring.
    mask : array_like of bool, optional
        True for standards to exclude from the fit (kept in the data, ``used = False``).
    asymmetry : {'auto', 'high', 'low'}
        5PL orientation: which tail ``g`` shapes; ``'auto'`` fits both and keeps the
        lower residual sum of squares (same parameter count, so same order as AIC).
    name : str, optional
        Label for error messages (e.g. the analyte).

    Returns
    -------
    StandardCurve
        The immutable fitted curve.

    Raises
    ------
    FitError
        If the data cannot be fitted (too few levels, negative or zero
        concentrations in a log model, invalid weights, no convergence ...).

    Examples
    --------
    >>> import numpy as np
    >>> from assaykit.immunoassay import four_pl
    >>> x = np.repeat([0, 7.8, 15.6, 31.2, 62.5, 125, 250, 500], 2)
    >>> y = four_pl(x, 0.05, 1.3, 160, 3.6)
    >>> curve = fit_curve(x, y, "4pl")
    >>> round(curve.params["c"], 6)
    160.0
    """
    scheme, k = parse_weights(weights)
    model = str(model).lower()
    if model not in (*MODELS, "auto"):
        raise FitError("unknown curve model", read=name, expected="'4pl', '5pl', 'linear', 'loglinear' or 'auto'",
                       found=repr(model))
    if asymmetry not in ("auto", "high", "low"):
        raise FitError("unknown 5PL asymmetry", read=name, expected="'auto', 'high' or 'low'", found=repr(asymmetry))
    if model == "loglinear" and scheme != "none":
        raise FitError("log-log fits are unweighted (the log scale already models a constant CV)",
                       read=name, expected="weights='none'", found=repr(weights))
    x_all, y_all, m_all = _as_arrays(conc, response, mask)
    used = ~m_all & np.isfinite(x_all) & np.isfinite(y_all)
    x, y = x_all[used], y_all[used]
    if model == "auto":
        cands = []
        for mdl in ("4pl", "5pl"):
            try:
                cands.append(fit_curve(x_all, y_all, mdl, weights, mask=m_all, asymmetry=asymmetry, name=name))
            except FitError as exc:
                cands.append(exc)
        good = [c for c in cands if isinstance(c, StandardCurve)]
        if not good:
            raise cands[0]
        return min(good, key=lambda c: c.aic)
    problem = _check_standards(x, y, model, scheme)
    if problem is not None:
        msg, exp, found = problem
        raise FitError(msg, read=name, expected=exp, found=found)
    if scheme == "power" and k is None:
        k = replicate_power(x, y)
        if k is None:
            raise FitError("cannot estimate the power-law variance exponent", read=name,
                           expected="replicate standards at >= 3 levels with non-zero spread",
                           found="fewer such levels")
    floor = response_floor(y)
    if model == "5pl" and asymmetry == "auto":
        fits, errors = [], []
        for o in ("high", "low"):
            try:
                fits.append(fit_curve(x_all, y_all, "5pl", (("power", k) if scheme == "power" else weights),
                                      mask=m_all, asymmetry=o, name=name))
            except FitError as exc:
                errors.append(exc)
        if not fits:
            raise errors[0]
        return min(fits, key=lambda c: c.rss)
    theta0 = None
    if model == "5pl":
        th4, *_ = _fit_internal(x, y, "4pl", scheme, k, floor=floor)
        th4 = _stats.normalise_4pl(th4[None])[0]
        if asymmetry == "low":
            th4 = np.array([th4[3], -th4[1], th4[2], th4[0]])
        theta0 = np.append(th4, 0.0)
    th, w, ok, msg, nfev = _fit_internal(x, y, model, scheme, k, theta0=theta0, floor=floor)
    if not ok or not np.all(np.isfinite(th)):
        raise FitError("the curve fit did not converge", read=name, expected="a converged least-squares fit",
                       found=msg)
    arr = _stats.curve_arrays(
        model, th[None], x_all[None], y_all[None], used[None], _w_full(w, used)[None],
        scheme=scheme, k=k, converged=np.array([ok]), messages=[msg],
        method="closed_form" if model in ("linear", "loglinear") else "lmfit", iterations=[nfev],
        floors=np.array([floor]), labels=[name],
    )
    return _stats.make_curve(arr, 0)


def _w_full(w: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Scatter weights of used points into a full-length array (0 elsewhere)."""
    out = np.zeros(used.size)
    out[used] = w
    return out
