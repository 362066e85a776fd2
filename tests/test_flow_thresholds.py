"""Data-driven thresholds: known-truth mixtures, closed forms, recording and GatingML export."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assaykit.flow as af
from assaykit.errors import AnalysisError, SettingsError
from assaykit.events import FlowSample
from assaykit.flow import thresholds as th


def _bimodal(n=40_000, seed=0, frac=0.4, m1=0.2, m2=0.7, sd=0.05):
    rng = np.random.default_rng(seed)
    k = int(n * frac)
    return np.concatenate([rng.normal(m1, sd, n - k), rng.normal(m2, sd, k)])


def test_density_valley_between_two_peaks():
    # equal-variance Gaussians with weights 0.6/0.4: density minimum near the midpoint,
    # shifted toward the smaller peak by sd²·ln(w1/w2)/(m2-m1) = 0.002
    x = _bimodal()
    cut = th.density_valley(x)
    assert cut == pytest.approx(0.45 + 0.05**2 * np.log(0.6 / 0.4) / 0.5, abs=0.02)


def test_density_valley_one_peak_is_nan_and_status():
    x = np.random.default_rng(1).normal(0.3, 0.05, 20_000)
    assert np.isnan(th.density_valley(x))
    v, status = th.place("density_valley", x)
    assert np.isnan(v) and "one density peak" in status


def test_tail_cuts_rare_positives():
    """1 % positives 6 SD above a negative peak: the tail cut lies between them and keeps ~all positives."""
    rng = np.random.default_rng(2)
    neg = rng.normal(0.3, 0.03, 99_000)
    pos = rng.normal(0.6, 0.03, 1_000)
    cut = th.tail(np.concatenate([neg, pos]))
    assert 0.33 < cut < 0.5
    assert (pos >= cut).mean() > 0.99 and (neg >= cut).mean() < 0.01
    # side='max' mirrors it: the left shoulder
    cut_lo = th.tail(-np.concatenate([neg, pos]), side="max")
    assert cut_lo == pytest.approx(-cut, abs=1e-9)


def test_control_quantile_closed_form():
    ctl = np.arange(1, 1001, dtype=float)
    assert th.control_quantile(ctl, q=0.99) == pytest.approx(np.quantile(ctl, 0.99))
    assert th.control_quantile(ctl, q=0.99, side="max") == pytest.approx(np.quantile(ctl, 0.01))


def test_mixture_cut_equal_weighted_densities():
    x = _bimodal(n=60_000, frac=0.5, sd=0.06)
    # equal weights and SDs: the cut is the midpoint
    assert th.mixture(x) == pytest.approx(0.45, abs=0.01)


def test_singlet_polygon_band_around_line():
    rng = np.random.default_rng(3)
    a = rng.uniform(20_000, 200_000, 30_000)
    h = 0.85 * a + rng.normal(0, 2_000, a.size)
    poly = np.array(th.singlet_polygon(a, h, level=0.99))
    assert poly.shape == (4, 2)
    lower = (poly[1, 1] - poly[0, 1]) / (poly[1, 0] - poly[0, 0])
    assert lower == pytest.approx(0.85, abs=0.005)
    width = (poly[3, 1] - poly[0, 1]) / 2
    assert width == pytest.approx(2.576 * 2_000, rel=0.05)


def test_place_too_few_events():
    v, status = th.place("tail", np.ones(10))
    assert np.isnan(v) and "too few events (10 < 50)" in status


def _tube(name: str, pos_frac: float, seed: int) -> FlowSample:
    rng = np.random.default_rng(seed)
    n = 20_000
    fsc = rng.normal(50_000, 5_000, n)
    k = int(n * pos_frac)
    fl1 = np.concatenate([rng.normal(200, 60, n - k), rng.normal(20_000, 3_000, k)])
    return FlowSample(name, None, np.column_stack([fsc, fl1]), ("FSC-A", "FL1-A"), ("", "CD4"))


def _strategy():
    import flowkit as fk

    gs = fk.GatingStrategy()
    gs.add_transform("lg", af.logicle())
    gs.add_gate(fk.gates.RectangleGate("Cells", [fk.Dimension("FSC-A", range_min=0.0)]), ("root",))
    gs.add_gate(fk.gates.RectangleGate("CD4pos", [fk.Dimension("FL1-A", "uncompensated", "lg", range_min=0.9)]),
                ("root", "Cells"))
    return gs


def test_thresholds_placed_recorded_and_exported():
    tubes = [_tube("a", 0.3, 1), _tube("b", 0.5, 2)]
    st = af.FlowSettings(workers=1, thresholds=({"gate": "CD4pos", "method": "density_valley"},))
    res = af.gate(tubes, strategy=_strategy(), settings=st, progress=False)
    t = res.thresholds
    assert list(t.columns) == ["sample", "gate", "channel", "side", "method", "value", "by", "pooled_samples",
                               "n_events", "status"]
    assert t["status"].eq("ok").all() and t["value"].between(0.3, 0.75).all()
    got = res.stats[res.stats["population"] == "CD4pos"].set_index("sample")
    assert got.loc["a", "pct_parent"] == pytest.approx(30, abs=0.5)
    assert got.loc["b", "pct_parent"] == pytest.approx(50, abs=0.5)
    # the placed boundary is the sample's custom gate in the exported GatingML, ids valid NCNames
    buf = io.BytesIO()
    af.export_gatingml(res.strategy, buf, sample="a")
    xml = buf.getvalue().decode()
    assert f"{t.set_index('sample').at['a', 'value']:.6f}"[:6] in xml
    ids = re.findall(r'gating:id="([^"]+)"', xml)
    assert ids and all(re.fullmatch(r"[A-Za-z_][\w.-]*", i) for i in ids)
    import flowkit as fk

    back = fk.parse_gating_xml(io.BytesIO(buf.getvalue()))
    assert back.get_gate("CD4pos").dimensions[0].min == pytest.approx(t.set_index("sample").at["a", "value"])


def test_thresholds_pooled_by_group_and_control_quantile():
    tubes = [_tube("a", 0.3, 1), _tube("b", 0.5, 2), _tube("ctl", 0.0, 3)]
    sheet = pd.DataFrame({"sample": ["a", "b", "ctl"], "group": ["g", "g", "c"], "control": ["ctl", "ctl", ""]})
    st = af.FlowSettings(workers=1, thresholds=({"gate": "CD4pos", "method": "density_valley", "by": "group"},))
    res = af.gate(tubes, strategy=_strategy(), settings=st, sample_sheet=sheet, progress=False)
    t = res.thresholds.set_index("sample")
    assert t.at["a", "value"] == t.at["b", "value"] and t.at["a", "by"] == "group"
    assert t.at["a", "pooled_samples"] == "a,b"
    st2 = af.FlowSettings(workers=1, thresholds=({"gate": "CD4pos", "method": "control_quantile",
                                                  "params": {"q": 0.999}},))
    res2 = af.gate(tubes, strategy=_strategy(), settings=st2, sample_sheet=sheet, progress=False)
    t2 = res2.thresholds.set_index("sample")
    assert t2.at["a", "pooled_samples"] == "ctl" and t2.at["a", "by"] == "control"
    assert t2.at["a", "value"] == t2.at["b", "value"]
    pct = res2.stats[res2.stats["population"] == "CD4pos"].set_index("sample")["pct_parent"]
    assert pct["ctl"] == pytest.approx(0.1, abs=0.1)  # the control's own 99.9th percentile
    assert t2.at["ctl", "status"].startswith("no control named")


def test_control_missing_is_an_error():
    st = af.FlowSettings(workers=1, thresholds=({"gate": "CD4pos", "method": "control_quantile",
                                                 "params": {"control": "FMO_CD4"}},))
    with pytest.raises(AnalysisError, match="control_quantile needs the control sample"):
        af.gate([_tube("a", 0.3, 1)], strategy=_strategy(), settings=st, progress=False)


def test_threshold_settings_validation():
    with pytest.raises(SettingsError, match="unknown threshold method"):
        af.FlowSettings(thresholds=({"gate": "X", "method": "magic"},))
    with pytest.raises(SettingsError, match=r"key thresholds.chanel: not a key"):
        af.FlowSettings(thresholds=({"gate": "X", "method": "tail", "chanel": "CD4"},))
    s = af.FlowSettings.from_mapping({"thresholds": [{"gate": "X", "method": "tail", "params": {"tol": 0.02}}]})
    assert s.thresholds[0].param("tol", 0) == 0.02
    assert s.to_dict()["thresholds"] == [{"gate": "X", "method": "tail", "side": "min", "params": {"tol": 0.02}}]


def test_threshold_channel_not_in_gate():
    st = af.FlowSettings(workers=1, thresholds=({"gate": "CD4pos", "method": "tail", "channel": "FSC-A"},))
    res = af.gate([_tube("a", 0.3, 1)], strategy=_strategy(), settings=st, progress=False)
    assert "threshold channel is not a dimension of the gate" in res.errors.at[0, "error"]


def test_th_template_recovers_simulated_truth():
    """Protocol thresholds on the shipped simulated tubes: each subset's % of parent within 4 binomial SE."""
    from assaykit.protocols import read_protocol_table

    folder = Path(af.__file__).parents[1] / "datasets"
    files = sorted((folder / "flow_th").glob("*_stim.fcs"))
    truth = pd.read_csv(folder / "flow_th_truth.csv")
    opts, _ = read_protocol_table("flow_th_subsets", "flow")
    res = af.gate(files, settings=af.FlowSettings.from_mapping(opts).replace(workers=1), progress=False)
    m = res.stats.merge(truth, on=["sample", "population"], suffixes=("", "_truth"))
    assert len(m) == 13 * len(files)
    p = m["pct_parent_truth"] / 100
    se = np.sqrt(np.clip(p * (1 - p), 1e-4, None) / m["parent_count"]) * 100
    assert (np.abs(m["pct_parent"] - m["pct_parent_truth"]) <= 4 * se + 0.6).all(), m


def test_threshold_for_unknown_gate():
    st = af.FlowSettings(workers=1, thresholds=({"gate": "CD8pos", "method": "tail"},))
    with pytest.raises(SettingsError, match=r"key thresholds, gate CD8pos: a threshold names a gate that is not in the strategy"):
        af.gate([_tube("a", 0.3, 1)], strategy=_strategy(), settings=st, progress=False)
