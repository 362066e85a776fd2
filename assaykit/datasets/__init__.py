"""Small example exports and layouts shipped with assaykit (simulated, with their truth).

The files are generated from a known truth by ``sample_data/make_datasets.py`` with
:mod:`assaykit.simulate` (never copied from real instruments), so that the demo and
the tests can compare results with the truth. :data:`DATASETS` describes each file.
The simulated flow cytometry FCS files sit in the subfolder ``flow_th/`` and are listed,
relative to this folder, in the ``file`` column of ``flow_th_samples.csv``.

Examples
--------
>>> from assaykit.datasets import list_datasets, path
>>> "elisa_il6_layout.toml" in list_datasets()
True
>>> path("elisa_il6_layout.toml").name
'elisa_il6_layout.toml'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from assaykit.errors import AssaykitError

__all__ = ["DATASETS", "list_datasets", "path"]

#: File name → one-line description of every bundled dataset file.
DATASETS: dict[str, str] = {
    "elisa_il6_layout.toml": (
        "wellmap layout of the IL-6 ELISA plate: 8 standards 1000-7.8 pg/mL in duplicate, 4 blanks, "
        "2 QC levels, 12 PBMC supernatants (3 donors x vehicle / iguratimod 3, 10, 30 uM) at 1:2, 1:4, 1:8"
    ),
    "elisa_il6_gen5.txt": "IL-6 ELISA plate as a BioTek Gen5 text export (450 and 630 nm)",
    "elisa_il6_generic.csv": "the same IL-6 plate as assaykit's generic stacked-grid CSV (abs_450, abs_630)",
    "elisa_il6_truth.csv": (
        "truth of the IL-6 plate, one row per well: layout fields, true IL-6 in the sample and in the well "
        "(pg/mL), noiseless and exported optical densities"
    ),
    "qpcr_pbmc_quantstudio.txt": (
        "qPCR run as a QuantStudio 7 Flex text export: IL6, TNF (targets) and GAPDH, ACTB (references) "
        "in LPS-stimulated PBMC of 3 donors, vehicle vs iguratimod 10 uM, 3 technical replicates"
    ),
    "qpcr_pbmc_layout.toml": "wellmap layout of the qPCR run: condition and donor of every well",
    "qpcr_pbmc_truth.csv": (
        "truth of the qPCR run, one row per well: sample, condition, donor, target, efficiency, "
        "true fold change, true and exported Cq"
    ),
    "qpcr_th_panel_quantstudio.txt": (
        "qPCR run as a QuantStudio 7 Flex text export (384 wells): TBX21, RORC, FOXP3, BCL6 (targets) and "
        "GAPDH, ACTB (references) in CD4+ T cells of 3 donors, vehicle vs iguratimod 1, 3, 10 uM, "
        "3 technical replicates, a 5-level standard series per gene in duplicate, NTC pairs"
    ),
    "qpcr_th_panel_layout.toml": "wellmap layout of the Th-panel run: condition, donor and iguratimod dose of every sample well",
    "qpcr_th_panel_truth.csv": (
        "truth of the Th-panel run, one row per well: sample, condition, donor, dose, target, task, efficiency, "
        "true fold change, standard quantity, true and exported Cq"
    ),
    "blot_demo_rep1.tif": (
        "western blot, replicate 1 of 3 (simulated 8-bit film scan, dark bands on light, deflate TIFF, 312 x 220 px): "
        "IkBa and GAPDH in 6 lanes, vehicle, TNF 5/15/30/60 min, drug + TNF 15 min; smile, tilt, uneven background, noise"
    ),
    "blot_demo_rep2.tif": "western blot, replicate 2 of 3 (same design, its own biological variation and noise)",
    "blot_demo_rep3.tif": "western blot, replicate 3 of 3 (same design, its own biological variation and noise)",
    "blot_demo_layout.toml": "blot layout of the demo blots: lane -> sample, row -> target with its y position",
    "blot_demo_rep1_imagelab.csv": "replicate 1's true in-box band volumes written as a Bio-Rad Image Lab 'Lane and Bands' report",
    "blot_demo_truth.csv": (
        "truth of the demo blots, one row per image x band: lane, sample, target, amounts, loading factor, "
        "band box, true volume, true volume in the box, saturation"
    ),
    "flow_th_samples.csv": (
        "sample sheet of the simulated Th-panel flow cytometry tubes in the folder flow_th/ (FCS 3.1, 10,000 events, "
        "15 channels, spillover in $SPILLOVER): sample, donor (D1-D3), condition (unstim / stim), control (the "
        "donor's unstimulated tube), file (relative to the datasets folder), n_events"
    ),
    "flow_th_truth.csv": (
        "truth of the Th-panel tubes, one row per sample x population of the Th-subset template: true count, "
        "parent count, % of parent and the model frequency it was drawn from"
    ),
}


def list_datasets() -> list[str]:
    """Return the names of the bundled dataset files, sorted.

    Returns
    -------
    list of str
        File names usable with :func:`path`.
    """
    root = files(__name__)
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_file() and not entry.name.endswith((".py", ".pyc")) and not entry.name.startswith(".")
    )


def path(name: str) -> Path:
    """Return the path of a bundled dataset file.

    Parameters
    ----------
    name : str
        A file name from :func:`list_datasets` (e.g. ``'elisa_il6_gen5.txt'``).

    Returns
    -------
    pathlib.Path
        Path of the file inside the installed package.

    Raises
    ------
    AssaykitError
        If there is no such dataset (the message lists the available ones).
    """
    entry = files(__name__) / str(name)
    if "/" in str(name) or "\\" in str(name) or not entry.is_file() or str(name).endswith((".py", ".pyc")):
        raise AssaykitError(
            "no such bundled dataset",
            expected=f"one of {list_datasets()}",
            found=repr(name),
        )
    return Path(str(entry))
