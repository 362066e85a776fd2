"""The result of gating a batch of samples: :class:`GatingResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError

__all__ = ["ERROR_COLUMNS", "STAT_COLUMNS", "THRESHOLD_COLUMNS", "GatingResult"]

#: The fixed leading columns of ``GatingResult.stats`` (MFI columns follow).
STAT_COLUMNS = ("sample", "population", "parent", "path", "count", "pct_parent", "pct_total",
                "pct_of", "pct_ancestor")
#: Columns of ``GatingResult.errors``.
ERROR_COLUMNS = ("sample", "file", "error")
#: Columns of ``GatingResult.thresholds``.
THRESHOLD_COLUMNS = ("sample", "gate", "channel", "side", "method", "value", "by", "pooled_samples",
                     "n_events", "status")


@dataclass(frozen=True, eq=False)
class GatingResult:
    """Statistics of a gating strategy applied to a batch of samples.

    Attributes
    ----------
    stats : pandas.DataFrame
        One row per sample × population (``docs/schemas.md``, "Flow population
        statistics"): ``sample, population, parent, path, count, pct_parent, pct_total,
        pct_of, pct_ancestor``, then ``median_<m>, mean_<m>, geomean_<m>`` per chosen
        marker ``m``, then ``mfi_flag``, then the sample-sheet columns (joined on
        ``sample``).
    errors : pandas.DataFrame
        ``sample, file, error``: one row per sample that could not be gated (the others
        complete).
    thresholds : pandas.DataFrame
        One row per data-driven boundary placed (``THRESHOLD_COLUMNS``).
    strategy : flowkit.GatingStrategy
        The strategy applied, with the data-driven boundaries as per-sample custom gates
        (``export_gatingml`` writes it).
    settings : FlowSettings
        The settings used.
    masks : mapping
        ``sample → {path: bool array over all events}`` where ``path`` is the
        population's ``path`` value (empty when ``keep_masks`` is False).
    """

    stats: pd.DataFrame
    errors: pd.DataFrame
    thresholds: pd.DataFrame
    strategy: Any
    settings: Any
    masks: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "masks", MappingProxyType(dict(self.masks)))

    def __reduce__(self):  # picklable (the read-only mapping is rebuilt)
        return (GatingResult, (self.stats, self.errors, self.thresholds, self.strategy, self.settings,
                               {k: dict(v) for k, v in self.masks.items()}))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name: ``stats``, ``thresholds``, ``errors``."""
        return {"stats": self.stats, "thresholds": self.thresholds, "errors": self.errors}

    def mask(self, sample: str, population: str) -> np.ndarray:
        """Event mask of one population (given by gate id or ``path``) of one sample.

        Raises
        ------
        AnalysisError
            When masks were not kept, or the sample or population is unknown (listed).
        """
        if sample not in self.masks:
            raise AnalysisError("no event masks for this sample (keep_masks=False or the sample failed)",
                                sample=sample, expected="one of: " + ", ".join(self.masks))
        by_path = self.masks[sample]
        if population in by_path:
            return by_path[population]
        hits = [p for p in by_path if p.rsplit("/", 1)[-1] == population]
        if len(hits) != 1:
            raise AnalysisError("unknown or ambiguous population" if not hits else "population id is ambiguous: give its path",
                                sample=sample, population=population, expected="one of: " + ", ".join(by_path))
        return by_path[hits[0]]

    def export_gatingml(self, path_or_handle, sample: str | None = None) -> None:
        """Write the strategy actually used (with this sample's data-driven boundaries) as GatingML 2.0."""
        from assaykit.flow.strategy import export_gatingml

        if type(self.strategy).__name__ == "Workspace":
            raise AnalysisError("a FlowJo workspace strategy is not exported as GatingML", key="strategy")
        export_gatingml(self.strategy, path_or_handle, sample=sample)
