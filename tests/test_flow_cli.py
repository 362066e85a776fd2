"""``assaykit flow`` (in-process with click's CliRunner) and its helpers, on the bundled simulated tubes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from assaykit.cli import main
from assaykit.cli.flow import _leaves, expand_inputs, load_labels, read_sample_sheet, run_flow
from assaykit.datasets import path
from assaykit.errors import ReaderError
from assaykit.simulate.flow import simulate_th_panel, write_fcs

fk = pytest.importorskip("flowkit")

SHEET = path("flow_th_samples.csv")
FCS_DIR = SHEET.parent / "flow_th"
FAST = ("--workers", "1", "--no-progress")


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0], lines[0]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("flow_cli")
    res = invoke("flow", FCS_DIR, "--samples", SHEET, "--protocol", "flow_th_subsets", "--group-column", "condition",
                 *FAST, "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    return out, res


def test_writes_every_output(full_run):
    out, res = full_run
    names = {p.name for p in out.iterdir()}
    samples = pd.read_csv(SHEET)["sample"]
    expected = {"stats.csv", "thresholds.csv", "errors.csv", "results.xlsx", "strategy.xml", "frequencies.png"}
    expected |= {f"gates_{s}.png" for s in samples} | {f"strategy_{s}.xml" for s in samples}
    assert expected <= names
    assert res.stdout.count("\n") == len(samples)  # one summary line per sample
    assert "D1_stim: IFNgpos" in res.stdout and "Th17" in res.stdout
    assert "wrote" in res.stderr and "error:" not in res.stderr


def test_stats_table_joins_the_sample_sheet(full_run):
    out, _ = full_run
    stats = pd.read_csv(out / "stats.csv")
    assert len(stats) == 6 * 13
    for col in ("sample", "population", "parent", "path", "count", "pct_parent", "pct_total", "pct_of", "pct_ancestor",
                "median_cd25", "mean_foxp3", "geomean_ifng", "mfi_flag", "donor", "condition", "control"):  # fmt: skip
        assert col in stats.columns, col
    assert set(stats["population"]) == {"Lymphocytes", "Singlets", "Live", "CD3pos", "CD4pos", "IFNgpos", "IL17Apos",
                                        "Th1", "Th17", "Th1_17", "Tfh", "Treg", "TregFoxp3"}  # fmt: skip
    th1 = stats.loc[stats["population"] == "Th1"].set_index("sample")
    assert (th1.loc[["D1_stim", "D2_stim", "D3_stim"], "pct_parent"] > 5).all()
    assert (th1.loc[["D1_unstim", "D2_unstim", "D3_unstim"], "pct_parent"] < 1).all()
    assert (th1["pct_ancestor"] == "CD4pos").all()  # --protocol flow_th_subsets: pct_of = "CD4pos"
    assert np.allclose(th1["pct_of"], th1["pct_parent"])


def test_workbook_has_info_and_tables(full_run):
    out, _ = full_run
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert wb.sheetnames == ["info", "stats", "thresholds", "errors"]
    info = {r[1]: r[2] for r in wb["info"].iter_rows(values_only=True) if r[0] == "parameter"}
    assert info["command"] == "assaykit flow"
    assert info["strategy"] == "th_subsets" and info["group_column"] == "condition"
    assert '"gate": "IFNgpos"' in info["thresholds"]
    assert "CD4+" in info["labels"]
    inputs = [r[1] for r in wb["info"].iter_rows(values_only=True) if r[0] == "input"]
    assert "D1_stim.fcs" in inputs and "flow_th_subsets.toml" in inputs and "flow_th_samples.csv" in inputs


def test_exported_per_sample_gatingml_reproduces_the_counts_in_flowkit(full_run):
    """The strategy written for a sample, gated by FlowKit itself, gives exactly the counts of stats.csv."""
    out, _ = full_run
    stats = pd.read_csv(out / "stats.csv")
    thresholds = pd.read_csv(out / "thresholds.csv")
    for sample in ("D1_stim", "D2_unstim"):
        gs = fk.parse_gating_xml(str(out / f"strategy_{sample}.xml"))
        # the placed boundaries are in the file
        row = thresholds.loc[(thresholds["sample"] == sample) & (thresholds["gate"] == "IFNgpos")].iloc[0]
        dim = gs.get_gate("IFNgpos").dimensions[0]
        assert dim.min == pytest.approx(row["value"], abs=1e-9)
        report = gs.gate_sample(fk.Sample(str(FCS_DIR / f"{sample}.fcs"))).report.set_index("gate_name")
        mine = stats.loc[stats["sample"] == sample].set_index("population")
        for pop in mine.index:
            assert int(report.loc[pop, "count"]) == int(mine.loc[pop, "count"]), (sample, pop)


def test_thresholds_table(full_run):
    out, _ = full_run
    thr = pd.read_csv(out / "thresholds.csv")
    assert set(thr["sample"]) == set(pd.read_csv(SHEET)["sample"])
    assert set(thr["method"]) >= {"singlet", "density_valley", "tail"}
    # a tail cut that cannot be placed (e.g. IL-17A of an unstimulated tube: nothing flattens) keeps the
    # template boundary and says so
    assert (thr["status"] == "ok").mean() > 0.9
    assert thr.loc[thr["status"] != "ok", "status"].str.contains("template boundary kept").all()
    cut = thr.loc[thr["gate"] == "CD3pos", "value"]
    assert cut.between(0.3, 0.6).all()  # between the CD3- (≈0.23) and CD3+ (≈0.64) peaks on the logicle scale


def test_a_failing_file_is_reported_and_the_others_complete(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    for name in ("D1_stim.fcs", "D2_stim.fcs"):
        shutil.copy(FCS_DIR / name, data / name)
    (data / "broken.fcs").write_bytes(b"FCS3.1    garbage")
    tube = simulate_th_panel(3000, seed=1)
    keep = [c for c in tube.channels if c != "APC-A"]  # no IFN-γ channel
    idx = [tube.channels.index(c) for c in keep]
    write_fcs(data / "no_ifng.fcs", tube.data[:, idx], keep, markers=[tube.markers[i] for i in idx],
              spillover=tube.spillover.drop(index="APC-A", columns="APC-A"))  # fmt: skip
    res = invoke("flow", data, *FAST, "--no-figures", "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert set(errors["sample"]) == {"broken", "no_ifng"}
    msg = errors.set_index("sample")["error"]
    assert "broken.fcs" in msg["broken"]
    assert "APC-A" in msg["no_ifng"]
    stats = pd.read_csv(tmp_path / "out" / "stats.csv")
    assert set(stats["sample"]) == {"D1_stim", "D2_stim"}
    assert "2 file(s) or sample(s) failed" in res.stderr
    assert res.stderr.count("error: ") == 2


def test_every_file_failing_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(b"")
    assert_one_line_error(invoke("flow", bad, *FAST, "-o", tmp_path / "out"), "no sample could be gated")


def test_bad_options_are_one_line_errors(tmp_path):
    fcs = FCS_DIR / "D1_stim.fcs"
    assert_one_line_error(invoke("flow", fcs, "--strategy", "nope", *FAST, "-o", tmp_path / "o1"),
                          "unknown gating template")  # fmt: skip
    proto = tmp_path / "p.toml"
    proto.write_text("[flow]\nthreshold = 'tail'\n")
    assert_one_line_error(invoke("flow", fcs, "--protocol", proto, *FAST, "-o", tmp_path / "o2"), "key threshold")
    proto.write_text("[flow]\n[[flow.thresholds]]\ngate = 'CD4pos'\nmethod = 'magic'\n")
    assert_one_line_error(invoke("flow", fcs, "--protocol", proto, *FAST, "-o", tmp_path / "o3"),
                          "unknown threshold method")  # fmt: skip
    assert_one_line_error(invoke("flow", fcs, "--protocol", "no_such_protocol", *FAST, "-o", tmp_path / "o4"),
                          "protocol not found")  # fmt: skip
    sheet = tmp_path / "s.csv"
    sheet.write_text("name,donor\nD1_stim,D1\n")
    assert_one_line_error(invoke("flow", fcs, "--samples", sheet, *FAST, "-o", tmp_path / "o5"), "no 'sample' column")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(invoke("flow", empty, *FAST, "-o", tmp_path / "o6"), "folder holds no FCS file")
    res = invoke("flow", fcs, "--mfi-source", "banana", "-o", tmp_path / "o7")
    assert res.exit_code == 2  # click usage error


def test_gatingml_strategy_path_without_protocol(tmp_path):
    """A GatingML path as strategy, template boundaries as written (no thresholds), gate ids as labels."""
    xml = path("flow_th_samples.csv").parents[2] / "protocols" / "flow_th_subsets.xml"
    if not xml.is_file():
        pytest.skip("protocols/ not beside the package")
    res = invoke("flow", FCS_DIR / "D1_stim.fcs", "--strategy", xml, *FAST, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "out" / "thresholds.csv").empty
    assert not list((tmp_path / "out").glob("strategy_*.xml"))
    gs = fk.parse_gating_xml(str(tmp_path / "out" / "strategy.xml"))
    assert gs.get_gate("CD4pos").dimensions[0].min == pytest.approx(0.55)
    report = gs.gate_sample(fk.Sample(str(FCS_DIR / "D1_stim.fcs"))).report.set_index("gate_name")
    stats = pd.read_csv(tmp_path / "out" / "stats.csv").set_index("population")
    assert int(report.loc["Th1", "count"]) == int(stats.loc["Th1", "count"])


def test_helpers(tmp_path):
    labels = load_labels(None, "th_subsets")
    assert labels["CD4pos"] == "CD4+" and labels["Th1_17"].startswith("Th1/17")
    assert load_labels(None, "/some/file.xml") == {}
    files = expand_inputs([FCS_DIR, tmp_path / "missing.fcs"])
    assert [f.name for f in files][:2] == ["D1_stim.fcs", "D1_unstim.fcs"] and files[-1].name == "missing.fcs"
    with pytest.raises(ReaderError, match="no FCS file given"):
        expand_inputs([])
    sheet = read_sample_sheet(SHEET)
    assert list(sheet.columns) == ["sample", "donor", "condition", "control", "file", "n_events"]
    dup = tmp_path / "dup.csv"
    dup.write_text("sample\na\na\n")
    with pytest.raises(ReaderError, match="sample a: sample listed twice"):
        read_sample_sheet(dup)


def test_run_flow_in_python_with_extra_tables(tmp_path):
    run = run_flow([FCS_DIR / "D1_stim.fcs", FCS_DIR / "D1_unstim.fcs"], tmp_path, protocol="flow_th_subsets",
                   options={"workers": 1}, progress=False, figures=False,
                   extra_tables=lambda r: {"extra": r.stats[["sample", "population"]]})  # fmt: skip
    wb = openpyxl.load_workbook(tmp_path / "results.xlsx", read_only=True)
    assert wb.sheetnames[-1] == "extra"
    assert run.settings.pct_of == "CD4pos" and run.errors.empty
    assert np.isfinite(run.result.stats["pct_parent"]).all()


def test_flowjo_workspace_strategy(tmp_path):
    """A FlowJo .wsp as strategy: FlowJo's stored count (51 events in the ellipse), the per-sample strategy
    written as GatingML (FlowKit gives the same count from it) and a gate figure."""
    data = Path(__file__).resolve().parent / "data" / "flow"
    fcs, wsp = data / "data_set_simple_line_100.fcs", data / "single_ellipse_51_events.wsp"
    if not wsp.is_file():
        pytest.skip("tests/data/flow not present")
    res = invoke("flow", fcs, "--strategy", wsp, "--group", "All Samples", *FAST, "-o", tmp_path)
    assert res.exit_code == 0, res.output
    stats = pd.read_csv(tmp_path / "stats.csv")
    assert stats.set_index("population").loc["ellipse1", "count"] == 51
    xml = tmp_path / "strategy_data_set_simple_line_100.xml"
    gs = fk.parse_gating_xml(str(xml))
    report = gs.gate_sample(fk.Sample(str(fcs))).report.set_index("gate_name")
    assert int(report.loc["ellipse1", "count"]) == 51
    assert (tmp_path / "gates_data_set_simple_line_100.png").stat().st_size > 1000
    bad = invoke("flow", fcs, "--strategy", wsp, "--group", "Nope", *FAST, "-o", tmp_path / "o2")
    assert_one_line_error(bad, "no such sample group")


def test_final_populations_named_by_path_when_an_id_repeats():
    stats = pd.DataFrame({"sample": "s", "population": ["CD4", "IFNg", "CD8", "IFNg"],
                          "path": ["CD4", "CD4/IFNg", "CD8", "CD8/IFNg"], "pct_parent": [60.0, 5.0, 30.0, 20.0]})  # fmt: skip
    named, leaves = _leaves(stats)
    assert leaves == ["CD4/IFNg", "CD8/IFNg"]
    assert list(named["population"]) == ["CD4", "CD4/IFNg", "CD8", "CD8/IFNg"]
    _, unique = _leaves(stats.iloc[:2])
    assert unique == ["IFNg"]
