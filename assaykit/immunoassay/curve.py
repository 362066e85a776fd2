"""The immutable :class:`StandardCurve` and vectorised back-calculation.

Back-calculated concentration of a mean response ``ȳ`` of ``m`` replicate wells:
``x̂ = f⁻¹(ȳ) * dilution``. Its 95 % CI uses the delta method on ``ln x̂``::

    Var(ln x̂) = ∇θ(ln x̂)ᵀ V ∇θ(ln x̂) + (∂ ln x̂/∂y)² σ² / (m w(ȳ))
    CI = x̂ exp(∓ t(1 - α/2, df) sqrt(Var))

(V: parameter covariance, σ: residual SE, w: the variance-model weight at ȳ).
The optional inversion (fiducial) interval is the set of x with
``|ȳ - f(x)| <= t sqrt(Var f̂(x) + σ²/(m w(f(x))))``.

Every value gets a ``status`` (:data:`BACKCALC_STATUS`); values that cannot be
back-calculated have ``conc = NaN`` *and* a status saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _sps

from assaykit.errors import AnalysisError
from assaykit.immunoassay.models import (
    PARAM_NAMES,
    gd_log_inverse_gradient,
    gd_predict,
    linear,
    loglinear,
)

__all__ = ["BACKCALC_STATUS", "STATUS_PRIORITY", "StandardCurve", "backcalc_arrays", "worst_status"]

#: Status of a back-calculated value. The curve engine assigns the first five; the
#: analysis layer adds the others (see :data:`STATUS_PRIORITY`).
BACKCALC_STATUS: dict[str, str] = {
    "ok": "inside the standards' range and strictly between the asymptotes",
    "extrapolated": "back-calculated, but outside the range of the fitted non-zero standards",
    "below_curve": "response beyond the low-concentration asymptote (no finite concentration): conc is NaN",
    "above_curve": "response beyond the high-concentration asymptote: conc is NaN",
    "missing": "no numeric response to back-calculate: conc is NaN",
    "no_curve": "the curve for this group could not be fitted: conc is NaN",
    "below_lloq": "below the lower limit of quantification (analysis layer)",
    "above_uloq": "above the upper limit of quantification (analysis layer)",
    "masked": "excluded by the user (analysis layer)",
    "reader_flag": "the instrument flagged the raw value (analysis layer)",
}

#: Most severe first; :func:`worst_status` keeps the first of several applicable statuses.
STATUS_PRIORITY: tuple[str, ...] = (
    "masked", "reader_flag", "missing", "no_curve", "below_curve", "above_curve",
    "below_lloq", "above_uloq", "extrapolated", "ok",
)

_RANK = {s: i for i, s in enumerate(STATUS_PRIORITY)}


def worst_status(*statuses: ArrayLike) -> np.ndarray:
    """Element-wise most severe of several status arrays (by :data:`STATUS_PRIORITY`).

    Parameters
    ----------
    *statuses : array_like of str
        Status arrays of equal length (or scalars).

    Returns
    -------
    numpy.ndarray
        Object array of the most severe status per element.
    """
    arrs = np.broadcast_arrays(*[np.asarray(s, dtype=object) for s in statuses])
    ranks = np.stack([np.vectorize(_RANK.__getitem__, otypes=[int])(a) for a in arrs])
    pick = ranks.min(axis=0)
    return np.asarray(STATUS_PRIORITY, dtype=object)[pick]


def _noise_weight(scheme: str, k: np.ndarray, y: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Variance-model weight w(y) so that Var(y) = σ²/w(y); y <= 0 replaced by ``floor``."""
    if scheme == "none":
        return np.ones_like(y)
    base = np.where(y > 0, y, floor)
    return base ** (-k)


