"""Typed qPCR settings: one declaration for the keyword API, the [qpcr] table and the CLI."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assaykit
from assaykit.cli import main
from assaykit.datasets import path
from assaykit.errors import AnalysisError, ProtocolError, SettingsError
from assaykit.qpcr import (
    DdctSettings,
    QcSettings,
    QpcrSettings,
    ddct,
    ddct_lm,
    qc_wells,
    standard_curve,
)

RUN = path("qpcr_th_panel_quantstudio.txt")
LAYOUT = path("qpcr_th_panel_layout.toml")


@pytest.fixture(scope="module")
def th():
    return assaykit.annotate(assaykit.read_qpcr(RUN), assaykit.read_layout(LAYOUT), how="left")


def _frames_equal(a, b) -> None:
    for name in ("wells", "samples", "groups", "stats"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.settings == b.settings


# ---------------------------------------------------------------- one source of truth
@pytest.mark.parametrize(("fn", "cls"), [(ddct, DdctSettings), (qc_wells, QcSettings), (ddct_lm, DdctSettings)])
def test_settings_defaults_are_the_keyword_defaults(fn, cls):
    """Every setting that is a parameter of the function has the keyword's default."""
    params = inspect.signature(fn).parameters
    defaults = {s.name: s.default for s in cls.specs()}
    shared = [n for n in defaults if n in params]
    assert len(shared) >= 7
    for name in shared:
        assert params[name].default == defaults[name], name


def test_qpcr_settings_extends_ddct_settings():
    assert issubclass(QpcrSettings, DdctSettings)
    assert set(DdctSettings.keys()) | {"efficiency", "calibrators"} == set(QpcrSettings.keys())
    assert set(QcSettings.keys()) <= set(DdctSettings.keys())
    assert QpcrSettings().method is None and DdctSettings().method == "livak"
    assert [s.name for s in QpcrSettings.specs()] == QpcrSettings.keys()


def test_settings_are_frozen_and_nested():
    s = QpcrSettings.from_mapping({"outlier": "median", "control": "vehicle", "reference": "GAPDH"})
    assert s.qc.outlier == "median" and s.reference == ("GAPDH",) and s.control == "vehicle"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.control = "drug"  # type: ignore[misc]
    t = s.replace(ntc_margin=3, error="sem")
    assert t.qc.ntc_margin == 3.0 and t.error == "sem" and s.qc.ntc_margin == 5.0
    assert QpcrSettings.from_mapping(t.to_dict()) == t


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"undetermined": "40"}, 40.0),
        ({"undetermined": 38}, 38.0),
        ({"undetermined": " Exclude "}, "exclude"),
        ({"tasks": "unknown"}, ("unknown",)),
    ],
)
def test_qc_values_are_normalised(given, expected):
    s = QcSettings(**given)
    assert getattr(s, next(iter(given))) == expected


def test_workflow_values_are_normalised(tmp_path):
    s = QpcrSettings.from_mapping(
        {"efficiency": "none", "calibrators": "IRC", "outlier": "none", "test": "none", "method": "none"}
    )
    assert s.efficiency is None and s.calibrators == ("IRC",) and s.qc.outlier is None and s.test is None
    assert s.method is None
    e = QpcrSettings(efficiency={"GAPDH": 0.95})
    with pytest.raises(TypeError):
        e.efficiency["GAPDH"] = 1.0  # read-only
    assert QpcrSettings(efficiency=tmp_path / "eff.csv").efficiency == str(tmp_path / "eff.csv")


@pytest.mark.parametrize(
    ("cls", "given", "message"),
    [
        (QcSettings, {"undetermined": "never"},
         "key undetermined: undetermined must be 'exclude' or a cycle number (expected 'exclude' or e.g. 40; "
         "found 'never')"),
        (QcSettings, {"undetermined": True}, "key undetermined: undetermined must be 'exclude' or a cycle number"),
        (QcSettings, {"outlier": "bogus"},
         "key outlier: invalid value of a setting of [qpcr] (expected one of: None, 'median', 'sd', 'grubbs', "
         "'max_dcq'; found 'bogus')"),
        (QcSettings, {"tasks": ()}, "key tasks: invalid value of a setting of [qpcr] (expected a task name or a list"),
        (DdctSettings, {"reference": ()}, "key reference: invalid value of a setting of [qpcr] (expected a gene name"),
        (DdctSettings, {"method": None}, "key method: invalid value"),
        (DdctSettings, {"pairing": "multiplex"}, "key pairing: invalid value"),
        (QpcrSettings, {"efficiency": {"GAPDH": "high"}},
         "key efficiency: invalid value of a setting of [qpcr] (expected 'auto', 'none', a CSV file name or a table"),
        (QpcrSettings, {"calibrators": (1,)}, "key calibrators: invalid value of a setting of [qpcr] (expected a sample"),
        (QpcrSettings, {"group_col": None}, "key group_col: invalid value of a setting of [qpcr] (expected a text; found None)"),
        (QcSettings, {"tasks": None}, "key tasks: invalid value of a setting of [qpcr] (expected a task name or a list"),
        (QcSettings, {"ntc_margin": None}, "key ntc_margin: invalid value of a setting of [qpcr] (expected a number"),
    ],
)  # fmt: skip
def test_invalid_values_are_one_line_settings_errors(cls, given, message):
    with pytest.raises(SettingsError) as info:
        cls.from_mapping(given)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_key_lists_the_allowed_ones():
    with pytest.raises(SettingsError) as info:
        QpcrSettings.from_mapping({"references": ["GAPDH"]}, where="p.toml")
    text = str(info.value)
    assert text.startswith("p.toml, key references: not a setting of [qpcr] (expected one of: reference, control")
    assert all(k in text for k in QpcrSettings.keys())


