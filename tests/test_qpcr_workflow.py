"""The qPCR workflow layer: ``assaykit.qpcr.workflow.run(data, settings)``.

Numbers are checked against the library calls the workflow is defined by (exact, the same
code path) and against a simulated run with a known truth: noise-free Cq, so Livak's fold
change equals the simulated one to rounding (rtol 1e-12).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import assaykit
import assaykit.qpcr
import assaykit.qpcr.workflow
from assaykit.cli.qpcr import run_qpcr
from assaykit.datasets import path
from assaykit.errors import AnalysisError
from assaykit.qpcr import (
    QpcrRunResult,
    QpcrSettings,
    calibrate_runs,
    ddct,
    standard_curve,
    workflow,
)
from assaykit.simulate import simulate_qpcr_run

RUN = path("qpcr_th_panel_quantstudio.txt")
LAYOUT = path("qpcr_th_panel_layout.toml")
PBMC = path("qpcr_pbmc_quantstudio.txt")
PBMC_LAYOUT = path("qpcr_pbmc_layout.toml")
BASE = {"reference": ["GAPDH", "ACTB"], "control": "vehicle", "group_col": "condition"}


@pytest.fixture(scope="module")
def th():
    return assaykit.annotate(assaykit.read_qpcr(RUN), assaykit.read_layout(LAYOUT), how="left")


@pytest.fixture(scope="module")
def pbmc():
    return assaykit.annotate(assaykit.read_qpcr(PBMC), assaykit.read_layout(PBMC_LAYOUT))


def _same(a, b) -> None:
    for name in ("wells", "samples", "groups", "stats"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_protocol_settings_give_ddct_with_the_runs_standard_curves(th):
    from assaykit.cli.qpcr import load_protocol

    s = QpcrSettings.from_mapping(load_protocol("qpcr_th_panel"))
    res = workflow.run(th, s)
    assert isinstance(res, QpcrRunResult) and res.method == "pfaffl"
    ref = ddct(th, ["GAPDH", "ACTB"], "vehicle", group_col="condition", method="pfaffl",
               efficiency=standard_curve(th), outlier="median", outlier_threshold=0.5, error="sem")  # fmt: skip
    _same(res.ddct, ref)
    assert list(res.tables()) == ["wells", "samples", "groups", "stats", "standard_curves", "standard_points"]
    pd.testing.assert_frame_equal(res.tables()["standard_curves"], standard_curve(th).curves)
    p = res.parameters()
    assert p["efficiency"] == workflow.AUTO_LABEL and p["method"] == "pfaffl"
    assert p["efficiency_RORC"] == pytest.approx(0.8704, abs=1e-4)  # the run's standard curve (as test_cli_qpcr)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.method = "livak"  # type: ignore[misc]


def test_workflow_equals_the_command(th, tmp_path):
    run = run_qpcr(RUN, tmp_path, layout=LAYOUT, protocol="qpcr_th_panel", figures=False)
    res = workflow.run(th, QpcrSettings.from_mapping(run.options))
    for name, table in res.tables().items():
        got = pd.read_csv(tmp_path / f"{name}.csv")
        if name == "groups":
            np.testing.assert_allclose(got["fold_change"], table["fold_change"], rtol=1e-12)
        assert len(got) == len(table)
    assert run.workflow.parameters() == res.parameters()


def test_method_follows_the_efficiencies(pbmc):
    s = QpcrSettings.from_mapping(BASE)
    assert workflow.run(pbmc, s).method == "livak"
    eff = {"GAPDH": 0.97, "ACTB": 0.95, "IL6": 0.9, "TNF": 0.92}
    with_table = workflow.run(pbmc, s.replace(efficiency=eff))
    assert with_table.method == "pfaffl" and with_table.parameters()["efficiency"] == eff
    _same(with_table.ddct, ddct(pbmc, ["GAPDH", "ACTB"], "vehicle", group_col="condition", method="pfaffl",
                                efficiency=eff))  # fmt: skip
    assert with_table.parameters()["efficiency_IL6"] == 0.9
    thermo = workflow.run(pbmc, s.replace(efficiency=eff, method="thermo_ecq"))
    assert thermo.method == "thermo_ecq"
    np.testing.assert_allclose(thermo.ddct.groups["fold_change"], with_table.ddct.groups["fold_change"], rtol=1e-12)
    # efficiencies obtained by the caller (e.g. another run's standard curves)
    given = workflow.run(pbmc, s, efficiency=eff)
    assert given.method == "pfaffl" and given.parameters()["efficiency"] == eff
    file_read = workflow.run(pbmc, s.replace(efficiency="eff.csv"), efficiency=eff)
    assert file_read.parameters()["efficiency"] == "eff.csv"
    _same(given.ddct, with_table.ddct)
    _same(file_read.ddct, with_table.ddct)


def test_known_fold_change_of_a_simulated_run():
    w = simulate_qpcr_run(targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": 4.0}}, sd_tech=0.0)
    data = w.assign(quantity=np.nan, cq_raw=w["cq"].astype(str), tm=np.nan, group=w["condition"])
    res = workflow.run(data, QpcrSettings(reference=("GAPDH",), control="vehicle", test=None))
    g = res.ddct.groups.set_index("group")
    np.testing.assert_allclose(g.loc["drug", "fold_change"], 4.0, rtol=1e-12)
    assert res.parameters()["test"] is None and res.parameters()["efficiency"] is None


def test_calibrators_run_first(th):
    """Two copies of the run, the second 0.5 cycles late: the run offsets are ∓0.25 (closed form)."""
    data = pd.concat([th.assign(plate="p1"), th.assign(plate="p2", cq=th["cq"] + 0.5)], ignore_index=True)
    s = QpcrSettings.from_mapping({**BASE, "calibrators": "D1_vehicle", "test": "none"})
    res = workflow.run(data, s)
    cal = calibrate_runs(data, ["D1_vehicle"])
    pd.testing.assert_frame_equal(res.calibration.offsets, cal.offsets)
    pd.testing.assert_frame_equal(res.data, cal.data)
    off = res.calibration.offsets.set_index("plate")["run_offset"]
    np.testing.assert_allclose(off.loc["p1"], -0.25, atol=1e-12)
    np.testing.assert_allclose(off.loc["p2"], 0.25, atol=1e-12)
    assert list(res.tables())[-1] == "run_calibration"
    assert res.parameters()["calibrators"] == ["D1_vehicle"]
    _same(res.ddct, ddct(cal.data, ["GAPDH", "ACTB"], "vehicle", group_col="condition", test=None))
    # the calibrated pooled run gives the single run's fold changes
    one = ddct(th, ["GAPDH", "ACTB"], "vehicle", group_col="condition", test=None)
    np.testing.assert_allclose(res.ddct.groups["fold_change"], one.groups["fold_change"], rtol=1e-9)


def test_workflow_passes_every_setting_to_ddct(th, monkeypatch):
    seen = {}
    real = assaykit.qpcr.ddct

    def spy(data, reference, control, **kw):
        seen.update(kw, reference=reference, control=control)
        return real(data, reference, control, **kw)

    monkeypatch.setattr(assaykit.qpcr.workflow, "ddct", spy)
    workflow.run(th, QpcrSettings.from_mapping({**BASE, "ntc_margin": 2, "pairing": "separate"}))
    assert seen["reference"] == ["GAPDH", "ACTB"] and seen["control"] == "vehicle"
    assert seen["ntc_margin"] == 2.0 and seen["pairing"] == "separate" and seen["method"] == "livak"


def test_parameters_list_every_setting(pbmc):
    res = workflow.run(pbmc, QpcrSettings.from_mapping(BASE))
    p = res.parameters()
    assert list(p)[:4] == ["reference", "control", "group_col", "sample_col"]
    assert set(QpcrSettings.keys()) <= set(p)
    assert p["reference"] == ["GAPDH", "ACTB"] and p["tasks"] == ["unknown"] and p["calibrators"] is None
    assert not any(k.startswith("efficiency_") for k in p)  # Livak: no efficiencies used


@pytest.mark.parametrize(
    ("settings", "kwargs", "message"),
    [
        ({"control": "vehicle"}, {}, "no reference gene given (expected --reference GAPDH (repeatable) or reference"),
        ({"reference": "GAPDH"}, {}, "no control group given (expected --control NAME or control in a [qpcr] table"),
        ({**BASE, "efficiency": "auto"}, {}, "efficiency 'auto' needs standard wells in the run"),
        ({**BASE, "efficiency": "eff.csv"}, {},
         "key efficiency: efficiency file not read (expected run(data, settings, efficiency=<its table>)"),
        ({**BASE, "efficiency": "auto"}, {"efficiency": {"GAPDH": 1.0}}, "key efficiency: efficiencies given twice"),
        ({**BASE, "method": "livak", "efficiency": {"GAPDH": 0.9}}, {}, "method='livak' assumes 100 % efficiency"),
        ({**BASE, "calibrators": ["NOPE"]}, {}, "sample NOPE: calibrator sample not found"),
    ],
)  # fmt: skip
def test_workflow_errors(pbmc, settings, kwargs, message):
    with pytest.raises(AnalysisError) as info:
        workflow.run(pbmc, QpcrSettings.from_mapping(settings), **kwargs)
    assert message in str(info.value)


def test_settings_must_be_qpcr_settings(pbmc):
    from assaykit.qpcr import DdctSettings

    with pytest.raises(AnalysisError, match="key settings: settings must be QpcrSettings .*found DdctSettings"):
        workflow.run(pbmc, DdctSettings(reference=("GAPDH",), control="vehicle"))


def test_run_qpcr_refuses_options_with_settings(tmp_path):
    with pytest.raises(AnalysisError, match="options given together with settings"):
        run_qpcr(RUN, tmp_path, options={"control": "x"}, settings=QpcrSettings())
