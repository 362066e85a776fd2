"""Immutable result objects of blot quantification (tables are plain DataFrames)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BlotResult", "QuantifyResult"]


@dataclass(frozen=True)
class QuantifyResult:
    """Result of :func:`assaykit.blot.quantify`.

    Attributes
    ----------
    bands : pandas.DataFrame
        One row per lane × band, columns :data:`assaykit.schema.BLOT_BANDS_COLUMNS`
        (``docs/schemas.md``, "Blot bands").
    lanes : pandas.DataFrame
        The lanes used: ``lane`` (1-based), ``x_left``, ``x_right``, ``x_center`` (pixels,
        at the image's vertical middle) and ``source`` (``'detected'``, ``'count'``,
        ``'given'`` or ``'boxes'``).
    profiles : pandas.DataFrame
        Lane profiles for plots: ``lane``, ``y`` (pixel row), ``raw`` (mean signal across the
        central part of the lane), ``background`` (the background profile subtracted),
        ``signal`` (raw − background) and ``fit`` (sum of the fitted peak shapes, NaN where
        no peak was fitted).
    background : numpy.ndarray or None
        The background image subtracted (signal units, bands positive), read-only; None
        for methods that work per box (``median_border``, ``lane_profile``, ``none``).
    settings : QuantifySettings
        The settings used (``to_dict()`` for the workbook info sheet).
    image : str
        Name of the image.
    """

    bands: pd.DataFrame
    lanes: pd.DataFrame
    profiles: pd.DataFrame
    background: np.ndarray | None = field(repr=False)
    settings: Any
    image: str = ""

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{'bands': ..., 'lanes': ..., 'profiles': ...}``."""
        return {"bands": self.bands, "lanes": self.lanes, "profiles": self.profiles}


@dataclass(frozen=True)
class BlotResult:
    """Result of the blot workflow (:func:`assaykit.blot.workflow.run`).

    Attributes
    ----------
    quantified : tuple of QuantifyResult
        One per image (empty when band tables were imported).
    bands : pandas.DataFrame
        All bands of all images (``docs/schemas.md``, "Blot bands").
    normalized : pandas.DataFrame
        The output of :func:`assaykit.blot.normalize` (target / loading ratios, folds).
    settings : BlotSettings
        The settings used.
    extra : dict
        Further tables of the normalisation (replicate summaries, statistics, linear range),
        by name.
    """

    quantified: tuple[QuantifyResult, ...]
    bands: pd.DataFrame
    normalized: pd.DataFrame
    settings: Any
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{'bands': ..., 'normalized': ..., **extra}`` plus each image's lanes."""
        out = {"bands": self.bands, "normalized": self.normalized, **self.extra}
        if self.quantified:
            out["lanes"] = pd.concat(
                [q.lanes.assign(image=q.image) for q in self.quantified], ignore_index=True
            )
        return out
