"""Inter-run calibration with inter-run calibrator (IRC) samples (Hellemans et al. 2007).

The same calibrator sample(s) are measured on every plate. For each plate × target,
``run_offset = mean_c Cq̄(c, plate) − mean_plates mean_c Cq̄(c, plate)`` (each
calibrator's mean Cq on the plate, averaged over calibrators; every plate weighs
the same), and every Cq of that plate × target becomes ``Cq − run_offset``. In
log space this is qBase's division of relative quantities by the geometric mean
of the IRC quantities of the run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import RunCalibration

__all__ = ["calibrate_runs"]


def calibrate_runs(
    data: pd.DataFrame,
    calibrators: str | Sequence[str],
    *,
    sample_col: str = "sample",
    target_col: str = "target",
    plate_col: str = "plate",
) -> RunCalibration:
    """Remove run-to-run Cq shifts using calibrator samples shared by every plate.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table spanning several plates.
    calibrators : str or list of str
        Sample name(s) of the inter-run calibrators.
    sample_col, target_col, plate_col : str
        Column names.

    Returns
    -------
    RunCalibration
        ``data`` (``cq`` corrected; ``cq_uncalibrated`` and ``run_offset`` added)
        and ``offsets`` (one row per plate × target).

    Raises
    ------
    AnalysisError
        A calibrator absent from the data, or a plate × target without a valid
        Cq for every calibrator (naming the plate, target and calibrator).
    """
    cals = [calibrators] if isinstance(calibrators, str) else list(calibrators)
    for c in ("cq", sample_col, target_col, plate_col):
        if c not in data.columns:
            raise AnalysisError("column missing for inter-run calibration", column=c, expected=f"a column '{c}'")
    names = set(data[sample_col].astype(str))
    for c in cals:
        if c not in names:
            raise AnalysisError("calibrator sample not found", sample=c, expected="a sample on every plate", found="no such sample")
    d = data
    ok = np.isfinite(d["cq"].to_numpy(dtype=float))
    if "cq_flag" in d.columns:
        ok &= ~d["cq_flag"].astype(str).str.contains("omitted").to_numpy()
    is_cal = d[sample_col].astype(str).isin(cals).to_numpy()
    cal = pd.DataFrame(
        {
            "plate": d[plate_col].astype(str).to_numpy()[is_cal & ok],
            "target": d[target_col].astype(str).to_numpy()[is_cal & ok],
            "cal": d[sample_col].astype(str).to_numpy()[is_cal & ok],
            "cq": d["cq"].to_numpy(dtype=float)[is_cal & ok],
        }
    )
    per_cal = cal.groupby(["plate", "target", "cal"], sort=False)["cq"].agg(["mean", "count"]).reset_index()
    pt = d[[plate_col, target_col]].astype(str).drop_duplicates().set_axis(["plate", "target"], axis=1)
    for _, row in pt.iterrows():
        have = set(per_cal.loc[(per_cal["plate"] == row["plate"]) & (per_cal["target"] == row["target"]), "cal"])
        lacking = [c for c in cals if c not in have]
        if lacking:
            raise AnalysisError(
                "no valid calibrator Cq on this plate for this target",
                plate=row["plate"],
                target=row["target"],
                sample=lacking[0],
                expected="every calibrator measured with a Cq on every plate × target",
                found="none",
            )
    plate_mean = per_cal.groupby(["plate", "target"], sort=False).agg(
        calibrator_cq_mean=("mean", "mean"), n_calibrator_wells=("count", "sum")
    ).reset_index()
    overall = plate_mean.groupby("target")["calibrator_cq_mean"].mean().rename("overall_calibrator_cq_mean")
    offsets = plate_mean.join(overall, on="target")
    offsets["run_offset"] = offsets["calibrator_cq_mean"] - offsets["overall_calibrator_cq_mean"]
    offsets = offsets[["plate", "target", "n_calibrator_wells", "calibrator_cq_mean", "overall_calibrator_cq_mean", "run_offset"]]
    out = d.copy()
    key = pd.DataFrame({"plate": d[plate_col].astype(str).to_numpy(), "target": d[target_col].astype(str).to_numpy()})
    off = key.join(offsets.set_index(["plate", "target"])["run_offset"], on=["plate", "target"])["run_offset"].to_numpy(dtype=float)
    out["cq_uncalibrated"] = d["cq"].to_numpy(dtype=float)
    out["run_offset"] = off
    out["cq"] = out["cq_uncalibrated"] - off
    return RunCalibration(data=out, offsets=offsets.reset_index(drop=True))
