"""assaykit.report.blot_figures: annotated image, lane profiles, fold chart (checked on matplotlib objects)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from assaykit.errors import ReportError
from assaykit.report import save_figure
from assaykit.report.blot_figures import (
    SATURATED_COLOUR,
    annotated_image,
    fold_chart,
    lane_profiles,
)
from assaykit.simulate.blot import boxes_table, ikba_timecourse_spec, simulate_blot


@pytest.fixture(scope="module")
def blot():
    return simulate_blot(ikba_timecourse_spec(), seed=1)


def _bands(blot):
    t = blot.truth
    return boxes_table(t).assign(
        saturated=t["saturated"].to_numpy(), volume=t["true_volume_in_box"].to_numpy()
    )


def test_annotated_image_draws_every_box_and_the_saturated_pixels(blot, tmp_path):
    bands = _bands(blot)
    lanes = pd.DataFrame({"lane": range(1, 12), "x_left": [e[0] for e in blot.lane_edges],
                          "x_right": [e[1] for e in blot.lane_edges]})  # fmt: skip
    ax = annotated_image(blot.image, bands, lanes, polarity="dark", saturation=65535, title="A")
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(bands)
    dashed = [p for p in boxes if p.get_linestyle() == "--"]
    assert len(dashed) == int(bands["saturated"].sum()) > 0
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 2  # the blot, and the overlay of saturated pixels
    overlay = images[1].get_array()
    n_sat = int((blot.image == 65535).sum())
    assert int((np.asarray(overlay)[..., 3] > 0).sum()) == n_sat
    assert tuple(np.asarray(overlay)[np.asarray(overlay)[..., 3] > 0][0]) == SATURATED_COLOUR
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "saturated pixels" in labels and "IkBa box" in labels
    assert ax.get_title() == "A"
    assert save_figure(ax, tmp_path / "a.png").stat().st_size > 10_000


def test_annotated_image_without_saturation_has_no_overlay(blot):
    ax = annotated_image(blot.image, _bands(blot).assign(saturated=False), saturation=None)
    assert len([a for a in ax.get_children() if isinstance(a, AxesImage)]) == 1


def test_lane_profiles_one_panel_per_lane_with_fit():
    y = np.arange(100.0)
    rows = []
    for lane in (1, 2, 3):
        peak = 1000 * np.exp(-0.5 * ((y - 50) / 4) ** 2)
        rows.append(pd.DataFrame({"lane": lane, "y": y, "raw": peak + 100, "background": 100.0, "signal": peak,
                                  "fit": np.where(np.abs(y - 50) < 20, peak, np.nan)}))  # fmt: skip
    prof = pd.concat(rows, ignore_index=True)
    bands = pd.DataFrame({"lane": [1, 2, 3], "y": 34.0, "h": 32.0, "target": "X"})
    fig = lane_profiles(prof, bands, ncols=2)
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4
    labels = [ln.get_label() for ln in visible[0].get_lines()]
    assert labels == ["raw", "baseline", "signal", "fitted peaks"]
    assert np.allclose(visible[1].get_lines()[2].get_ydata(), prof.loc[prof["lane"] == 2, "signal"])


def test_fold_chart_bars_are_replicate_means_and_flagged_points_hollow():
    norm = pd.DataFrame({
        "image": ["a", "a", "b", "b"], "target": "IkBa", "fraction": "", "group": ["veh", "tnf", "veh", "tnf"],
        "fold": [1.0, 0.4, 1.0, 0.6], "status": ["ok", "ok", "ok", "loading_saturated"],
    })  # fmt: skip
    reps = pd.DataFrame({"target": "IkBa", "fraction": "", "group": ["veh", "tnf"], "mean_fold": [1.0, 0.5],
                         "sd_fold": [0.0, 0.1414]})  # fmt: skip
    ax = fold_chart(norm, reps)
    heights = [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]
    assert heights == [1.0, 0.5]
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    filled = sum(len(c.get_offsets()) for c in points if c.get_facecolors().size)
    hollow = [c for c in points if not c.get_facecolors().size]
    assert filled == 3 and len(hollow) == 1 and np.allclose(hollow[0].get_offsets()[0][1], 0.6)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["veh", "tnf"]


def test_figure_errors():
    with pytest.raises(ReportError, match="image must be 2-D"):
        annotated_image(
            np.zeros((3, 3, 3)), pd.DataFrame({"lane": [], "x": [], "y": [], "w": [], "h": []})
        )
    with pytest.raises(ReportError, match="column y: bands lacks columns"):
        annotated_image(np.zeros((3, 3)), pd.DataFrame({"lane": [1], "x": [0]}))
    with pytest.raises(ReportError, match="no lane profiles"):
        lane_profiles(
            pd.DataFrame({"lane": [], "y": [], "raw": [], "background": [], "signal": []})
        )
    with pytest.raises(ReportError, match="normalized lacks columns"):
        fold_chart(pd.DataFrame({"target": ["x"]}))
