"""AnalysisSettings: one declaration of the immunoassay options, for keywords, settings=, TOML tables and errors."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest

import assaykit
from assaykit.datasets import path
from assaykit.errors import AnalysisError, ProtocolError, SettingsError
from assaykit.immunoassay import AnalysisSettings, analyze
from assaykit.immunoassay.analysis import options_from_mapping
from assaykit.immunoassay.settings import MODEL_CHOICES, SECTION, SECTION_ALIASES, settings_table

TABLES = ("wells", "samples", "standards", "curves", "linearity")


@pytest.fixture(scope="module")
def il6():
    return assaykit.annotate(assaykit.read_plate(path("elisa_il6_gen5.txt")),
                             assaykit.read_layout(path("elisa_il6_layout.toml")))


def _same(a, b):
    for t in TABLES:
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), check_exact=True)


def test_every_analyze_option_is_a_setting_and_nothing_else():
    keywords = set(inspect.signature(analyze).parameters) - {"annotated_plate", "settings", "mask", "standard_conc"}
    assert keywords == set(AnalysisSettings.keys())
    assert SECTION == "immunoassay" and SECTION_ALIASES == ("elisa",)
    assert AnalysisSettings.section == "immunoassay"


def test_defaults_and_frozen():
    s = AnalysisSettings()
    assert (s.model, s.weights, s.blank, s.recovery_window, s.cv_max, s.level) == (
        "4pl", "none", "subtract_mean", (80.0, 120.0), 20.0, 0.95)
    assert s.read is None and s.conc_col is None and s.hook == "detect" and s.interval == "delta"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.model = "5pl"


def test_from_mapping_converts_toml_types():
    s = AnalysisSettings.from_mapping({"read": "abs_450", "recovery_window": [70, 130], "weights": ["power", 1.5],
                                       "model": "5PL"})
    assert s.read == ("abs_450",) and s.recovery_window == (70, 130) and s.weights == ("power", 1.5)
    assert s.model == "5pl"  # case-insensitive, stored lower-case
    assert AnalysisSettings.from_mapping(s.to_dict()) == s  # round trip through the info/TOML form


def test_unknown_key_lists_the_allowed_ones():
    with pytest.raises(SettingsError) as e:
        AnalysisSettings.from_mapping({"modle": "4pl"}, where="layout.toml")
    msg = str(e.value)
    assert msg.startswith("layout.toml, key modle: unknown analysis option: not a setting of [immunoassay]")
    assert "model" in msg and "linearity_cv_max" in msg
    assert isinstance(e.value, AnalysisError) and isinstance(e.value, ProtocolError)
    with pytest.raises(SettingsError, match="unknown analysis option"):
        AnalysisSettings.merged({"model": "5pl"}, {"mask": ["A1"]}, where=("p.toml", "l.toml"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"blank": "median"}, "key blank: unknown blank handling (expected one of: 'subtract_mean', 'zero_standard', 'none'; found 'median')"),
        ({"hook": "maybe"}, "key hook: unknown hook option (expected one of: 'detect', 'peak', 'off'"),
        ({"interval": "bootstrap"}, "key interval: unknown interval type"),
        ({"recovery_window": (120, 80)}, "key recovery_window: invalid recovery window"),
        ({"recovery_window": "80-120"}, "invalid recovery window (expected (low, high) with 0 <= low < high"),
        ({"cv_max": -1}, "key cv_max: invalid cv_max (expected a positive percentage; found -1.0)"),
        ({"level": 95}, "key level: invalid confidence level (expected 0 < level < 1; found 95.0)"),
        ({"hook_tolerance": 1.5}, "key hook_tolerance: invalid hook_tolerance"),
        ({"linearity_cv_max": 0}, "key linearity_cv_max: invalid linearity_cv_max"),
        ({"model": "6pl"}, "key model: unknown curve model (expected one of: '4pl', '5pl', 'auto', 'linear', 'loglinear'; found '6pl')"),
        ({"asymmetry": "left"}, "key asymmetry: unknown 5PL asymmetry"),
        ({"weights": "1/x"}, "key weights: unknown weights (expected 'none', '1/y', '1/y^2'"),
    ],
)
def test_invalid_values_name_the_setting(changes, message):
    with pytest.raises(SettingsError) as e:
        AnalysisSettings.from_mapping(changes)
    assert message in str(e.value)
    assert str(e.value).count("\n") == 0


def test_settings_passed_whole_equal_keywords(il6):
    kw = {"read": "abs_450", "reference_read": "abs_630", "model": "5pl", "weights": "1/y^2", "cv_max": 15}
    _same(analyze(il6, settings=AnalysisSettings(**kw)), analyze(il6, **kw))


def test_explicit_keywords_override_settings(il6):
    s = AnalysisSettings(read=("abs_450",), reference_read="abs_630", model="5pl", blank="none")
    res = analyze(il6, settings=s, model="4pl")
    assert res.curves["model"].tolist() == ["4pl"] and res.params["blank"] == "none"
    _same(res, analyze(il6, read="abs_450", reference_read="abs_630", blank="none"))
    # a keyword equal to the default still overrides (it was given)
    assert analyze(il6, settings=s, blank="subtract_mean").params["blank"] == "subtract_mean"
    # keywords not given take the settings' values, not the defaults
    assert analyze(il6, settings=s).params["model"] == "5pl"


def test_settings_must_be_analysis_settings(il6):
    with pytest.raises(SettingsError, match="settings must be an AnalysisSettings"):
        analyze(il6, settings={"model": "5pl"})


def test_params_record_the_settings(il6):
    res = analyze(il6, settings=AnalysisSettings(read=("abs_450",), recovery_window=(70, 130)))
    assert res.params["read"] == ["abs_450"] and res.params["recovery_window"] == [70.0, 130.0]
    assert res.params["conc_col"] == "std_conc_pg_ml"  # the column actually used
    assert set(AnalysisSettings.keys()) <= set(res.params)


def test_options_from_mapping_builds_on_the_settings():
    assert options_from_mapping({"model": "5pl"}) == {"model": "5pl"}
    with pytest.raises(SettingsError, match="unknown analysis option"):
        options_from_mapping({"standard_conc": 3})  # a table, not a setting


def test_settings_table_reads_either_name_but_not_both():
    assert settings_table({"immunoassay": {"model": "5pl"}, "qpcr": {}}) == {"model": "5pl"}
    assert settings_table({"elisa": {"model": "linear"}}) == {"model": "linear"}
    assert settings_table({"qpcr": {"x": 1}}) == {}
    with pytest.raises(SettingsError, match="both \\[immunoassay\\] and \\[elisa\\]") as e:
        settings_table({"immunoassay": {}, "elisa": {}}, where="lay.toml")
    assert str(e.value).startswith("lay.toml")
    with pytest.raises(SettingsError, match="must be a table of options"):
        settings_table({"elisa": 3})


def test_model_choices_are_the_engine_models():
    from assaykit.immunoassay import MODELS

    assert set(MODEL_CHOICES) == {*MODELS, "auto"}


def test_copy_on_write_inversion_intervals(il6):
    # with copy-on-write (always on from pandas 3) arrays from to_numpy() are read-only
    cow = (pd.option_context("mode.copy_on_write", True) if int(pd.__version__.split(".")[0]) < 3
           else contextlib.nullcontext())
    with cow:
        res = analyze(il6, read="abs_450", reference_read="abs_630", interval="inversion")
    ok = res.wells[res.wells.status == "ok"]
    assert len(ok) > 10 and np.all(ok.ci_low < ok.conc) and np.all(ok.conc < ok.ci_high)


# ------------------------------------------------------------------------ weights.py (closed forms)
def test_replicate_power_recovers_an_exact_variance_law():
    from assaykit.immunoassay.weights import replicate_power

    means = np.array([0.1, 0.3, 0.9, 2.0, 3.5])
    for k in (0.0, 1.0, 1.7, 2.0):
        d = np.sqrt(means**k / 2)  # two replicates m ± d: sample variance 2 d² = m^k exactly
        x = np.repeat(np.arange(5.0), 2)
        y = np.column_stack([means - d, means + d]).ravel()
        assert replicate_power(x, y) == pytest.approx(k, abs=1e-12)
    assert replicate_power(np.arange(6.0), np.ones(6)) is None  # no replicates


def test_weight_values_and_floor():
    from assaykit.immunoassay.weights import response_floor, weight_values

    y = np.array([-0.5, 0.0, 0.25, 2.0])
    assert response_floor(y) == 0.25 and response_floor(np.zeros(3)) == 1e-12
    np.testing.assert_array_equal(weight_values("none", 0.0, y, None, 0.25), np.ones(4))
    np.testing.assert_allclose(weight_values("1/y^2-xponent", 2.0, y, None, 0.25), [4.0, 1.0, 16.0, 0.25])
    np.testing.assert_allclose(weight_values("power", 1.5, y, np.array([1.0, 4.0, -1.0, 0.25]), 0.25),
                               [1.0, 4.0**-1.5, 0.25**-1.5, 0.25**-1.5])
