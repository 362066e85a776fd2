"""Simulated flow cytometry tubes of a T-helper panel, written as FCS 3.1 with the truth alongside.

No public FCS file carries a Th1/Th17/Tfh/Treg panel with known answers, so the flow
workflow is tested and demonstrated on tubes drawn from a model with a known truth.
:func:`simulate_th_panel` draws one tube (PBMC stained for CD3, CD4, CD25, CD127,
CXCR5, PD-1, CCR7, intracellular IFN-γ, IL-17A and Foxp3 plus a viability dye, after
PMA/ionomycin + brefeldin A or unstimulated), :func:`write_fcs` writes any event matrix
as an FCS 3.1 file (with :func:`flowio.create_fcs`, spillover in ``$SPILLOVER``) and
:func:`simulate_th_batch` writes donors × conditions and returns one truth table.

Model
-----
Every event is drawn independently (``seed`` fixes everything):

* **event type** — debris (``p_debris`` of all events), doublets (``p_doublet``: the sum
  of two cells, FSC-H about half of FSC-A instead of 0.88 of it) or single cells, which
  are lymphocytes (``lymphocytes``) or monocytes;
* **lymphocytes** — dead (``dead``; bright viability dye, smaller FSC, larger SSC) or
  live; then T cells (``CD3`` of lymphocytes) or not (B/NK: half of them CXCR5+);
  T cells are CD4+ (``CD4`` of T cells), CD8+ (``CD8``) or double negative;
* **CD4+ T cells** — Treg (``Treg``: CD25 high, CD127 low, Foxp3+), Tfh (``Tfh``:
  CXCR5+ PD-1+) or other; independently of Tfh, the non-Treg cells make IFN-γ only
  (``Th1``), IL-17A only (``Th17``), both (``Th1_17``) or neither, the three given as
  fractions of *all* CD4+ cells. Unstimulated tubes (``stimulated=False``) keep 1 % of
  the cytokine frequencies (background);
* **intensities** — per channel, autofluorescence (log-normal, median 120; monocytes
  ×2.5) plus, for each marker a cell carries, a log-normal stain (:data:`STAIN`); the
  true signals ``F`` (events × fluorochromes) become detector signals ``F · S`` with the
  spillover matrix ``S`` (:func:`default_spillover`, rows = fluorochrome, columns =
  detector, unit diagonal), plus detector noise (Gaussian, SD ``sqrt(30² + 5·signal)``,
  so compensated negatives spread around zero as on a real cytometer). An FMO control
  (``fmo='CXCR5'``) leaves one marker's stain out.

The **truth** gives, per event, its type and labels, and per population of the
Th-subset template (``protocols/flow_th_subsets.xml``, gate ids as population names)
the number of events that truly belong to it: ``Lymphocytes`` and ``Singlets`` = single
lymphocytes (dead or alive), ``Live``, ``CD3pos``, ``CD4pos``, ``IFNgpos``,
``IL17Apos``, ``Th1``, ``Th17``, ``Th1_17``, ``Tfh``, ``Treg``, ``TregFoxp3`` (= Treg).
Scatter gates of a real template also catch a few monocytes, debris and doublets; the
truth counts are what a perfect gate would give.

Examples
--------
>>> sim = simulate_th_panel(2000, seed=1)
>>> sim.data.shape
(2000, 15)
>>> int(sim.populations.set_index("population").loc["CD4pos", "count"]) > 0
True
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError

__all__ = [
    "CHANNELS",
    "DEFAULT_FREQUENCIES",
    "FLUOROCHROMES",
    "MARKERS",
    "POPULATIONS",
    "STAIN",
    "SimulatedTube",
    "DEFAULT_CONDITIONS",
    "default_spillover",
    "population_truth",
    "simulate_th_batch",
    "simulate_th_panel",
    "spillover_text",
    "write_fcs",
]

#: Fluorescence detectors (``$PnN``) in file order, each with its marker (``$PnS``).
FLUOROCHROMES: dict[str, str] = {
    "BUV395-A": "CD3",
    "BUV496-A": "CD4",
    "BV421-A": "CD127",
    "BV510-A": "Viability",
    "BV605-A": "CCR7",
    "BV711-A": "PD1",
    "BB515-A": "CXCR5",
    "PE-A": "IL17A",
    "PE-CF594-A": "Foxp3",
    "PE-Cy7-A": "CD25",
    "APC-A": "IFNg",
}

#: Every channel (``$PnN``) of a simulated file, in order: scatter, fluorescence, time.
CHANNELS: tuple[str, ...] = ("FSC-A", "FSC-H", "SSC-A", *FLUOROCHROMES, "Time")

#: ``$PnS`` of each channel ("" for scatter and time).
MARKERS: tuple[str, ...] = ("", "", "", *FLUOROCHROMES.values(), "")

_MARKER_INDEX = {m: i for i, m in enumerate(FLUOROCHROMES.values())}

#: Default model frequencies, each a fraction of its parent (see the module docstring).
DEFAULT_FREQUENCIES: dict[str, float] = {
    "debris": 0.08,  # of all events
    "doublets": 0.05,  # of all events
    "lymphocytes": 0.75,  # of single cells (rest: monocytes)
    "dead": 0.10,  # of lymphocytes
    "CD3": 0.70,  # of live lymphocytes
    "CD4": 0.62,  # of T cells
    "CD8": 0.32,  # of T cells (rest: double negative)
    "Treg": 0.07,  # of CD4+
    "Tfh": 0.06,  # of CD4+
    "Th1": 0.12,  # of CD4+ (IFN-γ+ IL-17A−)
    "Th17": 0.015,  # of CD4+ (IL-17A+ IFN-γ−)
    "Th1_17": 0.005,  # of CD4+ (IFN-γ+ IL-17A+)
}

#: Median (linear units before spillover) and log-SD of each positive stain.
STAIN: dict[str, tuple[float, float]] = {
    "CD3": (6000.0, 0.35),
    "CD4": (9000.0, 0.30),
    "CD4_dim": (1200.0, 0.35),  # monocytes
    "CD127": (2500.0, 0.35),
    "CD127_lo": (250.0, 0.40),  # Treg
    "Viability": (15000.0, 0.40),
    "CCR7": (3000.0, 0.40),
    "PD1": (4000.0, 0.40),
    "PD1_dim": (700.0, 0.40),  # memory CD4
    "CXCR5": (3000.0, 0.35),
    "CXCR5_B": (5000.0, 0.35),  # B cells
    "IL17A": (5000.0, 0.55),
    "Foxp3": (4000.0, 0.35),
    "CD25": (6000.0, 0.35),  # Treg (high)
    "CD25_int": (900.0, 0.40),  # activated conventional CD4
    "IFNg": (8000.0, 0.60),
}

#: Populations of the truth table: gate id → parent gate id (None: all events).
POPULATIONS: dict[str, str | None] = {
    "Lymphocytes": None,
    "Singlets": "Lymphocytes",
    "Live": "Singlets",
    "CD3pos": "Live",
    "CD4pos": "CD3pos",
    "IFNgpos": "CD4pos",
    "IL17Apos": "CD4pos",
    "Th1": "CD4pos",
    "Th17": "CD4pos",
    "Th1_17": "CD4pos",
    "Tfh": "CD4pos",
    "Treg": "CD4pos",
    "TregFoxp3": "CD4pos",
}

_SPILL = {  # (fluorochrome, detector): fraction of the fluorochrome's signal seen there
    ("BUV395-A", "BUV496-A"): 0.08, ("BUV496-A", "BV510-A"): 0.02, ("BV421-A", "BV510-A"): 0.12,
    ("BV421-A", "BUV496-A"): 0.03, ("BV510-A", "BV605-A"): 0.05, ("BV510-A", "BB515-A"): 0.02,
    ("BV605-A", "BV711-A"): 0.10, ("BV605-A", "PE-CF594-A"): 0.03, ("BV711-A", "BV605-A"): 0.02,
    ("BB515-A", "PE-A"): 0.02, ("BB515-A", "BV510-A"): 0.01, ("PE-A", "PE-CF594-A"): 0.25,
    ("PE-A", "PE-Cy7-A"): 0.02, ("PE-CF594-A", "PE-A"): 0.06, ("PE-CF594-A", "PE-Cy7-A"): 0.04,
    ("PE-CF594-A", "APC-A"): 0.01, ("PE-Cy7-A", "APC-A"): 0.005, ("APC-A", "PE-Cy7-A"): 0.01,
    ("APC-A", "BV711-A"): 0.01,
}  # fmt: skip


def default_spillover() -> pd.DataFrame:
    """The spillover matrix of the simulated panel.

    Returns
    -------
    pandas.DataFrame
        Fluorochromes (rows) × detectors (columns), both named by ``$PnN`` in
        :data:`FLUOROCHROMES` order; unit diagonal; invented but of realistic size
        (e.g. PE into PE-CF594 25 %, BV421 into BV510 12 %).
    """
    names = list(FLUOROCHROMES)
    m = np.eye(len(names))
    for (src, dst), v in _SPILL.items():
        m[names.index(src), names.index(dst)] = v
    return pd.DataFrame(m, index=names, columns=names)


def spillover_text(spill: pd.DataFrame) -> str:
    """Format a spillover matrix as an FCS ``$SPILLOVER`` value.

    Parameters
    ----------
    spill : pandas.DataFrame
        Square matrix; its columns name the detectors (``$PnN``).

    Returns
    -------
    str
        ``"n,name1,...,namen,v11,v12,...,vnn"`` (row-major, ``repr`` precision).
    """
    values = np.asarray(spill, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] != len(spill.columns):
        raise AnalysisError("spillover matrix must be square", found=str(values.shape))
    parts = [str(len(spill.columns)), *map(str, spill.columns), *(repr(float(v)) for v in values.ravel())]
    return ",".join(parts)


@dataclass(frozen=True)
class SimulatedTube:
    """One simulated tube: events as the cytometer wrote them, and the truth.

    Attributes
    ----------
    sample : str
        Sample name (file stem when written).
    data : numpy.ndarray
        Events × :data:`CHANNELS`, float32, fluorescence with spillover applied (what an
        FCS file holds).
    channels, markers : tuple of str
        ``$PnN`` and ``$PnS`` of the columns.
    spillover : pandas.DataFrame
        The spillover matrix applied (fluorochromes × detectors).
    events : pandas.DataFrame
        Truth per event, in file order: ``event`` (0-based), ``event_type``
        (``lymphocyte``, ``monocyte``, ``debris``, ``doublet``), ``dead``, ``lineage``
        (``CD4``, ``CD8``, ``DN``, ``B_NK``, ``myeloid``, ``none``), ``subset`` (``Treg``,
        ``Tfh``, ``other``, ``none``), ``cytokine`` (``IFNg``, ``IL17A``, ``both``,
        ``none``) and one boolean column per :data:`POPULATIONS` entry.
    populations : pandas.DataFrame
        Truth per population: ``sample``, ``population``, ``parent``, ``count``,
        ``parent_count``, ``pct_parent`` (count / parent count × 100; 0 when the parent
        is empty), ``model_pct_parent`` (the frequency drawn from, %, NaN where it is
        not a model parameter).
    settings : dict
        The frequencies, ``stimulated``, ``fmo`` and ``seed`` used.
    """

    sample: str
    data: np.ndarray
    channels: tuple[str, ...]
    markers: tuple[str, ...]
    spillover: pd.DataFrame
    events: pd.DataFrame
    populations: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def write(self, path: str | os.PathLike, **metadata: str) -> Path:
        """Write the tube as an FCS 3.1 file (:func:`write_fcs`); return the path."""
        meta = {"$FIL": Path(path).name, "$SRC": self.sample, **metadata}
        return write_fcs(path, self.data, self.channels, markers=self.markers, spillover=self.spillover,
                         metadata=meta)  # fmt: skip


def write_fcs(
    path: str | os.PathLike,
    data: np.ndarray | pd.DataFrame,
    channels: Sequence[str] | None = None,
    *,
    markers: Sequence[str] | None = None,
    spillover: pd.DataFrame | None = None,
    ranges: Sequence[float] | None = None,
    metadata: Mapping[str, str] | None = None,
    spill_keyword: str = "$SPILLOVER",
) -> Path:
    """Write an event matrix as an FCS 3.1 file (float32 list mode) with :func:`flowio.create_fcs`.

    Parameters
    ----------
    path : str or path-like
        File to write (its folder must exist).
    data : numpy.ndarray or pandas.DataFrame
        Events × channels; a DataFrame's columns are the channel names.
    channels : sequence of str, optional
        ``$PnN`` of each column (required for an array).
    markers : sequence of str, optional
        ``$PnS`` of each column ("" for none).
    spillover : pandas.DataFrame, optional
        Written as ``$SPILLOVER`` (:func:`spillover_text`); its columns must be channels.
    ranges : sequence of float, optional
        ``$PnR`` of each column (default 262144).
    metadata : mapping, optional
        Further keywords (e.g. ``{'$FIL': 'a.fcs', 'DONOR': 'D1'}``).
    spill_keyword : {'$SPILLOVER', 'SPILL'}
        Keyword holding the spillover: FCS 3.1's ``$SPILLOVER``, or ``SPILL`` as BD FACSDiva
        writes it in FCS 3.0 files (flowio writes only standard keywords with a ``$``, so
        ``$SPILL`` cannot be produced).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    AnalysisError
        If the shapes, names or spillover detectors do not match, or the spillover keyword
        is not one of the two.
    """
    import flowio

    if isinstance(data, pd.DataFrame):
        channels = [str(c) for c in data.columns] if channels is None else channels
        data = data.to_numpy(dtype=np.float32)
    arr = np.ascontiguousarray(np.asarray(data, dtype="<f4"))
    if channels is None or arr.ndim != 2 or arr.shape[1] != len(channels):
        raise AnalysisError(
            "event matrix and channel names do not match",
            file=str(path),
            expected=f"{len(channels or [])} columns",
            found=str(arr.shape),
        )
    if markers is not None and len(markers) != len(channels):
        raise AnalysisError("one marker per channel needed", file=str(path), found=f"{len(markers)} markers")
    meta = {k.lstrip("$").lower(): str(v) for k, v in (metadata or {}).items()}
    if spillover is not None:
        unknown = [c for c in spillover.columns if c not in channels]
        if unknown:
            raise AnalysisError("spillover detector is not a channel", file=str(path), channel=str(unknown[0]))
        if spill_keyword not in ("$SPILLOVER", "SPILL"):
            raise AnalysisError("unsupported spillover keyword", file=str(path), key="spill_keyword",
                                expected="'$SPILLOVER' or 'SPILL'", found=repr(spill_keyword))  # fmt: skip
        meta[spill_keyword.lstrip("$").lower()] = spillover_text(spillover)
    for i, r in enumerate(ranges or ()):
        meta[f"p{i + 1}r"] = str(int(r))
    buf = array("f")
    buf.frombytes(arr.tobytes())
    out = Path(path)
    with open(out, "wb") as fh:
        flowio.create_fcs(fh, buf, list(channels), opt_channel_names=list(markers) if markers else None,
                          metadata_dict=meta)  # fmt: skip
    return out


def _check_frequencies(frequencies: Mapping[str, float] | None) -> dict[str, float]:
    freq = dict(DEFAULT_FREQUENCIES)
    for key, value in (frequencies or {}).items():
        if key not in DEFAULT_FREQUENCIES:
            raise AnalysisError("unknown frequency", key=str(key), expected=f"one of {sorted(DEFAULT_FREQUENCIES)}")
        if not 0 <= float(value) <= 1:
            raise AnalysisError("frequency must be a fraction", key=str(key), expected="0 <= f <= 1", found=str(value))
        freq[key] = float(value)
    sums = {
        "debris + doublets": freq["debris"] + freq["doublets"],
        "CD4 + CD8": freq["CD4"] + freq["CD8"],
        "Th1 + Th17 + Th1_17 + Treg": freq["Th1"] + freq["Th17"] + freq["Th1_17"] + freq["Treg"],
        "Treg + Tfh": freq["Treg"] + freq["Tfh"],
    }
    for name, total in sums.items():
        if total > 1:
            raise AnalysisError("frequencies of sibling populations exceed 1", key=name, found=f"{total:g}")
    return freq


def _choose(rng: np.random.Generator, n: int, labels: Sequence[str], probs: Sequence[float]) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    p = np.append(p, max(0.0, 1.0 - p.sum()))
    return np.asarray([*labels, "_rest"])[rng.choice(len(p), size=n, p=p / p.sum())]


def _draw_cells(rng: np.random.Generator, n: int, freq: Mapping[str, float], stimulated: bool) -> pd.DataFrame:
    """Labels of ``n`` single cells (lymphocytes and monocytes)."""
    kind = np.where(rng.random(n) < freq["lymphocytes"], "lymphocyte", "monocyte")
    lymph = kind == "lymphocyte"
    dead = lymph & (rng.random(n) < freq["dead"])
    t_cell = lymph & ~dead & (rng.random(n) < freq["CD3"])
    lin = _choose(rng, n, ["CD4", "CD8"], [freq["CD4"], freq["CD8"]])
    lineage = np.where(t_cell, np.where(lin == "_rest", "DN", lin), np.where(lymph, "B_NK", "myeloid"))
    cd4 = lineage == "CD4"
    sub = _choose(rng, n, ["Treg", "Tfh"], [freq["Treg"], freq["Tfh"]])
    subset = np.where(cd4, np.where(sub == "_rest", "other", sub), "none")
    scale = 1.0 if stimulated else 0.01
    not_treg = max(1e-12, 1.0 - freq["Treg"])  # cytokines only in non-Treg: rescale to stay fractions of CD4+
    cyt = _choose(rng, n, ["IFNg", "IL17A", "both"],
                  [scale * freq[k] / not_treg for k in ("Th1", "Th17", "Th1_17")])  # fmt: skip
    cd8_ifng = rng.random(n) < 0.15 * scale
    cytokine = np.where(cd4 & (subset != "Treg"), np.where(cyt == "_rest", "none", cyt), "none")
    cytokine = np.where((lineage == "CD8") & cd8_ifng, "IFNg", cytokine)
    return pd.DataFrame({"event_type": kind, "dead": dead, "lineage": lineage, "subset": subset,
                         "cytokine": cytokine})  # fmt: skip


def _stain(rng: np.random.Generator, cells: pd.DataFrame, fmo: str | None) -> np.ndarray:
    """True fluorochrome signals (cells × fluorochromes, linear units, before spillover)."""
    n = len(cells)
    mono = (cells["event_type"] == "monocyte").to_numpy()
    auto = 120.0 * np.exp(rng.normal(0.0, 0.5, size=(n, len(FLUOROCHROMES))))
    auto[mono] *= 2.5
    lin, sub, cyt = (cells[c].to_numpy() for c in ("lineage", "subset", "cytokine"))
    t_cell = np.isin(lin, ["CD4", "CD8", "DN"])
    cd4, treg, tfh = lin == "CD4", sub == "Treg", sub == "Tfh"
    u = rng.random(n)
    stains = [  # (marker, stain kind, which cells)
        ("CD3", "CD3", t_cell), ("CD4", "CD4", cd4), ("CD4", "CD4_dim", mono),
        ("CD127", "CD127", t_cell & ~treg), ("CD127", "CD127_lo", treg),
        ("Viability", "Viability", cells["dead"].to_numpy()), ("CCR7", "CCR7", t_cell & (u < 0.5)),
        ("PD1", "PD1", tfh), ("PD1", "PD1_dim", cd4 & ~tfh & ~treg & (u > 0.85)),
        ("CXCR5", "CXCR5", tfh), ("CXCR5", "CXCR5_B", (lin == "B_NK") & (u < 0.5)),
        ("IL17A", "IL17A", np.isin(cyt, ["IL17A", "both"])), ("Foxp3", "Foxp3", treg),
        ("CD25", "CD25", treg), ("CD25", "CD25_int", cd4 & ~treg & (u < 0.2)),
        ("IFNg", "IFNg", np.isin(cyt, ["IFNg", "both"])),
    ]  # fmt: skip
    for marker, kind, mask in stains:
        if marker == fmo or not mask.any():
            continue
        median, sd = STAIN[kind]
        auto[mask, _MARKER_INDEX[marker]] += median * np.exp(rng.normal(0.0, sd, size=int(mask.sum())))
    return auto


def _scatter(rng: np.random.Generator, cells: pd.DataFrame) -> np.ndarray:
    """FSC-A, FSC-H, SSC-A of single cells (linear units)."""
    n = len(cells)
    mono = (cells["event_type"] == "monocyte").to_numpy()
    dead = cells["dead"].to_numpy()
    fsc = np.where(mono, 95000.0, 55000.0) * np.exp(rng.normal(0.0, 0.12, n))
    ssc = np.where(mono, 40000.0, 12000.0) * np.exp(rng.normal(0.0, np.where(mono, 0.2, 0.25)))
    fsc = np.where(dead, fsc * 0.8, fsc)
    ssc = np.where(dead, ssc * 1.3, ssc)
    fsch = fsc * rng.normal(0.88, 0.03, n)
    return np.column_stack([fsc, fsch, ssc])


def _debris(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Scatter and true fluorescence of ``n`` debris events (70 % take up the viability dye)."""
    fsc = 12000.0 * np.exp(rng.normal(0.0, 0.5, n))
    scatter = np.column_stack([fsc, fsc * rng.normal(0.85, 0.06, n), 6000.0 * np.exp(rng.normal(0.0, 0.7, n))])
    fl = 80.0 * np.exp(rng.normal(0.0, 0.6, size=(n, len(FLUOROCHROMES))))
    dye = rng.random(n) < 0.7
    fl[dye, _MARKER_INDEX["Viability"]] += 6000.0 * np.exp(rng.normal(0.0, 0.6, int(dye.sum())))
    return scatter, fl


