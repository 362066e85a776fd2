"""Smoke tests of the qPCR figures (they draw, label their conventions, return the Axes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_qpcr_ddct import make_run

from assaykit.errors import ReportError
from assaykit.qpcr import ddct, standard_curve
from assaykit.report.qpcr_figures import (
    fold_change_plot,
    significance_mark,
    standard_curve_plot,
)
from assaykit.schema import qpcr_table


def _result(error="ci95"):
    rng = np.random.default_rng(0)
    cq, groups = {}, {}
    for g, shift in (("vehicle", 0.0), ("drug", -2.0)):
        for s in range(4):
            name = f"{g}{s}"
            groups[name] = g
            cq[(name, "GAPDH")] = [20.0 + rng.normal(0, 0.1)] * 2
            cq[(name, "TBX21")] = [26.0 + shift + rng.normal(0, 0.2)] * 2
            cq[(name, "RORC")] = [28.0 + rng.normal(0, 0.2)] * 2
    return ddct(make_run(cq, groups), "GAPDH", "vehicle", error=error)


def test_fold_change_plot_draws_and_names_error_convention():
    res = _result()
    ax = fold_change_plot(res)
    assert ax.get_legend().get_title().get_text() == "error bars: 95 % CI of ΔΔCq"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["TBX21", "RORC"]
    marks = [t.get_text() for t in ax.texts]
    assert "***" in marks or "**" in marks
    assert len(ax.collections) >= 4  # replicate points and error bars
    ax2 = Figure().add_subplot()
    assert fold_change_plot(res, targets=["RORC"], error="sd", log_scale=False, ax=ax2) is ax2
    assert "SD" in ax2.get_legend().get_title().get_text()
    with pytest.raises(ReportError, match="unknown error convention"):
        fold_change_plot(res, error="range")
    with pytest.raises(ReportError, match="target not in the result"):
        fold_change_plot(res, targets=["IL21"])


def test_standard_curve_plot():
    q = [1e4, 1e3, 1e2, 1e4, 1e3, 1e2]
    df = qpcr_table(
        {
            "well": [f"A{i + 1}" for i in range(6)] + ["B1"],
            "target": ["T"] * 6 + ["U"],
            "cq": [20.0, 23.4, 26.8, 20.1, 23.3, 26.9, 25.0],
            "quantity": q + [10.0],
            "task": "standard",
        }
    )
    sc = standard_curve(df)
    ax = standard_curve_plot(sc)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("T: slope -3.4") and "not fitted" in texts[1]
    assert standard_curve_plot(sc, target="T", ax=Figure().add_subplot()).get_xlabel() == "log10(quantity)"
    with pytest.raises(ReportError, match="no standard curve for this target"):
        standard_curve_plot(sc, target="X")


def test_significance_marks():
    assert [significance_mark(p) for p in (0.0001, 0.005, 0.04, 0.5, float("nan"))] == ["***", "**", "*", "ns", ""]


def test_fold_change_axis_label_names_the_error_convention():
    ax = fold_change_plot(_result("sem"))
    label = ax.get_ylabel()
    assert "fold change vs vehicle (2^-ΔΔCq, livak)" in label and "± 1 SEM of ΔΔCq" in label
    assert "95 % CI" in fold_change_plot(_result("sem"), error="ci95").get_ylabel()


def _qc_result(multiplex=False):

    cq = {
        ("v1", "GAPDH"): [20.0, 20.1, 20.0],
        ("v1", "TBX21"): [26.0, 26.1, 28.5],  # 28.5: outlier (median rule)
        ("d1", "GAPDH"): [20.0, 20.0, 20.1],
        ("d1", "TBX21"): [24.0, float("nan"), 24.1],  # Undetermined
    }
    groups = {"v1": "vehicle", "d1": "drug"}
    data = make_run(cq, groups, multiplex=multiplex)
    res = ddct(data, "GAPDH", "vehicle", outlier="median", test=None)
    return pd.DataFrame(res.wells)


def test_plate_qc_map_marks_excluded_undetermined_and_flagged_wells():
    from assaykit.report.qpcr_figures import plate_qc_map

    w = _qc_result()
    ax = plate_qc_map(w)
    assert ax.get_title() == "Cq per well, plate 1"
    labels = {t.get_text() for t in ax.texts if t.get_gid() == "well_label"}
    assert "undet" in labels and "28.5" in labels and "20.0" in labels
    hatched = [p for p in ax.patches if p.get_gid() == "no_value"]
    assert len(hatched) == 1  # the Undetermined well
    outlined = [p for p in ax.patches if p.get_gid() == "flagged"]
    assert len(outlined) == 1  # the excluded outlier has a Cq and a flag
    crosses = [c for c in ax.collections if c.get_gid() == "excluded"]
    assert len(crosses) == 1
    # the cross sits on the outlier's well (column, row number)
    out = w.loc[w["cq"] == 28.5].iloc[0]
    assert tuple(crosses[0].get_offsets()[0]) == (out["col"], 1 + "ABCDEFGH".index(out["row"]))
    assert ax.get_xlabel().startswith("1 excluded with a Cq (×); 1 with a Cq and a flag or excluded (red outline); "
                                      "1 without a Cq (hatched, 1 of them excluded;")  # one × drawn, one hatched
    # a canonical table (no status) also draws; no crosses
    raw = w[["plate", "well", "row", "col", "target", "cq", "cq_flag"]]
    ax2 = plate_qc_map(raw, ax=Figure().add_subplot(), annotate=False)
    assert not [c for c in ax2.collections if c.get_gid() == "excluded"]
    assert not [t for t in ax2.texts if t.get_gid() == "well_label"]


def test_plate_qc_map_multiplex_and_errors():

    from assaykit.report.qpcr_figures import plate_qc_map

    w = _qc_result(multiplex=True)
    with pytest.raises(ReportError, match=r"several targets in one well \(multiplex\): pass target="):
        plate_qc_map(w)
    ax = plate_qc_map(w, target="TBX21")
    assert ax.get_title() == "Cq of TBX21, plate 1"
    with pytest.raises(ReportError, match="target not on this plate"):
        plate_qc_map(w, target="IL21")
    with pytest.raises(ReportError, match="not a qPCR wells table"):
        plate_qc_map(w.drop(columns=["cq"]))
    two = pd.concat([w, w.assign(plate="2")], ignore_index=True)
    with pytest.raises(ReportError, match="several plates in the table: pass plate="):
        plate_qc_map(two, target="GAPDH")
    assert plate_qc_map(two, plate="2", target="GAPDH").get_title() == "Cq of GAPDH, plate 2"
    with pytest.raises(ReportError, match="plate not in the table"):
        plate_qc_map(two, plate="3")
    with pytest.raises(ReportError, match="nothing to draw: no well with a Cq"):
        plate_qc_map(w.assign(cq=float("nan")), target="GAPDH")



def test_fold_change_plot_draws_the_result_numbers():
    """Bar heights, error-bar ends, replicate points and marks are the result's own numbers."""
    from matplotlib.collections import PathCollection
    from matplotlib.container import BarContainer, ErrorbarContainer

    res = _result("sem")
    ax = fold_change_plot(res, error="sem")
    g = res.groups.set_index(["group", "target"])
    targets = ["TBX21", "RORC"]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    errs = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [b.get_label() for b in bars] == ["vehicle", "drug"]  # control first
    for bar, err, grp in zip(bars, errs, ["vehicle", "drug"], strict=True):
        heights = [p.get_height() for p in bar.patches]
        assert heights == pytest.approx([g.loc[(grp, t), "fold_change"] for t in targets], rel=1e-12)
        segs = err.lines[2][0].get_segments()
        for seg, t in zip(segs, targets, strict=True):
            assert seg[0][1] == pytest.approx(g.loc[(grp, t), "fold_change_sem_low"], rel=1e-12)
            assert seg[1][1] == pytest.approx(g.loc[(grp, t), "fold_change_sem_high"], rel=1e-12)
    points = sorted(y for c in ax.collections if isinstance(c, PathCollection) for y in c.get_offsets()[:, 1])
    s = res.samples
    assert points == pytest.approx(sorted(s.loc[(s["status"] == "ok"), "rq"]), rel=1e-12)
    st = res.stats.set_index("target")
    marks = [t.get_text() for t in ax.texts]
    assert marks == [significance_mark(st.loc[t, "p_adjusted"]) for t in targets]
    assert marks[0] in ("*", "**", "***") and marks[1] == "ns"
