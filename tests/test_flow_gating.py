"""Gating: exact membership against the GatingML 2.0 compliance truth, FlowJo's counts and FlowKit."""

from __future__ import annotations

import glob
import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assaykit.flow as af
from assaykit.errors import AnalysisError, AssaykitWarning, ReaderError
from assaykit.flow._engine import evaluate
from assaykit.flow._result import STAT_COLUMNS

DATA = Path(__file__).parent / "data" / "flow"
ONE = af.FlowSettings(workers=1)

# truth file name -> (gate id, path) where they differ
_TRUTH_ALIAS = {"ParQuadRect": "ParRectangle1"}


def _truth_local() -> dict[str, np.ndarray]:
    z = np.load(DATA / "data1_truth_packed.npz")
    n = int(z["n_events"])
    return {k: np.unpackbits(z[k])[:n].astype(bool) for k in z.files if k != "n_events"}


@pytest.fixture(scope="module")
def data1():
    return af.read_fcs(DATA / "data1.fcs")[0]


def _masks(sample, gml) -> dict[str, np.ndarray]:
    import flowkit as fk

    return {nd.gate_id: nd.mask for nd in evaluate(sample, fk.parse_gating_xml(str(gml)))[1:]}


def test_compliance_subset_local(data1):
    """Per-event truth of 11 compliance gates from tests/data (no ../shared needed)."""
    truth = _truth_local()
    seen = {}
    for gml in sorted(DATA.glob("gml_*.xml")):
        seen.update(_masks(data1, gml))
    assert set(truth) <= set(seen)
    for gid, t in truth.items():
        assert np.array_equal(seen[gid], t), gid


@pytest.mark.flowkit  # FlowKit's own gate_sample fails under pandas 3 (it pins pandas < 3)
def test_compliance_full_set_against_truth_and_flowkit(data1, corpus):
    """Every gate of every parseable GatingML 2.0 compliance file: truth and FlowKit, per event."""
    import flowkit as fk

    gdir = corpus("flow", "gate_ref")
    truth = {Path(p).stem[len("Results_"):]: np.loadtxt(p).astype(bool) for p in glob.glob(str(gdir / "truth" / "*.txt"))}
    fks = fk.Sample(str(gdir / "data1.fcs"))
    checked, compared = set(), 0
    for gml in sorted(glob.glob(str(gdir / "gml" / "*.xml"))):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gs = fk.parse_gating_xml(gml)
        except Exception:  # gml_range_gate_attr_testing.xml is a negative test of the parser
            assert "attr_testing" in gml
            continue
        nodes = evaluate(data1, gs)
        ref = gs.gate_sample(fks)
        for nd in nodes[1:]:
            assert np.array_equal(nd.mask, ref.get_gate_membership(nd.gate_id, gate_path=nd.path)), (gml, nd.gate_id)
            compared += 1
        for name, t in truth.items():
            gid = _TRUTH_ALIAS.get(name, name)
            hits = [nd for nd in nodes[1:] if nd.gate_id == gid]
            if hits:
                assert np.array_equal(hits[0].mask, t), (gml, name)
                checked.add(name)
    assert checked == set(truth)  # all 51 truth files matched event by event
    assert len(truth) == 51 and compared > 100


def _flowjo_counts(wsp: str) -> dict[str, int]:
    return {el.attrib["name"]: int(el.attrib["count"]) for el in ET.parse(wsp).iter()
            if el.tag.endswith("Population") and "count" in el.attrib}


@pytest.mark.parametrize("wsp", ["simple_diamond_example_quad_gate.wsp", "test_data_diamond_biex_rect.wsp",
                                 "test_data_diamond_asinh_rect.wsp", "test_data_diamond_asinh_rect2.wsp"])
def test_flowjo_workspace_counts_diamond(corpus, wsp):
    path = corpus("flow", "simple_diamond_example", wsp)
    fcs = corpus("flow", "simple_diamond_example", "test_data_diamond_01.fcs")
    res = af.gate([fcs], strategy=str(path), settings=ONE, progress=False)
    got = res.stats.set_index("population")["count"].to_dict()
    expected = _flowjo_counts(str(path))
    assert expected and got == expected


def test_flowjo_ellipse_count_local():
    """FlowJo stores 51 events in the ellipse of single_ellipse_51_events.wsp."""
    res = af.gate([DATA / "data_set_simple_line_100.fcs"], strategy=str(DATA / "single_ellipse_51_events.wsp"),
                  settings=ONE, progress=False)
    assert res.stats.set_index("population").at["ellipse1", "count"] == 51


