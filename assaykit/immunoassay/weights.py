"""Weighting of standard-curve fits: the variance models.

Weighting is a *variance model* ``Var(y_i) = sigma^2 / w_i``; the fit minimises
``sum w_i (y_i - f(x_i))^2`` (weights multiply squared residuals, as R ``nls``/
``minpack.lm::nlsLM`` ``weights=``):

``'none'``   w_i = 1
``'1/y'``    w_i = 1 / y_i          (observed responses, must be > 0)
``'1/y^2'``  w_i = 1 / y_i^2        (observed responses, must be > 0; constant CV)
``'1/y^2-xponent'``  w_i = 1 / y_i^2 for y_i != 0 (negative responses weighted by their
             square), w_i = 1 for y_i = 0: the weighting Luminex xPONENT's "Logistic 5P"
             applies to net MFI (inferred from its exported coefficients, see docs/immunoassay.md)
``('power', k)``  w_i = 1 / ŷ_i^k   (fitted responses, iterated to convergence: IRLS)
``'power'``  as above with k estimated from replicate standards: the slope of
             ln(variance) against ln(mean response) over levels with >= 2 replicates
             (Bio-Plex-style power-law variance), clipped to [0, 4].

For ``'power'`` weights and for the response-noise term of back-calculated CIs,
responses <= 0 are replaced by the smallest positive observed standard response
(``StandardCurve.response_floor``), so that every variance stays positive and finite.
"""

from __future__ import annotations

import numpy as np

from assaykit.errors import FitError

__all__ = ["WEIGHTS", "XPONENT_WEIGHTS", "parse_weights", "replicate_power", "response_floor", "weight_values",
           "xponent_weights"]

#: Weighting schemes (see module docstring).
WEIGHTS: tuple[str, ...] = ("none", "1/y", "1/y^2", "1/y^2-xponent", "power")

#: 1/y^2 on observed responses of any sign, weight 1 for a zero response (xPONENT "Logistic 5P").
XPONENT_WEIGHTS = "1/y^2-xponent"

def parse_weights(weights: str | tuple | None) -> tuple[str, float | None]:
    """Normalise a weights specification to ``(scheme, k)``.

    Parameters
    ----------
    weights : str or tuple or None
        ``'none'`` (or None), ``'1/y'``, ``'1/y^2'`` (``'1/y2'``), ``'1/y^2-xponent'``
        (``'xponent'``), ``'power'`` (k estimated), ``'power:K'`` or ``('power', K)``.

    Returns
    -------
    scheme : str
        One of :data:`WEIGHTS`.
    k : float or None
        Exponent of the variance model (0, 1, 2, the given K, or None = estimate).

    Raises
    ------
    FitError
        If the specification is not recognised.
    """
    if weights is None or (isinstance(weights, str) and weights.strip().lower() in ("none", "")):
        return "none", 0.0
    if isinstance(weights, tuple) and len(weights) == 2 and weights[0] == "power":
        k = float(weights[1])
        if not np.isfinite(k):
            raise FitError("power-law weight exponent must be finite", expected="a number", found=repr(weights[1]))
        return "power", k
    if isinstance(weights, str):
        w = weights.strip().lower().replace(" ", "")
        if w == "1/y":
            return "1/y", 1.0
        if w in ("1/y^2", "1/y2", "1/y**2"):
            return "1/y^2", 2.0
        if w in ("1/y^2-xponent", "1/y2-xponent", "xponent"):
            return XPONENT_WEIGHTS, 2.0
        if w == "power":
            return "power", None
        if w.startswith("power:"):
            try:
                return "power", float(w.split(":", 1)[1])
            except ValueError:
                pass
    raise FitError(
        "unknown weights",
        expected="'none', '1/y', '1/y^2', '1/y^2-xponent', 'power', 'power:K' or ('power', K)",
        found=repr(weights),
    )


def replicate_power(x: np.ndarray, y: np.ndarray) -> float | None:
    """Estimate k in Var(y) ∝ mean^k from replicate standards.

    Parameters
    ----------
    x, y : numpy.ndarray
        Concentrations and responses of the used standards (finite; replicates share x).

    Returns
    -------
    float or None
        The least-squares slope of ln(sample variance) on ln(mean) over the levels with
        >= 2 replicates, positive variance and mean, clipped to [0, 4]; None with fewer than
        3 such levels.
    """
    lv, inv = np.unique(x, return_inverse=True)
    cnt = np.bincount(inv)
    s1 = np.bincount(inv, y)
    s2 = np.bincount(inv, y * y)
    rep = cnt >= 2
    mean = s1[rep] / cnt[rep]
    var = (s2[rep] - cnt[rep] * mean**2) / (cnt[rep] - 1)
    good = (var > 0) & (mean > 0)
    if good.sum() < 3:
        return None
    k = np.polyfit(np.log(mean[good]), np.log(var[good]), 1)[0]
    return float(np.clip(k, 0.0, 4.0))


def response_floor(y: np.ndarray) -> float:
    """Smallest non-zero |response| among the standards.

    Parameters
    ----------
    y : numpy.ndarray
        Standard responses.

    Returns
    -------
    float
        Replaces responses <= 0 in power-law weights and CI noise terms (1e-12 if none).
    """
    pos = np.abs(y[np.isfinite(y) & (y != 0)])
    return float(pos.min()) if pos.size else 1e-12


def weight_values(scheme: str, k: float, y_obs: np.ndarray, y_fit: np.ndarray | None, floor: float) -> np.ndarray:
    """Weights w_i (1/variance up to sigma^2) of a variance model.

    Parameters
    ----------
    scheme : str
        One of :data:`WEIGHTS` (from :func:`parse_weights`).
    k : float
        Power-law exponent (``'power'`` only).
    y_obs, y_fit : numpy.ndarray
        Observed and fitted responses (``y_fit`` None: the observed ones are used).
    floor : float
        Replaces bases <= 0 of power-law weights (:func:`response_floor`).

    Returns
    -------
    numpy.ndarray
        1 (``'none'``), 1/y, 1/y^2 (observed), :func:`xponent_weights`, or
        max(ŷ, floor)^-k.
    """
    if scheme == "none":
        return np.ones_like(y_obs)
    if scheme == "1/y":
        return 1.0 / y_obs
    if scheme == "1/y^2":
        return 1.0 / y_obs**2
    if scheme == XPONENT_WEIGHTS:
        return xponent_weights(y_obs)
    base = y_fit if y_fit is not None else y_obs
    base = np.where(base > 0, base, floor)
    return base ** (-k)


def xponent_weights(y: np.ndarray) -> np.ndarray:
    """Weights of ``'1/y^2-xponent'``: 1/y² for y != 0 (any sign), 1 for y == 0.

    Parameters
    ----------
    y : numpy.ndarray
        Observed responses (finite).

    Returns
    -------
    numpy.ndarray
        Weights, same shape as ``y``.
    """
    y = np.asarray(y, dtype=float)
    safe = np.where(y == 0, 1.0, y)
    return 1.0 / (safe * safe)
