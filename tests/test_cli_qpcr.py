"""Tests of ``assaykit qpcr`` (in-process with click's CliRunner) and its helpers."""

from __future__ import annotations

import hashlib

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import assaykit
from assaykit.cli import main
from assaykit.cli.qpcr import (
    DEFAULTS,
    OPTION_KEYS,
    PROTOCOL_DIR,
    load_protocol,
    merge_options,
    read_efficiency_file,
    run_qpcr,
)
from assaykit.datasets import path
from assaykit.errors import AnalysisError, ProtocolError, ReaderError
from assaykit.qpcr import ddct, standard_curve

RUN = str(path("qpcr_th_panel_quantstudio.txt"))
LAYOUT = str(path("qpcr_th_panel_layout.toml"))
BASE = ("--reference", "GAPDH", "--reference", "ACTB", "--control", "vehicle", "--group-col", "condition")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert text in err, err
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def protocol_run(tmp_path_factory):
    """One full run with the shipped protocol and the bundled layout."""
    out = tmp_path_factory.mktemp("qpcr_protocol")
    result = invoke("qpcr", RUN, "--layout", LAYOUT, "--protocol", "qpcr_th_panel", "-o", str(out))
    return result, out


def test_protocol_run_writes_tables_workbook_and_figures(protocol_run):
    result, out = protocol_run
    assert result.exit_code == 0, result.output
    names = {"wells.csv", "samples.csv", "groups.csv", "stats.csv", "standard_curves.csv", "standard_points.csv",
             "results.xlsx", "fold_change.png", "standard_curves.png", "plate_qc_1.png"}  # fmt: skip
    assert {p.name for p in out.iterdir()} == names
    for n in names:
        assert f"wrote {out / n}" in result.stderr
    wells = pd.read_csv(out / "wells.csv", keep_default_na=False, na_values=[""])
    assert len(wells) == 288  # every well of the export, standards and NTC included
    assert wells["status"].value_counts().to_dict() == {"used": 214, "not_analysed": 72, "excluded": 2}
    groups = pd.read_csv(out / "groups.csv")
    assert len(groups) == 16 and (groups["status"] == "ok").all()
    assert set(groups["error_convention"]) == {"sem"}  # from the protocol
    # stdout: one line per group x target, with the convention named
    lines = result.stdout.splitlines()
    assert len(lines) == 16
    assert any(line.startswith("RORC iguratimod_10uM: fold change 0.3 (sem ") for line in lines)
    assert "wells: used 214, not_analysed 72, excluded 2" in result.stderr


def test_protocol_run_equals_the_library_call(protocol_run):
    """The command only orchestrates: its groups table is ddct's, with the protocol's options."""
    _, out = protocol_run
    data = assaykit.annotate(assaykit.read_qpcr(RUN), assaykit.read_layout(LAYOUT), how="left")
    res = ddct(data, ["GAPDH", "ACTB"], "vehicle", group_col="condition", method="pfaffl",
               efficiency=standard_curve(data), outlier="median", outlier_threshold=0.5, error="sem")  # fmt: skip
    got = pd.read_csv(out / "groups.csv")
    np.testing.assert_allclose(got["fold_change"], res.groups["fold_change"], rtol=1e-12)
    np.testing.assert_allclose(got["fold_change_sem_low"], res.groups["fold_change_sem_low"], rtol=1e-12)
    stats = pd.read_csv(out / "stats.csv")
    np.testing.assert_allclose(stats["p_adjusted"], res.stats["p_adjusted"], rtol=1e-12)


def test_workbook_has_tables_inputs_and_parameters(protocol_run):
    _, out = protocol_run
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert wb.sheetnames == ["info", "wells", "samples", "groups", "stats", "standard_curves", "standard_points"]
    info = {(r[0], r[1]): (r[2], r[3]) for r in wb["info"].iter_rows(min_row=2, values_only=True)}
    for f in (RUN, LAYOUT, str(PROTOCOL_DIR / "qpcr_th_panel.toml")):
        with open(f, "rb") as fh:
            assert info[("input", f.rsplit("/", 1)[-1])][1] == hashlib.sha256(fh.read()).hexdigest()
    p = {k[1]: v[0] for k, v in info.items() if k[0] == "parameter"}
    assert p["command"] == "assaykit qpcr" and p["format"] == "quantstudio_txt"
    assert p["reference"] == '["GAPDH", "ACTB"]' and p["control"] == "vehicle"
    assert p["method"] == "pfaffl" and p["efficiency"] == "auto (standard curves of the run)"
    assert p["outlier"] == "median" and p["outlier_threshold"] == 0.5 and p["error"] == "sem"
    assert p["test"] == "welch" and p["p_adjust"] == "holm" and p["propagate_control"] is False
    assert p["efficiency_RORC"] == pytest.approx(0.8704, abs=1e-4)  # the run's standard curve
    wb.close()