def test_flowjo_workspace_samples_found_beside_wsp(corpus):
    res = af.gate(None, strategy=str(corpus("flow", "simple_line_example", "single_ellipse_51_events.wsp")),
                  settings=ONE, progress=False)
    assert res.errors.empty and res.stats["count"].tolist() == [51]


def test_wsp_with_missing_fcs_files(corpus):
    res = af.gate(None, strategy=str(corpus("flow", "8_color_data_set", "8_color_ICS.wsp")),
                  settings=af.FlowSettings(workers=1, group="DEN"), progress=False)
    assert res.stats.empty and len(res.errors) == 3
    assert res.errors["error"].str.contains("FCS file referenced by the FlowJo workspace is missing").all()
    assert res.errors["file"].str.endswith("_clean.fcs").all()


def test_wsp_flowkit_cannot_parse(tmp_path):
    p = tmp_path / "broken.wsp"
    p.write_text("<?xml version='1.0'?><Workspace><Groups><Group></Workspace>")
    with pytest.raises(ReaderError, match=r"broken.wsp: FlowKit cannot parse"):
        af.gate([DATA / "data1.fcs"], strategy=str(p), settings=ONE, progress=False)


def test_wsp_unknown_group(corpus):
    with pytest.raises(AnalysisError, match="no such sample group"):
        af.load_strategy(str(corpus("flow", "simple_line_example", "simple_poly_and_rect.wsp")), group="nope")


def test_stats_columns_and_percentages(data1):
    res = af.gate([data1], strategy=str(DATA / "gml_quadrant1_gate.xml"),
                  settings=af.FlowSettings(workers=1, mfi_channels=("FL1-H", "CD8 B PE")), progress=False)
    st = res.stats
    assert list(st.columns[:9]) == list(STAT_COLUMNS)
    assert [c for c in st.columns if c.startswith(("median_", "mean_", "geomean_"))] == [
        "median_fl1_h", "mean_fl1_h", "geomean_fl1_h", "median_cd8_b_pe", "mean_cd8_b_pe", "geomean_cd8_b_pe"]
    assert st["count"].sum() == data1.n_events  # the four quadrants partition the events
    row = st.set_index("population").loc["FL2P-FL4P"]
    assert row["parent"] == "root" and row["path"] == "Quadrant1/FL2P-FL4P"
    assert row["pct_total"] == pytest.approx(100 * 620 / 13367)
    m = res.mask("data1", "FL2P-FL4P")
    assert row["median_fl1_h"] == pytest.approx(np.median(data1.events[m, 2]))
    assert row["mean_cd8_b_pe"] == pytest.approx(np.mean(data1.events[m, 3]))
    x = data1.events[m, 2]
    assert row["geomean_fl1_h"] == pytest.approx(np.exp(np.mean(np.log(x[x > 0]))))


def test_pct_of_ancestor_and_zero_event_gate(data1):
    """A child of an empty gate: counts 0, percentages 0 (never NaN), MFI NaN with a flag."""
    import flowkit as fk
    from flowkit import Dimension
    RectangleGate = fk.gates.RectangleGate

    gs = fk.GatingStrategy()
    gs.add_gate(RectangleGate("Big", [Dimension("FL1-H", range_min=0.0)]), ("root",))
    gs.add_gate(RectangleGate("Mid", [Dimension("FL2-H", range_min=10.0)]), ("root", "Big"))
    gs.add_gate(RectangleGate("Empty", [Dimension("FL3-H", range_min=1e12)]), ("root", "Big", "Mid"))
    gs.add_gate(RectangleGate("Child", [Dimension("FL4-H", range_min=0.0)]), ("root", "Big", "Mid", "Empty"))
    res = af.gate([data1], strategy=gs, settings=af.FlowSettings(workers=1, pct_of="Big", mfi_channels=("FL1-H",)),
                  progress=False)
    st = res.stats.set_index("population")
    assert st.at["Empty", "count"] == 0 and st.at["Child", "count"] == 0
    assert st.at["Child", "pct_parent"] == 0.0 and st.at["Child", "pct_of"] == 0.0
    assert st.at["Child", "pct_ancestor"] == "Big"
    assert np.isnan(st.at["Child", "median_fl1_h"]) and st.at["Child", "mfi_flag"] == "no events: MFI undefined"
    assert st.at["Mid", "pct_ancestor"] == "Big"
    assert st.at["Mid", "pct_of"] == pytest.approx(100 * st.at["Mid", "count"] / st.at["Big", "count"])
    assert st[["count", "pct_parent", "pct_total", "pct_of"]].notna().all().all()
    assert st.loc[["Big", "Mid"], "mfi_flag"].eq("").all()


