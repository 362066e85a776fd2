"""Simulated qPCR runs with a known truth, and writers of instrument-like exports.

:func:`simulate_qpcr_run` draws per-well Cq values from fold changes and amplification
efficiencies that you choose; :func:`write_cfx_csv` and :func:`write_quantstudio_txt`
write them as a Bio-Rad CFX Maestro "Quantification Cq Results" CSV and a Thermo
QuantStudio ``.txt`` export, so that readers and analyses can be tested end to end
against the truth.

Model
-----
For a gene ``g`` with amplification efficiency ``E_g`` (1.0 = perfect doubling) and a
biological sample ``s`` of condition ``c``:

* the starting amount is ``N0(s, g) = N0_ctrl(g) · fold(c, g)``, where ``fold(c, g)`` is
  the true fold change of ``g`` in condition ``c`` relative to the control condition
  (1 for the control itself, for references unless you say otherwise, and for genes a
  condition does not mention);
* the threshold is reached when ``N0 · (1 + E_g)^Cq`` is constant, hence
  ``true_cq(s, g) = cq0(g) − log(fold(c, g)) / log(1 + E_g) + b(s, g)``, where
  ``cq0(g)`` is the gene's Cq in the control condition and ``b(s, g) ~ N(0, sd_bio)``
  a biological deviation (0 by default);
* each technical replicate well reads ``cq = true_cq + e``, ``e ~ N(0, sd_tech)``;
  with probability ``p_undetermined`` a well is instead "Undetermined" (``cq`` NaN,
  ``cq_flag='undetermined'``).

With ``E = 1`` for every gene, Livak's ``2^-ΔΔCq`` of a target against a reference
estimates ``fold(c, target) / fold(c, reference)``; with other efficiencies the Pfaffl
ratio ``(1+E_t)^(ΔCq_t) / (1+E_r)^(ΔCq_r)`` (ΔCq = control − treated) does.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.schema import parse_well, plate_dims, row_index, row_letter

__all__ = ["simulate_qpcr_run", "write_cfx_csv", "write_quantstudio_txt"]

_TASK_CFX = {
    "unknown": "Unkn",
    "standard": "Std",
    "ntc": "NTC",
    "nrt": "NRT",
    "positive_control": "Pos Ctrl",
    "negative_control": "Neg Ctrl",
    "blank": "Blank",
}
_TASK_QS = {"unknown": "UNKNOWN", "standard": "STANDARD", "ntc": "NTC", "nrt": "UNKNOWN"}


def simulate_qpcr_run(
    design: pd.DataFrame | None = None,
    *,
    targets: Sequence[str],
    references: Sequence[str],
    fold_changes: Mapping[str, Mapping[str, float]],
    efficiencies: Mapping[str, float] | None = None,
    n_bio: int = 3,
    n_tech: int = 3,
    sd_tech: float = 0.15,
    sd_bio: float = 0.0,
    p_undetermined: float = 0.0,
    cq0: Mapping[str, float] | None = None,
    control: str = "vehicle",
    plate: str = "1",
    reporter: str = "SYBR",
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate one qPCR plate from a known truth (see the module docstring for the model).

    Parameters
    ----------
    design : DataFrame, optional
        One row per biological sample with columns ``sample`` and ``condition``. By
        default ``n_bio`` samples per condition, named ``'<condition>_<k>'``; the
        conditions are ``control`` followed by the keys of ``fold_changes``.
    targets : sequence of str
        Genes of interest.
    references : sequence of str
        Reference (housekeeping) genes.
    fold_changes : mapping
        ``{condition: {gene: true fold change vs control}}``; unspecified genes have 1.
    efficiencies : mapping, optional
        ``{gene: E}`` with ``E`` the amplification efficiency (1.0 = 100 %); default 1.0.
    n_bio : int
        Biological samples per condition (ignored when ``design`` is given).
    n_tech : int
        Technical replicate wells per sample × gene.
    sd_tech : float
        SD of the technical Cq noise (cycles).
    sd_bio : float
        SD of the per-sample × gene biological deviation (cycles).
    p_undetermined : float
        Probability that a well is Undetermined.
    cq0 : mapping, optional
        ``{gene: Cq in the control condition}``; default 20 for references, 25 for targets.
    control : str
        Name of the control condition.
    plate : str
        Plate name.
    reporter : str
        Reporter dye written for every well.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        One row per well: ``plate, well, sample, condition, bio_rep, tech_rep, target,
        is_reference, task, reporter, efficiency, fold_change, true_cq, cq, cq_flag``.
        Wells run row-major over a 96-well plate (384 when more wells are needed),
        gene by gene, sample by sample.

    Raises
    ------
    AnalysisError
        For an empty or duplicated gene list, a bad design, fold changes ≤ 0,
        efficiencies outside (0, 2], a probability outside [0, 1], or more wells than a
        384-well plate holds.

    Examples
    --------
    >>> wells = simulate_qpcr_run(targets=["TBX21"], references=["GAPDH"],
    ...                           fold_changes={"drug": {"TBX21": 4.0}}, sd_tech=0)
    >>> wells.groupby(["condition", "target"])["cq"].mean().round(3).to_dict()
    {('drug', 'GAPDH'): 20.0, ('drug', 'TBX21'): 23.0, ('vehicle', 'GAPDH'): 20.0, ('vehicle', 'TBX21'): 25.0}
    """
    targets = [str(t) for t in targets]
    references = [str(r) for r in references]
    genes = references + targets
    efficiencies = dict(efficiencies or {})
    cq0 = dict(cq0 or {})
    _check_truth(genes, efficiencies, fold_changes, p_undetermined, n_tech, sd_tech, sd_bio)
    design = _design(design, fold_changes, n_bio, control)
    n_wells = len(genes) * len(design) * n_tech
    size = 96 if n_wells <= 96 else 384
    if n_wells > 384:
        raise AnalysisError(
            "design does not fit one plate", expected="at most 384 wells", found=f"{n_wells} wells"
        )
    rng = np.random.default_rng(seed)
    recs = _wells(design, genes, references, efficiencies, fold_changes, cq0, n_tech, sd_bio, plate_dims(size)[1], rng)
    true = np.asarray(recs["true_cq"], dtype=float)
    noise = rng.normal(0.0, sd_tech, size=len(true)) if sd_tech > 0 else np.zeros(len(true))
    undetermined = (
        rng.random(len(true)) < p_undetermined if p_undetermined > 0 else np.zeros(len(true), bool)
    )
    cq = np.where(undetermined, np.nan, true + noise)
    df = pd.DataFrame(recs)
    df.insert(0, "plate", str(plate))
    df.insert(df.columns.get_loc("is_reference") + 1, "task", "unknown")
    df.insert(df.columns.get_loc("task") + 1, "reporter", str(reporter))
    df["true_cq"] = true
    df["cq"] = cq
    df["cq_flag"] = np.where(undetermined, "undetermined", "")
    df.attrs["plate_size"] = size
    return df


