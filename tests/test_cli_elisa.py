"""Tests of ``assaykit elisa``, the elisa demo part, the IL-6 protocol and the standard-curve figures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import assaykit
from assaykit.cli import main
from assaykit.cli.demo_elisa import OPTIONS, run
from assaykit.cli.elisa import PROTOCOL_DIR, load_protocol, run_elisa
from assaykit.datasets import path
from assaykit.errors import ProtocolError, ReportError
from assaykit.immunoassay import analyze
from assaykit.report.immunoassay_figures import standard_curve_grid, standard_curve_plot

GEN5 = str(path("elisa_il6_gen5.txt"))
LAYOUT = str(path("elisa_il6_layout.toml"))
TABLES = ("wells", "samples", "standards", "curves", "linearity")


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


def _one_line_error(res, text):
    assert res.exit_code == 1, res.output
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert text in res.stderr, res.stderr


def test_cli_writes_tables_workbook_and_figure(tmp_path):
    out = tmp_path / "out"
    res = _invoke("elisa", GEN5, "--layout", LAYOUT, "--read", "abs_450", "--reference-read", "abs_630",
                  "--conc-col", "std_conc_pg_ml", "-o", str(out))
    assert res.exit_code == 0, res.output
    for t in TABLES:
        assert (out / f"{t}.csv").exists()
    assert (out / "standard_curve_1_abs_450-630.png").stat().st_size > 10_000
    assert "1/abs_450-630: 4pl ok" in res.stderr and "wells: ok" in res.stderr
    wells = pd.read_csv(out / "wells.csv")
    assert len(wells) == 96 and set(wells["status"]) <= {"ok", "below_lloq", "above_uloq", "below_curve"}
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert wb.sheetnames == ["info", *TABLES]
    info = pd.DataFrame(wb["info"].values)
    digest = hashlib.sha256(Path(GEN5).read_bytes()).hexdigest()
    assert digest in set(info[3].dropna())
    assert "subtract_mean" in set(info[2].astype(str))  # parameters recorded


def test_cli_protocol_and_model_override(tmp_path):
    out = tmp_path / "p"
    res = _invoke("elisa", GEN5, "--layout", LAYOUT, "--protocol", "elisa_il6_4pl", "--model", "5pl", "-o", str(out))
    assert res.exit_code == 0, res.output
    curves = pd.read_csv(out / "curves.csv")
    assert curves["model"].tolist() == ["5pl"] and curves["read"].tolist() == ["abs_450-630"]


def test_run_elisa_matches_analyze(tmp_path):
    res, paths = run_elisa(GEN5, LAYOUT, tmp_path, protocol=PROTOCOL_DIR / "elisa_il6_4pl.toml")
    ann = assaykit.annotate(assaykit.read_plate(GEN5), assaykit.read_layout(LAYOUT))
    direct = analyze(ann, **{k: v for k, v in OPTIONS.items()})
    pd.testing.assert_frame_equal(res.samples, direct.samples)
    assert len(paths) == 7


def test_layout_elisa_table_and_multiplex_grid(tmp_path):
    # a layout with its own [elisa] table; two reads -> a grid figure
    lay = tmp_path / "lay.toml"
    lay.write_text(Path(LAYOUT).read_text() + "\n[elisa]\nmodel = '4pl'\nblank = 'none'\nconc_col = 'std_conc_pg_ml'\n")
    res, paths = run_elisa(GEN5, lay, tmp_path / "o")
    assert res.params["blank"] == "none"
    assert sorted(res.curves["read"]) == ["abs_450", "abs_630"]
    assert any(p.name == "standard_curves_1.png" for p in paths)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("--protocol", "no_such_protocol"), "protocol not found"),
        (("--read", "abs_999"), "read not in the data"),
        (("--weights", "1/x"), "unknown weights"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, args, text):
    _one_line_error(_invoke("elisa", GEN5, "--layout", LAYOUT, *args, "-o", str(tmp_path)), text)


def test_cli_layout_without_role(tmp_path):
    lay = tmp_path / "l.toml"
    lay.write_text("[block.2x1.A1]\nstd_conc_pg_ml = 100\n")
    res = _invoke("elisa", GEN5, "--layout", str(lay), "-o", str(tmp_path / "o"))
    _one_line_error(res, "no role column 'role'")
    assert "std_conc_pg_ml" in res.stderr


def test_cli_unknown_option_in_layout(tmp_path):
    lay = tmp_path / "l.toml"
    lay.write_text(Path(LAYOUT).read_text() + "\n[elisa]\nmodle = '4pl'\n")
    _one_line_error(_invoke("elisa", GEN5, "--layout", str(lay), "-o", str(tmp_path / "o")), "unknown analysis option")


def test_load_protocol_errors(tmp_path):
    assert load_protocol("elisa_il6_4pl")["model"] == "4pl"
    bad = tmp_path / "bad.toml"
    bad.write_text("[elisa\n")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(bad)
    none = tmp_path / "none.toml"
    none.write_text("[qpcr]\nx = 1\n")
    with pytest.raises(ProtocolError, match="no \\[elisa\\] table") as e:
        load_protocol(none)
    assert "qpcr" in str(e.value)
    with pytest.raises(ProtocolError, match="protocol not found") as e:
        load_protocol(tmp_path / "missing.toml")
    assert "elisa_il6_4pl" in str(e.value)


def test_demo_part_elisa(tmp_path):
    paths = run(tmp_path)
    names = {p.name for p in paths}
    assert {"wells.csv", "samples.csv", "curves.csv", "results.xlsx", "standard_curve_il6.png",
            "truth_comparison.csv"} <= names
    cmp = pd.read_csv(tmp_path / "truth_comparison.csv")
    ok = cmp[cmp["status"] == "ok"]
    # simulated plate (3 % CV): quantified samples within 15 % of the truth, 95 % CIs cover it mostly
    assert len(ok) >= 30
    assert np.all(np.abs(ok["ratio"] - 1) < 0.15)
    assert ok["true_in_ci"].mean() >= 0.9


# ------------------------------------------------------------------------ figures
@pytest.fixture(scope="module")
def il6():
    ann = assaykit.annotate(assaykit.read_plate(GEN5), assaykit.read_layout(LAYOUT))
    return analyze(ann, **OPTIONS)


def test_standard_curve_plot_draws_into_given_axes(il6):
    fig = Figure()
    ax = fig.add_subplot()
    out = standard_curve_plot(il6, ax=ax)
    assert out is ax and ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "standards" in labels and any(lb.startswith("4PL fit") for lb in labels)
    assert any(lb.startswith("samples (ok)") for lb in labels)
    assert sum(1 for t in ax.texts if t.get_text().strip() in ("LLOQ", "ULOQ")) == 2
    assert isinstance(standard_curve_plot(il6, "1", "abs_450-630"), Axes)


def test_standard_curve_plot_errors(il6):
    with pytest.raises(ReportError, match="no such curve") as e:
        standard_curve_plot(il6, "1", "IL99")
    assert "1/abs_450-630" in str(e.value)
    with pytest.raises(ReportError, match="no curve for this plate"):
        standard_curve_grid(il6, "9")


def test_plot_of_a_result_without_curves(il6):
    from dataclasses import replace

    empty = replace(il6, curves=il6.curves.iloc[0:0])
    with pytest.raises(ReportError, match="the analysis has no curve to draw"):
        standard_curve_plot(empty)


def test_grid_and_failed_panel():
    wells = []
    for read in ("IL6", "TNF"):
        for i, c in enumerate([1000, 300, 100, 30, 10, 3] if read == "IL6" else [100, 10]):
            y = 0.05 + 3 / (1 + (150 / c) ** 1.2)
            wells.append({"plate": "1", "well": f"{'ABCDEFGH'[i]}1", "read": read, "metric": "raw", "value": y,
                          "raw": str(y), "flag": "", "role": "standard", "std_conc": float(c)})
    df = pd.DataFrame(wells)
    res = analyze(df, conc_col="std_conc", blank="none")
    fig = standard_curve_grid(res)
    assert isinstance(fig, Figure)
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 2
    assert any("fit failed" in a.get_title() for a in visible)


def test_cli_layout_wells_missing_from_export(tmp_path):
    # a layout describing a well the 96-well export lacks: strict join refuses, --how left ignores it
    lay = tmp_path / "layout.toml"
    lay.write_text(Path(LAYOUT).read_text() + "\n[well.P24]\nrole = 'sample'\nsample = 'ghost'\n")
    res = _invoke("elisa", GEN5, "--layout", str(lay), "-o", str(tmp_path / "strict"))
    _one_line_error(res, "well P24: layout well not in the export")
    res = _invoke("elisa", GEN5, "--layout", str(lay), "--how", "left", "-o", str(tmp_path / "left"))
    assert res.exit_code == 0, res.output
    wells = pd.read_csv(tmp_path / "left" / "wells.csv")
    assert "P24" not in set(wells["well"]) and len(wells) >= 96