def backcalc_arrays(
    model: str,
    gd: np.ndarray,
    cov: np.ndarray,
    sigma: np.ndarray,
    df: np.ndarray,
    scheme: str,
    k: np.ndarray,
    floor: np.ndarray,
    conc_lo: np.ndarray,
    conc_hi: np.ndarray,
    y: np.ndarray,
    n_rep: np.ndarray,
    dilution: np.ndarray,
    level: float = 0.95,
) -> dict[str, np.ndarray]:
    """Vectorised back-calculation, one curve per value (rows of ``gd``/``cov``).

    Parameters
    ----------
    model : str
        Curve model.
    gd : numpy.ndarray
        (N, 5) natural G&D parameters ``(a, b, c, d, g)`` (any sign of b) or (N, 2) line parameters.
    cov : numpy.ndarray
        (N, 5, 5) or (N, 2, 2) covariance of ``gd``.
    sigma, df, k, floor, conc_lo, conc_hi, n_rep, dilution : numpy.ndarray
        Per-value residual SE, residual df, variance exponent, response floor, range of
        the non-zero standards, replicate count and dilution factor.
    scheme : str
        Weighting scheme.
    y : numpy.ndarray
        (N,) responses (replicate means).
    level : float
        Confidence level.

    Returns
    -------
    dict
        ``conc``, ``ci_low``, ``ci_high``, ``se_log_conc``, ``status`` arrays.
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if model in ("4pl", "5pl"):
            A, B, C, D, G = (gd[:, i] for i in range(5))
            log_x, grad, d_dy = gd_log_inverse_gradient(y, A, B, C, D, G)
            # response at x -> 0 / x -> inf
            r0 = np.where(B > 0, A, D)
            rinf = np.where(B > 0, D, A)
            inc = rinf > r0
            beyond_low = np.where(inc, y <= r0, y >= r0)
        elif model == "linear":
            s, i0 = gd[:, 0], gd[:, 1]
            x = (y - i0) / s
            okx = x > 0
            log_x = np.where(okx, np.log(np.where(okx, x, 1.0)), np.nan)
            grad = np.stack([-1.0 / s * np.ones_like(y), -1.0 / (y - i0)], axis=-1)
            d_dy = 1.0 / (y - i0)
            beyond_low = ~okx
        else:  # loglinear
            s, i0 = gd[:, 0], gd[:, 1]
            oky = y > 0
            ly = np.log10(np.where(oky, y, 1.0))
            lx10 = (ly - i0) / s
            log_x = np.where(oky, lx10 * np.log(10.0), np.nan)
            grad = np.stack([-log_x / s, -np.log(10.0) / s * np.ones_like(y)], axis=-1)
            d_dy = 1.0 / (s * y)
            beyond_low = ~oky & (s > 0)
        var_par = np.einsum("ni,nij,nj->n", grad, cov, grad)
        if model == "loglinear":
            # residuals live on the log10 scale: Var(log10 y) = σ²  ->  d ln x / d log10 y = ln10 / s
            var_y = (np.log(10.0) / s) ** 2 * sigma**2 / n_rep
        else:
            var_y = d_dy**2 * sigma**2 / (n_rep * _noise_weight(scheme, k, y, floor))
        se = np.sqrt(var_par + var_y)
        dfs, inv_df = np.unique(np.where(df > 0, df, np.nan), return_inverse=True)
        t = _sps.t.ppf(0.5 + level / 2, dfs)[inv_df.ravel()]
        x = np.exp(log_x)
        conc = x * dilution
        lo = conc * np.exp(-t * se)
        hi = conc * np.exp(t * se)
    finite = np.isfinite(log_x)
    status = np.full(y.shape, "ok", dtype=object)
    status[(x < conc_lo * (1 - 1e-12)) | (x > conc_hi * (1 + 1e-12))] = "extrapolated"
    bad = ~finite
    status[bad & beyond_low] = "below_curve"
    status[bad & ~beyond_low] = "above_curve"
    status[~np.isfinite(y)] = "missing"
    nan = np.where(finite, 1.0, np.nan)
    return {"conc": conc * nan, "ci_low": lo * nan, "ci_high": hi * nan, "se_log_conc": se * nan, "status": status}


@dataclass(frozen=True, eq=False)
class StandardCurve:
    """A fitted standard curve (immutable).

    Attributes
    ----------
    model : str
        ``'4pl'``, ``'5pl'``, ``'linear'`` or ``'loglinear'``.
    params : dict
        Canonical parameters (name -> value): ``a, b, c, d`` (+ ``g``) with ``a`` the
        response at x -> 0, ``d`` at x -> inf, ``b > 0``; or ``slope, intercept``.
    stderr : dict
        Standard errors (sqrt of the covariance diagonal).
    covariance : numpy.ndarray
        Parameter covariance, rows/columns in ``param_names`` order
        (σ² (JᵀWJ)⁻¹, as R ``vcov(nls)``).
    asymmetry : str or None
        5PL orientation (``'high'``/``'low'``), None for other models.
    weights : str
        Weighting scheme; ``weight_power`` its exponent k (None when not a power law).
    rss : float
        Weighted residual sum of squares ``Σ w (y - ŷ)²``.
    sigma : float
        Residual standard error ``sqrt(rss / df)``.
    df, n : int
        Residual degrees of freedom and number of points fitted.
    aic : float
        Akaike information criterion as R ``AIC()`` for a weighted ``nls`` fit
        (parameters + 1 for the variance).
    r2 : float
        Weighted coefficient of determination.
    converged : bool
        Whether the optimiser reported convergence.
    status, reason : str
        ``'ok'``, ``'boundary'`` (a parameter at a bound or a singular covariance:
        estimates usable, standard errors unreliable) or ``'not_converged'``; reason in words.
    message, method : str
        Optimiser message and ``'lmfit'`` / ``'batch_lm'`` / ``'closed_form'``.
    iterations : int
        Optimiser iterations or function evaluations.
    conc, response, used, fit_weights : numpy.ndarray
        The standards as given, which of them were fitted, and their final weights.
    conc_range : tuple of float
        Lowest non-zero and highest fitted standard concentration.
    response_floor : float
        Smallest positive |response| of the standards (floor of power-law weights).
    label : str or None
        Optional name (e.g. the analyte).
    gd, gd_cov : numpy.ndarray
        The curve in the general G&D form ``(a, b, c, d, g)`` with any sign of ``b``
        (``'low'`` 5PLs have ``b < 0`` and ``a``/``d`` swapped; g = 1 for a 4PL) and its
        5×5 covariance; ``(slope, intercept)`` and 2×2 for lines. Used for prediction and
        back-calculation.
    """

    model: str
    params: dict
    stderr: dict
    covariance: np.ndarray
    asymmetry: str | None
    weights: str
    weight_power: float | None
    rss: float
    sigma: float
    df: int
    n: int
    aic: float
    r2: float
    converged: bool
    status: str
    reason: str
    message: str
    method: str
    iterations: int
    conc: np.ndarray = field(repr=False)
    response: np.ndarray = field(repr=False)
    used: np.ndarray = field(repr=False)
    fit_weights: np.ndarray = field(repr=False)
    conc_range: tuple
    response_floor: float = field(repr=False)
    label: str | None = None
    gd: np.ndarray = field(default=None, repr=False)
    gd_cov: np.ndarray = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("covariance", "conc", "response", "used", "fit_weights", "gd", "gd_cov"):
            arr = getattr(self, name)
            if isinstance(arr, np.ndarray):
                arr.setflags(write=False)

    # ------------------------------------------------------------------ basics
    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in covariance order."""
        return PARAM_NAMES[self.model]

    @property
    def asymptotes(self) -> tuple[float, float]:
        """Responses at x -> 0 and x -> inf (``(a, d)``; for lines the value at 0 and ±inf)."""
        if self.model in ("4pl", "5pl"):
            return self.params["a"], self.params["d"]
        s, i = self.params["slope"], self.params["intercept"]
        if self.model == "linear":
            return i, float(np.sign(s) * np.inf)
        return (0.0 if s > 0 else np.inf), (np.inf if s > 0 else 0.0)

    @property
    def increasing(self) -> bool:
        """Whether the response increases with concentration."""
        if self.model in ("4pl", "5pl"):
            return self.params["d"] > self.params["a"]
        return self.params["slope"] > 0

    @property
    def formula(self) -> str:
        """The curve formula with this curve's parameter names (for reports)."""
        return {
            "4pl": "y = d + (a - d) / (1 + (x/c)^b)",
            "5pl": "y = d + (a - d) / (1 + (x/c)^b)^g" if self.asymmetry == "high"
            else "y = a + (d - a) / (1 + (c/x)^b)^g",
            "linear": "y = slope * x + intercept",
            "loglinear": "log10(y) = intercept + slope * log10(x)",
        }[self.model]

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Response of the curve at concentrations ``x``.

        Parameters
        ----------
        x : array_like
            Concentrations.

        Returns
        -------
        numpy.ndarray
            Predicted responses.
        """
        if self.model in ("4pl", "5pl"):
            return gd_predict(x, *self.gd)
        if self.model == "linear":
            return linear(x, self.params["slope"], self.params["intercept"])
        return loglinear(x, self.params["slope"], self.params["intercept"])

    def inverse(self, response: ArrayLike) -> np.ndarray:
        """Plain inverse (no CI, no dilution): NaN where no concentration exists.

        Parameters
        ----------
        response : array_like
            Responses.

        Returns
        -------
        numpy.ndarray
            Concentrations.
        """
        r = np.atleast_1d(np.asarray(response, dtype=float))
        n = r.size
        out = backcalc_arrays(**self._bc_args(n), y=r, n_rep=np.ones(n), dilution=np.ones(n))
        return out["conc"].reshape(np.shape(response))

    def _bc_args(self, n: int) -> dict:
        return {
            "model": self.model,
            "gd": np.broadcast_to(self.gd, (n, self.gd.size)),
            "cov": np.broadcast_to(self.gd_cov, (n, *self.gd_cov.shape)),
            "sigma": np.full(n, self.sigma),
            "df": np.full(n, float(self.df)),
            "scheme": self.weights,
            "k": np.full(n, 0.0 if self.weight_power is None else self.weight_power),
            "floor": np.full(n, self.response_floor),
            "conc_lo": np.full(n, self.conc_range[0]),
            "conc_hi": np.full(n, self.conc_range[1]),
        }

    def back_calculate(
        self,
        response: ArrayLike,
        n_replicates: ArrayLike = 1,
        dilution: ArrayLike = 1.0,
        *,
        interval: str = "delta",
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Concentrations (with CIs and a status) of responses read on this curve.

        Parameters
        ----------
        response : array_like
            Responses, or replicate means.
        n_replicates : int or array_like
            Number of replicate wells averaged in each response (response noise σ²/m).
        dilution : float or array_like
            Dilution factor(s) multiplied into ``conc`` and its CI.
        interval : {'delta', 'inversion'}
            ``'delta'``: delta method on ln x (symmetric on the log scale);
            ``'inversion'``: inversion (fiducial) interval, possibly asymmetric; its
            limits are 0 / inf when the band does not close within 1000x the standards' range.
        level : float
            Confidence level (default 0.95).

        Returns
        -------
        pandas.DataFrame
            One row per response, in order: ``response``, ``n_replicates``, ``dilution``,
            ``conc``, ``ci_low``, ``ci_high``, ``se_log_conc``, ``status``.

        Raises
        ------
        AnalysisError
            If ``interval``, ``level``, ``n_replicates`` or ``dilution`` are invalid.
        """
        r = np.atleast_1d(np.asarray(response, dtype=float)).ravel()
        n = r.size
        try:
            m = np.broadcast_to(np.asarray(n_replicates, dtype=float), (n,)).copy()
            dil = np.broadcast_to(np.asarray(dilution, dtype=float), (n,)).copy()
        except ValueError:
            raise AnalysisError("n_replicates/dilution do not match the responses", read=self.label,
                                expected=f"a scalar or {n} values",
                                found=f"{np.size(n_replicates)} and {np.size(dilution)}") from None
        if np.any(~(m >= 1)):
            raise AnalysisError("n_replicates must be >= 1", read=self.label, expected=">= 1",
                                found=f"{m[~(m >= 1)][0]:g}")
        if np.any(~(dil > 0)):
            raise AnalysisError("dilution factors must be positive", read=self.label, expected="> 0",
                                found=f"{dil[~(dil > 0)][0]:g}")
        if not 0 < level < 1:
            raise AnalysisError("confidence level must be between 0 and 1", expected="0 < level < 1",
                                found=f"{level}")
        if interval not in ("delta", "inversion"):
            raise AnalysisError("unknown interval type", expected="'delta' or 'inversion'", found=repr(interval))
        out = backcalc_arrays(**self._bc_args(n), y=r, n_rep=m, dilution=dil, level=level)
        if interval == "inversion":
            lo, hi = self._inversion(r, m, level)
            ok = np.isfinite(out["conc"])
            out["ci_low"] = np.where(ok, lo * dil, np.nan)
            out["ci_high"] = np.where(ok, hi * dil, np.nan)
        return pd.DataFrame({
            "response": r, "n_replicates": m.astype(int), "dilution": dil, "conc": out["conc"],
            "ci_low": out["ci_low"], "ci_high": out["ci_high"], "se_log_conc": out["se_log_conc"],
            "status": out["status"].astype(str),
        })

    def _pred_var(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f(x) and Var f̂(x) from the parameter covariance (x: any shape)."""
        from assaykit.immunoassay.models import gd_jacobian

        if self.model in ("4pl", "5pl"):
            a, b, c, d, g = self.gd
            y, J = gd_jacobian(x, a, b, np.log(c), d, np.log(g), with_g=True)
            J = J * np.array([1.0, 1.0, 1.0 / c, 1.0, 1.0 / g])  # to natural (a, b, c, d, g)
        elif self.model == "linear":
            y = self.predict(x)
            J = np.stack([x, np.ones_like(x)], axis=-1)
        else:
            lx = np.log10(x)
            ly = self.params["slope"] * lx + self.params["intercept"]
            y = 10.0**ly
            J = np.stack([lx, np.ones_like(lx)], axis=-1) * (np.log(10.0) * y)[..., None]
        v = np.einsum("...i,ij,...j->...", J, self.gd_cov, J)
        return y, v

    def _inversion(self, r: np.ndarray, m: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        lo_c, hi_c = self.conc_range
        grid = np.geomspace(lo_c / 1000.0, hi_c * 1000.0, 801)
        fy, fv = self._pred_var(grid)
        t = _sps.t.ppf(0.5 + level / 2, self.df) if self.df > 0 else np.nan
        k = 0.0 if self.weight_power is None else self.weight_power
        if self.model == "loglinear":
            noise = (np.log(10.0) * fy) ** 2 * self.sigma**2  # σ on log10 scale
        else:
            noise = self.sigma**2 / _noise_weight(self.weights, np.float64(k), fy, np.float64(self.response_floor))
        half = t * np.sqrt(fv[None, :] + noise[None, :] / m[:, None])
        inside = np.abs(r[:, None] - fy[None, :]) <= half
        xhat = self.inverse(r)
        lo = np.full(r.size, np.nan)
        hi = np.full(r.size, np.nan)
        for i in range(r.size):
            if not np.isfinite(xhat[i]):
                continue
            j = int(np.clip(np.searchsorted(grid, xhat[i]), 0, grid.size - 1))
            if not inside[i, j]:
                j = j - 1 if j > 0 and inside[i, j - 1] else j
            if not inside[i, j]:
                lo[i] = hi[i] = xhat[i]
                continue
            jl = j
            while jl > 0 and inside[i, jl - 1]:
                jl -= 1
            jh = j
            while jh < grid.size - 1 and inside[i, jh + 1]:
                jh += 1
            lo[i] = 0.0 if jl == 0 else self._refine(r[i], m[i], t, k, grid[jl - 1], grid[jl])
            hi[i] = np.inf if jh == grid.size - 1 else self._refine(r[i], m[i], t, k, grid[jh], grid[jh + 1])
        return lo, hi

    def _refine(self, y0, m, t, k, x1, x2):
        from scipy.optimize import brentq

        def h(lx):
            x = np.array([np.exp(lx)])
            fy, fv = self._pred_var(x)
            if self.model == "loglinear":
                noise = (np.log(10.0) * fy) ** 2 * self.sigma**2
            else:
                noise = self.sigma**2 / _noise_weight(self.weights, np.float64(k), fy,
                                                      np.float64(self.response_floor))
            return float(np.abs(y0 - fy[0]) - t * np.sqrt(fv[0] + noise[0] / m))

        try:
            return float(np.exp(brentq(h, np.log(x1), np.log(x2), xtol=1e-12)))
        except ValueError:
            return float(x1)

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """One-row summary (same columns as :attr:`CurveBatch.table` without the group keys).

        Returns
        -------
        pandas.DataFrame
            Columns: model, asymmetry, weights, weight_power, n, df, a, b, c, d, g, slope,
            intercept, their ``*_se``, rss, sigma, aic, r2, conc_min, conc_max, converged,
            method, iterations, status, reason.
        """
        return pd.DataFrame([summary_row(self)], columns=list(SUMMARY_COLUMNS))

    def params_frame(self) -> pd.DataFrame:
        """Long table of parameters: ``param``, ``estimate``, ``stderr``.

        Returns
        -------
        pandas.DataFrame
            One row per parameter.
        """
        return pd.DataFrame({
            "param": list(self.param_names),
            "estimate": [self.params[p] for p in self.param_names],
            "stderr": [self.stderr[p] for p in self.param_names],
        })


ALL_PARAMS: tuple[str, ...] = ("a", "b", "c", "d", "g", "slope", "intercept")

#: Columns of a curve summary row (StandardCurve.to_frame, CurveBatch.table after the keys).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "model", "asymmetry", "weights", "weight_power", "n", "df",
    *ALL_PARAMS, *(f"{p}_se" for p in ALL_PARAMS),
    "rss", "sigma", "aic", "r2", "conc_min", "conc_max", "converged", "method", "iterations", "status", "reason",
)


def summary_row(c: StandardCurve) -> dict:
    """Summary-row values of a curve (NaN for parameters the model does not have)."""
    row = {
        "model": c.model, "asymmetry": c.asymmetry or "", "weights": c.weights,
        "weight_power": np.nan if c.weight_power is None else c.weight_power, "n": c.n, "df": c.df,
    }
    for p in ALL_PARAMS:
        row[p] = c.params.get(p, np.nan)
        row[f"{p}_se"] = c.stderr.get(p, np.nan)
    row.update({
        "rss": c.rss, "sigma": c.sigma, "aic": c.aic, "r2": c.r2, "conc_min": c.conc_range[0],
        "conc_max": c.conc_range[1], "converged": c.converged, "method": c.method, "iterations": c.iterations,
        "status": c.status, "reason": c.reason,
    })
    return row