def test_fast_path_equals_flowkit_on_real_panel(corpus):
    """A compensated, logicle-transformed tree on a real 16-channel file: every gate equals FlowKit."""
    import flowkit as fk
    from flowkit import Dimension
    BooleanGate, PolygonGate, RectangleGate = fk.gates.BooleanGate, fk.gates.PolygonGate, fk.gates.RectangleGate

    path = corpus("flow", "100715.fcs")
    (s,) = af.read_fcs(path)
    gs = fk.GatingStrategy()
    gs.add_transform("lg", fk.transforms.LogicleTransform(262144.0, 0.5, 4.5, 0.0))
    gs.add_gate(PolygonGate("Lym", [Dimension("FSC-A"), Dimension("SSC-A")],
                            [[20000, 0], [150000, 0], [150000, 80000], [20000, 60000]]), ("root",))
    gs.add_gate(RectangleGate("CD3p", [Dimension("R780-A", "FCS", "lg", range_min=0.45)]), ("root", "Lym"))
    gs.add_gate(PolygonGate("CD4p", [Dimension("V655-A", "FCS", "lg"), Dimension("R780-A", "FCS", "lg")],
                            [[0.45, 0.4], [0.9, 0.4], [0.9, 0.9], [0.45, 0.9]]), ("root", "Lym", "CD3p"))
    gs.add_gate(RectangleGate("CCR7p", [Dimension("G560-A", "FCS", "lg", range_min=0.4, range_max=0.95)]),
                ("root", "Lym", "CD3p", "CD4p"))
    gs.add_gate(RectangleGate("CD127p", [Dimension("G610-A", "FCS", "lg", range_min=0.42)]),
                ("root", "Lym", "CD3p", "CD4p"))
    gs.add_gate(BooleanGate("Both", "and", [
        {"ref": "CCR7p", "path": ("root", "Lym", "CD3p", "CD4p"), "complement": False},
        {"ref": "CD127p", "path": ("root", "Lym", "CD3p", "CD4p"), "complement": True}]),
        ("root", "Lym", "CD3p", "CD4p"))
    nodes = evaluate(s, gs)
    ref = gs.gate_sample(fk.Sample(str(path)))
    for nd in nodes[1:]:
        assert np.array_equal(nd.mask, ref.get_gate_membership(nd.gate_id, gate_path=nd.path)), nd.gate_id
    counts = {nd.gate_id: nd.count for nd in nodes[1:]}
    assert 0 < counts["Both"] < counts["CD4p"] < counts["CD3p"] < counts["Lym"]


def test_missing_channel_reported_and_others_complete(tmp_path, data1):
    import flowio

    ev = np.ones((10, 2), dtype=np.float32)
    p = tmp_path / "two_channels.fcs"
    with open(p, "wb") as fh:
        flowio.create_fcs(fh, ev.ravel(), ["FSC-H", "SSC-H"])
    bad = tmp_path / "broken.fcs"
    bad.write_bytes(b"FCS3.1    garbage")
    res = af.gate([data1, p, bad], strategy=str(DATA / "gml_poly1_gate.xml"), settings=ONE, progress=False)
    assert res.stats["sample"].unique().tolist() == ["data1"]
    err = res.errors.set_index("sample")
    assert list(res.errors.columns) == ["sample", "file", "error"]
    assert "sample two_channels, channel FL2-H, gate Polygon1: the sample has no channel the gate needs" in err.at["two_channels", "error"]
    assert "broken.fcs" in err.at["broken", "error"]


def test_spill_detectors_do_not_match(data1):
    import flowkit as fk
    from flowkit import Dimension
    RectangleGate = fk.gates.RectangleGate

    gs = fk.GatingStrategy()
    gs.add_comp_matrix("m", fk.Matrix(np.eye(2), ["FL1-H", "FLX-H"]))
    gs.add_gate(RectangleGate("R", [Dimension("FL1-H", "m", range_min=1.0)]), ("root",))
    res = af.gate([data1], strategy=gs, settings=ONE, progress=False)
    assert "channel FLX-H, gate R: spillover detectors do not match the sample's channels" in res.errors.at[0, "error"]


