"""Demo part ``blot``: three replicate western blots of IκBα after TNF, end to end.

The blots (``blot_demo_rep1.tif`` … ``rep3.tif``, simulated 16-bit TIFF) hold IκBα and
GAPDH in 6 lanes: vehicle, TNF 5, 15, 30, 60 min and drug + TNF 15 min. They are analysed
with ``protocols/blot_nfkb.toml`` (lane-profile background, IκBα / GAPDH, folds versus
vehicle on each blot, Welch tests of log2 fold): lanes come from the layout's lane count
and bands are detected on the lane profiles. Writes everything ``assaykit blot`` writes
(``bands.csv``, ``normalized.csv``, ``replicates.csv``, ``stats.csv``, ``results.xlsx``,
``annotated_*.png``, ``profiles_*.png``, ``fold_chart.png``) and ``truth_comparison.csv``:
each lane's fold next to the simulator's true fold (of the in-box volumes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["IMAGES", "run", "truth_comparison"]

IMAGES = ("blot_demo_rep1.tif", "blot_demo_rep2.tif", "blot_demo_rep3.tif")
LAYOUT = "blot_demo_layout.toml"
TRUTH = "blot_demo_truth.csv"
PROTOCOL = "blot_nfkb"


def truth_comparison(normalized: pd.DataFrame, truth: pd.DataFrame, control: str = "veh") -> pd.DataFrame:
    """Each measured fold next to the true fold of the same image and lane.

    Parameters
    ----------
    normalized : pandas.DataFrame
        ``normalize(...).normalized`` (``image``, ``sample``, ``target``, ``loading``, ``fold``).
    truth : pandas.DataFrame
        ``blot_demo_truth.csv``.
    control : str
        The control sample.

    Returns
    -------
    pandas.DataFrame
        ``image``, ``sample``, ``target``, ``status``, ``fold``, ``true_fold`` (of the true
        in-box volumes), ``error_pct``.
    """
    from assaykit.simulate.blot import expected_ratios

    rows = []
    for img, t in truth.groupby("image", sort=False):
        pairs = sorted({(tg, ld) for tg, ld in zip(normalized["target"], normalized["loading"], strict=True)})
        exp = expected_ratios(t, pairs, control).assign(image=img)
        rows.append(exp[["image", "lane_label", "target", "fold_in_box"]])
    e = pd.concat(rows, ignore_index=True).rename(columns={"lane_label": "sample", "fold_in_box": "true_fold"})
    m = normalized[["image", "sample", "target", "status", "fold"]].merge(e, on=["image", "sample", "target"], how="left")
    m["error_pct"] = 100 * (m["fold"] / m["true_fold"] - 1)
    m.loc[~np.isfinite(m["error_pct"]), "error_pct"] = np.nan
    return m


def run(outdir: Path) -> list[Path]:
    """Analyse the three bundled blots; return the files written.

    Parameters
    ----------
    outdir : pathlib.Path
        Existing folder to write into.

    Returns
    -------
    list of pathlib.Path
    """
    from assaykit.cli.blot import run_blot
    from assaykit.datasets import path

    outdir = Path(outdir)
    res, paths = run_blot([path(n) for n in IMAGES], outdir, layout=path(LAYOUT), protocol=PROTOCOL,
                          command="assaykit demo --part blot")  # fmt: skip
    cmp = truth_comparison(res.normalized, pd.read_csv(path(TRUTH)))
    out = outdir / "truth_comparison.csv"
    cmp.to_csv(out, index=False)
    return [*paths, out]
