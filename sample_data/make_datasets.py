"""Regenerate the example files bundled in assaykit/datasets/ from a known truth.

Run from the project root::

    python sample_data/make_datasets.py

* IL-6 ELISA plate: the design comes from the layout ``elisa_il6_layout.toml`` (written
  by hand); this script computes the true IL-6 concentration of every well, the optical
  densities a 4PL standard curve gives for them plus measurement noise (fixed seed), and
  writes them with :func:`assaykit.simulate.write_plate` as a Gen5 text export and a
  generic stacked-grid CSV, and the truth as ``elisa_il6_truth.csv``.
* qPCR run: :func:`assaykit.simulate.qpcr.simulate_qpcr_run` draws the Cq of IL6 and TNF
  (targets) and GAPDH and ACTB (references) in PBMC of 3 donors, LPS + vehicle or
  LPS + iguratimod 10 uM, from known fold changes; written as a QuantStudio text export
  with its layout (``condition``, ``donor`` per well) and the per-well truth.
* Western blots: :func:`assaykit.simulate.blot.simulate_blot` renders three replicate
  IκBα blots (6 lanes, GAPDH loading control) as 8-bit film scans (312 × 220 px,
  deflate-compressed TIFF, < 50 kB each; a 16-bit image of the same size does not compress
  below 60 kB) from :func:`~assaykit.simulate.blot.demo_film_spec`, each with its own
  biological variation of the amounts; written with one layout, the truth of every band,
  and replicate 1's bands as an Image Lab report (the band-table import).
* Flow cytometry Th panel: :func:`assaykit.simulate.flow.simulate_th_batch` writes one FCS
  3.1 file per donor (D1-D3) × condition (unstimulated, PMA/ionomycin-stimulated), 10,000
  events each, into ``flow_th/`` (a subfolder: the FCS files are larger than the other
  bundled files), with the sample sheet ``flow_th_samples.csv`` and the per-population
  truth ``flow_th_truth.csv``.

The output is deterministic: running it twice gives identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import assaykit
from assaykit.immunoassay.models import four_pl
from assaykit.simulate import write_plate
from assaykit.simulate.qpcr import simulate_qpcr_run, write_quantstudio_txt

DATA = Path(__file__).resolve().parent.parent / "assaykit" / "datasets"
SEED = 20240611

#: True 4PL of the IL-6 assay (y = d + (a - d) / (1 + (x/c)^b); x in pg/mL, y = OD 450 nm).
#: Values of the order of a typical commercial IL-6 kit (cf. ../shared/notes/elisa.md).
CURVE = {"a": 0.042, "b": 1.33, "c": 162.0, "d": 3.575}
#: Measurement noise: proportional CV and additive SD of the optical density.
CV_PROP, SD_ADD = 0.03, 0.004
#: Plate background read at the 630 nm reference wavelength: mean, SD.
REF_630 = (0.045, 0.003)

#: True IL-6 (pg/mL) in the neat supernatant of each donor after LPS + vehicle.
VEHICLE_PG_ML = {"D1": 1200.0, "D2": 800.0, "D3": 2400.0}
#: Fraction of the vehicle IL-6 left at each iguratimod dose (uM).
IGURATIMOD_FRACTION = {0.0: 1.0, 3.0: 0.7, 10.0: 0.4, 30.0: 0.15}


def make_truth() -> pd.DataFrame:
    """One row per well: layout fields, true concentrations, noiseless and noisy ODs."""
    layout = assaykit.read_layout(DATA / "elisa_il6_layout.toml")
    rng = np.random.default_rng(SEED)
    t = layout.drop(columns=["plate"]).copy()
    t.insert(0, "plate", "1")
    sample_conc = np.full(len(t), np.nan)
    role = t["role"].to_numpy()
    sample_conc[role == "standard"] = t.loc[role == "standard", "std_conc_pg_ml"]
    sample_conc[role == "blank"] = 0.0
    sample_conc[role == "control"] = t.loc[role == "control", "expected_conc_pg_ml"]
    is_sample = role == "sample"
    sample_conc[is_sample] = [
        VEHICLE_PG_ML[d] * IGURATIMOD_FRACTION[float(dose)]
        for d, dose in zip(t.loc[is_sample, "donor"], t.loc[is_sample, "iguratimod_um"], strict=True)
    ]
    if np.isnan(sample_conc).any():
        raise RuntimeError("a well of the layout has no role the truth knows")
    t["sample_conc_pg_ml"] = sample_conc
    t["well_conc_pg_ml"] = sample_conc / t["dilution"].to_numpy(dtype=float)
    od_true = four_pl(t["well_conc_pg_ml"].to_numpy(), **CURVE)
    noise = od_true * CV_PROP * rng.standard_normal(len(t)) + SD_ADD * rng.standard_normal(len(t))
    t["od_450_true"] = np.round(od_true, 6)
    t["od_450"] = np.round(od_true + noise, 3)  # exported with 3 decimals
    t["od_630"] = np.round(REF_630[0] + REF_630[1] * rng.standard_normal(len(t)), 3)
    if (t["od_450"] <= 0).any():
        raise RuntimeError("simulated OD <= 0: change the seed")
    return t


#: qPCR truth: fold change of each target under iguratimod 10 uM vs vehicle (references: 1).
QPCR_FOLD = {"iguratimod_10uM": {"IL6": 0.3, "TNF": 0.5}}
#: Amplification efficiencies (1.0 = doubling every cycle).
QPCR_EFFICIENCY = {"GAPDH": 0.98, "ACTB": 0.96, "IL6": 0.94, "TNF": 0.97}
#: Cq of each gene in the vehicle condition.
QPCR_CQ0 = {"GAPDH": 18.5, "ACTB": 17.8, "IL6": 24.0, "TNF": 26.5}
QPCR_SEED = 7


def make_qpcr() -> pd.DataFrame:
    """One row per well of the simulated qPCR run (the simulator's truth table)."""
    donors = ("D1", "D2", "D3")
    design = pd.DataFrame(
        [
            {"sample": f"{d}_{cond}", "condition": cond}
            for cond in ("vehicle", "iguratimod_10uM")
            for d in donors
        ]
    )
    wells = simulate_qpcr_run(
        design,
        targets=["IL6", "TNF"],
        references=["GAPDH", "ACTB"],
        fold_changes=QPCR_FOLD,
        efficiencies=QPCR_EFFICIENCY,
        cq0=QPCR_CQ0,
        n_tech=3,
        sd_tech=0.12,
        sd_bio=0.25,
        control="vehicle",
        seed=QPCR_SEED,
    )
    wells.insert(wells.columns.get_loc("condition") + 1, "donor", wells["sample"].str.split("_").str[0])
    return wells


def qpcr_layout(wells: pd.DataFrame) -> str:
    """wellmap TOML giving the condition and donor of every well of the qPCR run."""
    lines = [
        "# Layout of assaykit's simulated qPCR run qpcr_pbmc_quantstudio.txt (written by",
        "# sample_data/make_datasets.py). PBMC of 3 donors stimulated with LPS, with vehicle or",
        "# iguratimod 10 uM; IL6 and TNF (targets), GAPDH and ACTB (references), 3 technical",
        "# replicates. Sample names and targets come from the export itself.",
        "",
    ]
    for (cond, donor), grp in wells.groupby(["condition", "donor"], sort=False):
        lines += [f"[well.'{','.join(grp['well'])}']", f"condition = '{cond}'", f"donor = '{donor}'", ""]
    return "\n".join(lines)


def long_reads(truth: pd.DataFrame) -> pd.DataFrame:
    """The simulator's input: plate, well, read, value."""
    parts = [
        pd.DataFrame({"plate": truth["plate"], "well": truth["well"], "read": read, "value": truth[col]})
        for read, col in (("abs_450", "od_450"), ("abs_630", "od_630"))
    ]
    return pd.concat(parts, ignore_index=True)


def main_il6_and_pbmc(outdir: Path = DATA) -> list[Path]:
    """Write the IL-6 ELISA and PBMC qPCR files into ``outdir``; return their paths."""
    outdir = Path(outdir)
    truth = make_truth()
    reads = long_reads(truth)
    out = [
        write_plate(reads, outdir / "elisa_il6_gen5.txt", format="gen5"),
        write_plate(reads, outdir / "elisa_il6_generic.csv", format="generic"),
    ]
    truth_path = outdir / "elisa_il6_truth.csv"
    truth.to_csv(truth_path, index=False, lineterminator="\n")
    out.append(truth_path)

    wells = make_qpcr()
    qs = outdir / "qpcr_pbmc_quantstudio.txt"
    write_quantstudio_txt(wells, qs, experiment_name="PBMC LPS iguratimod (simulated)")
    layout = outdir / "qpcr_pbmc_layout.toml"
    layout.write_text(qpcr_layout(wells), encoding="utf-8", newline="\n")
    qtruth = outdir / "qpcr_pbmc_truth.csv"
    # 6 decimals: byte-identical on every platform (the export itself holds 3)
    wells.round({"true_cq": 6, "cq": 6}).to_csv(qtruth, index=False, lineterminator="\n")
    out += [qs, layout, qtruth]
    return [Path(p) for p in out]


# =====================================================================================
# qPCR Th panel (appended for the `assaykit qpcr` command and its demo part; owner of this
# section: the qPCR outputs work). Files: qpcr_th_panel_quantstudio.txt,
# qpcr_th_panel_layout.toml, qpcr_th_panel_truth.csv.
#
# Simulated Th-subset transcription factors T-bet (TBX21), RORγt (RORC), Foxp3 (FOXP3) and
# Bcl6 (BCL6) against GAPDH and ACTB in CD4+ T cells of 3 donors treated with vehicle or
# iguratimod 1, 3 or 10 uM; 3 technical replicates per sample x gene, a 5-level 10-fold
# standard series of pooled cDNA per gene in duplicate (so that efficiencies can be
# estimated from the run) and an NTC pair per gene. The fold changes are an invented,
# illustrative truth (not a claim about iguratimod); the efficiencies differ from 100 %
# on purpose so that Livak and efficiency-corrected results differ.
# =====================================================================================

#: True fold change vs vehicle of each target at each dose (references: 1).
TH_FOLD = {
    "iguratimod_1uM": {"TBX21": 0.9, "RORC": 0.8, "FOXP3": 1.2, "BCL6": 0.85},
    "iguratimod_3uM": {"TBX21": 0.75, "RORC": 0.55, "FOXP3": 1.6, "BCL6": 0.6},
    "iguratimod_10uM": {"TBX21": 0.6, "RORC": 0.3, "FOXP3": 2.2, "BCL6": 0.4},
}
TH_DOSE_UM = {"vehicle": 0.0, "iguratimod_1uM": 1.0, "iguratimod_3uM": 3.0, "iguratimod_10uM": 10.0}
TH_TARGETS = ("TBX21", "RORC", "FOXP3", "BCL6")
TH_REFERENCES = ("GAPDH", "ACTB")
#: Amplification efficiencies (fractions; 1.0 = doubling every cycle).
TH_EFFICIENCY = {"GAPDH": 0.97, "ACTB": 0.95, "TBX21": 0.92, "RORC": 0.88, "FOXP3": 0.96, "BCL6": 0.93}
#: Cq of each gene in the vehicle condition.
TH_CQ0 = {"GAPDH": 17.5, "ACTB": 16.9, "TBX21": 26.8, "RORC": 29.2, "FOXP3": 27.9, "BCL6": 26.4}
#: Standard series: relative quantities (pooled cDNA dilutions) and the Cq of the top level.
TH_STD_QUANTITY = (10000.0, 1000.0, 100.0, 10.0, 1.0)
TH_STD_TOP_CQ = {"GAPDH": 14.0, "ACTB": 13.5, "TBX21": 21.0, "RORC": 22.0, "FOXP3": 21.5, "BCL6": 20.5}
TH_SD_TECH, TH_SD_BIO = 0.12, 0.15
TH_SEED = 11


def make_qpcr_th_panel() -> pd.DataFrame:
    """One row per well of the simulated Th-panel run (unknowns, standards, NTC) with its truth."""
    from assaykit.schema import row_letter

    donors = ("D1", "D2", "D3")
    design = pd.DataFrame(
        [{"sample": f"{d}_{cond}", "condition": cond} for cond in TH_DOSE_UM for d in donors]
    )
    wells = simulate_qpcr_run(
        design,
        targets=list(TH_TARGETS),
        references=list(TH_REFERENCES),
        fold_changes=TH_FOLD,
        efficiencies=TH_EFFICIENCY,
        cq0=TH_CQ0,
        n_tech=3,
        sd_tech=TH_SD_TECH,
        sd_bio=TH_SD_BIO,
        control="vehicle",
        seed=TH_SEED,
    )
    wells.insert(wells.columns.get_loc("condition") + 1, "donor", wells["sample"].str.split("_").str[0])
    wells.insert(wells.columns.get_loc("donor") + 1, "iguratimod_um", wells["condition"].map(TH_DOSE_UM))
    wells["quantity"] = np.nan
    # one technical replicate fails (Undetermined) and one is an outlier, as in real runs
    und = (wells["sample"] == "D2_iguratimod_10uM") & (wells["target"] == "RORC") & (wells["tech_rep"] == 2)
    wells.loc[und, "cq"] = np.nan
    wells.loc[und, "cq_flag"] = "undetermined"
    out = (wells["sample"] == "D3_vehicle") & (wells["target"] == "TBX21") & (wells["tech_rep"] == 3)
    wells.loc[out, "cq"] = wells.loc[out, "cq"] + 1.5

    rng = np.random.default_rng(TH_SEED + 1)
    extra = []
    idx = len(wells)
    n_cols = 24
    for g in TH_REFERENCES + TH_TARGETS:
        e = TH_EFFICIENCY[g]
        top = TH_STD_QUANTITY[0]
        for level, q in enumerate(TH_STD_QUANTITY):
            true_cq = TH_STD_TOP_CQ[g] + np.log(top / q) / np.log1p(e)
            for rep in range(2):
                r, c = divmod(idx, n_cols)
                idx += 1
                extra.append({"well": f"{row_letter(r)}{c + 1}", "sample": f"STD{level + 1}", "condition": "",
                              "donor": "", "iguratimod_um": np.nan, "bio_rep": 0, "tech_rep": rep + 1, "target": g,
                              "is_reference": g in TH_REFERENCES, "task": "standard", "efficiency": e,
                              "fold_change": np.nan, "true_cq": true_cq,
                              "cq": true_cq + rng.normal(0.0, TH_SD_TECH), "cq_flag": "", "quantity": q})
        for rep in range(2):
            r, c = divmod(idx, n_cols)
            idx += 1
            extra.append({"well": f"{row_letter(r)}{c + 1}", "sample": "NTC", "condition": "", "donor": "",
                          "iguratimod_um": np.nan, "bio_rep": 0, "tech_rep": rep + 1, "target": g,
                          "is_reference": g in TH_REFERENCES, "task": "ntc", "efficiency": e, "fold_change": np.nan,
                          "true_cq": np.nan, "cq": np.nan, "cq_flag": "undetermined", "quantity": np.nan})
    ext = pd.DataFrame(extra)
    ext.insert(0, "plate", wells["plate"].iloc[0])
    ext["reporter"] = wells["reporter"].iloc[0]
    out_df = pd.concat([wells, ext[wells.columns]], ignore_index=True)
    out_df.attrs["plate_size"] = 384
    return out_df


def qpcr_th_panel_layout(wells: pd.DataFrame) -> str:
    """wellmap TOML giving condition, donor and iguratimod dose of every sample well."""
    lines = [
        "# Layout of assaykit's simulated Th-panel qPCR run qpcr_th_panel_quantstudio.txt (written",
        "# by sample_data/make_datasets.py). CD4+ T cells of 3 donors, vehicle or iguratimod",
        "# 1, 3, 10 uM; TBX21, RORC, FOXP3, BCL6 (targets), GAPDH and ACTB (references), 3 technical",
        "# replicates; standards (STD1-5) and NTC wells carry no condition. Sample names, targets",
        "# and tasks come from the export itself. Analyse with protocols/qpcr_th_panel.toml.",
        "",
    ]
    unk = wells.loc[wells["task"] == "unknown"]
    for (cond, donor), grp in unk.groupby(["condition", "donor"], sort=False):
        lines += [
            f"[well.'{','.join(grp['well'])}']",
            f"condition = '{cond}'",
            f"donor = '{donor}'",
            f"iguratimod_um = {TH_DOSE_UM[cond]}",
            "",
        ]
    return "\n".join(lines)


def main_th_panel(outdir: Path = DATA) -> list[Path]:
    """Write the Th-panel qPCR files into ``outdir``; return their paths."""
    outdir = Path(outdir)
    wells = make_qpcr_th_panel()
    qs = outdir / "qpcr_th_panel_quantstudio.txt"
    write_quantstudio_txt(wells, qs, experiment_name="CD4 T cells Th panel iguratimod (simulated)")
    layout = outdir / "qpcr_th_panel_layout.toml"
    layout.write_text(qpcr_th_panel_layout(wells), encoding="utf-8", newline="\n")
    truth = outdir / "qpcr_th_panel_truth.csv"
    wells.round({"true_cq": 6, "cq": 6}).to_csv(truth, index=False, lineterminator="\n")
    return [qs, layout, truth]


#: Seeds of the three replicate demo blots, and the SD of log amounts between replicates.
BLOT_SEEDS, BLOT_BIO_SD = (11, 12, 13), 0.08


def main_blot(outdir: Path = DATA) -> list[Path]:
    """Write the three replicate demo blots, their layout and truth into ``outdir``."""
    import dataclasses
    import tempfile

    from assaykit.simulate.blot import (
        demo_film_spec,
        layout_toml,
        simulate_blot,
        write_blot,
        write_imagelab_csv,
    )

    outdir = Path(outdir)
    rng = np.random.default_rng(SEED)
    truths, paths = [], []
    base = demo_film_spec()
    for k, seed in enumerate(BLOT_SEEDS, start=1):
        rows = tuple(
            dataclasses.replace(r, amounts=tuple(a if r.name == "GAPDH" or i == 0 else
                                                 round(a * float(np.exp(rng.normal(0, BLOT_BIO_SD))), 4)
                                                 for i, a in enumerate(r.amounts)))  # fmt: skip
            for r in base.rows
        )
        spec = dataclasses.replace(base, name=f"blot_demo_rep{k}", rows=rows)
        blot = simulate_blot(spec, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            written = write_blot(blot, tmp)
            image = outdir / f"blot_demo_rep{k}.tif"
            image.write_bytes(written["image"].read_bytes())
        paths.append(image)
        truths.append(blot.truth.assign(image=image.name, replicate=k))
        if k == 1:
            paths.append(write_imagelab_csv(blot.truth, outdir / "blot_demo_rep1_imagelab.csv"))
            layout = outdir / "blot_demo_layout.toml"
            text = layout_toml(spec, blot.truth, blot="IkBa time course").replace(
                "# Blot layout written by assaykit.simulate.blot",
                "# Layout of the demo blots: lane -> sample, row -> target (rows by their y in pixels)",
            )
            layout.write_text(text, encoding="utf-8", newline="\n")
            paths.append(layout)
    truth = outdir / "blot_demo_truth.csv"
    pd.concat(truths, ignore_index=True).round(6).to_csv(truth, index=False, lineterminator="\n")
    paths.append(truth)
    return paths


#: Folder (inside the datasets folder) of the simulated Th-panel FCS files.
FLOW_DIR = "flow_th"
FLOW_DONORS = ("D1", "D2", "D3")
FLOW_EVENTS = 10000


def main_flow(outdir: Path = DATA) -> list[Path]:
    """Write the Th-panel FCS files into ``outdir/flow_th`` and their sample sheet and truth.

    Returns the sample sheet and the truth (the top-level files); the FCS files are listed
    in the sample sheet's ``file`` column (relative to ``outdir``).
    """
    from assaykit.simulate.flow import simulate_th_batch

    outdir = Path(outdir)
    sheet, truth = simulate_th_batch(outdir / FLOW_DIR, donors=FLOW_DONORS, n_events=FLOW_EVENTS, seed=SEED % 1000)
    sheet["file"] = FLOW_DIR + "/" + sheet["file"]
    unstim = sheet.loc[sheet["condition"] == "unstim"].set_index("donor")["sample"]
    sheet["control"] = [unstim[d] if c != "unstim" else "" for d, c in zip(sheet["donor"], sheet["condition"], strict=True)]
    sheet = sheet[["sample", "donor", "condition", "control", "file", "n_events"]]
    truth = truth[["sample", "donor", "condition", "population", "parent", "count", "parent_count", "pct_parent",
                   "model_pct_parent"]]  # fmt: skip
    paths = [outdir / "flow_th_samples.csv", outdir / "flow_th_truth.csv"]
    sheet.to_csv(paths[0], index=False, lineterminator="\n")
    truth.to_csv(paths[1], index=False, lineterminator="\n", float_format="%.6g")
    return paths


def main(outdir: Path = DATA) -> list[Path]:
    """Write every bundled file into ``outdir`` (default: assaykit/datasets); return their paths."""
    return main_il6_and_pbmc(outdir) + main_th_panel(outdir) + main_blot(outdir) + main_flow(outdir)


if __name__ == "__main__":
    for p in main():
        print(f"wrote {p.relative_to(DATA.parent.parent)}")