# ---------------------------------------------------------------- [qpcr] tables
def test_from_table_keeps_only_given_keys_and_resolves_the_efficiency_file(tmp_path):
    where = tmp_path / "proto.toml"
    out = QpcrSettings.from_table({"efficiency": "eff.csv", "reference": "GAPDH", "ntc_margin": 4}, where)
    assert out == {"efficiency": str(tmp_path.resolve() / "eff.csv"), "reference": "GAPDH", "ntc_margin": 4}
    assert QpcrSettings.from_table({"efficiency": "auto"}, where) == {"efficiency": "auto"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (3, "p.toml: [qpcr] must be a table of options (found int)"),
        ({"speed": 1}, "p.toml: unknown option in the [qpcr] table (expected one of ['calibrators', 'control'"),
        ({"reference": 3}, "p.toml: option 'reference' of the [qpcr] table has the wrong type (expected a gene name "
                           "or a list of names; found 3)"),
        ({"reference": []}, "option 'reference' of the [qpcr] table has the wrong type"),
        ({"control": 3}, "option 'control' of the [qpcr] table has the wrong type (expected a text; found 3)"),
        ({"ntc_margin": "a"}, "option 'ntc_margin' of the [qpcr] table has the wrong type (expected a number"),
        ({"outlier_threshold": True}, "option 'outlier_threshold' of the [qpcr] table has the wrong type"),
        ({"propagate_control": "yes"}, "(expected true or false; found 'yes')"),
        ({"tasks": [1]}, "option 'tasks' of the [qpcr] table has the wrong type"),
    ],
)  # fmt: skip
def test_from_table_type_errors(table, message):
    with pytest.raises(ProtocolError) as info:
        QpcrSettings.from_table(table, "p.toml")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"outlier": "bogus"}, "p.toml, key outlier: invalid value of a setting of [qpcr]"),
        ({"error": "range"}, "p.toml, key error: invalid value of a setting of [qpcr] (expected one of: 'sd', 'sem', "
                             "'ci95'; found 'range')"),
        ({"undetermined": "never"}, "p.toml, key undetermined: undetermined must be 'exclude' or a cycle number"),
    ],
)  # fmt: skip
def test_from_table_bad_values_name_the_file(table, message):
    with pytest.raises(SettingsError) as info:  # a SettingsError is also a ProtocolError
        QpcrSettings.from_table(table, "p.toml")
    assert isinstance(info.value, ProtocolError) and message in str(info.value)


# ---------------------------------------------------------------- settings= on the functions
def test_ddct_with_settings_equals_the_keyword_call(th):
    kw = dict(group_col="condition", outlier="median", outlier_threshold=0.4, error="sem", pairing="separate",
              test="student", p_adjust="bh", ntc_margin=3.0, tm_tolerance=0.5)  # fmt: skip
    by_kw = ddct(th, ["GAPDH", "ACTB"], "vehicle", **kw)
    s = DdctSettings.from_mapping({"reference": ["GAPDH", "ACTB"], "control": "vehicle", **kw})
    _frames_equal(ddct(th, settings=s), by_kw)
    # reference and control positional, the rest from settings
    _frames_equal(ddct(th, ["GAPDH", "ACTB"], "vehicle", settings=s.replace(reference="X", control="Y")), by_kw)


def test_explicit_keywords_win_over_settings(th):
    s = DdctSettings(reference=("GAPDH",), control="vehicle", group_col="condition", error="sem", test="student")
    res = ddct(th, settings=s, error="sd", test=None, outlier="median")
    assert set(res.groups["error_convention"]) == {"sd"} and len(res.stats) == 0
    assert res.settings["outlier"] == "median" and res.settings["test"] is None
    # an explicit None wins too (it is not the same as leaving the keyword out)
    s2 = s.replace(outlier="median")
    assert ddct(th, settings=s2).settings["outlier"] == "median"
    assert ddct(th, settings=s2, outlier=None).settings["outlier"] is None


