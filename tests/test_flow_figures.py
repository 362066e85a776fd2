"""Flow figures (assaykit.report.flow_figures), tested on the matplotlib objects they draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.patches import Polygon, Rectangle

from assaykit.errors import ReportError
from assaykit.report import save_figure
from assaykit.report.flow_figures import (
    GateShape,
    frequency_plot,
    gate_label,
    gate_plot,
    gate_shape,
    quadrant_plot,
)

fk = pytest.importorskip("flowkit")
XML = Path(__file__).resolve().parent.parent / "protocols" / "flow_th_subsets.xml"


@pytest.fixture(scope="module")
def strategy():
    return fk.parse_gating_xml(str(XML))


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_gate_shape_reads_flowkit_gates(strategy):
    lym = gate_shape(strategy.get_gate("Lymphocytes"))
    assert lym.kind == "polygon" and lym.dims == ("FSC-A", "SSC-A") and len(lym.vertices) == 6
    assert lym.vertices[0] == (30000.0, 1000.0)
    live = gate_shape(strategy.get_gate("Live"))
    assert live.kind == "range" and live.dims == ("BV510-A",) and live.bounds == ((None, 0.5),)
    treg = gate_shape(strategy.get_gate("Treg"))
    assert treg.kind == "rectangle" and treg.bounds == ((0.5, None), (None, 0.45))
    assert gate_shape(strategy.get_gate("Th1")).kind == "boolean"


def test_gate_label_text():
    assert gate_label("CD4+", 61.73) == "CD4+\n61.7 %"
    assert gate_label("Th17", 0.0, 0) == "Th17\n0.0 % (n = 0)"
    assert gate_label("x", float("nan")) == "x\nn/a"


def test_polygon_gate_drawn_with_outline_density_and_percent(strategy):
    rng = np.random.default_rng(0)
    x, y = rng.normal(55000, 6000, 5000), rng.normal(12000, 3000, 5000)
    shape = gate_shape(strategy.get_gate("Lymphocytes"))
    ax = gate_plot(x, y, shape, pct=65.21, label="Lymphocytes", title="all events")
    polys = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(polys) == 1
    assert np.allclose(polys[0].get_xy()[:6], np.asarray(shape.vertices))
    assert "Lymphocytes\n65.2 %" in _texts(ax)
    assert any(isinstance(c, QuadMesh) for c in ax.collections)  # pseudocolour
    assert ax.get_xlabel() == "FSC-A" and ax.get_ylabel() == "SSC-A" and ax.get_title() == "all events"
    # the whole gate is in view
    assert ax.get_xlim()[0] <= 30000 and ax.get_xlim()[1] >= 88000


def test_open_rectangle_is_clipped_to_the_view(strategy):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0.1, 0.8, 2000), rng.uniform(0.1, 0.8, 2000)
    ax = gate_plot(x, y, gate_shape(strategy.get_gate("Treg")), pct=6.7, count=421, label="Treg",
                   xlabel="CD25 (PE-Cy7-A)", ylabel="CD127 (BV421-A)")  # fmt: skip
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == 1
    r = rects[0]
    assert r.get_x() == pytest.approx(0.5)  # CD25 >= 0.5
    assert r.get_y() == pytest.approx(ax.get_ylim()[0])  # open below: down to the axis
    assert r.get_y() + r.get_height() == pytest.approx(0.45)  # CD127 < 0.45
    assert r.get_x() + r.get_width() == pytest.approx(ax.get_xlim()[1])
    assert "Treg\n6.7 % (n = 421)" in _texts(ax)
    assert ax.get_xlabel() == "CD25 (PE-Cy7-A)"


def test_range_gate_is_a_histogram_with_its_cut(strategy):
    x = np.r_[np.random.default_rng(2).normal(0.25, 0.05, 3000), np.random.default_rng(3).normal(0.7, 0.03, 300)]
    ax = gate_plot(x, None, gate_shape(strategy.get_gate("Live")), pct=90.04, label="Live")
    cuts = [line.get_xdata()[0] for line in ax.lines]
    assert cuts == [0.5]
    assert "Live\n90.0 %" in _texts(ax)
    assert ax.get_ylabel() == "events" and ax.get_xlabel() == "BV510-A"
    assert len(ax.patches) >= 1  # histogram


def test_boolean_gate_and_missing_y_are_refused(strategy):
    with pytest.raises(ReportError, match="cannot be drawn"):
        gate_plot(np.zeros(3), np.zeros(3), gate_shape(strategy.get_gate("Th1")), pct=1.0)
    with pytest.raises(ReportError, match="needs x and y"):
        gate_plot(np.zeros(3), None, gate_shape(strategy.get_gate("Tfh")), pct=1.0)


def test_zero_event_parent_still_draws():
    shape = GateShape("rectangle", ("a", "b"), bounds=((0.4, None), (0.4, None)))
    ax = gate_plot(np.array([]), np.array([]), shape, pct=0.0, count=0, label="empty")
    assert "empty\n0.0 % (n = 0)" in _texts(ax)


def test_quadrant_plot_labels_each_boolean_population():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0.1, 0.8, 3000), rng.uniform(0.1, 0.8, 3000)
    quads = {(True, False): ("Th1", 12.3), (False, True): ("Th17", 1.27), (True, True): ("Th1/17", 0.53)}
    ax = quadrant_plot(x, y, 0.45, 0.47, quads, xlabel="IFNg", ylabel="IL17A", title="CD4+")
    assert {line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1} == {0.45}
    assert {line.get_ydata()[0] for line in ax.lines if len(set(line.get_ydata())) == 1} == {0.47}
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert set(texts) == {"Th1\n12.3 %", "Th17\n1.3 %", "Th1/17\n0.5 %"}
    assert texts["Th1\n12.3 %"] == (0.97, 0.03)  # lower right
    assert texts["Th17\n1.3 %"] == (0.03, 0.97)  # upper left


def _stats():
    rows = []
    for donor, shift in (("D1", 0.0), ("D2", 1.0), ("D3", 2.0)):
        for cond, base in (("unstim", 0.1), ("stim", 10.0)):
            for pop in ("Th1", "Treg"):
                rows.append({"sample": f"{donor}_{cond}", "population": pop, "donor": donor, "condition": cond,
                             "pct_parent": base + shift + (5 if pop == "Treg" else 0)})  # fmt: skip
    return pd.DataFrame(rows)


def test_frequency_plot_bars_per_group_and_donor_points():
    stats = _stats()
    ax = frequency_plot(stats, ["Th1", "Treg"], group_col="condition", donor_col="donor",
                        labels={"Th1": "Th1 (IFN-γ+)"}, groups=["unstim", "stim"])  # fmt: skip
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 4
    heights = sorted(round(b.get_height(), 6) for b in bars)
    assert heights == sorted([1.1, 11.0, 6.1, 16.0])  # group means
    donor_lines = [line for line in ax.lines if line.get_marker() in "osD"]
    assert len(donor_lines) == 6  # 3 donors x 2 populations
    assert sorted(donor_lines[0].get_ydata()) == [0.1, 10.0]  # D1, Th1: unstim -> stim
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Th1 (IFN-γ+)", "Treg"]
    assert ax.get_ylabel() == "% of parent"  # no parent column: generic
    ax = frequency_plot(stats.assign(parent="CD4pos"), ["Th1", "Treg"], group_col="condition",
                        labels={"CD4pos": "CD4+"})  # fmt: skip
    assert ax.get_ylabel() == "% of CD4+"


def test_frequency_plot_errors():
    stats = _stats()
    with pytest.raises(ReportError, match="lacks a column"):
        frequency_plot(stats, ["Th1"], group_col="group")
    with pytest.raises(ReportError, match="population Th2: population not in the statistics table"):
        frequency_plot(stats, ["Th2"], group_col="condition")


def test_figures_save_as_png_and_svg(tmp_path, strategy):
    ax = gate_plot(np.random.default_rng(5).uniform(0, 1, 500), None, gate_shape(strategy.get_gate("CD3pos")),
                   pct=69.4, label="CD3+")  # fmt: skip
    for suffix in (".png", ".svg"):
        p = save_figure(ax, tmp_path / f"g{suffix}")
        assert p.stat().st_size > 1000
    assert "CD3+" in (tmp_path / "g.svg").read_text()


def test_sample_gate_figure_along_the_hierarchy(tmp_path):
    """Gates of one gated sample: one panel per drawable gate, Th1/Th17/Th1-17 as one quadrant panel,
    each label showing the % of parent of result.stats."""
    flow = pytest.importorskip("assaykit.flow")
    from assaykit.report.flow_figures import sample_gate_figure
    from assaykit.simulate.flow import simulate_th_panel

    path = simulate_th_panel(8000, seed=21, sample="fig").write(tmp_path / "fig.fcs")
    sample = flow.read_fcs(path)[0]
    result = flow.gate([sample], strategy=str(XML), settings=flow.FlowSettings(workers=1), progress=False)
    labels = {"CD4pos": "CD4+", "Th1": "Th1", "Th17": "Th17", "Th1_17": "Th1/17"}
    fig = sample_gate_figure(result, sample, labels=labels)
    axes = fig.axes
    # Lymphocytes, Singlets, Live, CD3pos, CD4pos, Tfh, Treg, TregFoxp3 + one quadrant (IFNgpos x IL17Apos)
    assert len(axes) == 9
    assert fig.get_suptitle() == "fig"
    stats = result.stats.set_index("population")
    texts = [t.get_text() for ax in axes for t in ax.texts]
    assert f"CD4+\n{stats.loc['CD4pos', 'pct_parent']:.1f} %" in texts
    assert f"Th1\n{stats.loc['Th1', 'pct_parent']:.1f} %" in texts
    assert f"Th1/17\n{stats.loc['Th1_17', 'pct_parent']:.1f} %" in texts
    titles = [ax.get_title() for ax in axes]
    assert titles[0] == "all events" and titles.count("CD4+") == 4  # Tfh, Treg, TregFoxp3, quadrant
    quad = axes[-1]
    assert quad.get_xlabel() == "IFNg (APC-A)" and quad.get_ylabel() == "IL17A (PE-A)"
    # the CD4 panel is a histogram with the gate's cut at the template boundary
    cd4_ax = next(ax for ax in axes if any(t.get_text().startswith("CD4+\n") for t in ax.texts))
    assert [line.get_xdata()[0] for line in cd4_ax.lines] == [0.55]
    with pytest.raises(ReportError, match="sample not in the gating result"):
        sample_gate_figure(result, flow.read_fcs(simulate_th_panel(100, seed=1).write(tmp_path / "other.fcs"))[0])
