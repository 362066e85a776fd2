"""Tests of assaykit.report.figures: what plate_heatmap draws, and save_figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from assaykit.errors import ReportError, SchemaError
from assaykit.report import plate_heatmap, save_figure
from assaykit.schema import plate_table, row_letter


def make_plate(n_rows=8, n_cols=12, plate="1", read="abs_450", drop=(), nan=(), flags=None):
    wells = [f"{row_letter(r)}{c}" for r in range(n_rows) for c in range(1, n_cols + 1)]
    values = np.linspace(0.05, 3.0, len(wells))
    fl = [""] * len(wells)
    for w in nan:
        values[wells.index(w)] = np.nan
    for w, f in (flags or {}).items():
        fl[wells.index(w)] = f
    df = plate_table(plate=plate, well=wells, read=read, value=values, flag=fl)
    return df[~df["well"].isin(drop)].reset_index(drop=True)


def labels(ax):
    return [t for t in ax.texts if t.get_gid() == "well_label"]


def patches(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_heatmap_96_draws_every_present_well():
    df = make_plate(drop=("H12",), nan=("A6",), flags={"A6": "overflow", "A8": "extrapolated"})
    ax = plate_heatmap(df, "abs_450")
    assert isinstance(ax, Axes)
    assert len(labels(ax)) == 95
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(1, 13)]
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ABCDEFGH")
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in labels(ax)}
    assert texts[(1, 6)] == "OVER"  # NaN well shows its flag
    assert texts[(1, 1)] == "0.05"
    assert len(patches(ax, "no_value")) == 1 and patches(ax, "no_value")[0].get_hatch() == "///"
    assert len(patches(ax, "flagged")) == 1
    img = ax.images[0]
    arr = img.get_array()
    assert arr.shape == (8, 12)
    assert bool(arr.mask[0, 5]) and bool(arr.mask[7, 11])
    assert arr[0, 0] == pytest.approx(0.05)
    assert "abs_450 (raw), plate 1" == ax.get_title()
    assert "2 flagged wells" in ax.get_xlabel()


def test_heatmap_384_and_no_annotation():
    df = make_plate(16, 24, read="lum")
    ax = plate_heatmap(df, "lum", annotate=False, colorbar=False)
    assert labels(ax) == []
    assert len(ax.get_xticklabels()) == 24 and ax.get_yticklabels()[-1].get_text() == "P"
    assert ax.images[0].get_array().shape == (16, 24)
    assert len(ax.figure.axes) == 1  # no colour bar


def test_heatmap_nan_without_flag_and_log_scale():
    df = make_plate(nan=("B2",))
    df.loc[df["well"] == "C3", "value"] = -0.01
    ax = plate_heatmap(df, "abs_450", log=True, fmt="{:.2f}")
    assert isinstance(ax.images[0].norm, LogNorm)
    texts = [t.get_text() for t in labels(ax)]
    assert "NaN" in texts and "-0.01" in texts
    assert len(labels(ax)) == 96


def test_heatmap_partial_plate_uses_96_grid_and_n_wells():
    df = make_plate(4, 6)
    ax = plate_heatmap(df, "abs_450")
    assert ax.images[0].get_array().shape == (8, 12)
    assert len(labels(ax)) == 24
    ax = plate_heatmap(df, "abs_450", n_wells=384)
    assert ax.images[0].get_array().shape == (16, 24)


def test_heatmap_draws_on_given_axes_and_picks_plate_metric():
    df = pd.concat([make_plate(plate="P1"), make_plate(plate="P2")], ignore_index=True)
    corrected = make_plate(plate="P1").assign(metric="blank_corrected", value=lambda d: d["value"] - 0.05)
    df = pd.concat([df, corrected], ignore_index=True)
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = plate_heatmap(df, "abs_450", plate="P2", ax=ax2, title="custom")
    assert out is ax2 and ax2.get_title() == "custom" and not ax1.images
    ax = plate_heatmap(df, "abs_450", plate="P1", metric="blank_corrected")
    assert ax.images[0].get_array()[0, 0] == pytest.approx(0.0)


def test_heatmap_constant_values():
    df = make_plate().assign(value=1.0)
    ax = plate_heatmap(df, "abs_450")
    assert ax.images[0].norm.vmin < 1.0 < ax.images[0].norm.vmax


def test_heatmap_errors():
    df = pd.concat([make_plate(plate="P1"), make_plate(plate="P2")], ignore_index=True)
    with pytest.raises(ReportError, match="read not in the table") as info:
        plate_heatmap(df, "abs_600")
    assert "abs_450" in info.value.expected
    with pytest.raises(ReportError, match="metric not in the table for this read"):
        plate_heatmap(df, "abs_450", metric="median")
    with pytest.raises(ReportError, match="several plates in the table: pass plate=") as info:
        plate_heatmap(df, "abs_450")
    assert info.value.found == "P1, P2"
    with pytest.raises(ReportError, match="plate not in the table"):
        plate_heatmap(df, "abs_450", plate="P3")
    with pytest.raises(ReportError, match="not a plate-read table") as info:
        plate_heatmap(df.drop(columns=["flag"]), "abs_450")
    assert "['flag']" in info.value.found
    with pytest.raises(ReportError, match=r"nothing to draw: no finite value \(expected"):
        plate_heatmap(make_plate(plate="P1").assign(value=np.nan), "abs_450")
    with pytest.raises(ReportError, match="nothing to draw: no finite value above 0 for a log scale"):
        plate_heatmap(make_plate(plate="P1").assign(value=-1.0), "abs_450", log=True)
    with pytest.raises(ReportError, match="wells outside the plate size asked for"):
        plate_heatmap(make_plate(16, 24), "abs_450", n_wells=96)
    with pytest.raises(SchemaError, match="unknown plate size"):
        plate_heatmap(make_plate(), "abs_450", n_wells=100)
    with pytest.raises(ReportError, match="unknown colour map"):
        plate_heatmap(df, "abs_450", plate="P1", cmap="nope")
    big = make_plate(8, 12)
    big = big.assign(row="AH")
    big = big.iloc[:1]
    with pytest.raises(ReportError, match="plate too large to draw"):
        plate_heatmap(big, "abs_450")


def test_save_figure(tmp_path):
    ax = plate_heatmap(make_plate(), "abs_450")
    png = save_figure(ax, tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_figure(ax.figure, tmp_path / "p.svg")
    assert b"<svg" in svg.read_bytes()[:500]
    with pytest.raises(ReportError, match="unsupported figure format"):
        save_figure(ax, tmp_path / "p.docx")
    with pytest.raises(ReportError, match="folder of the figure does not exist"):
        save_figure(ax, tmp_path / "missing" / "p.png")
    with pytest.raises(ReportError, match="not a matplotlib figure"):
        save_figure("figure", tmp_path / "p.png")


def test_save_figure_write_failure(tmp_path, monkeypatch):
    ax = plate_heatmap(make_plate(), "abs_450")

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(ReportError, match="cannot write figure") as info:
        save_figure(ax, tmp_path / "p.png")
    assert info.value.found == "Permission denied"


def test_no_pyplot_figures_left_open():
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    plate_heatmap(make_plate(), "abs_450")
    assert len(plt.get_fignums()) == before


def test_heatmap_of_a_real_gen5_export_with_overflow_and_missed(corpus):
    import assaykit

    plate = assaykit.read_plate(corpus("plate_reader", "biotek_gen5", "abs450_96well_non_numeric_values_OVRFLW.txt"))
    ax = plate_heatmap(plate, "abs_450")
    texts = [t.get_text() for t in labels(ax)]
    assert len(texts) == 96
    assert texts.count("OVER") == 8 and texts.count("MISS") == 5
    assert len(patches(ax, "no_value")) == 13 and patches(ax, "flagged") == []
    assert ax.get_title() == "abs_450 (raw), Plate 1"
