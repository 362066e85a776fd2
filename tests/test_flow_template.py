"""The shipped Th-subset template (protocols/flow_th_subsets.xml + .toml) read and applied by FlowKit itself."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from assaykit.simulate.flow import FLUOROCHROMES, POPULATIONS, simulate_th_panel

fk = pytest.importorskip("flowkit")

ROOT = Path(__file__).resolve().parent.parent
XML = ROOT / "protocols" / "flow_th_subsets.xml"
TOML = ROOT / "protocols" / "flow_th_subsets.toml"
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

HIERARCHY = {  # gate id -> parent gate id
    "Lymphocytes": None, "Singlets": "Lymphocytes", "Live": "Singlets", "CD3pos": "Live", "CD4pos": "CD3pos",
    "IFNgpos": "CD4pos", "IL17Apos": "CD4pos", "Th1": "CD4pos", "Th17": "CD4pos", "Th1_17": "CD4pos",
    "Tfh": "CD4pos", "Treg": "CD4pos", "TregFoxp3": "CD4pos",
}  # fmt: skip


@pytest.fixture(scope="module")
def strategy():
    return fk.parse_gating_xml(str(XML))


@pytest.fixture(scope="module")
def protocol():
    return tomllib.loads(TOML.read_text(encoding="utf-8"))


def _parents(strategy) -> dict[str, str | None]:
    out = {}
    for gate_id, path in strategy.get_gate_ids():
        out[gate_id] = None if path[-1] == "root" else path[-1]
    return out


def test_flowkit_parses_the_template_with_the_th_hierarchy(strategy):
    assert _parents(strategy) == HIERARCHY
    assert HIERARCHY == {k: v for k, v in POPULATIONS.items()}  # the simulator's truth uses the same ids
    for gate_id in HIERARCHY:
        assert NCNAME.match(gate_id), gate_id
    kinds = {g: type(strategy.get_gate(g)).__name__ for g in HIERARCHY}
    assert kinds["Lymphocytes"] == kinds["Singlets"] == "PolygonGate"
    assert {kinds[g] for g in ("Th1", "Th17", "Th1_17")} == {"BooleanGate"}
    assert kinds["Tfh"] == kinds["Treg"] == kinds["CD4pos"] == "RectangleGate"


def test_fluorescence_dimensions_use_the_file_spillover_and_logicle(strategy):
    xf = strategy.get_transform("Logicle_262144_0.5_4.5_0")
    assert type(xf).__name__ == "LogicleTransform"
    assert (xf.param_t, xf.param_w, xf.param_m, xf.param_a) == (262144, 0.5, 4.5, 0)
    seen = set()
    for gate_id in HIERARCHY:
        g = strategy.get_gate(gate_id)
        for d in getattr(g, "dimensions", []):
            seen.add(d.id)
            if d.id.startswith(("FSC", "SSC")):
                assert d.compensation_ref == "uncompensated" and d.transformation_ref is None
            else:
                assert d.compensation_ref == "FCS" and d.transformation_ref == "Logicle_262144_0.5_4.5_0"
    assert seen <= {"FSC-A", "FSC-H", "SSC-A", *FLUOROCHROMES}
    assert {"BUV395-A", "BUV496-A", "BV510-A", "APC-A", "PE-A", "BB515-A", "BV711-A", "PE-Cy7-A", "BV421-A",
            "PE-CF594-A"} <= seen  # fmt: skip


def test_protocol_toml_names_template_labels_and_valid_thresholds(protocol, strategy):
    assert protocol["protocol"]["template"] == XML.name
    assert protocol["flow"]["strategy"] == "th_subsets"
    labels = protocol["protocol"]["labels"]
    assert set(labels) == set(HIERARCHY)
    assert labels["CD4pos"] == "CD4+" and labels["Th1_17"].startswith("Th1/17")
    markers = set(FLUOROCHROMES.values())
    assert set(protocol["flow"]["mfi_channels"]) <= markers
    rules = protocol["flow"]["thresholds"]
    assert {r["gate"] for r in rules} >= {"Singlets", "Live", "CD3pos", "CD4pos", "IFNgpos", "IL17Apos", "Tfh", "Treg"}
    for rule in rules:
        assert rule["gate"] in HIERARCHY
        if "channel" in rule:  # the channel named is one of the gate's dimensions (by marker)
            g = strategy.get_gate(rule["gate"])
            dims = [FLUOROCHROMES.get(d.id, d.id) for d in g.dimensions]
            assert rule["channel"] in dims, rule


def test_protocol_table_builds_flow_settings(protocol):
    flow = pytest.importorskip("assaykit.flow")
    settings = flow.FlowSettings.from_mapping(protocol["flow"])
    assert settings.strategy == "th_subsets"
    assert len(settings.thresholds) == len(protocol["flow"]["thresholds"])
    assert settings.thresholds[0].gate == "Singlets"
    assert settings.pct_of == "CD4pos"


@pytest.mark.parametrize("seed", [11, 12])
def test_flowkit_gating_of_a_simulated_tube_is_near_the_truth(strategy, seed, tmp_path):
    """Template boundaries as shipped, applied by FlowKit: counts close to the simulator's truth.

    Tolerance: scatter gates catch a few monocytes, debris and doublets (≤ 2 % more events
    than the true single lymphocytes); from Live down, counts within max(5, 2 %) of the
    truth and % of parent within 0.5 percentage points.
    """
    tube = simulate_th_panel(30000, seed=seed, sample=f"s{seed}")
    path = tube.write(tmp_path / f"s{seed}.fcs")
    report = strategy.gate_sample(fk.Sample(str(path))).report.set_index("gate_name")
    truth = tube.populations.set_index("population")
    for pop in HIERARCHY:
        got, want = int(report.loc[pop, "count"]), int(truth.loc[pop, "count"])
        if pop in ("Lymphocytes", "Singlets"):
            assert want <= got <= 1.02 * want, pop
        else:
            assert abs(got - want) <= max(5, 0.02 * want), (pop, got, want)
            assert abs(report.loc[pop, "relative_percent"] - truth.loc[pop, "pct_parent"]) <= 0.5, pop
    # gate membership of the CD4+ T cells agrees event by event with the truth for > 99 %
    res = strategy.gate_sample(fk.Sample(str(path)))
    member = res.get_gate_membership("CD4pos")
    assert np.mean(member == tube.events["CD4pos"].to_numpy()) > 0.99


def test_template_round_trips_through_flowkit_export(strategy, tmp_path):
    out = tmp_path / "again.xml"
    with open(out, "wb") as fh:
        fk.export_gatingml(strategy, fh)
    again = fk.parse_gating_xml(str(out))
    assert _parents(again) == HIERARCHY
