"""Smoke tests of the qPCR figures (they draw, label their conventions, return the Axes)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from test_qpcr_ddct import make_run

from assaykit.errors import ReportError
from assaykit.qpcr import ddct, standard_curve
from assaykit.report.qpcr_figures import fold_change_plot, significance_mark, standard_curve_plot
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
