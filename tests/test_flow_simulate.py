"""Flow cytometry simulator (assaykit.simulate.flow): truth, spillover, FCS files FlowKit reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assaykit.errors import AnalysisError
from assaykit.simulate.flow import (
    CHANNELS,
    DEFAULT_FREQUENCIES,
    FLUOROCHROMES,
    MARKERS,
    POPULATIONS,
    default_spillover,
    simulate_th_batch,
    simulate_th_panel,
    spillover_text,
    write_fcs,
)

fk = pytest.importorskip("flowkit")

N = 30000
FL = slice(3, 3 + len(FLUOROCHROMES))


@pytest.fixture(scope="module")
def tube():
    return simulate_th_panel(N, seed=7, sample="tube7")


@pytest.fixture(scope="module")
def fcs(tube, tmp_path_factory):
    return tube.write(tmp_path_factory.mktemp("sim") / "tube7.fcs", DONOR="D1")


# ------------------------------------------------------------------ determinism and shape
def test_same_seed_same_tube_and_other_seed_differs(tube):
    again = simulate_th_panel(N, seed=7, sample="tube7")
    assert np.array_equal(again.data, tube.data)
    pd.testing.assert_frame_equal(again.events, tube.events)
    other = simulate_th_panel(N, seed=8)
    assert not np.array_equal(other.data, tube.data)


def test_shape_channels_and_markers(tube):
    assert tube.data.shape == (N, 15) and tube.data.dtype == np.float32
    assert tube.channels == CHANNELS and tube.markers == MARKERS
    assert len([c for c in CHANNELS if c not in ("Time",)]) >= 12
    assert {"CD3", "CD4", "CD25", "CD127", "CXCR5", "PD1", "IFNg", "IL17A", "Foxp3", "CCR7", "Viability"} <= set(MARKERS)
    assert np.all(np.diff(tube.data[:, -1]) >= 0)  # Time increases
    assert list(tube.events["event"]) == list(range(N))


# ------------------------------------------------------------------ truth: exact bookkeeping
def test_population_counts_are_exactly_the_event_truth(tube):
    pops = tube.populations.set_index("population")
    assert list(pops.index) == list(POPULATIONS)
    ev = tube.events
    for pop, parent in POPULATIONS.items():
        assert pops.loc[pop, "count"] == int(ev[pop].sum())
        pcount = N if parent is None else int(ev[parent].sum())
        assert pops.loc[pop, "parent_count"] == pcount
        assert pops.loc[pop, "pct_parent"] == pytest.approx(100.0 * ev[pop].sum() / pcount, abs=1e-12)
        if parent is not None:  # every member of a child is a member of its parent
            assert not (ev[pop] & ~ev[parent]).any()
    # the labels behind the gate truth
    cd4 = ev["CD4pos"]
    assert (ev.loc[cd4, "lineage"] == "CD4").all()
    assert int(((ev["cytokine"] == "IFNg") & cd4).sum()) == pops.loc["Th1", "count"]
    assert int(((ev["subset"] == "Treg") & cd4).sum()) == pops.loc["Treg", "count"]
    assert (ev.loc[ev["Treg"], "cytokine"] == "none").all()


def test_realised_frequencies_match_the_model_within_binomial_error():
    sim = simulate_th_panel(200000, seed=3)
    pops = sim.populations.set_index("population")
    checked = 0
    for pop, row in pops.iterrows():
        p = row["model_pct_parent"] / 100
        if np.isnan(p):
            continue
        n = row["parent_count"]
        se = np.sqrt(p * (1 - p) / n)
        assert abs(row["pct_parent"] / 100 - p) <= 4 * se, pop
        checked += 1
    assert checked == 11
    ev = sim.events
    for kind, key in (("debris", "debris"), ("doublet", "doublets")):
        frac = (ev["event_type"] == kind).mean()
        p = DEFAULT_FREQUENCIES[key]
        assert abs(frac - p) <= 4 * np.sqrt(p * (1 - p) / len(ev))


def test_unstimulated_control_keeps_one_percent_of_cytokines():
    stim = simulate_th_panel(100000, seed=4).populations.set_index("population")
    unstim = simulate_th_panel(100000, seed=4, stimulated=False).populations.set_index("population")
    assert unstim.loc["Th1", "model_pct_parent"] == pytest.approx(stim.loc["Th1", "model_pct_parent"] / 100)
    assert unstim.loc["Th1", "count"] < 0.05 * stim.loc["Th1", "count"]
    assert unstim.loc["Treg", "model_pct_parent"] == stim.loc["Treg", "model_pct_parent"]


def test_custom_frequencies_are_used():
    sim = simulate_th_panel(50000, seed=5, frequencies={"Th17": 0.05, "Treg": 0.1})
    pops = sim.populations.set_index("population")
    assert pops.loc["Th17", "model_pct_parent"] == pytest.approx(5.0)
    assert pops.loc["Treg", "model_pct_parent"] == pytest.approx(10.0)
    assert abs(pops.loc["Th17", "pct_parent"] - 5.0) < 1.5


# ------------------------------------------------------------------ what the cytometer sees
def test_doublets_lie_below_the_singlet_diagonal(tube):
    ev = tube.events
    ratio = tube.data[:, 1] / tube.data[:, 0]
    singles = ratio[ev["event_type"].isin(["lymphocyte", "monocyte"]).to_numpy()]
    doublets = ratio[(ev["event_type"] == "doublet").to_numpy()]
    assert np.quantile(singles, 0.001) > 0.75
    assert np.quantile(doublets, 0.99) < 0.75
    assert 0.45 < np.median(doublets) < 0.65  # max(H1, H2) x 1.1 over A1 + A2


def test_spillover_applied_and_compensation_recovers_the_stains(tube):
    spill = default_spillover()
    assert np.allclose(np.diag(spill), 1.0)
    assert spill.loc["PE-A", "PE-CF594-A"] == 0.25
    ev = tube.events
    raw = tube.data[:, FL].astype(float)
    comp = np.linalg.solve(spill.to_numpy().T, raw.T).T
    il17 = list(FLUOROCHROMES).index("PE-A")
    foxp3 = list(FLUOROCHROMES).index("PE-CF594-A")
    th17_not_treg = (ev["cytokine"].isin(["IL17A", "both"]) & ev["CD4pos"]).to_numpy()
    # uncompensated: IL-17A+ cells light up the Foxp3 detector (25 % of PE); compensated: they do not
    assert np.median(raw[th17_not_treg, foxp3]) > 0.15 * np.median(raw[th17_not_treg, il17])
    neg = (ev["CD4pos"] & (ev["subset"] == "other")).to_numpy()
    assert np.median(comp[th17_not_treg, foxp3]) < 3 * np.median(comp[neg, foxp3]) + 100
    # stained cells are far above unstained ones after compensation
    treg = ev["Treg"].to_numpy()
    assert np.median(comp[treg, foxp3]) > 10 * np.median(comp[neg, foxp3])


def test_fmo_control_leaves_the_marker_unstained():
    full = simulate_th_panel(30000, seed=9)
    fmo = simulate_th_panel(30000, seed=9, fmo="CXCR5")
    j = 3 + list(FLUOROCHROMES.values()).index("CXCR5")
    tfh_full, tfh_fmo = full.events["Tfh"].to_numpy(), fmo.events["Tfh"].to_numpy()
    assert np.median(full.data[tfh_full, j]) > 2000
    assert np.median(fmo.data[tfh_fmo, j]) < 400
    assert fmo.settings["fmo"] == "CXCR5"


# ------------------------------------------------------------------ FCS files
def test_flowkit_reads_the_file_channels_markers_spillover_and_events(tube, fcs):
    sample = fk.Sample(str(fcs))
    assert tuple(sample.pnn_labels) == CHANNELS
    assert tuple(sample.pns_labels) == MARKERS
    assert sample.event_count == N
    assert np.array_equal(sample.get_events(source="raw"), tube.data.astype(np.float64))
    assert sample.metadata["donor"] == "D1" and sample.metadata["fil"] == "tube7.fcs"
    m = fk.Matrix(sample.metadata["spillover"], list(FLUOROCHROMES))
    assert list(m.detectors) == list(FLUOROCHROMES)
    assert np.array_equal(m.matrix, default_spillover().to_numpy())  # exact round trip
    sample.apply_compensation(m)
    comp = sample.get_events(source="comp")
    expect = np.linalg.solve(default_spillover().to_numpy().T, tube.data[:, FL].astype(float).T).T
    assert np.allclose(comp[:, FL], expect, rtol=1e-9, atol=1e-6)


def test_flowio_header_is_fcs31(fcs):
    import flowio

    fd = flowio.FlowData(str(fcs))
    assert fd.header["version"] == "3.1"
    assert fd.text["datatype"] == "F"
    assert fd.text["spillover"] == spillover_text(default_spillover())


def test_spillover_text_format():
    s = pd.DataFrame([[1.0, 0.1], [0.0, 1.0]], index=["A", "B"], columns=["A", "B"])
    assert spillover_text(s) == "2,A,B,1.0,0.1,0.0,1.0"
    with pytest.raises(AnalysisError, match="square"):
        spillover_text(pd.DataFrame([[1.0, 0.1]], columns=["A", "B"]))


def test_write_fcs_from_dataframe_and_errors(tmp_path):
    df = pd.DataFrame({"FSC-A": [1.0, 2.0], "FL1-A": [3.0, 4.0]})
    p = write_fcs(tmp_path / "x.fcs", df, markers=["", "CD4"], ranges=[1024, 1024])
    s = fk.Sample(str(p))
    assert list(s.pnn_labels) == ["FSC-A", "FL1-A"] and list(s.pns_labels) == ["", "CD4"]
    assert s.metadata["p2r"] == "1024"
    with pytest.raises(AnalysisError, match="channel names do not match"):
        write_fcs(tmp_path / "y.fcs", np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(AnalysisError, match="one marker per channel"):
        write_fcs(tmp_path / "y.fcs", df, markers=["x"])
    with pytest.raises(AnalysisError, match="channel FL9-A: spillover detector"):
        write_fcs(tmp_path / "y.fcs", df, spillover=pd.DataFrame([[1.0]], index=["FL9-A"], columns=["FL9-A"]))


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_events": 0}, "n_events must be at least 1"),
        ({"frequencies": {"Th2": 0.1}}, "key Th2: unknown frequency"),
        ({"frequencies": {"Th1": 1.5}}, "frequency must be a fraction"),
        ({"frequencies": {"CD4": 0.8, "CD8": 0.3}}, "sibling populations exceed 1"),
        ({"fmo": "CD8"}, "unknown FMO marker"),
        ({"spillover": pd.DataFrame(np.eye(2))}, "spillover must be fluorochromes x detectors"),
    ],
)
def test_bad_arguments_raise_one_line_errors(kwargs, message):
    kw = {"n_events": 100, **kwargs}
    with pytest.raises(AnalysisError, match=message) as err:
        simulate_th_panel(**kw)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ batches
def test_batch_writes_donors_by_conditions(tmp_path):
    sheet, truth = simulate_th_batch(tmp_path, donors=("D1", "D2"), n_events=3000, seed=2)
    assert list(sheet["sample"]) == ["D1_unstim", "D1_stim", "D2_unstim", "D2_stim"]
    assert list(sheet.columns) == ["sample", "donor", "condition", "file", "n_events"]
    assert all((tmp_path / f).is_file() for f in sheet["file"])
    assert len(truth) == 4 * len(POPULATIONS)
    t = truth.set_index(["sample", "population"])
    # donor effect: same model frequency in both conditions of a donor, different between donors
    assert t.loc[("D1_stim", "Treg"), "model_pct_parent"] == t.loc[("D1_unstim", "Treg"), "model_pct_parent"]
    assert t.loc[("D1_stim", "Treg"), "model_pct_parent"] != t.loc[("D2_stim", "Treg"), "model_pct_parent"]
    assert t.loc[("D1_unstim", "Th1"), "model_pct_parent"] < t.loc[("D1_stim", "Th1"), "model_pct_parent"] / 50
    s = fk.Sample(str(tmp_path / "D2_stim.fcs"))
    assert s.metadata["condition"] == "stim" and s.event_count == 3000
    again, _ = simulate_th_batch(tmp_path / "again", donors=("D1", "D2"), n_events=3000, seed=2)
    assert (tmp_path / "D2_stim.fcs").read_bytes() == (tmp_path / "again" / "D2_stim.fcs").read_bytes()


def test_batch_condition_fold_changes(tmp_path):
    conds = {"vehicle": {}, "drug": {"frequencies": {"Th17": 0.5}}}
    _, truth = simulate_th_batch(tmp_path, donors=("D1",), conditions=conds, n_events=2000, seed=1)
    t = truth.set_index(["condition", "population"])["model_pct_parent"]
    assert t[("drug", "Th17")] == pytest.approx(0.5 * t[("vehicle", "Th17")])


def test_spillover_under_the_facsdiva_spill_keyword(tube, tmp_path):
    p = write_fcs(tmp_path / "spill.fcs", tube.data, tube.channels, markers=tube.markers, spillover=tube.spillover,
                  spill_keyword="SPILL")  # fmt: skip
    raw = p.read_bytes()
    assert b"/SPILL/" in raw and b"$SPILLOVER" not in raw
    sample = fk.Sample(str(p))
    assert sample.metadata["spill"] == spillover_text(default_spillover())
    flow = pytest.importorskip("assaykit.flow")
    got = flow.read_fcs(p)[0]
    assert got.spill is not None and tuple(got.spill.detectors) == tuple(FLUOROCHROMES)
    assert np.array_equal(got.spill.matrix, default_spillover().to_numpy())
    with pytest.raises(AnalysisError, match="unsupported spillover keyword"):
        write_fcs(tmp_path / "x.fcs", tube.data, tube.channels, spillover=tube.spillover, spill_keyword="$SPILL")
