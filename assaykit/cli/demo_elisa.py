"""Demo part ``elisa``: analyse the bundled IL-6 ELISA plate (Gen5 export) end to end.

Writes into the folder it is given: ``wells.csv``, ``samples.csv``, ``standards.csv``,
``curves.csv``, ``linearity.csv``, ``results.xlsx`` (with an ``info`` sheet hashing the
inputs and a ``truth_comparison`` sheet), the standard-curve figure, and
``truth_comparison.csv``: each sample's back-calculated IL-6 next to the simulator's
true concentration (ratio = measured / true).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OPTIONS", "run"]

EXPORT = "elisa_il6_gen5.txt"
LAYOUT = "elisa_il6_layout.toml"
TRUTH = "elisa_il6_truth.csv"

#: Analysis options of the demo (the same as protocols/elisa_il6_4pl.toml).
OPTIONS = {
    "read": "abs_450", "reference_read": "abs_630", "model": "4pl", "weights": "none",
    "conc_col": "std_conc_pg_ml", "blank": "subtract_mean", "recovery_window": (80, 120), "cv_max": 20,
}


def truth_comparison(samples, truth):
    """Samples next to the simulator's truth (one row per sample × dilution with a true value)."""
    import numpy as np

    t = truth.groupby(["sample", "dilution"], as_index=False)["sample_conc_pg_ml"].first()
    s = samples.loc[samples["role"].isin(["sample", "control"]),
                    ["plate", "read", "role", "sample", "dilution", "conc", "ci_low", "ci_high", "status"]]
    m = s.merge(t.astype({"dilution": float}), on=["sample", "dilution"], how="left")
    m = m.rename(columns={"sample_conc_pg_ml": "true_conc"})
    with np.errstate(invalid="ignore", divide="ignore"):
        m["ratio"] = m["conc"] / m["true_conc"]
    m["true_in_ci"] = (m["ci_low"] <= m["true_conc"]) & (m["true_conc"] <= m["ci_high"])
    return m


def run(outdir: Path) -> list[Path]:
    """Analyse the bundled IL-6 plate; return the files written."""
    import pandas as pd

    import assaykit
    from assaykit.datasets import path
    from assaykit.immunoassay import AnalysisSettings, workflow
    from assaykit.report import save_figure, write_workbook
    from assaykit.report.immunoassay_figures import standard_curve_plot

    outdir = Path(outdir)
    export, layout_file = path(EXPORT), path(LAYOUT)
    plate = assaykit.read_plate(export)
    ann = assaykit.annotate(plate, assaykit.read_layout(layout_file))
    res = workflow.run(ann, AnalysisSettings.from_mapping(OPTIONS))
    written: list[Path] = []
    tables = dict(res.tables())
    inputs = [export, layout_file]
    try:
        truth_file = path(TRUTH)
    except assaykit.AssaykitError:
        truth_file = None
    if truth_file is not None:
        cmp = truth_comparison(res.samples, pd.read_csv(truth_file))
        tables["truth_comparison"] = cmp
        inputs.append(truth_file)
    for name, table in tables.items():
        p = outdir / f"{name}.csv"
        table.to_csv(p, index=False)
        written.append(p)
    written.append(write_workbook(tables, outdir / "results.xlsx",
                                  info={"command": "assaykit demo", "part": "elisa", **res.params}, inputs=inputs))
    ax = standard_curve_plot(res)
    written.append(save_figure(ax, outdir / "standard_curve_il6.png"))
    return written
