"""Many standard curves at once: :func:`fit_curves` (batched Levenberg–Marquardt, lmfit fallback).

All curves of a batch are solved together by :func:`~assaykit.immunoassay.lm_batch`;
curves that do not converge this way are re-fitted one at a time with the lmfit path of
:func:`~assaykit.immunoassay.fit.fit_curve`; curves that cannot be fitted at all get
``status = 'failed'`` and a ``reason`` while the others complete. The result is a
:class:`~assaykit.immunoassay.batch.CurveBatch`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

import assaykit.immunoassay._stats as _stats
import assaykit.immunoassay.batch as _batch
from assaykit.errors import AnalysisError, FitError
from assaykit.immunoassay._start import start_values
from assaykit.immunoassay.batch import CurveBatch
from assaykit.immunoassay.curve import ALL_PARAMS, SUMMARY_COLUMNS
from assaykit.immunoassay.fit import _MIN_LEVELS, _NPAR, _check_standards, _fit_internal
from assaykit.immunoassay.models import MODELS, PARAM_NAMES
from assaykit.immunoassay.weights import (
    XPONENT_WEIGHTS,
    parse_weights,
    replicate_power,
    xponent_weights,
)

__all__ = ["fit_curves"]


def _pad(codes: np.ndarray, G: int, *cols: np.ndarray):
    order = np.argsort(codes, kind="stable")
    cnt = np.bincount(codes, minlength=G)
    nmax = int(cnt.max()) if G else 0
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    sc = codes[order]
    posn = np.arange(codes.size) - start[sc]
    out = []
    for c in cols:
        a = np.full((G, max(nmax, 1)), np.nan if c.dtype.kind == "f" else False, dtype=c.dtype)
        a[sc, posn] = c[order]
        out.append(a)
    return out


def _levels(X: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct used concentrations per row, and distinct non-zero ones."""
    Xs = np.sort(np.where(used, X, np.inf), axis=1)
    fin = np.isfinite(Xs)
    new = fin & np.concatenate([np.ones((Xs.shape[0], 1), bool), Xs[:, 1:] != Xs[:, :-1]], axis=1)
    return new.sum(1), (new & (Xs > 0)).sum(1)


