"""Vectorised fit statistics and StandardCurve construction shared by fit.py and batch.py (internal).

Internal fitting parameters (``theta``):
4PL ``(a, b, ln c, d)``, 5PL ``(a, b, ln c, d, ln g)`` in the general G&D form
``y = d + (a - d)/(1 + (x/c)^b)^g`` with any sign of b; linear ``(slope, intercept)``;
log-log ``(slope, intercept)`` on the log10 scale.
"""

from __future__ import annotations

import numpy as np

from assaykit.immunoassay.curve import StandardCurve
from assaykit.immunoassay.models import PARAM_NAMES, gd_jacobian

G_LOG_BOUNDS = (np.log(1e-3), np.log(1e3))


def gd_eval(X: np.ndarray, TH: np.ndarray, model: str, jac: bool = False):
    """Predictions (m, n) and optionally Jacobians (m, n, p) for m curves."""
    with_g = model == "5pl"
    lg = TH[:, 4:5] if with_g else 0.0
    y, J = gd_jacobian(X, TH[:, 0:1], TH[:, 1:2], TH[:, 2:3], TH[:, 3:4], lg, with_g=with_g)
    return (y, J) if jac else (y, None)


def normalise_4pl(TH: np.ndarray) -> np.ndarray:
    """4PL with b < 0 is the same curve as (a, b, d) -> (d, -b, a): make b > 0."""
    TH = np.array(TH, dtype=float)
    neg = TH[:, 1] < 0
    if np.any(neg):
        a = TH[neg, 0].copy()
        TH[neg, 0] = TH[neg, 3]
        TH[neg, 3] = a
        TH[neg, 1] = -TH[neg, 1]
    return TH


def linear_fit(X: np.ndarray, Y: np.ndarray, W: np.ndarray, model: str) -> np.ndarray:
    """Weighted straight-line fits of m curves (NaN-padded arrays; W = 0 for unused)."""
    if model == "loglinear":
        with np.errstate(divide="ignore", invalid="ignore"):
            X = np.log10(np.where(X > 0, X, np.nan))
            Y = np.log10(np.where(Y > 0, Y, np.nan))
    ok = np.isfinite(X) & np.isfinite(Y) & (W > 0)
    W = np.where(ok, W, 0.0)
    X = np.where(ok, X, 0.0)
    Y = np.where(ok, Y, 0.0)
    sw = W.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = (W * X).sum(1) / sw
        my = (W * Y).sum(1) / sw
        sxx = (W * (X - mx[:, None]) ** 2).sum(1)
        sxy = (W * (X - mx[:, None]) * (Y - my[:, None])).sum(1)
        slope = sxy / sxx
    return np.stack([slope, my - slope * mx], axis=1)


def _predict_internal(model, X, TH):
    if model == "linear":
        return TH[:, 0:1] * X + TH[:, 1:2], np.stack([X, np.ones_like(X)], axis=-1)
    if model == "loglinear":
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.log10(np.where(X > 0, X, np.nan))
        return TH[:, 0:1] * lx + TH[:, 1:2], np.stack([lx, np.ones_like(lx)], axis=-1)
    return gd_eval(X, TH, model, jac=True)


