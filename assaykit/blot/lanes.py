"""Lane detection by projection profiles (skeleton; filled next)."""

from __future__ import annotations

import pandas as pd

__all__ = ["find_lanes"]


def find_lanes(image, n: int | None = None, *, settings=None) -> pd.DataFrame:
    """Find lanes: DataFrame ``lane`` (1-based), ``x_left``, ``x_right``, ``x_center`` (pixels)."""
    raise NotImplementedError