def test_ddct_accepts_workflow_settings_and_method_none(th):
    eff = standard_curve(th)
    s = QpcrSettings(reference=("GAPDH", "ACTB"), control="vehicle", group_col="condition", efficiency="auto")
    res = ddct(th, settings=s, efficiency=eff)  # 'auto' is a workflow option: not used by ddct
    ref = ddct(th, ["GAPDH", "ACTB"], "vehicle", group_col="condition", method="pfaffl", efficiency=eff)
    _frames_equal(res, ref)
    assert ddct(th, ["GAPDH"], "vehicle", group_col="condition", method=None).settings["method"] == "livak"


def test_qc_wells_and_ddct_lm_take_settings(th):
    qc = QcSettings(outlier="max_dcq", outlier_threshold=0.3, undetermined=40, instrument_flags="exclude")
    pd.testing.assert_frame_equal(
        qc_wells(th, settings=qc),
        qc_wells(th, outlier="max_dcq", outlier_threshold=0.3, undetermined=40.0, instrument_flags="exclude"),
    )
    # a DdctSettings gives its QC part and the column names; the keyword still wins
    d = DdctSettings(sample_col="sample", qc=qc)
    pd.testing.assert_frame_equal(qc_wells(th, settings=d, outlier=None), qc_wells(th, undetermined=40.0,
                                                                                   instrument_flags="exclude"))
    s = DdctSettings(reference=("GAPDH",), control="vehicle", group_col="condition", test="tukey", qc=qc)
    pd.testing.assert_frame_equal(
        ddct_lm(th, settings=s, response="cq"),
        ddct_lm(th, "GAPDH", "vehicle", group_col="condition", response="cq", outlier="max_dcq",
                outlier_threshold=0.3, undetermined=40.0, instrument_flags="exclude"),
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        ddct_lm(th, "GAPDH", "vehicle", group_col="condition", settings=qc),
        ddct_lm(th, "GAPDH", "vehicle", group_col="condition", outlier="max_dcq", outlier_threshold=0.3,
                undetermined=40.0, instrument_flags="exclude"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: ddct(d, control="vehicle", group_col="condition"), "no reference gene given"),
        (lambda d: ddct(d, "GAPDH", group_col="condition"),
         "no control group given (expected control='vehicle' (a value of group_col); found None)"),
        (lambda d: ddct(d, settings={"reference": "GAPDH"}),
         "key settings: settings has an unsupported type (expected DdctSettings; found dict)"),
        (lambda d: qc_wells(d, settings=DdctSettings), "settings has an unsupported type"),
        (lambda d: ddct_lm(d, control="vehicle", group_col="condition"), "no reference gene given"),
        (lambda d: ddct(d, settings=DdctSettings(reference=("GAPDH",), control="vehicle")), "group column missing"),
    ],
)  # fmt: skip
def test_settings_errors_on_the_functions(th, call, message):
    with pytest.raises(AnalysisError) as info:
        call(th)
    assert message in str(info.value)


def test_values_are_checked_like_keywords(th):
    """A bad keyword beside settings gets ddct's own message; settings cannot hold a bad value."""
    s = DdctSettings(reference=("GAPDH",), control="vehicle", group_col="condition")
    with pytest.raises(AnalysisError, match=r"unknown error convention \(expected one of \('sd', 'sem', 'ci95'\)"):
        ddct(th, settings=s, error="range")
    with pytest.raises(SettingsError, match="key error: invalid value"):
        dataclasses.replace(s, error="range")


# ---------------------------------------------------------------- the command line and the docs
def test_every_setting_has_a_command_line_flag():
    help_text = CliRunner().invoke(main, ["qpcr", "--help"]).output
    for spec in QpcrSettings.specs():
        assert spec.flag in help_text, spec.flag
    assert "--no-propagate-control" in help_text


def test_cli_none_switches_a_protocol_option_off(tmp_path):
    """--outlier none beats the protocol's median rule (None is a value on the command line)."""
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["qpcr", str(RUN), "--layout", str(LAYOUT), "--protocol", "qpcr_th_panel",
                                  "--outlier", "none", "--test", "none", "--no-figures", "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    wells = pd.read_csv(out / "wells.csv", keep_default_na=False)
    assert not wells["reason"].str.startswith("outlier").any()
    assert len(pd.read_csv(out / "stats.csv")) == 0


def test_protocols_readme_lists_exactly_the_settings():
    readme = Path(__file__).resolve().parents[1] / "protocols" / "README.md"
    text = readme.read_text(encoding="utf-8")
    part = text[text.index("## qPCR protocols"):]
    table = part[: part.index("\n\n", part.index("| key |"))]
    listed = re.findall(r"^\| `([a-z_]+)`", table, flags=re.M)
    assert listed == QpcrSettings.keys()


def test_option_keys_and_defaults_derive_from_the_settings():
    from assaykit.cli.qpcr import DEFAULTS, OPTION_KEYS

    assert list(OPTION_KEYS) == QpcrSettings.keys()
    assert DEFAULTS == QpcrSettings().to_dict()
    assert np.isclose(DEFAULTS["ntc_margin"], 5.0)