def test_sample_sheet_join_and_warning(data1, tmp_path):
    sheet = pd.DataFrame({"sample": ["data1", "other"], "donor": ["D1", "D2"]})
    res = af.gate([data1], strategy=str(DATA / "gml_rect1_gate.xml"), settings=ONE, sample_sheet=sheet, progress=False)
    assert res.stats["donor"].tolist() == ["D1"]
    csv = tmp_path / "sheet.csv"
    pd.DataFrame({"sample": ["zzz"], "donor": ["D9"]}).to_csv(csv, index=False)
    with pytest.warns(AssaykitWarning, match="not in the sample sheet"):
        af.gate([data1], strategy=str(DATA / "gml_rect1_gate.xml"), settings=ONE, sample_sheet=csv, progress=False)
    with pytest.raises(AnalysisError, match="needs a 'sample' column"):
        af.gate([data1], strategy=str(DATA / "gml_rect1_gate.xml"), settings=ONE,
                sample_sheet=pd.DataFrame({"x": [1]}), progress=False)


def test_strategy_forms(data1):
    import flowkit as fk

    gml = str(DATA / "gml_rect1_gate.xml")
    a = af.gate([data1], strategy=gml, settings=ONE, progress=False).stats
    b = af.gate([data1], strategy=fk.parse_gating_xml(gml), settings=ONE, progress=False).stats
    c = af.gate([data1], settings=af.FlowSettings(workers=1, strategy=gml), progress=False).stats
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert a["count"].tolist() == [252]


def test_unknown_template_and_missing_file():
    from assaykit.errors import ProtocolError, ReaderError

    with pytest.raises(ProtocolError, match="unknown gating template"):
        af.load_strategy("no_such_template")
    with pytest.raises(ReaderError, match="gating strategy file not found"):
        af.load_strategy("missing/strategy.xml")


def test_shipped_template_by_name():
    gs = af.load_strategy("th_subsets")
    ids = [g for g, _ in gs.get_gate_ids()]
    assert {"Lymphocytes", "Singlets", "Live", "CD3pos", "CD4pos", "Th1", "Th17", "Tfh", "Treg"} <= set(ids)


def test_result_is_frozen_and_masks(data1):
    res = af.gate([data1], strategy=str(DATA / "gml_poly1_gate.xml"), settings=ONE, progress=False)
    with pytest.raises(AttributeError):
        res.stats = None
    assert res.mask("data1", "Polygon1").sum() == res.stats.at[0, "count"]
    assert set(res.tables()) == {"stats", "thresholds", "errors"}
    no = af.gate([data1], strategy=str(DATA / "gml_poly1_gate.xml"),
                 settings=af.FlowSettings(workers=1, keep_masks=False), progress=False)
    assert dict(no.masks) == {}


def test_dimension_values_for_figures(data1):
    v, labels = af.dimension_values(data1, str(DATA / "gml_matrix_transform_logicle_rect1_gate.xml"), "ScaleRect1")
    assert v.shape == (data1.n_events, 2) and len(labels) == 2


def test_flowkit_counts_equal_on_simulated_th_batch():
    """Template + data-driven thresholds on the shipped simulated tubes: FlowKit, given the exported
    per-sample strategy, finds exactly our counts for every population."""
    import io

    import flowkit as fk

    import assaykit.datasets
    from assaykit.protocols import read_protocol_table

    opts, _ = read_protocol_table("flow_th_subsets", "flow")
    folder = Path(assaykit.datasets.__file__).parent / "flow_th"
    files = sorted(glob.glob(os.path.join(str(folder), "*.fcs")))[:2]
    res = af.gate(files, settings=af.FlowSettings.from_mapping(opts).replace(workers=1), progress=False)
    assert res.errors.empty
    for f in files:
        name = Path(f).stem
        buf = io.BytesIO()
        af.export_gatingml(res.strategy, buf, sample=name)
        buf.seek(0)
        rep = fk.parse_gating_xml(buf).gate_sample(fk.Sample(f, sample_id=name)).report
        ours = res.stats[res.stats["sample"] == name].set_index("population")["count"]
        assert {g: int(c) for g, c in zip(rep["gate_name"], rep["count"], strict=True)} == ours.to_dict()