def fit_stats(model, TH, X, Y, USED, W):
    """RSS, sigma, df, internal covariance, AIC and R² for m fitted curves.

    W holds the final weights (0 where unused). Returns a dict of arrays.
    """
    m, n = X.shape
    p = TH.shape[1]
    Xs = np.where(USED, X, 1.0)
    Ys = np.where(USED, Y, 0.0)
    Ws = np.where(USED, W, 0.0)
    yhat, J = _predict_internal(model, Xs, TH)
    if model == "loglinear":
        with np.errstate(divide="ignore", invalid="ignore"):
            Ys = np.where(USED, np.log10(np.where(Ys > 0, Ys, 1.0)), 0.0)
    res = np.where(USED, Ys - yhat, 0.0)
    J = np.where(USED[..., None], J, 0.0)
    N = USED.sum(1)
    rss = (Ws * res**2).sum(1)
    df = N - p
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = np.where(df > 0, rss / df, np.nan)
        JtWJ = np.einsum("mni,mn,mnj->mij", J, Ws, J)
        JtWJ = np.where(np.isfinite(JtWJ), JtWJ, 0.0)
        # scale for conditioning
        dg = np.sqrt(np.clip(np.einsum("mii->mi", JtWJ), 1e-300, None))
        S = JtWJ / (dg[:, :, None] * dg[:, None, :])
        # symmetric eigen-decomposition: condition number and (pseudo-)inverse in one go
        lam, Q = np.linalg.eigh(S)
        lmax = lam[:, -1:]
        cond = np.where(lam[:, 0] > 0, lmax[:, 0] / np.where(lam[:, 0] > 0, lam[:, 0], 1.0), np.inf)
        keep = lam > 1e-15 * lmax
        ilam = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
        inv = np.einsum("mik,mk,mjk->mij", Q, ilam, Q) / (dg[:, :, None] * dg[:, None, :])
        cov = sigma2[:, None, None] * inv
        singular = ~np.isfinite(cond) | (cond > 1e14)
        logw = np.where(USED & (Ws > 0), np.log(np.where(Ws > 0, Ws, 1.0)), 0.0).sum(1)
        loglik = -0.5 * N * (np.log(2 * np.pi) + 1 - np.log(N) - logw / N + np.log(rss))
        aic = -2 * loglik + 2 * (p + 1)
        mw = (Ws * Ys).sum(1) / Ws.sum(1)
        tss = (Ws * (Ys - mw[:, None]) ** 2).sum(1)
        r2 = 1 - rss / tss
    return {
        "rss": rss, "df": df, "sigma": np.sqrt(sigma2), "cov_int": cov, "singular": singular,
        "aic": aic, "r2": r2, "n": N,
    }


def natural(model: str, TH: np.ndarray, cov_int: np.ndarray):
    """Natural G&D parameters (m, 5) = (a, b, c, d, g) and their covariance (m, 5, 5).

    For linear models: (m, 2) and (m, 2, 2) unchanged.
    """
    if model in ("linear", "loglinear"):
        return TH.copy(), cov_int.copy()
    m = TH.shape[0]
    gd = np.empty((m, 5))
    gd[:, 0] = TH[:, 0]
    gd[:, 1] = TH[:, 1]
    gd[:, 2] = np.exp(TH[:, 2])
    gd[:, 3] = TH[:, 3]
    gd[:, 4] = np.exp(TH[:, 4]) if model == "5pl" else 1.0
    p = TH.shape[1]
    T = np.ones((m, p))
    T[:, 2] = gd[:, 2]
    if p == 5:
        T[:, 4] = gd[:, 4]
    cov = np.zeros((m, 5, 5))
    cov[:, :p, :p] = cov_int * T[:, :, None] * T[:, None, :]
    return gd, cov


def public(model: str, gd: np.ndarray, cov: np.ndarray):
    """Public parameters (m, p), their covariance and the 5PL orientation per curve."""
    if model in ("linear", "loglinear"):
        return gd, cov, np.array([None] * gd.shape[0], dtype=object)
    m = gd.shape[0]
    p = 5 if model == "5pl" else 4
    low = gd[:, 1] < 0
    # mapping matrix: public = P @ gd  (permute a<->d and negate b for 'low')
    P = np.zeros((m, 5, 5))
    idx = np.arange(5)
    P[:, idx, idx] = 1.0
    P[low] = 0.0
    P[low, 0, 3] = 1.0
    P[low, 1, 1] = -1.0
    P[low, 2, 2] = 1.0
    P[low, 3, 0] = 1.0
    P[low, 4, 4] = 1.0
    pub = np.einsum("mij,mj->mi", P, gd)[:, :p]
    pcov = np.einsum("mij,mjk,mlk->mil", P, cov, P)[:, :p, :p]
    orient = np.where(low, "low", "high").astype(object) if model == "5pl" else np.array([None] * m, dtype=object)
    return pub, pcov, orient


