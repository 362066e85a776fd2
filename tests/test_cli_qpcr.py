"""Tests of ``assaykit qpcr`` (in-process with click's CliRunner) and its helpers."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import shutil

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg

import assaykit
import assaykit.qpcr
import assaykit.qpcr.workflow
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
from assaykit.simulate import (
    random_plate_truth,
    simulate_qpcr_run,
    write_plate,
    write_quantstudio_txt,
)

RUN = str(path("qpcr_th_panel_quantstudio.txt"))
LAYOUT = str(path("qpcr_th_panel_layout.toml"))
BASE = ("--reference", "GAPDH", "--reference", "ACTB", "--control", "vehicle", "--group-col", "condition")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


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


# ==================================================================================================
# Formerly test_qpcr_cli_more.py:
#
# More of ``assaykit qpcr``: read_many plate names, inter-run calibration, option flags, figures.
#
# Tolerances are stated where numbers are compared: the simulated QuantStudio exports write
# Cq with 3 decimals, so a noise-free fold change is exact to ~0.1 % (abs 2e-3 on 4.0).
# ==================================================================================================


# ---------------------------------------------------------------- 1. read_many plate names
def test_read_many_renames_qpcr_plates_that_share_a_name(tmp_path):
    """Two QuantStudio exports both hold plate '1': read_many renames them after their files,
    so ddct sees two plates (it used to fail with a misleading duplicate-well error)."""
    src = path("qpcr_pbmc_quantstudio.txt")
    a, b = tmp_path / "monday.txt", tmp_path / "tuesday.txt"
    shutil.copy(src, a)
    shutil.copy(src, b)
    one = assaykit.read_qpcr(src)
    assert set(one["plate"]) == {"1"}
    both = assaykit.read_many([a, b], kind="qpcr", progress=False)
    assert list(dict.fromkeys(both["plate"])) == ["monday", "tuesday"]
    assert len(both) == 2 * len(one)
    # the same plate names as `assaykit read --kind qpcr` gives (it renames after the files)
    cli = assaykit.read_many([a, b], kind="qpcr", progress=False, rename="files")
    assert list(both["plate"]) == list(cli["plate"])
    layout = assaykit.read_layout(path("qpcr_pbmc_layout.toml"))
    res = ddct(assaykit.annotate(both, layout), ["GAPDH", "ACTB"], "vehicle", group_col="condition")
    g1 = ddct(assaykit.annotate(one, layout), ["GAPDH", "ACTB"], "vehicle", group_col="condition").groups
    # same samples on two plates pooled: the same mean fold changes
    np.testing.assert_allclose(res.groups["fold_change"], g1["fold_change"], rtol=1e-12)


def test_read_many_keeps_distinct_plate_names_and_renames_multi_plate_files(tmp_path):
    t = random_plate_truth(96, ("abs_450",), n_plates=2, seed=1)
    named = t.assign(plate=t["plate"].map({"1": "P1", "2": "P2"}))
    f1 = write_plate(named.loc[named["plate"] == "P1"], tmp_path / "first.txt", "gen5")
    f2 = write_plate(named.loc[named["plate"] == "P2"], tmp_path / "second.txt", "gen5")
    # distinct plate names: kept as read
    assert list(dict.fromkeys(assaykit.read_many([f1, f2], progress=False)["plate"])) == ["P1", "P2"]
    # two files holding plates '1' and '2' each: '<stem>/<plate>'
    g1 = write_plate(t, tmp_path / "a.txt", "gen5")
    g2 = write_plate(t, tmp_path / "b.txt", "softmax")
    df = assaykit.read_many([g1, g2], progress=False)
    assert list(dict.fromkeys(df["plate"])) == ["a/1", "a/2", "b/1", "b/2"]
    assert len(df) == 2 * len(assaykit.read_plate(g1))


def test_read_many_names_sources_after_their_names():
    from assaykit.io import Source

    data = path("qpcr_pbmc_quantstudio.txt").read_bytes()
    df = assaykit.read_many([Source(data=data, name="d/a.txt"), Source(data=data, name="b.txt")], kind="qpcr",
                            progress=False)  # fmt: skip
    assert list(dict.fromkeys(df["plate"])) == ["a", "b"]


def test_read_many_same_file_name_twice_is_refused(tmp_path):
    (tmp_path / "x").mkdir()
    a, b = tmp_path / "run.txt", tmp_path / "x" / "run.txt"
    shutil.copy(path("qpcr_pbmc_quantstudio.txt"), a)
    shutil.copy(path("qpcr_pbmc_quantstudio.txt"), b)
    with pytest.raises(ReaderError, match="two exports give the same plate name after renaming") as info:
        assaykit.read_many([a, b], kind="qpcr", progress=False)
    assert info.value.location["plate"] == "run" and "also from" in info.value.found


def test_read_many_two_copies_of_a_corpus_file(corpus, tmp_path):
    src = corpus("qpcr", "thermo_qs7flex_ddct_with_footer__allotropy_example06.txt")
    links = []
    for name in ("r1.txt", "r2.txt"):
        (tmp_path / name).symlink_to(src)
        links.append(tmp_path / name)
    one = assaykit.read_qpcr(src)
    both = assaykit.read_many(links, kind="qpcr", progress=False)
    assert set(one["plate"]) == {"1"} and list(dict.fromkeys(both["plate"])) == ["r1", "r2"]
    pd.testing.assert_frame_equal(
        both.loc[both["plate"] == "r2"].drop(columns=["plate", "source_file"]).reset_index(drop=True),
        one.drop(columns=["plate", "source_file"]),
    )


# ---------------------------------------------------------------- 2. inter-run calibration
FOLD = 4.0  # true fold change of TBX21, drug vs vehicle
SHIFT = {"TBX21": 1.0, "GAPDH": 0.4}  # Cq shift of plate 2 (threshold set differently per target)


def _plate(samples, condition, shift, seed, sd_tech):
    design = pd.DataFrame({"sample": [*samples, "IRC"], "condition": [condition] * len(samples) + ["irc"]})
    w = simulate_qpcr_run(design, targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": FOLD}},
                          sd_tech=sd_tech, seed=seed)  # fmt: skip
    for t, s in shift.items():
        w.loc[w["target"] == t, "cq"] += s
    return w


def two_runs(tmp_path, sd_tech=0.0):
    """Vehicle samples on plate run1, drug samples on plate run2 (condition confounded with the
    plate), an inter-run calibrator 'IRC' on both; plate 2 reads TBX21 +1.0 and GAPDH +0.4 cycles
    late. Uncalibrated, the drug/vehicle fold change is biased by 2^-(1.0-0.4) = 0.660."""
    a = _plate(["v1", "v2", "v3"], "vehicle", {}, 1, sd_tech)
    b = _plate(["d1", "d2", "d3"], "drug", SHIFT, 2, sd_tech)
    f1 = write_quantstudio_txt(a, tmp_path / "run1.txt")
    f2 = write_quantstudio_txt(b, tmp_path / "run2.txt")
    blocks = []
    for plate, w in (("run1", a), ("run2", b)):
        for cond, g in w.loc[w["condition"] != "irc"].groupby("condition"):  # IRC wells: no group
            blocks.append(f"[plate.{plate}.well.'{','.join(g['well'])}']\ncondition = '{cond}'\n")
    layout = tmp_path / "layout.toml"
    layout.write_text("\n".join(blocks))
    return f1, f2, layout


BASE_ONE_REF = ("--reference", "GAPDH", "--control", "vehicle", "--group-col", "condition", "--no-figures")


def _fold(out):
    g = pd.read_csv(out / "groups.csv").set_index(["condition", "target"])
    return float(g.loc[("drug", "TBX21"), "fold_change"])


def test_calibrator_removes_a_known_run_shift(tmp_path):
    f1, f2, layout = two_runs(tmp_path)
    out, raw = tmp_path / "cal", tmp_path / "raw"
    r = invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "--calibrator", "IRC", "-o", out)
    assert r.exit_code == 0, r.output
    r0 = invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "-o", raw)
    assert r0.exit_code == 0, r0.output
    bias = 2.0 ** -(SHIFT["TBX21"] - SHIFT["GAPDH"])
    assert _fold(out) == pytest.approx(FOLD, abs=2e-3)  # calibrated: the truth
    assert _fold(raw) == pytest.approx(FOLD * bias, abs=2e-3)  # uncalibrated: biased by the shift
    offsets = pd.read_csv(out / "run_calibration.csv").set_index(["plate", "target"])
    for t, s in SHIFT.items():  # run offset = ± half the shift around the mean of the two plates
        assert offsets.loc[("run1", t), "run_offset"] == pytest.approx(-s / 2, abs=1e-9)
        assert offsets.loc[("run2", t), "run_offset"] == pytest.approx(s / 2, abs=1e-9)
        assert offsets.loc[("run2", t), "n_calibrator_wells"] == 3
    assert "inter-run calibration (IRC): 2 plates x 2 targets, run offsets -0.500 to +0.500 cycles" in r.stderr
    assert f"wrote {out / 'run_calibration.csv'}" in r.stderr and not (raw / "run_calibration.csv").exists()
    w = pd.read_csv(out / "wells.csv")
    np.testing.assert_allclose(w["cq"], w["cq_uncalibrated"] - w["run_offset"], atol=1e-12)
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert "run_calibration" in wb.sheetnames
    p = {r[1]: r[2] for r in wb["info"].iter_rows(min_row=2, values_only=True) if r[0] == "parameter"}
    wb.close()
    assert p["calibrators"] == '["IRC"]'


def test_calibration_with_noise_recovers_the_truth_within_tolerance(tmp_path):
    """sd_tech 0.1: the calibrated estimate is within 0.25 cycles (log2) of the truth; the
    uncalibrated one is ~0.6 cycles off (bias of the shift, well outside that tolerance).
    SD of log2 fold ≈ 0.13 here (4 group means of 9 wells, 4 calibrator means of 3 wells)."""
    f1, f2, layout = two_runs(tmp_path, sd_tech=0.1)
    out, raw = tmp_path / "cal", tmp_path / "raw"
    assert invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "--calibrator", "IRC", "-o", out).exit_code == 0
    assert invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "-o", raw).exit_code == 0
    assert abs(math.log2(_fold(out) / FOLD)) < 0.25
    assert abs(math.log2(_fold(raw) / FOLD) + 0.6) < 0.25 and abs(math.log2(_fold(raw) / FOLD)) > 0.35


def test_calibrators_from_a_protocol_and_the_library_call(tmp_path):
    f1, f2, layout = two_runs(tmp_path)
    proto = tmp_path / "p.toml"
    proto.write_text("[qpcr]\ncalibrators = ['IRC']\nreference = 'GAPDH'\ncontrol = 'vehicle'\ngroup_col = 'condition'\n")
    out = tmp_path / "out"
    r = invoke("qpcr", f1, f2, "--layout", layout, "--protocol", proto, "--no-figures", "-o", out)
    assert r.exit_code == 0, r.output
    assert _fold(out) == pytest.approx(FOLD, abs=2e-3)
    # the command is calibrate_runs then ddct
    data = assaykit.annotate(assaykit.read_many([f1, f2], kind="qpcr", progress=False), assaykit.read_layout(layout))
    cal = assaykit.qpcr.calibrate_runs(data, "IRC")
    res = ddct(cal.data, "GAPDH", "vehicle", group_col="condition")
    np.testing.assert_allclose(pd.read_csv(out / "groups.csv")["fold_change"], res.groups["fold_change"], rtol=1e-12)
    pd.testing.assert_frame_equal(pd.read_csv(out / "run_calibration.csv"), cal.offsets, check_dtype=False)
    # one plate: calibration applies with zero offsets
    from assaykit.cli.qpcr import run_qpcr

    run = run_qpcr(f1, tmp_path / "one", options={"reference": "GAPDH", "control": "v1", "group_col": "sample",
                                                  "calibrators": ["IRC"]}, figures=False)  # fmt: skip
    assert (run.calibration.offsets["run_offset"] == 0).all() and run.options["calibrators"] == ["IRC"]


def test_calibration_errors(tmp_path):
    f1, f2, layout = two_runs(tmp_path)
    o = ("-o", tmp_path / "out")
    assert_one_line_error(invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "--calibrator", "IRK", *o),
                          "sample IRK: calibrator sample not found")  # fmt: skip
    proto = tmp_path / "p.toml"
    proto.write_text("[qpcr]\ncalibrators = 3\n")
    r = invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "--protocol", proto, *o)
    assert_one_line_error(r, "option 'calibrators' of the [qpcr] table has the wrong type")
    assert "a sample name or a list of names" in r.stderr
    # a calibrator missing on one plate × target
    b = _plate(["d1", "d2", "d3"], "drug", SHIFT, 2, 0.0)
    b.loc[(b["sample"] == "IRC") & (b["target"] == "GAPDH"), "cq"] = np.nan
    write_quantstudio_txt(b, f2)
    r = invoke("qpcr", f1, f2, "--layout", layout, *BASE_ONE_REF, "--calibrator", "IRC", *o)
    assert_one_line_error(r, "no valid calibrator Cq on this plate for this target")
    assert "plate run2" in r.stderr and "target GAPDH" in r.stderr


# ---------------------------------------------------------------- 3. option flags
def _spy(monkeypatch):
    """Replace ddct (as the qPCR workflow calls it) by a spy recording the keywords it gets."""
    seen: dict = {}
    real = ddct

    def spy(data, reference, control, **kw):
        seen.update(kw)
        return real(data, reference, control, **kw)

    monkeypatch.setattr(assaykit.qpcr.workflow, "ddct", spy)
    return seen


def test_flags_reach_ddct_and_the_info_sheet(tmp_path, monkeypatch):
    seen = _spy(monkeypatch)
    out = tmp_path / "out"
    r = invoke("qpcr", path("qpcr_pbmc_quantstudio.txt"), "--layout", path("qpcr_pbmc_layout.toml"),
               "--reference", "GAPDH", "--control", "vehicle", "--group-col", "condition", "--pairing", "separate",
               "--ntc-margin", "3.5", "--tm-tolerance", "0.7", "--no-figures", "-o", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert seen["pairing"] == "separate" and seen["ntc_margin"] == 3.5 and seen["tm_tolerance"] == 0.7
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    p = {r[1]: r[2] for r in wb["info"].iter_rows(min_row=2, values_only=True) if r[0] == "parameter"}
    wb.close()
    assert p["pairing"] == "separate" and p["ntc_margin"] == 3.5 and p["tm_tolerance"] == 0.7
    r = invoke("qpcr", path("qpcr_pbmc_quantstudio.txt"), "--pairing", "multiplex", "-o", out)
    assert r.exit_code == 2 and "multiplex" in r.output  # click usage error
    help_text = invoke("qpcr", "--help").output
    for flag in ("--pairing", "--ntc-margin", "--tm-tolerance", "--instrument-flags", "--p-adjust-family",
                 "--calibrator"):
        assert flag in help_text


def _with_ntc_and_tm(tmp_path):
    """Vehicle TBX21 at Cq 25, drug at 23, an NTC amplifying TBX21 at 28; Tm 80 °C except one
    vehicle TBX21 well at 81.6 °C (written into the export's Tm1 column)."""
    design = pd.DataFrame({"sample": ["v1", "v2", "d1", "d2", "NTC"],
                           "condition": ["vehicle", "vehicle", "drug", "drug", "ntc"]})  # fmt: skip
    w = simulate_qpcr_run(design, targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": FOLD}},
                          sd_tech=0.0, n_tech=2)  # fmt: skip
    ntc = w["sample"] == "NTC"
    w.loc[ntc, "task"] = "ntc"
    w.loc[ntc & (w["target"] == "GAPDH"), "cq"] = np.nan
    w.loc[ntc & (w["target"] == "TBX21"), "cq"] = 28.0
    f = write_quantstudio_txt(w, tmp_path / "run.txt")
    tm = dict.fromkeys(w["well"], "80.0")
    off = w.loc[(w["sample"] == "v1") & (w["target"] == "TBX21"), "well"].iloc[0]
    tm[off] = "81.6"
    _add_results_column(f, "Tm1", tm)
    return f, off


def _add_results_column(f, name, by_well):
    """Append a column to the [Results] table of a QuantStudio text export (value per well)."""
    lines = f.read_text().split("\n")
    i = lines.index("[Results]") + 1
    head = lines[i].split("\t")
    lines[i] += "\t" + name
    j = i + 1
    while j < len(lines) and lines[j].strip():
        lines[j] += "\t" + by_well.get(lines[j].split("\t")[head.index("Well Position")], "")
        j += 1
    f.write_text("\n".join(lines))


def test_ntc_margin_and_tm_tolerance_change_the_flags(tmp_path):
    f, off = _with_ntc_and_tm(tmp_path)
    w = assaykit.read_qpcr(f)
    assert w["tm"].notna().all()

    def flags(*extra):
        out = tmp_path / "_".join(extra or ("default",))
        r = invoke("qpcr", f, "--reference", "GAPDH", "--control", "v1", "--group-col", "sample", "--no-figures",
                   *extra, "-o", out)  # fmt: skip
        assert r.exit_code == 0, r.output
        w = pd.read_csv(out / "wells.csv", keep_default_na=False)
        return w.set_index(["well", "target"])["qc_flag"]

    default = flags()
    tbx = default.xs("TBX21", level="target")
    # default margin 5: vehicle TBX21 (25) is within 5 cycles of the NTC (28), drug (23) is not
    within = sorted(tbx.index[tbx.str.contains("ntc_within_margin")])
    assert within == sorted(w.loc[w["sample"].isin(["v1", "v2"]) & (w["target"] == "TBX21"), "well"])
    assert "tm_off_mode" in tbx[off]  # 1.6 °C from the mode with tolerance 1
    wide = flags("--ntc-margin", "2", "--tm-tolerance", "2")
    assert not any("ntc_within_margin" in x for x in wide) and not any("tm_off_mode" in x for x in wide)


def test_instrument_flags_option(tmp_path):
    """A well with a Cq and the export's HIGHSD flag: kept and flagged by default, excluded on request."""
    w = simulate_qpcr_run(targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": FOLD}},
                          sd_tech=0.0)  # fmt: skip
    f = write_quantstudio_txt(w, tmp_path / "run.txt")
    bad = w.loc[(w["sample"] == "drug_1") & (w["target"] == "TBX21"), "well"].iloc[0]
    _add_results_column(f, "HIGHSD", {bad: "Y"})
    assert assaykit.read_qpcr(f).set_index("well").loc[bad, "cq_flag"] == "highsd"
    common = ("--reference", "GAPDH", "--control", "vehicle_1", "--group-col", "sample", "--no-figures")
    status = {}
    for value in ("flag", "exclude"):
        out = tmp_path / value
        r = invoke("qpcr", f, *common, "--instrument-flags", value, "-o", out)
        assert r.exit_code == 0, r.output
        wells = pd.read_csv(out / "wells.csv", keep_default_na=False).set_index(["well", "target"])
        status[value] = wells.loc[(bad, "TBX21"), ["status", "qc_flag", "reason"]].to_dict()
        wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
        p = {r[1]: r[2] for r in wb["info"].iter_rows(min_row=2, values_only=True) if r[0] == "parameter"}
        wb.close()
        assert p["instrument_flags"] == value
    assert status["flag"]["status"] == "used" and "instrument_flag" in status["flag"]["qc_flag"]
    assert status["exclude"]["status"] == "excluded" and "highsd" in status["exclude"]["reason"]


def test_p_adjust_family_option(tmp_path):
    from assaykit.stats import p_adjust

    out = tmp_path / "out"
    r = invoke("qpcr", path("qpcr_th_panel_quantstudio.txt"), "--layout", path("qpcr_th_panel_layout.toml"),
               "--reference", "GAPDH", "--reference", "ACTB", "--control", "vehicle", "--group-col", "condition",
               "--p-adjust-family", "all", "--no-figures", "-o", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    st = pd.read_csv(out / "stats.csv")
    ok = st["p_value"].notna()
    assert ok.sum() == 12 and st["target"].nunique() == 4  # one family over 4 targets x 3 groups
    assert set(st.loc[ok, "p_adjust_family"]) == {"all"}
    np.testing.assert_allclose(st.loc[ok, "p_adjusted"], p_adjust(st.loc[ok, "p_value"].to_numpy(), "holm"),
                               rtol=1e-12)  # fmt: skip


def test_new_keys_in_a_protocol_table(tmp_path):
    from assaykit.cli.qpcr import OPTION_KEYS, load_protocol

    proto = tmp_path / "p.toml"
    proto.write_text("[qpcr]\npairing = 'separate'\nntc_margin = 4\ntm_tolerance = 1.5\ncalibrators = ['IRC1', 'IRC2']\n"
                     "instrument_flags = 'exclude'\np_adjust_family = 'all'\n")  # fmt: skip
    opts = load_protocol(proto)
    assert opts["calibrators"] == ["IRC1", "IRC2"] and opts["instrument_flags"] == "exclude"
    assert {"calibrators", "instrument_flags", "p_adjust_family"} <= set(OPTION_KEYS)
    proto.write_text("[qpcr]\ninstrument_flags = true\n")
    with pytest.raises(Exception, match="option 'instrument_flags' of the \\[qpcr\\] table has the wrong type"):
        load_protocol(proto)


# ---------------------------------------------------------------- 4. figures
def _drawn(ax):
    fig = ax.figure
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _spread_result():
    """Drug TBX21 samples spread so that one point lies above the SEM error bar."""
    from test_qpcr_ddct import make_run

    cq, groups = {}, {}
    for g, dcqs in (("vehicle", [6.0, 6.1, 5.9]), ("drug", [4.0, 4.1, 1.5]), ("dex", [9.0, 9.0, 9.1])):
        for k, d in enumerate(dcqs):
            name = f"{g}{k}"
            groups[name] = g
            cq[(name, "GAPDH")] = [20.0, 20.0]
            cq[(name, "TBX21")] = [20.0 + d, 20.0 + d]
            cq[(name, "RORC")] = [float("nan")] * 2 if g == "dex" else [28.0, 28.1]
    return ddct(make_run(cq, groups), "GAPDH", "vehicle", error="sem", test="welch", p_adjust="none")


@pytest.mark.parametrize("log_scale", [True, False])
def test_significance_marks_sit_above_points_and_error_bars(log_scale):
    from assaykit.report.qpcr_figures import fold_change_plot

    res = _spread_result()
    ax = fold_change_plot(res, log_scale=log_scale)
    renderer = _drawn(ax)
    g = res.groups.set_index(["group", "target"])
    s = res.samples
    top_pt = s.loc[(s["group"] == "drug") & (s["target"] == "TBX21") & (s["status"] == "ok"), "rq"].max()
    assert top_pt > g.loc[("drug", "TBX21"), "fold_change_sem_high"]  # the case the old code got wrong
    marks = [t for t in ax.texts if t.get_gid() == "significance"]
    width = 0.8 / 3  # groups drawn vehicle (control), drug, dex
    expected = []
    for i, t in enumerate(["TBX21", "RORC"]):
        for j, grp in ((1, "drug"), (2, "dex")):
            if not np.isfinite(g.loc[(grp, t), "fold_change"]):
                continue  # dex RORC: no fold change, no mark
            pts = s.loc[(s["group"] == grp) & (s["target"] == t) & (s["status"] == "ok"), "rq"]
            expected.append((i - 0.4 + width * (j + 0.5), max(g.loc[(grp, t), "fold_change_sem_high"], pts.max())))
    got = [t.get_position() for t in marks]
    assert np.allclose(sorted(got), sorted(expected), rtol=1e-12)
    assert max(y for _, y in got) == pytest.approx(top_pt, rel=1e-12)
    axes_box = ax.get_window_extent(renderer)
    for t in marks:
        box = t.get_window_extent(renderer)
        assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
        assert box.y0 > ax.transData.transform(t.get_position())[1]  # drawn above its anchor


def test_na_labels_are_inside_the_axes():
    from assaykit.report.qpcr_figures import fold_change_plot

    res = _spread_result()
    assert not np.isfinite(res.groups.set_index(["group", "target"]).loc[("dex", "RORC"), "fold_change"])
    for log_scale in (True, False):
        ax = fold_change_plot(res, log_scale=log_scale, targets=["RORC"])
        renderer = _drawn(ax)
        na = [t for t in ax.texts if t.get_gid() == "not_available"]
        assert [t.get_text() for t in na] == ["n/a"]
        box, axes_box = na[0].get_window_extent(renderer), ax.get_window_extent(renderer)
        assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
        x0, x1 = ax.get_xlim()
        assert x0 <= na[0].get_position()[0] <= x1


def test_imputed_groups_are_hatched_with_a_legend_entry():
    from matplotlib.container import BarContainer

    from assaykit.report.qpcr_figures import IMPUTED_LABEL, fold_change_plot

    res = _spread_result()
    g = res.groups.assign(n_imputed=[1 if (grp == "drug" and t == "TBX21") else 0
                                     for grp, t in zip(res.groups["group"], res.groups["target"], strict=True)])
    ax = fold_change_plot(dataclasses.replace(res, groups=g))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["vehicle", "drug", "dex", IMPUTED_LABEL]
    hatched = [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches if p.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_gid() == "imputed"
    fc = g.set_index(["group", "target"]).loc[("drug", "TBX21"), "fold_change"]
    assert hatched[0].get_height() == pytest.approx(fc, rel=1e-12)
    # without imputation (or without the column): no hatch, no entry
    ax2 = fold_change_plot(res)
    assert IMPUTED_LABEL not in [t.get_text() for t in ax2.get_legend().get_texts()]


def test_cutoff_cq_marks_bars_end_to_end(tmp_path):
    from assaykit.report.qpcr_figures import IMPUTED_LABEL, fold_change_plot

    w = simulate_qpcr_run(targets=["TBX21"], references=["GAPDH"], fold_changes={"drug": {"TBX21": FOLD}}, sd_tech=0.0)
    w.loc[(w["sample"] == "drug_1") & (w["target"] == "TBX21"), "cq"] = np.nan
    w.loc[(w["sample"] == "drug_1") & (w["target"] == "TBX21"), "cq_flag"] = "undetermined"
    res = ddct(w.rename(columns={"condition": "group"}).assign(tm=np.nan), "GAPDH", "vehicle", undetermined=40.0)
    assert res.groups.set_index("group").loc["drug", "n_imputed"] == 1
    ax = fold_change_plot(res)
    assert IMPUTED_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plate_qc_label_counts_the_marks_drawn():
    """The x label (the map's legend) counts exactly the × marks and hatched wells drawn."""
    import re

    from test_qpcr_ddct import make_run

    from assaykit.report.qpcr_figures import plate_qc_map

    cq = {("v1", "GAPDH"): [20.0, 20.1, 20.0], ("v1", "TBX21"): [26.0, 26.1, 28.5],
          ("d1", "GAPDH"): [20.0, float("nan"), 20.1], ("d1", "TBX21"): [24.0, float("nan"), 24.1]}  # fmt: skip
    res = ddct(make_run(cq, {"v1": "vehicle", "d1": "drug"}), "GAPDH", "vehicle", outlier="median", test=None)
    ax = plate_qc_map(res.wells)
    crosses = sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == "excluded")
    hatched = len([p for p in ax.patches if p.get_gid() == "no_value"])
    outlined = len([p for p in ax.patches if p.get_gid() == "flagged"])
    m = re.match(r"(\d+) excluded with a Cq \(×\); (\d+) with a Cq and a flag or excluded \(red outline\); "
                 r"(\d+) without a Cq \(hatched, (\d+) of them excluded;", ax.get_xlabel())  # fmt: skip
    assert m, ax.get_xlabel()
    assert (int(m[1]), int(m[2]), int(m[3])) == (crosses, outlined, hatched) == (1, 1, 2)
    w = res.wells
    assert int(m[4]) == int(((w["status"] == "excluded") & w["cq"].isna()).sum()) == 2