def test_mfi_on_compensated_values_matches_flowkit(corpus):
    """Median/mean/geomean of compensated CD4 in a gate = the same statistics of FlowKit's compensated events."""
    import flowkit as fk

    path = corpus("flow", "100715.fcs")
    (s,) = af.read_fcs(path)
    gs = fk.GatingStrategy()
    gs.add_gate(fk.gates.PolygonGate("Lym", [fk.Dimension("FSC-A"), fk.Dimension("SSC-A")],
                                     [[20000, 0], [150000, 0], [150000, 80000], [20000, 60000]]), ("root",))
    res = af.gate([s], strategy=gs, settings=af.FlowSettings(workers=1, mfi_channels=("CD4",)), progress=False)
    fks = fk.Sample(str(path))
    comp = fk.Matrix(fks.metadata["spill"], [fks.pnn_labels[i] for i in fks.fluoro_indices]).apply(fks)
    x = comp[res.mask("100715", "Lym"), fks.pnn_labels.index("V655-A")]
    row = res.stats.iloc[0]
    assert row["median_cd4"] == pytest.approx(np.median(x), rel=1e-9)
    assert row["mean_cd4"] == pytest.approx(np.mean(x), rel=1e-9)
    assert row["geomean_cd4"] == pytest.approx(np.exp(np.mean(np.log(x[x > 0]))), rel=1e-9)
    raw = af.gate([s], strategy=gs, settings=af.FlowSettings(workers=1, mfi_channels=("CD4",), mfi_source="raw"),
                  progress=False).stats.iloc[0]
    assert raw["median_cd4"] == pytest.approx(np.median(s.events[res.mask("100715", "Lym"), s.channel("CD4")]))


@pytest.mark.parametrize("compensated", [False, True])
def test_events_on_the_boundary_match_flowkit(tmp_path, compensated):
    """Events within a few float32 steps of a logicle range boundary (the band the fast path
    transforms exactly), with and without compensation: membership = FlowKit's, event by event."""
    import flowio
    import flowkit as fk

    xf = af.logicle()
    bounds = (0.45, 0.8)
    rng = np.random.default_rng(7)
    near = []
    for b in bounds:
        r = np.float32(np.asarray(xf.inverse(np.array([[b]]))).ravel()[0])
        steps = np.arange(-40, 41).astype(np.float32)
        near.append(r + steps * np.spacing(r))  # ±40 float32 steps: inside and outside the ±1e-6 band
    fl1 = np.concatenate([*near, rng.uniform(-500, 50_000, 5_000)]).astype(np.float32)
    fl2 = rng.uniform(0, 5_000, fl1.size).astype(np.float32)
    spill = np.array([[1.0, 0.12], [0.07, 1.0]])
    if compensated:  # detector signals whose compensated FL1 sits near the boundary
        obs = np.column_stack([fl1, fl2]).astype(np.float64) @ spill
        fl1, fl2 = obs[:, 0].astype(np.float32), obs[:, 1].astype(np.float32)
    ev = np.column_stack([rng.uniform(1e4, 1e5, fl1.size).astype(np.float32), fl1, fl2])
    p = tmp_path / "edge.fcs"
    meta = {"spillover": "2,FL1-A,FL2-A," + ",".join(map(str, spill.ravel()))} if compensated else None
    with open(p, "wb") as fh:
        flowio.create_fcs(fh, ev.ravel(), ["FSC-A", "FL1-A", "FL2-A"], metadata_dict=meta)
    gs = fk.GatingStrategy()
    gs.add_transform("lg", xf)
    ref = "FCS" if compensated else "uncompensated"
    gs.add_gate(fk.gates.RectangleGate("R", [fk.Dimension("FL1-A", ref, "lg", range_min=bounds[0], range_max=bounds[1])]),
                ("root",))
    (s,) = af.read_fcs(p)
    nodes = evaluate(s, gs)
    truth = gs.gate_sample(fk.Sample(str(p))).get_gate_membership("R")
    assert np.array_equal(nodes[1].mask, truth)
    assert 0 < truth.sum() < truth.size


def test_workspace_result_not_exported_as_gatingml(tmp_path):
    res = af.gate([DATA / "data_set_simple_line_100.fcs"], strategy=str(DATA / "single_ellipse_51_events.wsp"),
                  settings=ONE, progress=False)
    with pytest.raises(AnalysisError, match="not exported as GatingML"):
        res.export_gatingml(tmp_path / "x.xml")