def _check_truth(
    genes: list[str],
    efficiencies: dict,
    fold_changes: Mapping[str, Mapping[str, float]],
    p_undetermined: float,
    n_tech: int,
    sd_tech: float,
    sd_bio: float,
) -> None:
    """The errors of simulate_qpcr_run about genes, efficiencies, noise and fold changes."""
    if not genes:
        raise AnalysisError(
            "no genes to simulate", expected="at least one target or reference", found="none"
        )
    if len(set(genes)) != len(genes):
        raise AnalysisError(
            "a gene is listed twice",
            expected="distinct target and reference names",
            found=str(genes),
        )
    for g, e in efficiencies.items():
        if not (0 < float(e) <= 2):
            raise AnalysisError(
                "efficiency out of range",
                target=str(g),
                expected="0 < E <= 2 (1.0 = 100 %)",
                found=str(e),
            )
    if not 0 <= p_undetermined <= 1:
        raise AnalysisError(
            "p_undetermined must be a probability",
            expected="0 <= p <= 1",
            found=str(p_undetermined),
        )
    if n_tech < 1:
        raise AnalysisError("n_tech must be at least 1", expected=">= 1", found=str(n_tech))
    if sd_tech < 0 or sd_bio < 0:
        raise AnalysisError(
            "standard deviations must be >= 0", found=f"sd_tech={sd_tech}, sd_bio={sd_bio}"
        )
    for cond, folds in fold_changes.items():
        if not isinstance(folds, Mapping):
            raise AnalysisError(
                "fold_changes must map each condition to {gene: fold}",
                expected="{'drug': {'TBX21': 2.0}}",
                found=f"{cond!r}: {folds!r}",
            )
        for g, f in folds.items():
            if not float(f) > 0:
                raise AnalysisError(
                    "fold change must be > 0",
                    target=str(g),
                    expected="> 0",
                    found=f"{f} in {cond!r}",
                )