def _truth_columns(labels: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per :data:`POPULATIONS` entry: true membership of each event."""
    single_lymph = (labels["event_type"] == "lymphocyte").to_numpy()
    live = single_lymph & ~labels["dead"].to_numpy(dtype=bool)
    lin, sub, cyt = (labels[c].to_numpy() for c in ("lineage", "subset", "cytokine"))
    cd3 = live & np.isin(lin, ["CD4", "CD8", "DN"])
    cd4 = cd3 & (lin == "CD4")
    cols = {
        "Lymphocytes": single_lymph,
        "Singlets": single_lymph,
        "Live": live,
        "CD3pos": cd3,
        "CD4pos": cd4,
        "IFNgpos": cd4 & np.isin(cyt, ["IFNg", "both"]),
        "IL17Apos": cd4 & np.isin(cyt, ["IL17A", "both"]),
        "Th1": cd4 & (cyt == "IFNg"),
        "Th17": cd4 & (cyt == "IL17A"),
        "Th1_17": cd4 & (cyt == "both"),
        "Tfh": cd4 & (sub == "Tfh"),
        "Treg": cd4 & (sub == "Treg"),
        "TregFoxp3": cd4 & (sub == "Treg"),
    }
    return pd.DataFrame(cols, index=labels.index)


def _model_pct(freq: Mapping[str, float], stimulated: bool) -> dict[str, float]:
    scale = 1.0 if stimulated else 0.01
    return {
        "Live": 100 * (1 - freq["dead"]),
        "CD3pos": 100 * freq["CD3"],
        "CD4pos": 100 * freq["CD4"],
        "IFNgpos": 100 * scale * (freq["Th1"] + freq["Th1_17"]),
        "IL17Apos": 100 * scale * (freq["Th17"] + freq["Th1_17"]),
        "Th1": 100 * scale * freq["Th1"],
        "Th17": 100 * scale * freq["Th17"],
        "Th1_17": 100 * scale * freq["Th1_17"],
        "Tfh": 100 * freq["Tfh"],
        "Treg": 100 * freq["Treg"],
        "TregFoxp3": 100 * freq["Treg"],
    }


def population_truth(sample: str, truth: pd.DataFrame, model_pct: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Count the true members of each population (see :attr:`SimulatedTube.populations`).

    Parameters
    ----------
    sample : str
        Sample name written in the ``sample`` column.
    truth : pandas.DataFrame
        One boolean column per :data:`POPULATIONS` entry (per-event truth).
    model_pct : mapping, optional
        Population → model frequency (% of parent).

    Returns
    -------
    pandas.DataFrame
        ``sample, population, parent, count, parent_count, pct_parent, model_pct_parent``.
    """
    rows = []
    n = len(truth)
    for pop, parent in POPULATIONS.items():
        count = int(truth[pop].sum())
        pcount = n if parent is None else int(truth[parent].sum())
        rows.append({
            "sample": sample, "population": pop, "parent": parent if parent is not None else "root",
            "count": count, "parent_count": pcount, "pct_parent": 100.0 * count / pcount if pcount else 0.0,
            "model_pct_parent": float((model_pct or {}).get(pop, np.nan)),
        })  # fmt: skip
    return pd.DataFrame(rows)


def simulate_th_panel(
    n_events: int = 20000,
    *,
    frequencies: Mapping[str, float] | None = None,
    stimulated: bool = True,
    fmo: str | None = None,
    spillover: pd.DataFrame | None = None,
    sample: str = "sample",
    seed: int = 0,
) -> SimulatedTube:
    """Simulate one tube of the Th panel (model in the module docstring).

    Parameters
    ----------
    n_events : int
        Events in the tube (≥ 1).
    frequencies : mapping, optional
        Overrides of :data:`DEFAULT_FREQUENCIES` (fractions of the parent).
    stimulated : bool
        PMA/ionomycin-stimulated (True) or unstimulated control (cytokines at 1 %).
    fmo : str, optional
        A marker of :data:`FLUOROCHROMES` left unstained (fluorescence-minus-one control).
    spillover : pandas.DataFrame, optional
        Spillover matrix (default :func:`default_spillover`); rows and columns must be
        the fluorochromes of :data:`FLUOROCHROMES` in order.
    sample : str
        Sample name.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same tube.

    Returns
    -------
    SimulatedTube
        Events (what an FCS file holds) and truth.

    Raises
    ------
    AnalysisError
        For ``n_events < 1``, an unknown frequency or FMO marker, frequencies that do
        not fit, or a spillover matrix of the wrong shape.
    """
    if int(n_events) < 1:
        raise AnalysisError("n_events must be at least 1", found=str(n_events))
    if fmo is not None and fmo not in _MARKER_INDEX:
        raise AnalysisError("unknown FMO marker", key="fmo", expected=f"one of {list(_MARKER_INDEX)}", found=repr(fmo))
    freq = _check_frequencies(frequencies)
    spill = default_spillover() if spillover is None else spillover
    if list(spill.index) != list(FLUOROCHROMES) or list(spill.columns) != list(FLUOROCHROMES):
        raise AnalysisError("spillover must be fluorochromes x detectors of the panel",
                            expected=str(list(FLUOROCHROMES)), found=str(list(spill.columns)))  # fmt: skip
    rng = np.random.default_rng(seed)
    n = int(n_events)
    kind = rng.choice(3, size=n, p=[freq["debris"], freq["doublets"], 1 - freq["debris"] - freq["doublets"]])
    n_debris, n_doublet = int((kind == 0).sum()), int((kind == 1).sum())
    n_single = n - n_debris - n_doublet
    cells = _draw_cells(rng, n_single + 2 * n_doublet, freq, stimulated)
    fl = _stain(rng, cells, fmo)
    sc = _scatter(rng, cells)
    s, d = slice(0, n_single), slice(n_single, None)
    a, b = sc[d][0::2], sc[d][1::2]
    dbl_sc = np.column_stack([a[:, 0] + b[:, 0], np.maximum(a[:, 1], b[:, 1]) * rng.normal(1.1, 0.05, n_doublet),
                              a[:, 2] + b[:, 2]])  # fmt: skip
    dbl_fl = fl[d][0::2] + fl[d][1::2]
    deb_sc, deb_fl = _debris(rng, n_debris)
    labels = pd.concat([
        cells.iloc[s],
        pd.DataFrame({"event_type": "doublet", "dead": False, "lineage": "none", "subset": "none",
                      "cytokine": "none"}, index=range(n_doublet)),
        pd.DataFrame({"event_type": "debris", "dead": False, "lineage": "none", "subset": "none",
                      "cytokine": "none"}, index=range(n_debris)),
    ], ignore_index=True)  # fmt: skip
    scatter = np.vstack([sc[s], dbl_sc, deb_sc])
    true_fl = np.vstack([fl[s], dbl_fl, deb_fl])
    order = rng.permutation(n)
    labels, scatter, true_fl = labels.iloc[order].reset_index(drop=True), scatter[order], true_fl[order]
    detected = true_fl @ spill.to_numpy()
    detected = detected + rng.normal(0.0, 1.0, detected.shape) * np.sqrt(900.0 + 5.0 * np.abs(detected))
    time = np.sort(rng.uniform(0.0, n / 2000.0, n)) * 100.0  # 2000 events/s, in units of 10 ms
    data = np.column_stack([scatter, detected, time]).astype(np.float32)
    truth = _truth_columns(labels)
    events = pd.concat([pd.DataFrame({"event": np.arange(n)}), labels, truth], axis=1)
    settings = {"frequencies": freq, "stimulated": bool(stimulated), "fmo": fmo, "seed": int(seed)}
    pops = population_truth(sample, truth, _model_pct(freq, stimulated))
    return SimulatedTube(str(sample), data, CHANNELS, MARKERS, spill, events, pops, settings)


#: Default conditions of :func:`simulate_th_batch`: name → keyword arguments of :func:`simulate_th_panel`.
DEFAULT_CONDITIONS: dict[str, dict[str, Any]] = {
    "unstim": {"stimulated": False},
    "stim": {"stimulated": True},
}

_DONOR_VARIABLE = ("Treg", "Tfh", "Th1", "Th17", "Th1_17", "CD4")


def simulate_th_batch(
    outdir: str | os.PathLike,
    *,
    donors: Sequence[str] = ("D1", "D2", "D3"),
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
    n_events: int = 20000,
    frequencies: Mapping[str, float] | None = None,
    donor_sd: float = 0.2,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write one FCS file per donor × condition and return the sample sheet and the truth.

    Each donor's frequencies of ``CD4``, ``Treg``, ``Tfh``, ``Th1``, ``Th17`` and
    ``Th1_17`` are the given (or default) ones times ``exp(N(0, donor_sd))``, the same in
    every condition of that donor; each condition passes its keyword arguments to
    :func:`simulate_th_panel` (``stimulated``, ``fmo``, or a ``frequencies`` mapping of
    fold changes applied on top of the donor's frequencies).

    Parameters
    ----------
    outdir : str or path-like
        Folder to write ``<donor>_<condition>.fcs`` into (created if needed).
    donors : sequence of str
        Donor names.
    conditions : mapping, optional
        Condition name → keyword arguments (default :data:`DEFAULT_CONDITIONS`:
        ``unstim`` and ``stim``). ``frequencies`` in a condition are *fold changes*.
    n_events : int
        Events per file.
    frequencies : mapping, optional
        Overrides of :data:`DEFAULT_FREQUENCIES`.
    donor_sd : float
        Log-SD of the donor effect on the frequencies.
    seed : int
        Seed; file ``k`` (in donor-major order) uses ``seed * 1000 + k``.

    Returns
    -------
    samples : pandas.DataFrame
        The sample sheet: ``sample`` (file stem), ``donor``, ``condition``, ``file``
        (file name), ``n_events``.
    truth : pandas.DataFrame
        :attr:`SimulatedTube.populations` of every file, with ``donor`` and
        ``condition``.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    conds = dict(DEFAULT_CONDITIONS if conditions is None else conditions)
    base = _check_frequencies(frequencies)
    rng = np.random.default_rng(seed)
    sheet, truths = [], []
    k = 0
    for donor in donors:
        effect = {key: float(np.exp(rng.normal(0.0, donor_sd))) for key in _DONOR_VARIABLE}
        for cond, kwargs in conds.items():
            kw = dict(kwargs)
            folds = kw.pop("frequencies", {}) or {}
            freq = {key: min(1.0, v * effect.get(key, 1.0) * float(folds.get(key, 1.0))) for key, v in base.items()}
            freq["CD8"] = min(freq["CD8"], 1.0 - freq["CD4"])  # siblings still fit after the donor effect
            freq["Tfh"] = min(freq["Tfh"], 1.0 - freq["Treg"])
            name = f"{donor}_{cond}"
            tube = simulate_th_panel(n_events, frequencies=freq, sample=name, seed=seed * 1000 + k, **kw)
            tube.write(out / f"{name}.fcs", DONOR=str(donor), CONDITION=str(cond))
            sheet.append({"sample": name, "donor": str(donor), "condition": str(cond), "file": f"{name}.fcs",
                          "n_events": int(n_events)})  # fmt: skip
            truths.append(tube.populations.assign(donor=str(donor), condition=str(cond)))
            k += 1
    return pd.DataFrame(sheet), pd.concat(truths, ignore_index=True)