def fit_curves(
    table: pd.DataFrame,
    *,
    by: str | Sequence[str] | None,
    conc_col: str = "conc",
    response_col: str = "response",
    model: str = "4pl",
    weights: str | tuple | None = "none",
    mask_col: str | None = None,
    asymmetry: str = "auto",
    max_iter: int = 200,
) -> CurveBatch:
    """Fit one standard curve per group of a tidy table (batched LM, lmfit fallback).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per standard well (replicates as separate rows).
    by : str or sequence of str or None
        Grouping columns (e.g. ``['plate', 'read']``); None fits a single curve.
    conc_col, response_col : str
        Columns of concentrations and responses; non-numeric values count as missing.
    model : {'4pl', '5pl', 'linear', 'loglinear', 'auto'}
        Curve model (``'auto'``: 4PL or 5PL by lowest AIC per group).
    weights : str or tuple
        Variance model, see :func:`~assaykit.immunoassay.fit.parse_weights`.
    mask_col : str, optional
        Boolean column, True for wells to exclude from the fit.
    asymmetry : {'auto', 'high', 'low'}
        5PL orientation (``'auto'``: both, keep the lower RSS per group).
    max_iter : int
        Iteration cap of the batched LM; curves not converged get a second batched pass
        of up to ``4 * max_iter`` iterations, then the lmfit fallback.

    Returns
    -------
    CurveBatch
        ``.table`` (one row per group, with ``status`` and ``reason``) and ``.curves``.

    Raises
    ------
    FitError
        For an unknown model, weights or asymmetry (problems of single groups are
        reported per group instead).
    AnalysisError
        If a named column is missing.
    """
    scheme, k = parse_weights(weights)
    model = str(model).lower()
    if model not in (*MODELS, "auto"):
        raise FitError("unknown curve model", expected="'4pl', '5pl', 'linear', 'loglinear' or 'auto'",
                       found=repr(model))
    if asymmetry not in ("auto", "high", "low"):
        raise FitError("unknown 5PL asymmetry", expected="'auto', 'high' or 'low'", found=repr(asymmetry))
    if model == "loglinear" and scheme != "none":
        raise FitError("log-log fits are unweighted (the log scale already models a constant CV)",
                       expected="weights='none'", found=repr(weights))
    by_t: tuple[str, ...] = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
    clash = [c for c in by_t if c in SUMMARY_COLUMNS]
    if clash:
        raise AnalysisError("a grouping column has the name of a curve-table column; rename it", column=clash[0],
                            expected="a name other than " + ", ".join(SUMMARY_COLUMNS), found=repr(clash[0]))
    need = [*by_t, conc_col, response_col, *([mask_col] if mask_col else [])]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise AnalysisError("table lacks columns needed to fit curves", column=missing[0],
                            expected=", ".join(need), found=", ".join(map(str, table.columns)))
    if by_t:
        gb = table.groupby(list(by_t), sort=True, dropna=False)
        codes = gb.ngroup().to_numpy()
        keys_df = gb.size().reset_index()[list(by_t)]
    else:
        codes = np.zeros(len(table), dtype=int)
        keys_df = pd.DataFrame(index=[0])
    G = len(keys_df)
    x = pd.to_numeric(table[conc_col], errors="coerce").to_numpy(float)
    y = pd.to_numeric(table[response_col], errors="coerce").to_numpy(float)
    mk = np.zeros(len(table), bool) if mask_col is None else table[mask_col].fillna(False).to_numpy(bool)
    X, Y, MK = _pad(codes, G, x, y, mk)
    USED = np.isfinite(X) & np.isfinite(Y) & ~MK
    keys = [tuple(r) for r in keys_df.itertuples(index=False, name=None)] if by_t else [()] * G

    models = ("4pl", "5pl") if model == "auto" else (model,)
    results = {mdl: _fit_model(mdl, X, Y, USED, scheme, k, asymmetry, max_iter, keys) for mdl in models}
    if model == "auto":
        a4 = np.nan_to_num(results["4pl"]["aic"], nan=np.inf)
        a5 = np.nan_to_num(results["5pl"]["aic"], nan=np.inf)
        choice = {"5pl": results["5pl"]["fitted"] & (~results["4pl"]["fitted"] | (a5 < a4))}
        choice["4pl"] = ~choice["5pl"]
    else:
        choice = {model: np.ones(G, bool)}
    q = 2 if model in ("linear", "loglinear") else 5
    cols: dict[str, np.ndarray] = {}
    bc = {
        "model": "linear" if model == "linear" else ("loglinear" if model == "loglinear" else "4pl"),
        "scheme": scheme, "fitted": np.zeros(G, bool), "gd": np.full((G, q), np.nan),
        "gd_cov": np.full((G, q, q), np.nan), **{f: np.full(G, np.nan) for f in
                                                 ("sigma", "df", "k", "floors", "conc_lo", "conc_hi")},
    }
    sources: list = [None] * G
    for mdl, sel in choice.items():
        res = results[mdl]
        for col, vals in res["table"].items():
            if col not in cols:
                cols[col] = np.empty(G, dtype=object)
            cols[col][sel] = vals[sel]
        for f in ("fitted", "gd", "gd_cov", "sigma", "df", "k", "floors", "conc_lo", "conc_hi"):
            bc[f][sel] = res["bc"][f][sel]
        for i in np.flatnonzero(sel):
            sources[i] = res["sources"][i]
    data = {c: keys_df[c].to_numpy() for c in by_t}
    for col in ("weight_power", *ALL_PARAMS, *(f"{p}_se" for p in ALL_PARAMS), "rss", "sigma", "aic", "r2",
                "conc_min", "conc_max"):
        cols[col] = cols[col].astype(float)
    for col in ("n", "df", "iterations"):
        cols[col] = cols[col].astype(int)
    cols["converged"] = cols["converged"].astype(bool)
    for col in ("model", "asymmetry", "weights", "method", "status", "reason"):
        cols[col] = cols[col].astype(str).astype(object)
    data.update({col: cols[col] for col in SUMMARY_COLUMNS})
    out = pd.DataFrame(data, index=pd.RangeIndex(G))
    return CurveBatch(table=out, by=by_t, _keys=keys, _sources=sources, _bc=bc)