def _design(
    design: pd.DataFrame | None, fold_changes: Mapping[str, Mapping[str, float]], n_bio: int, control: str
) -> pd.DataFrame:
    """The checked design (``sample``, ``condition`` as text), or the default one."""
    if design is None:
        if n_bio < 1:
            raise AnalysisError("n_bio must be at least 1", expected=">= 1", found=str(n_bio))
        conditions = [control] + [c for c in fold_changes if c != control]
        return pd.DataFrame(
            {
                "sample": [f"{c}_{k + 1}" for c in conditions for k in range(n_bio)],
                "condition": [c for c in conditions for _ in range(n_bio)],
            }
        )
    missing = [c for c in ("sample", "condition") if c not in design.columns]
    if missing:
        raise AnalysisError(
            "design lacks columns",
            expected="columns 'sample' and 'condition'",
            found=f"missing {missing}",
        )
    if design["sample"].duplicated().any():
        dup = design.loc[design["sample"].duplicated(), "sample"].iloc[0]
        raise AnalysisError(
            "design lists a sample twice",
            sample=str(dup),
            expected="one row per sample",
            found="two",
        )
    return design[["sample", "condition"]].astype(str).reset_index(drop=True)


def _wells(
    design: pd.DataFrame,
    genes: list[str],
    references: list[str],
    efficiencies: dict,
    fold_changes: Mapping[str, Mapping[str, float]],
    cq0: dict,
    n_tech: int,
    sd_bio: float,
    n_cols: int,
    rng: np.random.Generator,
) -> dict[str, list]:
    """One record per well (row-major, gene by gene, sample by sample) with its true Cq."""
    bio_rep = design.groupby("condition").cumcount().to_numpy() + 1
    recs: dict[str, list] = {k: [] for k in (
        "well", "sample", "condition", "bio_rep", "tech_rep", "target", "is_reference",
        "efficiency", "fold_change", "true_cq")}  # fmt: skip
    idx = 0
    for g in genes:
        e = float(efficiencies.get(g, 1.0))
        base = float(cq0.get(g, 20.0 if g in references else 25.0))
        for s_i, (sample, cond) in enumerate(
            zip(design["sample"], design["condition"], strict=True)
        ):
            fold = float(fold_changes.get(cond, {}).get(g, 1.0))
            true_cq = (
                base
                - math.log(fold) / math.log1p(e)
                + (rng.normal(0.0, sd_bio) if sd_bio > 0 else 0.0)
            )
            for t in range(n_tech):
                r, c = divmod(idx, n_cols)
                recs["well"].append(f"{row_letter(r)}{c + 1}")
                recs["sample"].append(sample)
                recs["condition"].append(cond)
                recs["bio_rep"].append(int(bio_rep[s_i]))
                recs["tech_rep"].append(t + 1)
                recs["target"].append(g)
                recs["is_reference"].append(g in references)
                recs["efficiency"].append(e)
                recs["fold_change"].append(fold)
                recs["true_cq"].append(true_cq)
                idx += 1
    return recs


# ------------------------------------------------------------------ writers
def _check_wells(wells: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("well", "sample", "target", "cq") if c not in wells.columns]
    if missing:
        raise AnalysisError(
            "wells table lacks columns",
            expected="well, sample, target, cq (as from simulate_qpcr_run)",
            found=f"missing {missing}",
        )
    df = wells.reset_index(drop=True)
    dup = df.duplicated(["well", "target"])
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise AnalysisError(
            "well × target listed twice",
            well=str(first["well"]),
            target=str(first["target"]),
            expected="each once",
            found="twice",
        )
    return df


