"""Data-driven thresholds (density valley, tail, control quantile, mixture, singlet polygon)."""

from __future__ import annotations

__all__ = ["control_quantile", "density_valley", "mixture", "singlet_polygon", "tail"]


def density_valley(x, **params) -> float:
    """Cut at the deepest density valley between the two highest peaks (openCyto mindensity-like)."""
    raise NotImplementedError


def tail(x, **params) -> float:
    """Cut on the right shoulder of the main peak (openCyto tailgate-like), for rare positives."""
    raise NotImplementedError


def control_quantile(control, q: float = 0.999) -> float:
    """Quantile of a control's events (FMO/unstimulated), applied to the stained tube."""
    raise NotImplementedError


def mixture(x, **params) -> float:
    """Cut where a two-component Gaussian mixture's posteriors cross."""
    raise NotImplementedError


def singlet_polygon(area, height, **params):
    """Polygon of singlets around a robust regression of height on area."""
    raise NotImplementedError