def _fit_model(model, X, Y, USED, scheme, k, asymmetry, max_iter, keys):
    """Fit one model to every group; returns summary columns, curves, AIC, fitted mask."""
    G = X.shape[0]
    bad, reasons, floors, ks = _screen(model, X, Y, USED, scheme, k)
    good = np.flatnonzero(~bad)
    Xg, Yg, Ug = X[good], Y[good], USED[good]
    wts = _weight_function(scheme, Yg, Ug, floors[good][:, None], np.nan_to_num(ks[good])[:, None])
    th, conv, iters, method, W = _batched_fit(model, Xg, Yg, Ug, wts, scheme, asymmetry, max_iter)
    # fallback: lmfit, one curve at a time
    messages = ["converged (batched Levenberg-Marquardt)"] * good.size
    if model in ("linear", "loglinear"):
        messages = ["closed-form least squares"] * good.size
    for j in np.flatnonzero(~conv):
        i = good[j]
        u = USED[i]
        try:
            t0 = th[j] if np.all(np.isfinite(th[j])) else None
            tj, wj, okj, msg, nf = _fit_internal(X[i, u], Y[i, u], model, scheme,
                                                None if np.isnan(ks[i]) else ks[i], theta0=t0, floor=floors[i])
        except (FloatingPointError, ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
            tj, okj, msg, nf, wj = th[j], False, str(exc), 0, W[j, u]
        if okj and np.all(np.isfinite(tj)):
            th[j] = tj
            W[j] = 0.0
            W[j, np.flatnonzero(u)] = wj
            conv[j] = True
            iters[j] = nf
            method[j] = "lmfit"
            messages[j] = f"batched LM did not converge; lmfit: {msg}"
        else:
            reasons[i] = f"the curve fit did not converge ({msg})"
    fitted = np.zeros(G, bool)
    fitted[good[conv]] = True
    fit = {"th": th, "conv": conv, "iters": iters, "method": method, "W": W, "messages": messages, "Y": Y}
    return _summarise(model, scheme, k, X, USED, keys, good, fitted, fit, floors, ks, reasons)


def _screen(model, X, Y, USED, scheme, k):
    """Groups that cannot be fitted (with reasons), response floors and power-law exponents."""
    G = X.shape[0]
    reasons = [""] * G
    nlev, nlev_pos = _levels(X, USED)
    n_used = USED.sum(1)
    with np.errstate(invalid="ignore"):
        bad = (n_used == 0) | np.any(USED & (X < 0), axis=1) | (nlev < _MIN_LEVELS[model]) | (n_used < _NPAR[model] + 1)
        if model in ("4pl", "5pl"):
            bad |= nlev_pos < _MIN_LEVELS[model] - 1
        if model == "loglinear":
            bad |= np.any(USED & ((X <= 0) | (Y <= 0)), axis=1)
        if scheme in ("1/y", "1/y^2"):
            bad |= np.any(USED & (Y <= 0), axis=1)
    for i in np.flatnonzero(bad):
        pr = _check_standards(X[i, USED[i]], Y[i, USED[i]], model, scheme)
        reasons[i] = f"{pr[0]} (expected {pr[1]}; found {pr[2]})" if pr else "unusable standards"
    with np.errstate(invalid="ignore"):
        ay = np.where(USED & (Y != 0), np.abs(Y), np.inf)
    floors = ay.min(axis=1)
    floors = np.where(np.isfinite(floors), floors, 1e-12)
    ks = np.full(G, np.nan if k is None else k)
    if scheme == "power" and k is None:
        for i in np.flatnonzero(~bad):
            kk = replicate_power(X[i, USED[i]], Y[i, USED[i]])
            if kk is None:
                bad[i] = True
                reasons[i] = "cannot estimate the power-law variance exponent (expected replicate standards at >= 3 levels)"
            else:
                ks[i] = kk
    return bad, reasons, floors, ks


def _weight_function(scheme, Yg, Ug, fl, kg):
    """``wts(yfit) -> W``: the weights of the variance model on the padded arrays (0 where unused)."""

    def wts(yfit):
        if scheme == "none":
            return np.where(Ug, 1.0, 0.0)
        with np.errstate(all="ignore"):
            if scheme == "1/y":
                w = 1.0 / Yg
            elif scheme == "1/y^2":
                w = 1.0 / Yg**2
            elif scheme == XPONENT_WEIGHTS:
                w = xponent_weights(Yg)
            else:
                base = yfit if yfit is not None else Yg
                w = np.where(base > 0, base, fl) ** (-kg)
        return np.where(Ug, w, 0.0)

    return wts


def _batched_fit(model, Xg, Yg, Ug, wts, scheme, asymmetry, max_iter):
    """Closed-form or batched-LM fit of the fittable groups: theta, converged, iterations, method, weights."""
    ng = Xg.shape[0]
    th = np.full((ng, _NPAR[model]), np.nan)
    conv = np.zeros(ng, bool)
    iters = np.zeros(ng, int)
    method = np.array(["batch_lm"] * ng, dtype=object)
    W = wts(None)
    if not ng:
        return th, conv, iters, method, W
    if model in ("linear", "loglinear"):
        th = _stats.linear_fit(Xg, np.where(Ug, Yg, np.nan), W if model == "linear" else Ug * 1.0, model)
        if scheme == "power":
            for _ in range(50):
                W = wts(th[:, 0:1] * Xg + th[:, 1:2])
                new = _stats.linear_fit(Xg, np.where(Ug, Yg, np.nan), W, model)
                done = np.allclose(new, th, rtol=1e-12, atol=0, equal_nan=True)
                th = new
                if done:
                    break
        if model == "loglinear":
            W = Ug * 1.0
        conv = np.all(np.isfinite(th), axis=1) & (th[:, 0] != 0)
        method[:] = "closed_form"
        return th, conv, iters, method, W
    Xn = np.where(Ug, Xg, np.nan)
    Yn = np.where(Ug, Yg, np.nan)
    t4 = start_values(Xn, Yn, "4pl")
    if scheme != "none":
        # relative weights give the smallest responses nearly all the weight; from a start
        # far from them LM can slide to a flat curve (rss ~ n): start from the unweighted 4PL
        tu, cu, _, _ = _batch.lm_batch(Xg, Yg, np.where(Ug, 1.0, 0.0), t4, "4pl", max_iter=max_iter)
        t4 = np.where((cu & np.all(np.isfinite(tu), axis=1))[:, None], tu, t4)
    t4, c4, it4, _, w4 = _irls(Xg, Yg, Ug, t4, "4pl", wts, W, scheme, max_iter)
    if model == "4pl":
        th, conv, iters, W = t4, c4, it4, w4
    else:
        th, conv, iters, W = _fit_5pl(Xg, Yg, Ug, t4, wts, W, scheme, asymmetry, max_iter)
    if scheme != "power":
        # second batched pass for the stragglers (fresh damping, 4x the iterations)
        nc = np.flatnonzero(~conv & np.all(np.isfinite(th), axis=1))
        if nc.size and max_iter > 0:
            t2, c2, i2, _ = _batch.lm_batch(Xg[nc], Yg[nc], W[nc], th[nc], model, max_iter=4 * max_iter,
                                            accelerate=model == "5pl")
            th[nc] = t2
            conv[nc] = c2
            iters[nc] += i2
    return th, conv, iters, method, W


def _fit_5pl(Xg, Yg, Ug, t4, wts, W, scheme, asymmetry, max_iter):
    """5PL from the 4PL fit, in one or both orientations; keep the lower cost per group."""
    ng = Xg.shape[0]
    t4 = _stats.normalise_4pl(t4)
    orients = ("high", "low") if asymmetry == "auto" else (asymmetry,)
    starts = []
    for orient in orients:
        t0 = t4.copy() if orient == "high" else t4[:, [3, 1, 2, 0]] * np.array([1, -1, 1, 1])
        starts.append(np.column_stack([t0, np.zeros(ng)]))
    cands = []
    if scheme != "power" and len(orients) == 2:
        # both orientations in one batched solve
        t5, c5, it5, cost5 = _batch.lm_batch(np.vstack([Xg, Xg]), np.vstack([Yg, Yg]), np.vstack([W, W]),
                                             np.vstack(starts), "5pl", max_iter=max_iter, accelerate=True)
        for o in range(2):
            sl = slice(o * ng, (o + 1) * ng)
            cands.append((t5[sl], c5[sl], it5[sl], cost5[sl], W))
    else:
        for t0 in starts:
            cands.append(_irls(Xg, Yg, Ug, t0, "5pl", wts, W, scheme, max_iter))
    th, conv, iters, cost, W = cands[0]
    for t5, c5, it5, cost5, w5 in cands[1:]:
        # LM costs only decrease: an unfinished orientation already below the other
        # is the better one (it is then finished by the lmfit fallback)
        cur = np.where(np.isfinite(cost), cost, np.inf)
        new = np.where(np.isfinite(cost5), cost5, np.inf)
        take = new < cur
        th = np.where(take[:, None], t5, th)
        conv = np.where(take, c5, conv)
        iters = np.where(take, it5, iters)
        cost = np.where(take, cost5, cost)
        W = np.where(take[:, None], w5, W)
    return th, conv, iters, W


def _summarise(model, scheme, k, X, USED, keys, good, fitted, fit, floors, ks, reasons):
    """Statistics, summary columns and back-calculation arrays of every group, vectorised."""
    G = X.shape[0]
    th, conv, W = fit["th"], fit["conv"], fit["W"]
    Xg, Ug = X[good], USED[good]
    q = 2 if model in ("linear", "loglinear") else 5
    table = {c: np.full(G, np.nan, dtype=object) for c in SUMMARY_COLUMNS}
    bc = {"fitted": fitted, "gd": np.full((G, q), np.nan), "gd_cov": np.full((G, q, q), np.nan),
          **{f: np.full(G, np.nan) for f in ("sigma", "df", "k", "floors", "conc_lo", "conc_hi")}}
    sources: list = [None] * G
    aic = np.full(G, np.nan)
    ok = np.flatnonzero(conv)
    if ok.size:
        gi = good[ok]
        Yg = fit["Y"][good]
        arr = _stats.curve_arrays(
            model, th[ok], Xg[ok], Yg[ok], Ug[ok], W[ok], scheme=scheme, k=ks[gi] if scheme == "power" else k,
            converged=np.ones(ok.size, bool), messages=[fit["messages"][j] for j in ok], method=fit["method"][ok],
            iterations=fit["iters"][ok], floors=floors[gi], labels=[_label(keys[i]) for i in gi],
        )
        st = arr["stats"]
        for j, nm in enumerate(PARAM_NAMES[model]):
            table[nm][gi] = arr["pub"][:, j]
            table[f"{nm}_se"][gi] = arr["se"][:, j]
        table["model"][gi] = model
        table["asymmetry"][gi] = [o or "" for o in arr["orient"]]
        table["weights"][gi] = scheme
        table["weight_power"][gi] = arr["k"]
        for c in ("n", "df", "rss", "sigma", "aic", "r2"):
            table[c][gi] = st[c]
        table["conc_min"][gi] = arr["conc_lo"]
        table["conc_max"][gi] = arr["conc_hi"]
        table["converged"][gi] = True
        for c in ("method", "iterations", "status", "reason"):
            table[c][gi] = arr[c]
        aic[gi] = st["aic"]
        bc["gd"][gi] = arr["gd"][:, :q]
        bc["gd_cov"][gi] = arr["gd_cov"][:, :q, :q]
        bc["sigma"][gi] = st["sigma"]
        bc["df"][gi] = st["df"]
        for c in ("k", "floors", "conc_lo", "conc_hi"):
            bc[c][gi] = arr[c]
        for j, i in enumerate(gi):
            sources[i] = (arr, j)
    for i in np.flatnonzero(~fitted):
        row = _failed_row(model, scheme, k, X[i], USED[i], reasons[i] or "the curve could not be fitted")
        for col, v in row.items():
            table[col][i] = v
    return {"table": table, "sources": sources, "aic": aic, "fitted": fitted, "bc": bc}


def _irls(Xg, Yg, Ug, t0, model, wts, W, scheme, max_iter):
    """LM fit; for power-law weights iterate weights from the fitted curve (IRLS)."""
    acc = model == "5pl"
    th, conv, iters, cost = _batch.lm_batch(Xg, Yg, W, t0, model, max_iter=max_iter, accelerate=acc)
    if scheme == "power":
        for _ in range(50):
            yf, _ = _stats.gd_eval(np.where(Ug, Xg, 1.0), th, model)
            W = wts(yf)
            new, conv, it, cost = _batch.lm_batch(Xg, Yg, W, th, model, max_iter=max_iter, accelerate=acc)
            iters = iters + it
            done = np.allclose(new, th, rtol=1e-10, atol=1e-12, equal_nan=True)
            th = new
            if done:
                break
    return th, conv, iters, cost, W


def _label(key: tuple) -> str | None:
    return "/".join(map(str, key)) if key else None


def _failed_row(model, scheme, k, x, used, reason):
    xu = x[used & np.isfinite(x)]
    pos = xu[xu > 0]
    row = {c: np.nan for c in SUMMARY_COLUMNS}
    row.update({
        "model": model, "asymmetry": "", "weights": scheme, "weight_power": np.nan if k is None else k,
        "n": int(used.sum()), "df": int(used.sum()) - len(PARAM_NAMES[model]),
        "conc_min": float(pos.min()) if pos.size else np.nan, "conc_max": float(xu.max()) if xu.size else np.nan,
        "converged": False, "method": "", "iterations": 0, "status": "failed", "reason": reason,
    })
    return row
