"""Demo part ``plate``: read the bundled IL-6 ELISA plate, join its layout, report it.

Writes into the folder it is given:

* ``elisa_il6_plate.csv`` — the tidy plate-read table joined to its layout;
* ``elisa_il6_heatmap.png`` — a heat map of the 450 nm absorbance;
* ``elisa_il6_plate.xlsx`` — the same table, the layout and the simulator's truth, after
  an ``info`` sheet hashing the inputs.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["run"]

EXPORT = "elisa_il6_gen5.txt"
LAYOUT = "elisa_il6_layout.toml"
TRUTH = "elisa_il6_truth.csv"


def run(outdir: Path) -> list[Path]:
    """Read, annotate and report the bundled IL-6 plate.

    Parameters
    ----------
    outdir : pathlib.Path
        Existing folder to write into.

    Returns
    -------
    list of pathlib.Path
        The CSV table, the heat-map PNG and the workbook written.
    """
    import pandas as pd

    import assaykit
    from assaykit.datasets import path
    from assaykit.report import plate_heatmap, save_figure, write_workbook

    outdir = Path(outdir)
    export, layout_file, truth_file = path(EXPORT), path(LAYOUT), path(TRUTH)
    plate = assaykit.read_plate(export)
    layout = assaykit.read_layout(layout_file)
    annotated = assaykit.annotate(plate, layout)

    csv = outdir / "elisa_il6_plate.csv"
    annotated.to_csv(csv, index=False)

    read = "abs_450" if "abs_450" in set(plate["read"]) else str(plate["read"].iloc[0])
    ax = plate_heatmap(plate, read)
    png = save_figure(ax, outdir / "elisa_il6_heatmap.png")

    truth = pd.read_csv(truth_file)
    xlsx = write_workbook(
        {"reads": annotated, "layout": layout, "truth": truth},
        outdir / "elisa_il6_plate.xlsx",
        info={"command": "assaykit demo", "part": "plate", "format": plate.attrs.get("format", "")},
        inputs=[export, layout_file, truth_file],
    )
    return [csv, png, xlsx]