def test_options_precedence_protocol_layout_cli(tmp_path):
    layout = tmp_path / "layout.toml"
    layout.write_text(open(LAYOUT, encoding="utf-8").read() + "\n[qpcr]\nerror = 'ci95'\ntest = 'none'\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("qpcr", RUN, "--layout", str(layout), "--protocol", "qpcr_th_panel", "--error", "sd",
                    "--method", "thermo_ecq", "--no-figures", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    groups = pd.read_csv(out / "groups.csv")
    assert set(groups["error_convention"]) == {"sd"}  # CLI beats layout (ci95) and protocol (sem)
    assert len(pd.read_csv(out / "stats.csv")) == 0  # layout's test = 'none' beats the protocol's welch
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    p = {r[1]: r[2] for r in wb["info"].iter_rows(min_row=2, values_only=True) if r[0] == "parameter"}
    wb.close()
    assert p["method"] == "thermo_ecq" and p["error"] == "sd" and p["test"] is None


def test_merge_options_order_and_defaults():
    m = merge_options({"error": "sem", "control": "a"}, {"error": "ci95", "test": "student"}, {"control": "b", "test": None})
    assert m["error"] == "ci95" and m["control"] == "b" and m["test"] == "student"
    assert merge_options()["group_col"] == "group" and merge_options() == DEFAULTS
    assert set(DEFAULTS) <= set(OPTION_KEYS)


def test_shipped_protocol_loads_and_matches_the_demo():
    from assaykit.cli.demo_qpcr import OPTIONS

    assert load_protocol("qpcr_th_panel") == OPTIONS
    assert load_protocol(PROTOCOL_DIR / "qpcr_th_panel.toml") == OPTIONS


def test_livak_default_and_undetermined_cutoff(tmp_path):
    """No efficiency: Livak; --undetermined 40 keeps the Undetermined RORC well at 40 with a flag."""
    res = run_qpcr(RUN, tmp_path, layout=LAYOUT,
                   options={"reference": ["GAPDH", "ACTB"], "control": "vehicle", "group_col": "condition",
                            "undetermined": "40", "test": "none"}, figures=False)  # fmt: skip
    assert res.options["method"] == "livak" and res.curves is None
    w = res.result.wells
    und = w.loc[(w["task"] == "unknown") & (w["cq_flag"] == "undetermined")]
    assert len(und) == 1 and und["cq_used"].iloc[0] == 40.0
    assert "undetermined_set_to_cutoff" in und["qc_flag"].iloc[0]
    assert not list(tmp_path.glob("*.png"))  # figures=False
    assert (w.loc[w["task"] == "unknown", "efficiency"] == 1.0).all()


def test_efficiency_file_gives_the_same_result_as_auto(tmp_path, protocol_run):
    _, auto_out = protocol_run
    curves = pd.read_csv(auto_out / "standard_curves.csv")
    eff = tmp_path / "eff.csv"
    curves[["target", "efficiency"]].to_csv(eff, index=False)
    out = tmp_path / "out"
    result = invoke("qpcr", RUN, *BASE, "--layout", LAYOUT, "--efficiency", str(eff), "--outlier", "median",
                    "--error", "sem", "--no-figures", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    a = pd.read_csv(auto_out / "groups.csv")
    b = pd.read_csv(out / "groups.csv")
    np.testing.assert_allclose(b["fold_change"], a["fold_change"], rtol=1e-12)
    assert not (out / "standard_curves.png").exists()
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    info = list(wb["info"].iter_rows(min_row=2, values_only=True))
    wb.close()
    assert ("input", "eff.csv") in {(r[0], r[1]) for r in info}
    assert {r[1]: r[2] for r in info if r[0] == "parameter"}["method"] == "pfaffl"  # implied by --efficiency


def test_efficiency_table_in_a_protocol(tmp_path):
    proto = tmp_path / "p.toml"
    proto.write_text("[qpcr]\nreference = 'GAPDH'\ncontrol = 'vehicle'\ngroup_col = 'condition'\ntest = 'none'\n"
                     "[qpcr.efficiency]\nGAPDH = 0.97\nACTB = 0.95\nTBX21 = 0.92\nRORC = 0.88\nFOXP3 = 0.96\nBCL6 = 0.93\n")  # fmt: skip
    res = run_qpcr(RUN, tmp_path / "out", layout=LAYOUT, protocol=proto, figures=False)
    w = res.result.wells
    assert res.options["method"] == "pfaffl"
    wb = openpyxl.load_workbook(tmp_path / "out" / "results.xlsx", read_only=True)
    p = {r[1]: r[2] for r in wb["info"].iter_rows(min_row=2, values_only=True) if r[0] == "parameter"}
    wb.close()
    assert '"RORC": 0.88' in p["efficiency"] and p["efficiency_RORC"] == 0.88
    assert w.loc[(w["target"] == "RORC") & (w["status"] == "used"), "efficiency"].eq(0.88).all()


def test_efficiency_csv_relative_to_protocol(tmp_path):
    (tmp_path / "eff.csv").write_text("target,efficiency\nGAPDH,0.97\n")
    proto = tmp_path / "p.toml"
    proto.write_text("[qpcr]\nefficiency = 'eff.csv'\n")
    opts = load_protocol(proto)
    assert opts["efficiency"] == str((tmp_path / "eff.csv").resolve())
    assert read_efficiency_file(opts["efficiency"]) == {"GAPDH": 0.97}


def test_several_exports_are_pooled_with_plates_named_after_files(tmp_path):
    from assaykit.simulate import simulate_qpcr_run, write_cfx_csv, write_quantstudio_txt

    kw = dict(targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": 4.0}}, sd_tech=0.0)
    a = simulate_qpcr_run(**kw, seed=1)
    b = simulate_qpcr_run(**kw, seed=2)
    f1 = write_quantstudio_txt(a, tmp_path / "run1.txt")
    f2 = write_cfx_csv(b, tmp_path / "run2.csv")
    out = tmp_path / "out"
    result = invoke("qpcr", str(f1), str(f2), "--reference", "GAPDH", "--control", "vehicle_1",
                    "--group-col", "sample", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    wells = pd.read_csv(out / "wells.csv", dtype={"plate": str})
    assert sorted(set(wells["plate"])) == ["run1", "run2"] and len(wells) == len(a) + len(b)
    samples = pd.read_csv(out / "samples.csv")
    assert (samples["n_wells"] == 6).all()  # 3 technical replicates on each plate, pooled
    g = pd.read_csv(out / "groups.csv").set_index("sample")
    for s in ("drug_1", "drug_2", "drug_3"):
        assert g.loc[s, "fold_change"] == pytest.approx(4.0, abs=2e-3)  # 3-decimal Cq in the txt export
    assert (out / "plate_qc_run1.png").exists() and (out / "plate_qc_run2.png").exists()
    # the same file name twice cannot be told apart
    (tmp_path / "x").mkdir()
    f3 = write_quantstudio_txt(b, tmp_path / "x" / "run1.txt")
    assert_one_line_error(invoke("qpcr", str(f1), str(f3), "--reference", "GAPDH", "--control", "vehicle",
                                 "--group-col", "sample", "-o", str(out)),
                          "two exports give the same plate name")  # fmt: skip


# ---------------------------------------------------------------- bad input -> one line, exit 1
def test_missing_reference_gene(tmp_path):
    r = invoke("qpcr", RUN, "--layout", LAYOUT, "--reference", "HPRT1", "--control", "vehicle",
               "--group-col", "condition", "-o", str(tmp_path))  # fmt: skip
    assert_one_line_error(r, "target HPRT1: reference gene not found")
    assert not list(tmp_path.iterdir())  # nothing written


def test_unknown_control(tmp_path):
    r = invoke("qpcr", RUN, "--layout", LAYOUT, "--reference", "GAPDH", "--control", "dmso",
               "--group-col", "condition", "-o", str(tmp_path))  # fmt: skip
    assert_one_line_error(r, "control group not found")
    assert "found 'dmso'" in r.stderr and "iguratimod_10uM" in r.stderr


def test_unreadable_exports(tmp_path):
    assert_one_line_error(invoke("qpcr", str(tmp_path / "missing.txt"), *BASE, "-o", str(tmp_path)),
                          "missing.txt: file not found")  # fmt: skip
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    assert_one_line_error(invoke("qpcr", str(junk), *BASE, "-o", str(tmp_path)), "not a recognised qpcr export")


def test_missing_options_and_group_column(tmp_path):
    o = ("-o", str(tmp_path))
    assert_one_line_error(invoke("qpcr", RUN, "--control", "vehicle", *o), "no reference gene given")
    assert_one_line_error(invoke("qpcr", RUN, "--reference", "GAPDH", *o), "no control group given")
    # without a layout there is no 'group' column: the message says what to do
    assert_one_line_error(invoke("qpcr", RUN, "--reference", "GAPDH", "--control", "vehicle", *o),
                          "group column missing")  # fmt: skip
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--layout", LAYOUT, "--undetermined", "never", *o),
                          "undetermined must be 'exclude' or a cycle number")  # fmt: skip
    r = invoke("qpcr", RUN, *BASE, "--layout", LAYOUT, "--method", "livak", "--efficiency", "auto", *o)
    assert_one_line_error(r, "method='livak' assumes 100 % efficiency")
    pbmc = (str(path("qpcr_pbmc_quantstudio.txt")), "--layout", str(path("qpcr_pbmc_layout.toml")))
    r = invoke("qpcr", *pbmc, *BASE, "--efficiency", "auto", *o)
    assert_one_line_error(r, "efficiency 'auto' needs standard wells in the run")
    r = invoke("qpcr", RUN, *BASE, "--error", "range", *o)
    assert r.exit_code == 2  # click usage error
    with pytest.raises(AnalysisError, match="no export given"):
        run_qpcr([], tmp_path)


def test_protocol_errors(tmp_path):
    o = ("-o", str(tmp_path / "out"))
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--protocol", "nosuch", *o), "protocol not found")
    bad = tmp_path / "bad.toml"
    bad.write_text("[qpcr\n")
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--protocol", str(bad), *o), "protocol is not valid TOML")
    bad.write_text("[elisa]\nmodel = '4pl'\n")
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--protocol", str(bad), *o), "protocol has no [qpcr] table")
    bad.write_text("qpcr = 3\n")
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--protocol", str(bad), *o), "[qpcr] must be a table of options")
    bad.write_text("[qpcr]\nreferences = ['GAPDH']\n")
    r = invoke("qpcr", RUN, *BASE, "--protocol", str(bad), *o)
    assert_one_line_error(r, "unknown option in the [qpcr] table")
    assert "found 'references'" in r.stderr
    for text, found in (("reference = 3", "found 3"), ("propagate_control = 'yes'", "found 'yes'"),
                        ("outlier_threshold = true", "found True"), ("efficiency = {GAPDH = 'high'}", "found {")):
        bad.write_text(f"[qpcr]\n{text}\n")
        r = invoke("qpcr", RUN, *BASE, "--protocol", str(bad), *o)
        assert_one_line_error(r, f"option '{text.split()[0]}' of the [qpcr] table has the wrong type")
        assert found in r.stderr
    layout = tmp_path / "layout.toml"
    layout.write_text("[qpcr]\nspeed = 'fast'\n[well.A1]\ncondition = 'vehicle'\n")
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--layout", str(layout), *o),
                          "layout.toml: unknown option in the [qpcr] table")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,value\nGAPDH,0.9\n", "line 1: efficiency file lacks columns"),
        ("", "efficiency file lacks columns"),
        ("target,efficiency\nGAPDH,high\n", "line 2, target GAPDH: efficiency is not a number"),
        ("target,efficiency\n,0.9\n", "line 2: efficiency row without a target"),
        ("target,efficiency\nGAPDH,0.9\n\nGAPDH,0.8\n", "line 4, target GAPDH: target listed twice"),
        ("target,efficiency\n", "efficiency file has no rows"),
    ],
)
def test_efficiency_file_errors(tmp_path, text, message):
    f = tmp_path / "eff.csv"
    f.write_text(text)
    with pytest.raises(ReaderError, match="efficiency") as info:
        read_efficiency_file(f)
    assert message in str(info.value)


