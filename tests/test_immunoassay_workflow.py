"""The immunoassay workflow layer, the `immunoassay` command with its `elisa` alias, and the package's seams."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assaykit
from assaykit.cli import main
from assaykit.cli.demo_elisa import OPTIONS
from assaykit.cli.elisa import load_protocol
from assaykit.datasets import path
from assaykit.errors import ProtocolError, SettingsError
from assaykit.immunoassay import AnalysisSettings, analyze, standards_from_plate, workflow

GEN5 = str(path("elisa_il6_gen5.txt"))
LAYOUT = str(path("elisa_il6_layout.toml"))
TABLES = ("wells", "samples", "standards", "curves", "linearity")


@pytest.fixture(scope="module")
def il6():
    return assaykit.annotate(assaykit.read_plate(GEN5), assaykit.read_layout(LAYOUT))


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


# ------------------------------------------------------------------------ workflow.run
def test_run_is_analyze_with_settings(il6):
    s = AnalysisSettings.from_mapping(OPTIONS)
    res = workflow.run(il6, s)
    direct = analyze(il6, **OPTIONS)
    assert list(res.tables()) == list(TABLES)
    for t in TABLES:
        pd.testing.assert_frame_equal(res.tables()[t], direct.tables()[t], check_exact=True)
    with pytest.raises(AttributeError):
        res.wells = None
    assert res.settings == s
    # no settings: the defaults (every read of the metric)
    assert sorted(workflow.run(il6).curves["read"]) == ["abs_450", "abs_630"]


def test_run_passes_mask_and_standard_conc(il6):
    s = AnalysisSettings(read=("abs_450",), reference_read="abs_630")
    res = workflow.run(il6, s, mask=[("A1", "bubble")])
    assert res.wells.set_index("well").loc["A1", "status"] == "masked"
    std = il6[(il6.role == "standard") & (il6.read == "abs_450")]
    sc = std[["plate", "well", "read"]].assign(conc=std["std_conc_pg_ml"].to_numpy() * 2)
    doubled = workflow.run(il6, s, standard_conc=sc)
    assert doubled.params["conc_source"] == "standard_conc"
    plain = workflow.run(il6, s)
    # concentrations doubled: the same curve with c doubled (a, b, d unchanged)
    assert doubled.curves["c"].iloc[0] == pytest.approx(2 * plain.curves["c"].iloc[0], rel=1e-6)
    assert doubled.curves["b"].iloc[0] == pytest.approx(plain.curves["b"].iloc[0], rel=1e-6)


def test_settings_layers_later_wins():
    proto = {"elisa": {"model": "5pl", "blank": "none", "cv_max": 15}, "protocol": {"name": "x"}}
    layout = {"immunoassay": {"blank": "zero_standard"}}
    s = workflow.settings_from_tables(proto, layout, {"cv_max": 10, "model": None})
    assert (s.model, s.blank, s.cv_max) == ("5pl", "zero_standard", 10.0)
    assert workflow.settings_from_tables() == AnalysisSettings()


def test_settings_layers_name_the_file_of_an_unknown_key():
    with pytest.raises(SettingsError) as e:
        workflow.settings_from_tables({"elisa": {"model": "5pl"}}, {"elisa": {"modle": "4pl"}},
                                      where=("proto.toml", "layout.toml"))
    assert str(e.value).startswith("layout.toml, key modle: unknown analysis option")


# ------------------------------------------------------------------------ protocols
def test_protocol_with_immunoassay_table(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[immunoassay]\nmodel = '5pl'\n")
    assert load_protocol(p) == {"model": "5pl"}
    assert load_protocol("elisa_il6_4pl")["read"] == "abs_450"  # the bundled protocol's [elisa]
    both = tmp_path / "both.toml"
    both.write_text("[immunoassay]\nmodel = '5pl'\n[elisa]\nmodel = '4pl'\n")
    with pytest.raises(ProtocolError, match="both \\[immunoassay\\] and \\[elisa\\]") as e:
        load_protocol(both)
    assert str(e.value).startswith(str(both))
    neither = tmp_path / "neither.toml"
    neither.write_text("[qpcr]\nx = 1\n")
    with pytest.raises(ProtocolError, match="no \\[immunoassay\\] table and no \\[elisa\\] table") as e:
        load_protocol(neither)
    assert "found qpcr" in str(e.value)


# ------------------------------------------------------------------------ the command and its alias
def test_immunoassay_and_elisa_write_the_same_files(tmp_path):
    args = [GEN5, "--layout", LAYOUT, "--read", "abs_450", "--reference-read", "abs_630"]
    a = _invoke("immunoassay", *args, "-o", str(tmp_path / "a"))
    b = _invoke("elisa", *args, "-o", str(tmp_path / "b"))
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for t in TABLES:
        assert (tmp_path / "a" / f"{t}.csv").read_text() == (tmp_path / "b" / f"{t}.csv").read_text()
    info = pd.read_excel(tmp_path / "a" / "results.xlsx", sheet_name="info", engine="openpyxl")
    assert "assaykit immunoassay" in set(info["value"].astype(str))
    info = pd.read_excel(tmp_path / "b" / "results.xlsx", sheet_name="info", engine="openpyxl")
    assert "assaykit elisa" in set(info["value"].astype(str))


def test_help_names_the_alias():
    top = _invoke("--help").output
    assert "immunoassay" in top and "elisa" in top and "Alias of `assaykit immunoassay`" in top
    h = _invoke("immunoassay", "--help").output
    assert "`assaykit elisa` is an alias" in h
    for flag in ("--model", "--weights", "--cv-max", "--interval", "--hook", "--recovery-window", "--level",
                 "--linearity-cv-max", "--expected-col", "--asymmetry"):
        assert flag in h
    assert "Alias of `assaykit immunoassay`" in _invoke("elisa", "--help").output


def test_every_setting_reaches_the_analysis(tmp_path):
    out = tmp_path / "o"
    res = _invoke("immunoassay", GEN5, "--layout", LAYOUT, "--read", "abs_450", "--reference-read", "abs_630",
                  "--cv-max", "12.5", "--recovery-window", "70", "130", "--interval", "inversion", "--level", "0.9",
                  "--hook", "off", "--linearity-cv-max", "30", "-o", str(out))
    assert res.exit_code == 0, res.output
    info = pd.read_excel(out / "results.xlsx", sheet_name="info", engine="openpyxl").set_index("name")["value"]
    assert float(info["cv_max"]) == 12.5 and info["recovery_window"] == "[70.0, 130.0]"
    assert info["interval"] == "inversion" and float(info["level"]) == 0.9 and info["hook"] == "off"
    assert float(info["linearity_cv_max"]) == 30


def test_layout_immunoassay_table_and_command_line_order(tmp_path):
    lay = tmp_path / "lay.toml"
    lay.write_text(Path(LAYOUT).read_text() + "\n[immunoassay]\nmodel = '5pl'\nblank = 'none'\n")
    out = tmp_path / "o"
    res = _invoke("immunoassay", GEN5, "--layout", str(lay), "--protocol", "elisa_il6_4pl", "--blank",
                  "zero_standard", "-o", str(out))
    assert res.exit_code == 0, res.output
    curves = pd.read_csv(out / "curves.csv")
    # protocol (4pl, subtract_mean) < layout (5pl, none) < command line (zero_standard)
    assert curves["model"].tolist() == ["5pl"] and curves["blank_method"].tolist() == ["zero_standard"]


def test_bad_settings_are_one_line_errors(tmp_path):
    lay = tmp_path / "lay.toml"
    lay.write_text(Path(LAYOUT).read_text() + "\n[immunoassay]\nlevel = 95\n")
    res = _invoke("immunoassay", GEN5, "--layout", str(lay), "-o", str(tmp_path / "o"))
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert "key level: invalid confidence level" in res.stderr
    res = _invoke("immunoassay", GEN5, "--layout", LAYOUT, "--model", "6pl", "-o", str(tmp_path / "o"))
    assert res.exit_code == 2  # a click choice


def test_standard_curve_figures_names(il6):
    from assaykit.report.immunoassay_figures import standard_curve_figures

    one = standard_curve_figures(analyze(il6, read="abs_450", reference_read="abs_630"))
    assert list(one) == ["standard_curve_1_abs_450-630"]
    two = standard_curve_figures(analyze(il6, conc_col="std_conc_pg_ml"))
    assert list(two) == ["standard_curves_1"]


# ------------------------------------------------------------------------ seams
def test_standards_from_plate_in_the_assay_package():
    t = pd.DataFrame({"plate": ["1"] * 4, "well": ["A1", "A2", "A3", "B1"], "read": ["IL6"] * 4,
                      "metric": ["expected_conc"] * 3 + ["net_mfi"], "value": [100.0, 50.0, 25.0, 7.0],
                      "sample_label": ["Standard1", "Standard2", "Standard3", "Unknown1"]})
    out = standards_from_plate(t)
    assert out.columns.tolist() == ["plate", "well", "read", "expected_conc", "sample_label"]
    assert out["expected_conc"].tolist() == [100.0, 50.0, 25.0]


_PKG = Path(assaykit.__file__).parent / "immunoassay"


def _imports(p: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("assaykit")}


def test_the_assay_imports_no_reader_report_or_cli_and_has_no_circle():
    mods = {p.stem: _imports(p) for p in _PKG.glob("*.py") if p.name != "__init__.py"}
    for name, deps in mods.items():
        bad = [d for d in deps if d.split(".")[1] in ("io", "report", "cli", "qpcr", "flow", "blot")]
        assert not bad, (name, bad)
        assert "assaykit.immunoassay" not in deps, f"{name} imports the package __init__ (a circle through it)"
    graph = {n: {d.split(".")[2] for d in deps if d.startswith("assaykit.immunoassay.")} & set(mods)
             for n, deps in mods.items()}
    seen: dict[str, int] = {}

    def visit(n, stack):
        assert n not in stack, "import circle: " + " -> ".join([*stack, n])
        if seen.get(n):
            return
        for d in graph[n]:
            visit(d, [*stack, n])
        seen[n] = 1

    for n in graph:
        visit(n, [])
    assert "engine" in graph["analysis"] and "fit" not in graph["batch"] and "_lm" in graph["batch"]


def test_no_function_over_120_lines():
    for p in _PKG.glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
                first = body[0].lineno if body else node.end_lineno
                assert node.end_lineno - first + 1 <= 120, f"{p.name}:{node.lineno} {node.name}"


def test_solver_replaced_at_its_public_name_reaches_every_fit(monkeypatch):
    # the batched solver is called through assaykit.immunoassay.batch.lm_batch by fit_curve and fit_curves
    from assaykit.errors import FitError
    from assaykit.immunoassay import batch, fit, fit_curve, fit_curves, four_pl

    calls = []

    def no_lm(X, Y, W, theta0, model="4pl", **kw):
        calls.append(X.shape[0])
        m = X.shape[0]
        return np.asarray(theta0, float), np.zeros(m, bool), np.full(m, 1), np.full(m, 1.0)

    def no_fit(x, y, w, model, theta0):
        return np.asarray(theta0, float), False, "stopped", 1

    monkeypatch.setattr(batch, "lm_batch", no_lm)
    monkeypatch.setattr(fit, "_lmfit_gd", no_fit)
    x = np.repeat([0.0, 10, 30, 100, 300, 1000], 2)
    y = four_pl(x, 0.1, 1.2, 150.0, 3.0) * (1 + 0.02 * np.sin(np.arange(x.size)))
    with pytest.raises(FitError, match="did not converge"):
        fit_curve(x, y)
    assert calls
    tab = fit_curves(pd.DataFrame({"grp": "a", "conc": x, "response": y}), by="grp").table
    assert tab.status[0] == "failed"
