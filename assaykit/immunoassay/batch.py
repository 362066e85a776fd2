"""Many standard curves at once: batched Levenberg–Marquardt in numpy, lmfit fallback.

All curves of a batch are solved together: residuals and analytic Jacobians for
every curve in one array operation, one damping factor λ per curve, all the small
normal-equation systems in one ``np.linalg.solve`` call, and converged curves leave
the working set. Curves that do not converge this way are re-fitted one at a time
with the lmfit path of :func:`~assaykit.immunoassay.fit.fit_curve`; curves that
cannot be fitted at all get ``status = 'failed'`` and a ``reason`` while the others
complete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError, FitError
from assaykit.immunoassay import _stats
from assaykit.immunoassay._start import start_values
from assaykit.immunoassay.curve import (
    ALL_PARAMS,
    SUMMARY_COLUMNS,
    StandardCurve,
    backcalc_arrays,
)
from assaykit.immunoassay.fit import (
    _MIN_LEVELS,
    _NPAR,
    XPONENT_WEIGHTS,
    _check_standards,
    _fit_internal,
    _replicate_power,
    parse_weights,
    xponent_weights,
)
from assaykit.immunoassay.models import MODELS, PARAM_NAMES

__all__ = ["CurveBatch", "fit_curves", "lm_batch"]


def _quiet_fp(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper


@_quiet_fp
def lm_batch(
    X: np.ndarray,
    Y: np.ndarray,
    W: np.ndarray,
    theta0: np.ndarray,
    model: str = "4pl",
    *,
    max_iter: int = 200,
    ftol: float = 1e-13,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    accelerate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Levenberg–Marquardt for m G&D curves at once.

    Parameters
    ----------
    X, Y, W : numpy.ndarray
        (m, n) concentrations, responses and weights (W = 0 marks padding / unused).
    theta0 : numpy.ndarray
        (m, 4) ``(a, b, ln c, d)`` or (m, 5) with ``ln g`` starting values.
    model : {'4pl', '5pl'}
        Model (``ln g`` is kept within ``[ln 1e-3, ln 1e3]``).
    max_iter : int
        Iteration cap per curve.
    ftol, xtol, gtol : float
        Convergence when an accepted step lowers the cost by <= ftol (relative) and
        moves every parameter by <= xtol (relative), or when the scaled gradient is <= gtol.
    accelerate : bool
        Add geodesic acceleration (one extra residual evaluation per iteration); it
        speeds up crawling along the curved valleys of 5PL fits.

    Returns
    -------
    theta : numpy.ndarray
        (m, p) fitted parameters.
    converged : numpy.ndarray
        (m,) bool.
    iterations : numpy.ndarray
        (m,) iterations used.
    cost : numpy.ndarray
        (m,) weighted residual sum of squares.
    """
    m, n = X.shape
    used = W > 0
    sw = np.sqrt(np.where(used, W, 0.0))
    Xs = np.where(used, X, 1.0)
    Ys = np.where(used, Y, 0.0)
    th = np.array(theta0, dtype=float)
    p = th.shape[1]
    lo, hi = _stats.G_LOG_BOUNDS

    zero = Xs <= 0
    Lx = np.log(np.where(zero, 1.0, Xs))
    any_zero = bool(zero.any())
    with_g = p == 5

    def _model(idx, t, jac):
        # G&D curve on precomputed ln x (x = 0 handled exactly, see models._sig)
        a, b, lc, d = t[:, 0:1], t[:, 1:2], t[:, 2:3], t[:, 3:4]
        if any_zero:
            z = zero[idx]
            L = np.where(z, 0.0, Lx[idx] - lc)
            tt = np.where(z, np.where(b > 0, -np.inf, np.inf), b * L)
        else:
            L = Lx[idx] - lc
            tt = b * L
        log_s = -np.logaddexp(0.0, tt)
        if with_g:
            g = np.exp(t[:, 4:5])
            sg = np.exp(g * log_s)
        else:
            g = 1.0
            sg = np.exp(log_s)
        y = a * sg + d * (1.0 - sg)
        if not jac:
            return y, None
        s = np.exp(log_s)
        amd = a - d
        common = amd * g * sg * (1.0 - s)
        J = np.empty((*y.shape, p))
        J[..., 0] = sg
        J[..., 1] = -common * L
        J[..., 2] = common * b
        J[..., 3] = 1.0 - sg
        if with_g:
            J[..., 4] = np.where(sg > 0, amd * sg * g * log_s, 0.0)
        return y, J

    def evaluate(idx, t):
        yy, J = _model(idx, t, True)
        w = sw[idx]
        return w * (Ys[idx] - yy), w[..., None] * J

    def residual(idx, t):
        yy, _ = _model(idx, t, False)
        return sw[idx] * (Ys[idx] - yy)
    r, J = evaluate(slice(None), th)
    cost = np.einsum("mn,mn->m", r, r)
    lam = np.full(m, 1e-3)
    conv = np.zeros(m, dtype=bool)
    iters = np.zeros(m, dtype=int)
    act = np.flatnonzero(np.isfinite(cost))
    Ract, Jact = r[act], J[act]
    eye = np.eye(p)
    for _ in range(max_iter):
        if act.size == 0:
            break
        iters[act] += 1
        A = np.einsum("mni,mnj->mij", Jact, Jact)
        g = np.einsum("mni,mn->mi", Jact, Ract)
        dA = np.einsum("mii->mi", A)
        dA = np.maximum(dA, 1e-12 * dA.max(axis=1, keepdims=True) + 1e-300)
        with np.errstate(all="ignore"):
            # scaled gradient test (cosine between residual and Jacobian columns)
            gscale = np.abs(g) / np.sqrt(dA * cost[act][:, None] + 1e-300)
            small_g = np.nanmax(gscale, axis=1) <= gtol
            M = A + lam[act][:, None, None] * (dA[:, :, None] * eye)
            try:
                delta = np.linalg.solve(M, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                delta = np.einsum("mij,mj->mi", np.linalg.pinv(M), g)
            if p == 5:
                # ln g at a bound and pushed outward: solve the reduced problem with g fixed
                tg = th[act, 4]
                push = ((tg >= hi - 1e-12) & (delta[:, 4] > 0)) | ((tg <= lo + 1e-12) & (delta[:, 4] < 0))
                if np.any(push):
                    M[push, 4, :] = 0.0
                    M[push, :, 4] = 0.0
                    M[push, 4, 4] = 1.0
                    g[push, 4] = 0.0
                    delta[push] = np.linalg.solve(M[push], g[push][..., None])[..., 0]
                    gscale[push, 4] = 0.0
                    small_g = np.nanmax(gscale, axis=1) <= gtol
            bad_acc = np.zeros(act.size, dtype=bool)
            if accelerate:
                # geodesic acceleration (Transtrum & Sethna 2012): second-order correction
                # along the step from one extra residual evaluation
                h = 0.1
                th_h = th[act] + h * delta
                rh = residual(act, th_h)
                fvv = (2.0 / h) * ((Ract - rh) / h - np.einsum("mni,mi->mn", Jact, delta))
                acc = -np.linalg.solve(M, np.einsum("mni,mn->mi", Jact, fvv)[..., None])[..., 0]
                ratio = 2 * np.sqrt((dA * acc**2).sum(1)) / np.sqrt((dA * delta**2).sum(1) + 1e-300)
                bad_acc = ~(ratio <= 0.75)
                delta = delta + np.where(bad_acc[:, None], 0.0, 0.5 * acc)
            tn = th[act] + delta
            if p == 5:
                tn[:, 4] = np.clip(tn[:, 4], lo, hi)
            rn, Jn = evaluate(act, tn)
            cn = np.einsum("mn,mn->m", rn, rn)
        better = np.isfinite(cn) & (cn <= cost[act]) & ~bad_acc
        step = np.abs(tn - th[act]) / (np.abs(th[act]) + 1e-8)
        dcost = (cost[act] - cn) / np.maximum(cost[act], 1e-300)
        done = better & (((dcost <= ftol) & (np.max(step, axis=1) <= np.sqrt(xtol))) | (np.max(step, axis=1) <= xtol))
        done |= small_g
        stuck = ~better & (lam[act] > 1e12)
        # accept
        bi = act[better]
        th[bi] = tn[better]
        cost[bi] = cn[better]
        Ract = np.where(better[:, None], rn, Ract)
        Jact = np.where(better[:, None, None], Jn, Jact)
        lam[act] = np.where(better, np.maximum(lam[act] / 5.0, 1e-12), lam[act] * 10.0)
        conv[act[done]] = True
        # stuck at machine precision: converged if the gradient is small enough
        conv[act[stuck]] = np.nanmax(gscale[stuck], axis=1) <= 1e-6 if np.any(stuck) else conv[act[stuck]]
        keep = ~(done | stuck)
        act = act[keep]
        Ract, Jact = Ract[keep], Jact[keep]
    return th, conv & np.all(np.isfinite(th), axis=1), iters, cost


# ---------------------------------------------------------------------------------- batch
@dataclass(frozen=True, eq=False)
class CurveBatch:
    """Standard curves fitted for every group of a table.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: the ``by`` columns, then :data:`~assaykit.immunoassay.curve.SUMMARY_COLUMNS`
        (model, asymmetry, weights, weight_power, n, df, a, b, c, d, g, slope, intercept,
        their ``*_se``, rss, sigma, aic, r2, conc_min, conc_max, converged, method,
        iterations, status, reason). ``status`` is ``'ok'``, ``'boundary'`` or ``'failed'``.
    by : tuple of str
        Grouping columns.
    curves : Mapping
        Group key tuple -> :class:`StandardCurve` for every fitted group (failed groups
        are absent; their reason is in ``table``). Built on first access.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    _keys: list = field(repr=False)
    _sources: list = field(repr=False)
    _bc: dict = field(repr=False)

    @cached_property
    def curves(self) -> Mapping[tuple, StandardCurve]:
        """Group key -> StandardCurve (fitted groups only)."""
        return {
            k: _stats.make_curve(src[0], src[1])
            for k, src in zip(self._keys, self._sources, strict=True)
            if src is not None
        }

    def back_calculate(
        self,
        table: pd.DataFrame,
        response_col: str = "response",
        *,
        n_replicates_col: str | None = None,
        dilution_col: str | None = None,
        level: float = 0.95,
        interval: str = "delta",
    ) -> pd.DataFrame:
        """Back-calculate the responses of a table, each on its group's curve.

        Parameters
        ----------
        table : pandas.DataFrame
            Must hold the ``by`` columns and ``response_col``.
        response_col : str
            Column of responses (or replicate means).
        n_replicates_col, dilution_col : str, optional
            Columns of replicate counts and dilution factors (default 1).
        level : float
            Confidence level.
        interval : {'delta', 'inversion'}
            CI type, as in :meth:`StandardCurve.back_calculate` (``'delta'`` is
            vectorised over all groups; ``'inversion'`` loops over the curves).

        Returns
        -------
        pandas.DataFrame
            Same index as ``table``; columns: the ``by`` columns, ``response``,
            ``n_replicates``, ``dilution``, ``conc`` (dilution applied), ``ci_low``,
            ``ci_high``, ``se_log_conc``, ``status`` (``'no_curve'`` for groups without a
            fitted curve). Join it back to ``table`` on the index.

        Raises
        ------
        AnalysisError
            If a column is missing or the interval type is unknown.
        """
        if interval not in ("delta", "inversion"):
            raise AnalysisError("unknown interval type", expected="'delta' or 'inversion'", found=repr(interval))
        need = [*self.by, response_col, *(c for c in (n_replicates_col, dilution_col) if c)]
        missing = [c for c in need if c not in table.columns]
        if missing:
            raise AnalysisError("table lacks columns needed to back-calculate", column=missing[0],
                                expected=", ".join(need), found=", ".join(map(str, table.columns)))
        N = len(table)
        y = pd.to_numeric(table[response_col], errors="coerce").to_numpy(float)
        m = (np.ones(N) if n_replicates_col is None
             else pd.to_numeric(table[n_replicates_col], errors="coerce").to_numpy(float))
        dil = np.ones(N) if dilution_col is None else pd.to_numeric(table[dilution_col], errors="coerce").to_numpy(float)
        gi = _group_index(self.table, table, self.by)
        bc = self._bc
        has = (gi >= 0) & bc["fitted"][np.maximum(gi, 0)]
        sel = np.flatnonzero(has)
        g = gi[sel]
        res = backcalc_arrays(
            bc["model"], bc["gd"][g], bc["gd_cov"][g], bc["sigma"][g], bc["df"][g], bc["scheme"],
            np.nan_to_num(bc["k"][g]), bc["floors"][g], bc["conc_lo"][g], bc["conc_hi"][g],
            y[sel], m[sel], dil[sel], level,
        )
        if interval == "inversion" and sel.size:
            curves = self.curves
            keys = self._keys
            for gidx in np.unique(g):
                rows = sel[g == gidx]
                inv = curves[keys[gidx]].back_calculate(y[rows], n_replicates=m[rows], dilution=dil[rows],
                                                        interval="inversion", level=level)
                part = np.flatnonzero(np.isin(sel, rows))
                res["ci_low"][part] = inv.ci_low.to_numpy()
                res["ci_high"][part] = inv.ci_high.to_numpy()
        result = table.loc[:, list(self.by)].copy()
        result["response"] = y
        result["n_replicates"] = m
        result["dilution"] = dil
        for k in ("conc", "ci_low", "ci_high", "se_log_conc"):
            col = np.full(N, np.nan)
            col[sel] = res[k]
            result[k] = col
        status = np.full(N, "no_curve", dtype=object)
        status[sel] = res["status"]
        result["status"] = status.astype(str)
        return result


def _group_index(groups: pd.DataFrame, table: pd.DataFrame, by: tuple[str, ...]) -> np.ndarray:
    """Row -> index into ``groups`` (−1 where the group is unknown)."""
    if not by:
        return np.zeros(len(table), dtype=int)
    g = groups[list(by)].copy()
    g["__group_index__"] = np.arange(len(g))
    m = table[list(by)].merge(g, on=list(by), how="left", validate="many_to_one")
    return m["__group_index__"].fillna(-1).to_numpy().astype(int)


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
            kk = _replicate_power(X[i, USED[i]], Y[i, USED[i]])
            if kk is None:
                bad[i] = True
                reasons[i] = "cannot estimate the power-law variance exponent (expected replicate standards at >= 3 levels)"
            else:
                ks[i] = kk
    good = np.flatnonzero(~bad)
    Xg, Yg, Ug = X[good], Y[good], USED[good]
    fl = floors[good][:, None]
    kg = np.nan_to_num(ks[good])[:, None]

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

    th = np.full((good.size, _NPAR[model]), np.nan)
    conv = np.zeros(good.size, bool)
    iters = np.zeros(good.size, int)
    method = np.array(["batch_lm"] * good.size, dtype=object)
    W = wts(None)
    if good.size:
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
        else:
            Xn = np.where(Ug, Xg, np.nan)
            Yn = np.where(Ug, Yg, np.nan)
            t4 = start_values(Xn, Yn, "4pl")
            if scheme != "none":
                # relative weights give the smallest responses nearly all the weight; from a start
                # far from them LM can slide to a flat curve (rss ~ n): start from the unweighted 4PL
                tu, cu, _, _ = lm_batch(Xg, Yg, np.where(Ug, 1.0, 0.0), t4, "4pl", max_iter=max_iter)
                t4 = np.where((cu & np.all(np.isfinite(tu), axis=1))[:, None], tu, t4)
            t4, c4, it4, _, w4 = _irls(Xg, Yg, Ug, t4, "4pl", wts, W, scheme, max_iter)
            if model == "4pl":
                th, conv, iters, W = t4, c4, it4, w4
            else:
                t4 = _stats.normalise_4pl(t4)
                orients = ("high", "low") if asymmetry == "auto" else (asymmetry,)
                starts = []
                for orient in orients:
                    t0 = t4.copy() if orient == "high" else t4[:, [3, 1, 2, 0]] * np.array([1, -1, 1, 1])
                    starts.append(np.column_stack([t0, np.zeros(good.size)]))
                cands = []
                if scheme != "power" and len(orients) == 2:
                    # both orientations in one batched solve
                    t5, c5, it5, cost5 = lm_batch(np.vstack([Xg, Xg]), np.vstack([Yg, Yg]), np.vstack([W, W]),
                                                  np.vstack(starts), "5pl", max_iter=max_iter, accelerate=True)
                    ng = good.size
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
        if model in ("4pl", "5pl") and scheme != "power":
            # second batched pass for the stragglers (fresh damping, 4x the iterations)
            nc = np.flatnonzero(~conv & np.all(np.isfinite(th), axis=1))
            if nc.size and max_iter > 0:
                t2, c2, i2, _ = lm_batch(Xg[nc], Yg[nc], W[nc], th[nc], model, max_iter=4 * max_iter,
                                         accelerate=model == "5pl")
                th[nc] = t2
                conv[nc] = c2
                iters[nc] += i2
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
    # statistics, summary columns and back-calculation arrays, vectorised
    q = 2 if model in ("linear", "loglinear") else 5
    table = {c: np.full(G, np.nan, dtype=object) for c in SUMMARY_COLUMNS}
    bc = {"fitted": fitted, "gd": np.full((G, q), np.nan), "gd_cov": np.full((G, q, q), np.nan),
          **{f: np.full(G, np.nan) for f in ("sigma", "df", "k", "floors", "conc_lo", "conc_hi")}}
    sources: list = [None] * G
    aic = np.full(G, np.nan)
    ok = np.flatnonzero(conv)
    if ok.size:
        gi = good[ok]
        arr = _stats.curve_arrays(
            model, th[ok], Xg[ok], Yg[ok], Ug[ok], W[ok], scheme=scheme, k=ks[gi] if scheme == "power" else k,
            converged=np.ones(ok.size, bool), messages=[messages[j] for j in ok], method=method[ok],
            iterations=iters[ok], floors=floors[gi], labels=[_label(keys[i]) for i in gi],
        )
        st = arr["stats"]
        names = PARAM_NAMES[model]
        for j, nm in enumerate(names):
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
        table["method"][gi] = arr["method"]
        table["iterations"][gi] = arr["iterations"]
        table["status"][gi] = arr["status"]
        table["reason"][gi] = arr["reason"]
        aic[gi] = st["aic"]
        bc["gd"][gi] = arr["gd"][:, :q]
        bc["gd_cov"][gi] = arr["gd_cov"][:, :q, :q]
        bc["sigma"][gi] = st["sigma"]
        bc["df"][gi] = st["df"]
        bc["k"][gi] = arr["k"]
        bc["floors"][gi] = arr["floors"]
        bc["conc_lo"][gi] = arr["conc_lo"]
        bc["conc_hi"][gi] = arr["conc_hi"]
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
    th, conv, iters, cost = lm_batch(Xg, Yg, W, t0, model, max_iter=max_iter, accelerate=acc)
    if scheme == "power":
        for _ in range(50):
            yf, _ = _stats.gd_eval(np.where(Ug, Xg, 1.0), th, model)
            W = wts(yf)
            new, conv, it, cost = lm_batch(Xg, Yg, W, th, model, max_iter=max_iter, accelerate=acc)
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
