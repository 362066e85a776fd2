"""Demo part ``qpcr``: analyse the bundled Th-panel qPCR run end to end.

The run (``qpcr_th_panel_quantstudio.txt``, simulated) holds TBX21, RORC, FOXP3 and BCL6
against GAPDH and ACTB in CD4+ T cells of 3 donors, vehicle vs iguratimod 1, 3 and
10 µM, with a standard series per gene. It is analysed with the options of
``protocols/qpcr_th_panel.toml`` (:data:`OPTIONS`): efficiencies from the run's standard
curves, efficiency-corrected (Pfaffl) ratios, both reference genes, median outlier rule,
Welch tests against vehicle with Holm's correction.

Writes into the folder it is given everything ``assaykit qpcr`` writes (``wells.csv``,
``samples.csv``, ``groups.csv``, ``stats.csv``, ``standard_curves.csv``,
``standard_points.csv``, ``results.xlsx``, ``fold_change.png``, ``standard_curves.png``,
``plate_qc_1.png``) and ``truth_comparison.csv`` (also a workbook sheet): each group ×
target fold change next to the simulator's true fold change.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["OPTIONS", "run", "truth_comparison"]

EXPORT = "qpcr_th_panel_quantstudio.txt"
LAYOUT = "qpcr_th_panel_layout.toml"
TRUTH = "qpcr_th_panel_truth.csv"

#: Analysis options of the demo (the ``[qpcr]`` table of protocols/qpcr_th_panel.toml).
OPTIONS = {
    "reference": ["GAPDH", "ACTB"],
    "control": "vehicle",
    "group_col": "condition",
    "method": "pfaffl",
    "efficiency": "auto",
    "undetermined": "exclude",
    "outlier": "median",
    "outlier_threshold": 0.5,
    "error": "sem",
    "test": "welch",
    "p_adjust": "holm",
    "propagate_control": False,
}


def truth_comparison(groups: pd.DataFrame, stats: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Fold change of each non-control group × target next to the simulator's truth.

    Parameters
    ----------
    groups, stats : pandas.DataFrame
        ``DdctResult.groups`` and ``.stats`` (group column ``condition``).
    truth : pandas.DataFrame
        The truth table (``qpcr_th_panel_truth.csv``).

    Returns
    -------
    pandas.DataFrame
        ``condition``, ``target``, ``fold_change``, ``true_fold_change``, ``ratio``
        (estimate / truth), ``log2_ratio``, ``fold_change_ci_low``,
        ``fold_change_ci_high`` (95 % CI of the Welch test), ``true_in_ci95``.
    """
    import numpy as np

    unk = truth.loc[(truth["task"] == "unknown") & ~truth["is_reference"].astype(bool)]
    t = unk.groupby(["condition", "target"], as_index=False)["fold_change"].first()
    t = t.rename(columns={"fold_change": "true_fold_change"})
    g = groups.loc[~groups["is_control"].astype(bool), ["condition", "target", "fold_change", "status"]]
    m = g.merge(t, on=["condition", "target"], how="left", validate="one_to_one")
    s = stats.rename(columns={"group": "condition"})[["condition", "target", "fold_change_ci_low", "fold_change_ci_high"]]
    m = m.merge(s, on=["condition", "target"], how="left", validate="one_to_one")
    m["ratio"] = m["fold_change"] / m["true_fold_change"]
    m["log2_ratio"] = np.log2(m["ratio"])
    m["true_in_ci95"] = (m["fold_change_ci_low"] <= m["true_fold_change"]) & (
        m["true_fold_change"] <= m["fold_change_ci_high"]
    )
    cols = ["condition", "target", "status", "fold_change", "true_fold_change", "ratio", "log2_ratio",
            "fold_change_ci_low", "fold_change_ci_high", "true_in_ci95"]  # fmt: skip
    return m[cols]


def run(outdir: Path) -> list[Path]:
    """Analyse the bundled Th-panel run; return the files written.

    Parameters
    ----------
    outdir : pathlib.Path
        Existing folder to write into.

    Returns
    -------
    list of pathlib.Path
        Tables, workbook, figures and ``truth_comparison.csv``.
    """
    from assaykit.cli.qpcr import run_qpcr
    from assaykit.datasets import path

    outdir = Path(outdir)
    export, layout = path(EXPORT), path(LAYOUT)
    truth = pd.read_csv(path(TRUTH), dtype={"plate": str})
    comparison: dict[str, pd.DataFrame] = {}

    def extra(result) -> dict[str, pd.DataFrame]:
        comparison["table"] = truth_comparison(result.groups, result.stats, truth)
        return {"truth_comparison": comparison["table"]}

    qrun = run_qpcr(export, outdir, layout=layout, options=OPTIONS, command="assaykit demo --part qpcr",
                    extra_tables=extra)  # fmt: skip
    csv = outdir / "truth_comparison.csv"
    comparison["table"].to_csv(csv, index=False)
    return [*qrun.paths, csv]