def test_efficiency_file_errors_through_the_cli(tmp_path):
    assert_one_line_error(invoke("qpcr", RUN, *BASE, "--layout", LAYOUT, "--efficiency", str(tmp_path / "none.csv"),
                                 "-o", str(tmp_path)), "efficiency file cannot be read")  # fmt: skip
    f = tmp_path / "eff.csv"
    f.write_text("target,efficiency\nGAPDH,1.95\nACTB,0.9\nTBX21,0.9\nRORC,0.9\nFOXP3,0.9\nBCL6,0.9\n")
    r = invoke("qpcr", RUN, *BASE, "--layout", LAYOUT, "--efficiency", str(f), "-o", str(tmp_path))
    assert r.exit_code == 1 and "GAPDH" in r.stderr  # 1.95 is a factor, not a fraction: ddct refuses it


def test_protocol_error_types():
    with pytest.raises(ProtocolError, match="protocol not found") as info:
        load_protocol("nosuch_protocol")
    assert "qpcr_th_panel" in info.value.expected


def test_sample_without_reference_is_a_row_with_a_reason(tmp_path):
    """All GAPDH wells of one sample Undetermined: that sample gets status no_reference, nothing is dropped."""
    from assaykit.simulate import simulate_qpcr_run, write_cfx_csv

    wells = simulate_qpcr_run(targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": 4.0}},
                              sd_tech=0.1, seed=3)  # fmt: skip
    gone = (wells["sample"] == "drug_2") & (wells["target"] == "GAPDH")
    wells.loc[gone, "cq"] = np.nan
    f = write_cfx_csv(wells, tmp_path / "run.csv")
    layout = tmp_path / "layout.toml"
    blocks = [f"[well.'{','.join(g['well'])}']\ncondition = '{c}'\n" for c, g in wells.groupby("condition")]
    layout.write_text("\n".join(blocks))
    out = tmp_path / "out"
    r = invoke("qpcr", str(f), "--layout", str(layout), "--reference", "GAPDH", "--control", "vehicle",
               "--group-col", "condition", "--no-figures", "-o", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "samples x targets: ok 5, no_reference 1" in r.stderr
    s = pd.read_csv(out / "samples.csv").set_index(["sample", "target"])
    assert s.loc[("drug_2", "TBX21"), "status"] == "no_reference" and "GAPDH" in s.loc[("drug_2", "TBX21"), "reason"]
    g = pd.read_csv(out / "groups.csv").set_index(["condition", "target"])
    assert g.loc[("drug", "TBX21"), "n_samples"] == 2 and g.loc[("drug", "TBX21"), "status"] == "ok"
    w = pd.read_csv(out / "wells.csv")
    assert len(w) == len(wells) and (w.loc[w["well"].isin(wells.loc[gone, "well"]), "status"] == "excluded").all()


def test_max_dcq_outlier_rule_from_the_command_line(tmp_path):
    out = tmp_path / "out"
    result = invoke("qpcr", RUN, *BASE, "--layout", LAYOUT, "--outlier", "max_dcq", "--outlier-threshold", "0.3",
                    "--no-figures", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    wells = pd.read_csv(out / "wells.csv", keep_default_na=False)
    res = ddct(assaykit.annotate(assaykit.read_qpcr(RUN), assaykit.read_layout(LAYOUT)), ["GAPDH", "ACTB"],
               "vehicle", group_col="condition", outlier="max_dcq", outlier_threshold=0.3)  # fmt: skip
    assert (wells["status"] == res.wells["status"].to_numpy()).all()
    assert (wells["reason"] == res.wells["reason"].to_numpy()).all()
    assert wells["reason"].str.contains(r"replicate range \(max ΔCq\)").sum() > 0  # the rule did act
