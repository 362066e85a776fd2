"""CurveBatch: the standard curves of every group of a table, fitted by :func:`fit_curves`.

``lm_batch``, the batched Levenberg–Marquardt solver (:mod:`assaykit.immunoassay._lm`), has
its public name here; the fitting code (:mod:`~assaykit.immunoassay.engine`,
:mod:`~assaykit.immunoassay.fit`) calls it through this name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

import assaykit.immunoassay._stats as _stats
from assaykit.errors import AnalysisError
from assaykit.immunoassay._lm import lm_batch
from assaykit.immunoassay.curve import StandardCurve, backcalc_arrays

__all__ = ["CurveBatch", "lm_batch"]


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
