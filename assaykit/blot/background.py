"""Background estimation and subtraction (skeleton; filled next)."""

from __future__ import annotations

import numpy as np

__all__ = ["rolling_ball_background", "subtract_background"]


def rolling_ball_background(signal: np.ndarray, radius: float = 50.0, *, smooth: bool = True,
                            paraboloid: bool = False) -> np.ndarray:
    """ImageJ 'Subtract Background' background of a bands-positive float image."""
    raise NotImplementedError


def subtract_background(image, method: str = "rolling_ball", radius: float = 50.0, *, smooth: bool = True):
    """Return ``(signal − background, background)`` as float64 arrays (bands positive)."""
    raise NotImplementedError