def _group_stats(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and SD (ddof=1; 0 for one value) of the determined Cq of its sample × target."""
    g = df.groupby(["sample", "target"], sort=False)["cq"]
    mean = g.transform("mean").to_numpy(dtype=float)
    sd = g.transform(lambda x: x.std(ddof=1) if x.notna().sum() > 1 else 0.0).to_numpy(dtype=float)
    return mean, sd


def _plate_size(df: pd.DataFrame) -> int:
    size = df.attrs.get("plate_size")
    if size in (96, 384):
        return int(size)
    keys = [parse_well(w) for w in df["well"]]
    max_r = max(row_index(r) for r, _ in keys) + 1
    max_c = max(c for _, c in keys)
    if max_r <= 8 and max_c <= 12:
        return 96
    if max_r <= 16 and max_c <= 24:
        return 384
    raise AnalysisError(
        "wells do not fit a 384-well plate", expected="rows A-P and columns 1-24", found=f"{max_r} rows, {max_c} columns"
    )


def write_cfx_csv(wells: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write wells as a Bio-Rad CFX Maestro "Quantification Cq Results" CSV.

    The layout copies CFX Maestro's export: a leading empty column, the header
    ``,Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,Cq Std. Dev,
    Starting Quantity (SQ),Log Starting Quantity,SQ Mean,SQ Std. Dev,Set Point,Well Note``,
    wells as ``A01``, Cq with up to 15 significant digits, ``NaN`` for a missing Cq and the
    CFX quirk ``Cq Mean = 0``, ``Cq Std. Dev = 0`` when no replicate has a Cq.

    Parameters
    ----------
    wells : DataFrame
        As returned by :func:`simulate_qpcr_run` (needs ``well, sample, target, cq``;
        uses ``reporter``, ``task``, ``condition`` and ``quantity`` when present).
    path : str or path-like
        Output file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    AnalysisError
        If required columns are missing or a well × target repeats.
    """
    df = _check_wells(wells)
    mean, sd = _group_stats(df)
    lines = [",Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,Cq Std. Dev,"
             "Starting Quantity (SQ),Log Starting Quantity,SQ Mean,SQ Std. Dev,Set Point,Well Note"]  # fmt: skip

    def fmt(x: float) -> str:
        return "NaN" if not np.isfinite(x) else format(float(x), ".15g")

    for i, row in df.iterrows():
        r, c = parse_well(row["well"])
        task = str(row.get("task", "unknown") or "unknown")
        content = _TASK_CFX.get(task, "Unkn")
        cq = float(row["cq"])
        m = mean[i]
        m_txt, sd_txt = ("0", "0") if not np.isfinite(m) else (fmt(m), fmt(sd[i]))
        qty = (
            float(row["quantity"])
            if "quantity" in df.columns and pd.notna(row["quantity"])
            else math.nan
        )
        sq = fmt(qty)
        log_sq = fmt(math.log10(qty)) if np.isfinite(qty) and qty > 0 else "NaN"
        cells = [
            "",
            f"{r}{c:02d}",
            str(row.get("reporter", "SYBR") or "SYBR"),
            str(row["target"]),
            content,
            str(row["sample"]),
            str(row.get("condition", "") or ""),
            fmt(cq),
            m_txt,
            sd_txt,
            sq,
            log_sq,
            sq,
            "0",
            "60",
            "",
        ]
        for cell in cells:
            if "," in cell or '"' in cell:
                raise AnalysisError(
                    "text with a comma or quote cannot be written to the CFX CSV",
                    well=row["well"],
                    found=repr(cell),
                )
        lines.append(",".join(cells))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
    return Path(path)


def write_quantstudio_txt(
    wells: pd.DataFrame,
    path: str | os.PathLike,
    *,
    experiment_name: str = "assaykit simulated run",
    endogenous_control: str | None = None,
    reference_sample: str | None = None,
) -> Path:
    """Write wells as a Thermo QuantStudio (7 Flex) ``.txt`` export.

    The structure copies the QuantStudio software's text export: ``* Key = Value``
    header lines, a blank line, ``[Sample Setup]`` and ``[Results]`` sections
    (tab-separated, the Results columns of the QS 7 Flex comparative-Ct export), CT with
    3 decimals or ``Undetermined``, Ct Mean / Ct SD per sample × target, and, when
    ``endogenous_control`` is given, the footer (``Analysis Type``, ``Endogenous
    Control``, ``RQ Min/Max Confidence Level``, ``Reference Sample``).

    Parameters
    ----------
    wells : DataFrame
        As returned by :func:`simulate_qpcr_run`.
    path : str or path-like
        Output file.
    experiment_name : str
        Written as ``* Experiment Name``.
    endogenous_control, reference_sample : str, optional
        Footer values.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    AnalysisError
        If required columns are missing, a well × target repeats, or a text cell holds a
        tab or a line break.
    """
    df = _check_wells(wells)
    size = _plate_size(df)
    n_rows, n_cols = plate_dims(size)
    mean, sd = _group_stats(df)
    sybr = all(str(x).upper().startswith("SYBR") for x in df.get("reporter", pd.Series(["SYBR"])))
    header = [
        f"* Block Type = {'96-Well Block (0.2mL)' if size == 96 else '384-Well Block'}",
        f"* Chemistry = {'SYBR_GREEN' if sybr else 'TAQMAN'}",
        f"* Experiment Name = {experiment_name}",
        "* Experiment Type = Comparative Cт (ΔΔCт)",
        "* Instrument Type = QuantStudio(TM) 7 Flex System",
        "* Passive Reference = ROX",
        "* Quantification Cycle Method = Ct",
        "",
    ]
    setup = ["[Sample Setup]", "\t".join([
        "Well", "Well Position", "Sample Name", "Sample Color", "Biogroup Name", "Biogroup Color",
        "Target Name", "Target Color", "Task", "Reporter", "Quencher", "Quantity", "Comments"])]  # fmt: skip
    results_cols = [
        "Well", "Well Position", "Omit", "Sample Name", "Target Name", "Task", "Reporter", "Quencher",
        "Quantity", "Quantity Mean", "Quantity SD", "RQ", "RQ Min", "RQ Max", "CT", "Ct Mean", "Ct SD",
        "Delta Ct", "Delta Ct Mean", "Delta Ct SE", "Delta Delta Ct", "Automatic Ct Threshold",
        "Ct Threshold", "Automatic Baseline", "Baseline Start", "Baseline End", "Comments", "Amp Score",
        "Cq Conf",
    ]  # fmt: skip
    results = ["[Results]", "\t".join(results_cols)]
    order = sorted(range(len(df)), key=lambda i: _well_number(df.at[i, "well"], n_cols))
    for i in order:
        row = df.iloc[i]
        r, c = parse_well(row["well"])
        number = _well_number(row["well"], n_cols)
        task = _TASK_QS.get(str(row.get("task", "unknown") or "unknown"), "UNKNOWN")
        reporter = str(row.get("reporter", "SYBR") or "SYBR")
        quencher = "None" if reporter.upper().startswith("SYBR") else "NFQ-MGB"
        qty = row["quantity"] if "quantity" in df.columns else math.nan
        qty_txt = "" if pd.isna(qty) else f"{float(qty):.3f}"
        cq = float(row["cq"])
        cells_setup = [str(number), f"{r}{c}", str(row["sample"]), "", "", "", str(row["target"]), "", task,
                       reporter, quencher, qty_txt, ""]  # fmt: skip
        ct_txt = "Undetermined" if not np.isfinite(cq) else f"{cq:.3f}"
        m_txt = "" if not np.isfinite(mean[i]) else f"{mean[i]:.3f}"
        sd_txt = "" if not np.isfinite(mean[i]) else f"{sd[i]:.3f}"
        cells = [str(number), f"{r}{c}", "false", str(row["sample"]), str(row["target"]), task, reporter,
                 quencher, qty_txt, "", "", "", "", "", ct_txt, m_txt, sd_txt, "", "", "", "", "", "", "",
                 "", "", "", "", ""]  # fmt: skip
        for cell in cells_setup:
            if "\t" in cell or "\n" in cell or "\r" in cell:
                raise AnalysisError(
                    "text with a tab or line break cannot be written",
                    well=row["well"],
                    found=repr(cell),
                )
        setup.append("\t".join(cells_setup))
        results.append("\t".join(cells))
    footer = []
    if endogenous_control:
        footer = [
            "",
            "Analysis Type = Singleplex",
            f"Endogenous Control = {endogenous_control}",
            "RQ Min/Max Confidence Level = 95.0",
            f"Reference Sample = {reference_sample or ''}",
        ]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(header + setup + results + footer) + "\n")
    return Path(path)


def _well_number(well: str, n_cols: int) -> int:
    r, c = parse_well(well)
    return row_index(r) * n_cols + c