def curve_arrays(model, TH, X, Y, USED, W, *, scheme, k, converged, messages, method, iterations, floors,
                 labels, stats=None) -> dict:
    """Everything a StandardCurve holds, as arrays over m fitted curves (vectorised)."""
    if model == "4pl":
        TH = normalise_4pl(TH)
    st = fit_stats(model, TH, X, Y, USED, W) if stats is None else stats
    gd, gcov = natural(model, TH, st["cov_int"])
    pub, pcov, orient = public(model, gd, gcov)
    m = TH.shape[0]
    conv = np.asarray(converged, dtype=bool)
    status = np.full(m, "ok", dtype=object)
    reason = np.full(m, "", dtype=object)
    sing = np.asarray(st["singular"], dtype=bool)
    status[sing] = "boundary"
    reason[sing] = "singular parameter covariance: standard errors are unreliable"
    if model == "5pl":
        atb = (TH[:, 4] <= G_LOG_BOUNDS[0] + 1e-6) | (TH[:, 4] >= G_LOG_BOUNDS[1] - 1e-6)
        status[atb] = "boundary"
        for i in np.flatnonzero(atb):
            reason[i] = f"5PL asymmetry g at its bound ({gd[i, 4]:.4g}): the 5PL is not identifiable here"
    status[~conv] = "not_converged"
    for i in np.flatnonzero(~conv):
        reason[i] = str(messages[i])
    Xu = np.where(USED, X, np.nan)
    with np.errstate(invalid="ignore"), _quiet():
        conc_lo = np.nanmin(np.where(Xu > 0, Xu, np.nan), axis=1)
        conc_hi = np.nanmax(Xu, axis=1)
    se = np.sqrt(np.clip(np.einsum("mii->mi", pcov), 0, None))
    ks = np.broadcast_to(np.asarray(np.nan if k is None else k, dtype=float), (m,))
    return {
        "model": model, "TH": TH, "stats": st, "gd": gd, "gd_cov": gcov, "pub": pub, "pcov": pcov, "se": se,
        "orient": orient, "status": status, "reason": reason, "converged": conv,
        "messages": list(messages), "method": np.broadcast_to(np.asarray(method, dtype=object), (m,)).copy(),
        "iterations": np.asarray(iterations, dtype=int), "floors": np.asarray(floors, dtype=float),
        "labels": list(labels), "k": ks.copy(), "scheme": scheme, "conc_lo": conc_lo, "conc_hi": conc_hi,
        "X": X, "Y": Y, "USED": USED, "W": np.where(USED, W, 0.0),
    }


def make_curve(arr: dict, i: int) -> StandardCurve:
    """The StandardCurve of row ``i`` of :func:`curve_arrays` output."""
    model = arr["model"]
    names = PARAM_NAMES[model]
    st = arr["stats"]
    k = arr["k"][i]
    return StandardCurve(
        model=model,
        params={nm: float(v) for nm, v in zip(names, arr["pub"][i], strict=True)},
        stderr={nm: float(v) for nm, v in zip(names, arr["se"][i], strict=True)},
        covariance=arr["pcov"][i].copy(),
        asymmetry=arr["orient"][i],
        weights=arr["scheme"],
        weight_power=None if not np.isfinite(k) else float(k),
        rss=float(st["rss"][i]),
        sigma=float(st["sigma"][i]),
        df=int(st["df"][i]),
        n=int(st["n"][i]),
        aic=float(st["aic"][i]),
        r2=float(st["r2"][i]),
        converged=bool(arr["converged"][i]),
        status=str(arr["status"][i]),
        reason=str(arr["reason"][i]),
        message=str(arr["messages"][i]),
        method=str(arr["method"][i]),
        iterations=int(arr["iterations"][i]),
        conc=arr["X"][i].copy(),
        response=arr["Y"][i].copy(),
        used=arr["USED"][i].copy(),
        fit_weights=arr["W"][i].copy(),
        conc_range=(float(arr["conc_lo"][i]), float(arr["conc_hi"][i])),
        response_floor=float(arr["floors"][i]),
        label=arr["labels"][i],
        gd=arr["gd"][i].copy(),
        gd_cov=arr["gd_cov"][i].copy(),
    )


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
