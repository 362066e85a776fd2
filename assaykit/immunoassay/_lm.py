"""The batched Levenberg–Marquardt solver for G&D (4PL/5PL) curves (internal).

All curves are solved together: residuals and analytic Jacobians for every curve in one
array operation, one damping factor λ per curve, all the small normal-equation systems in
one ``np.linalg.solve`` call, and converged curves leave the working set. Its public name
is :func:`assaykit.immunoassay.lm_batch` (also ``assaykit.immunoassay.batch.lm_batch``,
through which the fitting code calls it).
"""

from __future__ import annotations

import functools

import numpy as np

import assaykit.immunoassay._stats as _stats

__all__ = ["lm_batch"]


def _quiet_fp(fn):
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
    th = np.array(theta0, dtype=float)
    p = th.shape[1]
    lo, hi = _stats.G_LOG_BOUNDS
    evaluate, residual = _residual_functions(X, Y, W, p)
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


def _residual_functions(X: np.ndarray, Y: np.ndarray, W: np.ndarray, p: int):
    """Weighted residuals and their Jacobians of m G&D curves, on precomputed ln x.

    Returns ``evaluate(idx, theta) -> (r, J)`` and ``residual(idx, theta) -> r`` for the
    rows ``idx`` of the padded (m, n) arrays.
    """
    used = W > 0
    sw = np.sqrt(np.where(used, W, 0.0))
    Xs = np.where(used, X, 1.0)
    Ys = np.where(used, Y, 0.0)

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
    return evaluate, residual
