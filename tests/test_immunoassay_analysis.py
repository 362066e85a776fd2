"""Tests of assaykit.immunoassay.analyze: tables, statuses, blanks, masks, multiplex, errors.

Numbers are checked against closed forms (noiseless 4PL data: parameters, concentrations
and recoveries exact to 1e-6 relative), against the single-curve engine (``fit_curve`` /
the batched and lmfit optimisers agree to 1e-6 relative; back-calculations equal the fitted
curve's own ``StandardCurve.back_calculate`` to 1e-12: the analysis layer changes nothing), and against R ``minpack.lm::nlsLM`` back-fits of the reference data
sets in ../shared/reference/elisa (1e-4 relative, as the engine's own reference tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assaykit.errors import AnalysisError, AssaykitWarning, FitError
from assaykit.immunoassay import analyze, fit_curve, four_pl
from assaykit.immunoassay.analysis import ROLES, WELL_STATUS, options_from_mapping
from assaykit.schema import parse_well, row_letter

TRUE = {"a": 0.05, "b": 1.3, "c": 150.0, "d": 3.2}
LEVELS = [1000, 500, 250, 125, 62.5, 31.25, 15.625, 7.8125]


def _plate(wells: list[dict], read: str = "abs_450", plate: str = "1") -> pd.DataFrame:
    """An annotated plate table from dicts with well, value and layout fields."""
    rows = []
    for w in wells:
        r, c = parse_well(w["well"])
        v = w.get("value", np.nan)
        rows.append({
            "plate": w.get("plate", plate), "well": w["well"], "well0": f"{r}{c:02d}", "row": r,
            "col": c, "read": w.get("read", read), "metric": w.get("metric", "raw"), "value": v,
            "raw": w.get("raw", "" if v != v else f"{v}"), "flag": w.get("flag", ""), "source_file": "mem",
            "role": w.get("role"), "sample": w.get("sample"), "std_conc_pg_ml": w.get("conc", np.nan),
            "dilution": w.get("dilution", np.nan),
        })
    return pd.DataFrame(rows)


def _standard_wells(p=TRUE, levels=LEVELS, reps=2, blank_value=0.0, noise=None, read="abs_450", plate="1"):
    wells = []
    y = four_pl(np.asarray(levels, float), p["a"], p["b"], p["c"], p["d"])
    rng = np.random.default_rng(1)
    for i, (c, yy) in enumerate(zip(levels, y, strict=True)):
        for j in range(reps):
            v = yy + blank_value + (0 if noise is None else rng.normal(0, noise * yy))
            wells.append({"well": f"{row_letter(i)}{j + 1}", "value": float(v), "role": "standard",
                          "sample": f"STD{i + 1}", "conc": c, "read": read, "plate": plate})
    return wells


def _sample_wells(concs, dilutions, p=TRUE, blank_value=0.0, col0=4, read="abs_450", plate="1"):
    wells = []
    for i, (c, d) in enumerate(zip(concs, dilutions, strict=True)):
        y = float(four_pl(c / d, p["a"], p["b"], p["c"], p["d"])) + blank_value
        for j in range(2):
            wells.append({"well": f"{row_letter(i)}{col0 + j}", "value": y, "role": "sample", "sample": f"S{i}",
                          "dilution": d, "read": read, "plate": plate})
    return wells


def _closed_plate(blank_value=0.0, with_blanks=True):
    wells = _standard_wells(blank_value=blank_value)
    if with_blanks:
        wells += [{"well": f"{row_letter(i)}3", "value": blank_value, "role": "blank"} for i in range(4)]
    wells += _sample_wells([300.0, 80.0, 40.0, 600.0], [2, 1, 4, 2], blank_value=blank_value)
    return _plate(wells)


# ------------------------------------------------------------------------ closed forms
def test_noiseless_4pl_recovers_parameters_and_concentrations():
    res = analyze(_closed_plate(blank_value=0.1), blank="subtract_mean")
    c = res.curves.iloc[0]
    for k, v in TRUE.items():
        assert c[k] == pytest.approx(v, rel=1e-6)
    s = res.samples.query("role == 'sample'").set_index("sample")
    np.testing.assert_allclose(s.loc[["S0", "S1", "S2", "S3"], "conc"], [300.0, 80.0, 40.0, 600.0], rtol=1e-6)
    np.testing.assert_allclose(s["conc_in_well"] * s["dilution"], s["conc"], rtol=1e-12)
    assert (s["status"] == "ok").all()
    std = res.standards
    np.testing.assert_allclose(std["recovery_pct"], 100.0, rtol=1e-6)
    np.testing.assert_allclose(std["recovery_wells_pct"], 100.0, rtol=1e-6)
    assert c["lloq"] == min(LEVELS) and c["uloq"] == max(LEVELS)
    assert std["within_qc"].all()
    # blank mean subtracted from every response
    np.testing.assert_allclose(res.wells["response"], res.wells["value"] - 0.1, atol=1e-12)
    assert res.curves["blank_response"].iloc[0] == pytest.approx(0.1)


def test_same_numbers_as_single_curve_engine():
    wells = _standard_wells(noise=0.04)
    wells += _sample_wells([300.0, 80.0, 20.0], [2, 1, 4])
    wells[20]["value"] *= 1.07  # replicates differ
    df = _plate(wells)
    res = analyze(df, blank="none", weights="1/y^2")
    st = df[df.role == "standard"]
    curve = fit_curve(st.std_conc_pg_ml, st.value, "4pl", "1/y^2")
    # batched LM (analysis) vs lmfit (fit_curve): same optimum to 1e-6
    for k in "abcd":
        assert res.curves.iloc[0][k] == pytest.approx(curve.params[k], rel=1e-6)
        assert res.curves.iloc[0][f"{k}_se"] == pytest.approx(curve.stderr[k], rel=1e-5)
    # back-calculation: exactly what the fitted curve's own back_calculate gives
    fitted = res.curve("1", "abs_450")
    assert fitted.params["c"] == pytest.approx(curve.params["c"], rel=1e-6)
    s = res.samples.query("role == 'sample'")
    bc = fitted.back_calculate(s.response_mean, s.n_used, s.dilution)
    np.testing.assert_allclose(s.conc, bc.conc, rtol=1e-12)
    np.testing.assert_allclose(s.ci_low, bc.ci_low, rtol=1e-12)
    np.testing.assert_allclose(s.ci_high, bc.ci_high, rtol=1e-12)
    w = res.wells.query("role == 'sample'")
    bw = fitted.back_calculate(w.response, 1, w.dilution)
    np.testing.assert_allclose(w.conc, bw.conc, rtol=1e-12)
    np.testing.assert_allclose(w.ci_low, bw.ci_low, rtol=1e-12)


def test_replicate_statistics_and_cv_flag():
    wells = _standard_wells()
    wells += [{"well": "A5", "value": 1.0, "role": "sample", "sample": "X"},
              {"well": "A6", "value": 1.5, "role": "sample", "sample": "X"},
              {"well": "A7", "value": 1.0, "role": "sample", "sample": "Y"},
              {"well": "A8", "value": 1.02, "role": "sample", "sample": "Y"}]
    res = analyze(_plate(wells), blank="none", cv_max=20)
    s = res.samples.set_index("sample")
    assert s.loc["X", "value_mean"] == pytest.approx(1.25)
    assert s.loc["X", "value_sd"] == pytest.approx(np.std([1.0, 1.5], ddof=1))
    assert s.loc["X", "cv_pct"] == pytest.approx(np.std([1.0, 1.5], ddof=1) / 1.25 * 100)
    assert s.loc["X", "cv_flag"] and not s.loc["Y", "cv_flag"]
    assert "replicate CV" in s.loc["X", "reason"] and "> 20 %" in s.loc["X", "reason"]
    assert s.loc["X", "wells"] == "A5;A6" and s.loc["X", "n_used"] == 2


# ------------------------------------------------------------------------ statuses
def test_every_status_and_no_silent_nan():
    wells = _standard_wells()
    extra = [
        {"well": "A9", "value": 0.01, "role": "sample", "sample": "low"},          # below a -> below_curve
        {"well": "B9", "value": 3.5, "role": "sample", "sample": "high"},          # above d -> above_curve
        {"well": "C9", "value": float(four_pl(3.0, **TRUE)), "role": "sample", "sample": "lo"},   # < LLOQ
        {"well": "D9", "value": float(four_pl(3000.0, **TRUE)), "role": "sample", "sample": "hi"},  # > ULOQ
        {"well": "E9", "value": 1.0, "role": "sample", "sample": "m"},             # masked
        {"well": "F9", "value": np.nan, "raw": "OVRFLW", "flag": "overflow", "role": "sample", "sample": "f"},
        {"well": "G9", "value": np.nan, "role": "sample", "sample": "na"},         # missing
        {"well": "H9", "value": 1.0},                                              # no role
        {"well": "A10", "value": 1.0, "role": "sample", "sample": "ok"},
    ]
    res = analyze(_plate(wells + extra), blank="none", mask=[("E9", "bubble")])
    st = res.wells.set_index("well")["status"]
    assert st["A9"] == "below_curve" and st["B9"] == "above_curve"
    assert st["C9"] == "below_lloq" and st["D9"] == "above_uloq"
    assert st["E9"] == "masked" and st["F9"] == "reader_flag" and st["G9"] == "missing"
    assert st["H9"] == "no_role" and st["A10"] == "ok"
    r = res.wells.set_index("well")["reason"]
    assert r["E9"] == "masked: bubble"
    assert "overflow" in r["F9"] and "OVRFLW" in r["F9"]
    assert "LLOQ" in r["C9"] and "ULOQ" in r["D9"]
    assert "asymptote" in r["A9"]
    assert set(res.wells["status"]) <= set(WELL_STATUS)
    # every input well is kept; no NaN concentration without a non-ok status, every well has a reason
    assert len(res.wells) == len(wells) + len(extra)
    nan = res.wells["conc"].isna()
    assert not (nan & (res.wells["status"] == "ok")).any()
    assert (res.wells["reason"] != "").all()
    # values beyond the asymptotes are not clamped
    assert np.isnan(res.wells.set_index("well").loc["A9", "conc"])
    # the masked and flagged samples keep their rows in samples
    s = res.samples.set_index("sample")["status"]
    assert s["m"] == "masked" and s["f"] == "reader_flag" and s["na"] == "missing"


def test_extrapolated_when_no_standard_passes_qc():
    wells = _standard_wells()
    wells += [{"well": "A9", "value": float(four_pl(2000.0, **TRUE)), "role": "sample", "sample": "x"},
              {"well": "B9", "value": float(four_pl(200.0, **TRUE)), "role": "sample", "sample": "y"}]
    # noiseless standards recover 100 %: a window excluding 100 % leaves no LLOQ/ULOQ
    res = analyze(_plate(wells), blank="none", recovery_window=(100.5, 101))
    assert np.isnan(res.curves.iloc[0]["lloq"])
    assert "no LLOQ/ULOQ" in res.curves.iloc[0]["qc_reason"]
    s = res.wells.set_index("well")
    assert s.loc["A9", "status"] == "extrapolated"
    assert "no standard passed QC" in s.loc["A9", "reason"]
    assert s.loc["B9", "status"] == "ok" and "no LLOQ/ULOQ" in s.loc["B9", "reason"]
    assert s.loc["A9", "conc"] == pytest.approx(2000.0, rel=1e-6)


def test_masked_standard_is_not_fitted():
    df = _plate(_standard_wells())
    df.loc[df.well == "A1", "value"] = 0.2  # an outlier at the top standard
    bad = analyze(df, blank="none", hook="off")
    good = analyze(df, blank="none", mask=pd.DataFrame({"well": ["A1"], "reason": ["pipetting error"]}))
    assert bad.curves.iloc[0]["c"] != pytest.approx(TRUE["c"], rel=1e-3)
    assert good.curves.iloc[0]["c"] == pytest.approx(TRUE["c"], rel=1e-6)
    w = good.wells.set_index("well")
    assert w.loc["A1", "status"] == "masked" and not w.loc["A1", "used_in_fit"]
    assert w.loc["A1", "reason"] == "masked: pipetting error"
    assert good.curves.iloc[0]["n"] == 15


# ------------------------------------------------------------------------ blanks
def test_blank_options():
    df = _closed_plate(blank_value=0.0)
    none = analyze(df, blank="none")
    zero = analyze(df, blank="zero_standard")
    assert none.curves.iloc[0]["n"] == 16
    assert zero.curves.iloc[0]["n"] == 20  # 4 blanks fitted at conc 0
    z = zero.standards
    assert (z["expected_conc"] == 0).sum() == 1
    assert z.loc[z.expected_conc == 0, "qc_reason"].iloc[0] == "zero standard: no recovery"
    assert np.isnan(none.curves.iloc[0]["blank_response"])
    nob = analyze(_closed_plate(with_blanks=False), blank="subtract_mean")
    np.testing.assert_allclose(nob.wells["response"], nob.wells["value"])


# ------------------------------------------------------------------------ multiplex
def test_multiplex_reads_fitted_in_one_call():
    p2 = {"a": 20.0, "b": 1.1, "c": 80.0, "d": 15000.0}
    wells = _standard_wells(read="IL6") + _standard_wells(p=p2, read="TNF")
    wells += _sample_wells([100.0], [2], read="IL6") + _sample_wells([100.0], [2], p=p2, read="TNF")
    for w in wells:
        w["metric"] = "net_mfi"
    res = analyze(_plate(wells), metric="net_mfi", blank="none")
    c = res.curves.set_index("read")
    assert list(c.index) == ["IL6", "TNF"]
    assert c.loc["TNF", "d"] == pytest.approx(15000.0, rel=1e-6)
    assert c.loc["IL6", "c"] == pytest.approx(150.0, rel=1e-6)
    s = res.samples.query("role == 'sample'")
    np.testing.assert_allclose(s["conc"], 100.0, rtol=1e-6)
    only = analyze(_plate(wells), metric="net_mfi", read="TNF", blank="none")
    assert only.curves["read"].tolist() == ["TNF"]


def test_expected_concentrations_from_export_and_override():
    wells = _standard_wells(read="IL6")
    df = _plate(wells).drop(columns=["std_conc_pg_ml"])
    df["sample_label"] = df["sample"].str.replace("STD", "Standard")
    ex = df.loc[df.role == "standard"].copy()
    ex["metric"] = "expected_conc"
    ex["value"] = [w["conc"] for w in wells]
    res = analyze(pd.concat([df, ex], ignore_index=True), blank="none")
    assert res.params["conc_source"] == "export expected_conc"
    assert res.curves.iloc[0]["c"] == pytest.approx(150.0, rel=1e-6)
    sc = ex[["plate", "well", "read"]].assign(conc=ex["value"] * 2)
    res2 = analyze(pd.concat([df, ex], ignore_index=True), blank="none", standard_conc=sc)
    assert res2.curves.iloc[0]["c"] == pytest.approx(300.0, rel=1e-6)
    assert res2.params["conc_source"] == "standard_conc"
    # a corrupt export series (lost decimal point) is used as exported, with a warning
    bad = ex.copy()
    bad.loc[bad.sample_label == "Standard5", "value"] *= 1000
    with pytest.warns(AssaykitWarning, match="monotonic"):
        analyze(pd.concat([df, bad], ignore_index=True), blank="none")


def test_reference_read_subtraction():
    a = _plate(_standard_wells(blank_value=0.05), read="abs_450")
    b = a.assign(read="abs_630", value=0.05, std_conc_pg_ml=np.nan)
    res = analyze(pd.concat([a, b], ignore_index=True), read="abs_450", reference_read="abs_630", blank="none")
    assert res.curves["read"].tolist() == ["abs_450-630"]
    assert res.curves.iloc[0]["a"] == pytest.approx(TRUE["a"], rel=1e-6)


# ------------------------------------------------------------------------ per-curve failures
@pytest.mark.parametrize(
    ("levels", "model", "fragment"),
    [
        ([100, 50, 25], "4pl", "too few"),
        ([100, 50, 25, 12.5], "5pl", "too few"),
        ([100, 50, 25, -12.5, 6], "4pl", "negative standard concentration"),
        ([100, 50, 25, 0.0, 6], "loglinear", "zero concentration in a log-log model"),
    ],
)
def test_per_curve_failure_keeps_other_curves(levels, model, fragment):
    good = _standard_wells(read="OK", levels=[1000, 300, 100, 30, 10, 3])
    bad = _standard_wells(read="BAD", levels=levels)
    for w in bad:
        w["well"] = w["well"].replace("1", "5").replace("2", "6") if len(w["well"]) == 2 else w["well"]
    res = analyze(_plate(good + bad), model=model, blank="none")
    c = res.curves.set_index("read")
    assert c.loc["OK", "status"] in ("ok", "boundary")
    assert c.loc["BAD", "status"] == "failed"
    assert fragment in c.loc["BAD", "reason"]
    w = res.wells.query("read == 'BAD'")
    assert (w["status"] == "no_curve").all()
    assert w["reason"].str.startswith("no curve:").all()


def test_all_nan_standards_fail_with_reason():
    wells = _standard_wells()
    for w in wells:
        w["value"] = np.nan
    res = analyze(_plate(wells), blank="none")
    assert res.curves.iloc[0]["status"] == "failed"
    assert "no usable standards" in res.curves.iloc[0]["reason"]


# ------------------------------------------------------------------------ errors
def test_error_without_role_column_names_column_and_columns_found():
    df = _plate(_standard_wells()).drop(columns=["role"])
    with pytest.raises(AnalysisError) as e:
        analyze(df)
    msg = str(e.value)
    assert "role" in msg and "std_conc_pg_ml" in msg and "found columns" in msg


def test_error_without_concentration_column():
    df = _plate(_standard_wells()).drop(columns=["std_conc_pg_ml"])
    with pytest.raises(AnalysisError, match="no standard-concentration column"):
        analyze(df)
    with pytest.raises(AnalysisError, match="no standard-concentration column 'conc_x'"):
        analyze(_plate(_standard_wells()), conc_col="conc_x")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"read": "abs_999"}, "read not in the data"),
        ({"metric": "median"}, "no rows with this metric"),
        ({"reference_read": "abs_630"}, "reference read not in the data"),
        ({"blank": "median"}, "unknown blank handling"),
        ({"hook": "maybe"}, "unknown hook option"),
        ({"interval": "bootstrap"}, "unknown interval type"),
        ({"recovery_window": (120, 80)}, "invalid recovery window"),
        ({"recovery_window": "80-120"}, "invalid recovery window"),
        ({"cv_max": -1}, "invalid cv_max"),
        ({"level": 95}, "invalid confidence level"),
        ({"hook_tolerance": -0.1}, "invalid hook_tolerance"),
        ({"mask": [("12X", "x")]}, "not a well"),
        ({"mask": [("H12", "x")]}, "not in the data"),
        ({"mask": [3]}, "cannot read a mask entry"),
        ({"mask": pd.DataFrame({"w": ["A1"]})}, "mask table has no 'well' column"),
        ({"expected_col": "expected_conc_x"}, "no expected-concentration column"),
        ({"standard_conc": pd.DataFrame({"well": ["A1"]})}, "standard_conc has no 'plate' column"),
    ],
)
def test_bad_options_raise(kwargs, match):
    with pytest.raises(AnalysisError, match=match):
        analyze(_plate(_standard_wells()), **kwargs)


def test_bad_tables_raise():
    with pytest.raises(AnalysisError, match="needs a plate table"):
        analyze([1, 2])
    with pytest.raises(AnalysisError, match="no 'metric' column"):
        analyze(_plate(_standard_wells()).drop(columns=["metric"]))
    df = _plate(_standard_wells())
    df.loc[0, "role"] = "weird"
    with pytest.raises(AnalysisError, match="unknown role") as e:
        analyze(df)
    assert "weird" in str(e.value)
    df = _plate(_standard_wells() + _sample_wells([10.0], [1.0]))
    df.loc[df.well == "A4", "dilution"] = 0.0
    with pytest.raises(AnalysisError, match="dilution factors must be positive") as e:
        analyze(df)
    assert "well A4" in str(e.value)


def test_roles_are_case_insensitive_synonyms():
    df = _plate(_standard_wells())
    df["role"] = df["role"].map({"standard": "STD"})
    res = analyze(df, blank="none")
    assert res.curves.iloc[0]["status"] == "ok"
    assert ROLES["unknown"] == "sample"


def test_options_from_mapping():
    assert options_from_mapping({"model": "5pl", "recovery_window": [70, 130]}) == {
        "model": "5pl", "recovery_window": (70, 130)}
    assert options_from_mapping({"weights": ["power", 1.5]}) == {"weights": ("power", 1.5)}
    with pytest.raises(AnalysisError, match="unknown analysis option"):
        options_from_mapping({"modle": "4pl"})


def test_result_is_frozen_and_tidy():
    res = analyze(_closed_plate(), blank="none")
    with pytest.raises(AttributeError):
        res.wells = None
    for name, t in res.tables().items():
        assert isinstance(t, pd.DataFrame) and type(t) is pd.DataFrame, name
        assert not isinstance(t.columns, pd.MultiIndex)
        assert all(c == c.lower() and " " not in c for c in t.columns), name


def test_result_shape_does_not_change_with_options():
    df = _closed_plate()
    a = analyze(df, blank="none")
    b = analyze(df, blank="zero_standard", model="5pl", weights="1/y^2", hook="off")
    for name in ("wells", "samples", "standards", "curves"):
        assert list(a.tables()[name].columns) == list(b.tables()[name].columns), name


# ------------------------------------------------------------------------ R reference (shared)
@pytest.mark.parametrize(("w", "tag"), [("none", "wnone"), ("1/y^2", "w1y2")])
def test_backfit_recovery_matches_r(reference, w, tag):
    data = pd.read_csv(reference("elisa", "data", "il6_4pl.csv"), comment="#")
    wells = [{"well": f"{row_letter(i // 2)}{i % 2 + 1}", "value": v, "role": "standard", "conc": c}
             for i, (c, v) in enumerate(zip(data.conc, data.response, strict=True))]
    res = analyze(_plate(wells), blank="none", weights=w)
    r = pd.read_csv(reference("elisa", "results", f"backfit_il6_4pl_4PL_{tag}.csv"))
    par = pd.read_csv(reference("elisa", "results", f"params_il6_4pl_4PL_{tag}.csv"))
    for _, row in par.iterrows():
        assert res.curves.iloc[0][row.param] == pytest.approx(row.estimate, rel=1e-4)
    st = res.standards.query("expected_conc > 0").set_index("expected_conc").loc[r.nominal]
    np.testing.assert_allclose(st["conc_backfit"], r.conc, rtol=1e-4)
    np.testing.assert_allclose(st["ci_low"], r.ci95_lo, rtol=1e-4)
    np.testing.assert_allclose(st["ci_high"], r.ci95_hi, rtol=1e-4)
    np.testing.assert_allclose(st["recovery_pct"], r.recovery_pct, rtol=1e-4)


def test_inversion_interval_option():
    wells = _standard_wells(noise=0.04) + _sample_wells([300.0, 80.0, 20.0], [2, 1, 4])
    df = _plate(wells)
    delta = analyze(df, blank="none")
    inv = analyze(df, blank="none", interval="inversion")
    pd.testing.assert_series_equal(delta.samples["conc"], inv.samples["conc"])
    s = inv.samples.query("role == 'sample'")
    ref = inv.curve("1", "abs_450").back_calculate(s.response_mean, s.n_used, s.dilution, interval="inversion")
    np.testing.assert_allclose(s.ci_low, ref.ci_low, rtol=1e-12)
    np.testing.assert_allclose(s.ci_high, ref.ci_high, rtol=1e-12)
    # mid-curve the two intervals nearly coincide
    mid = s.set_index("sample").loc["S0"]
    dmid = delta.samples.set_index("sample").loc["S0"]
    assert mid.ci_low == pytest.approx(dmid.ci_low, rel=0.05) and mid.ci_high == pytest.approx(dmid.ci_high, rel=0.05)
    assert inv.params["interval"] == "inversion"


def test_one_curve_per_plate():
    p2 = {**TRUE, "c": 300.0}
    wells = _standard_wells(plate="P1") + _standard_wells(p=p2, plate="P2")
    wells += _sample_wells([100.0], [1], plate="P1") + _sample_wells([100.0], [1], p=p2, plate="P2")
    wells += [{"well": "H12", "value": 0.0, "role": "blank", "plate": "P1"}]
    res = analyze(_plate(wells), blank="subtract_mean")
    c = res.curves.set_index("plate")
    assert c.loc["P1", "c"] == pytest.approx(150.0, rel=1e-6) and c.loc["P2", "c"] == pytest.approx(300.0, rel=1e-6)
    assert np.isnan(c.loc["P2", "blank_response"]) and c.loc["P1", "blank_response"] == 0.0
    s = res.samples.query("role == 'sample'").set_index("plate")
    np.testing.assert_allclose(s["conc"], 100.0, rtol=1e-6)
    assert res.curve("P2", "abs_450").params["c"] == pytest.approx(300.0, rel=1e-6)
    assert res.curve("P3", "abs_450") is None


# ------------------------------------------------------------------ xPONENT weights
def test_xponent_weights_definition_and_aliases():
    from assaykit.immunoassay import parse_weights
    from assaykit.immunoassay.fit import xponent_weights

    assert parse_weights("1/y^2-xponent") == ("1/y^2-xponent", 2.0)
    assert parse_weights("xponent") == ("1/y^2-xponent", 2.0)
    np.testing.assert_array_equal(xponent_weights(np.array([-2.0, 0.0, 0.5, 4.0])), [0.25, 1.0, 4.0, 1 / 16])


def _net_mfi_like():
    """A 5PL ('low') with 2-fold standards in duplicate reaching net MFI <= 0 at the bottom."""
    from assaykit.immunoassay.models import five_pl

    x = np.repeat(3000.0 / 2.0 ** np.arange(16), 2)
    y = five_pl(x, -0.6, 1.5, 900.0, 15000.0, 0.8, "low")
    y = y * (1 + 0.04 * np.sin(np.arange(x.size) * 1.7)) + np.where(np.arange(x.size) % 2, 0.5, -0.5)
    y = np.round(y * 2) / 2  # xPONENT reports net MFI in steps of 0.5
    return x, y


def test_xponent_weights_fit_is_weighted_least_squares_with_negative_and_zero_responses():
    from scipy.optimize import curve_fit

    from assaykit.immunoassay import fit_curves
    from assaykit.immunoassay.fit import xponent_weights
    from assaykit.immunoassay.models import five_pl

    x, y = _net_mfi_like()
    assert (y < 0).any() and (y == 0).any()
    with pytest.raises(FitError, match="need positive responses"):  # plain 1/y^2 cannot weight them
        fit_curve(x, y, "5pl", "1/y^2", asymmetry="low")
    c = fit_curve(x, y, "5pl", "1/y^2-xponent", asymmetry="low")
    assert c.status == "ok"
    w = xponent_weights(y)
    p0 = [c.params[k] for k in "abcdg"]
    ref, _ = curve_fit(lambda xx, a, b, cc, d, g: five_pl(xx, a, b, cc, d, g, "low"), x, y, p0=np.multiply(p0, 1.01),
                       sigma=1 / np.sqrt(w), xtol=1e-14, ftol=1e-14, maxfev=20000)
    np.testing.assert_allclose(p0, ref, rtol=1e-5)
    assert c.rss == pytest.approx(float((w * (y - five_pl(x, *ref, "low")) ** 2).sum()), rel=1e-9)
    # batched == single
    tab = pd.DataFrame({"curve": "k", "conc": x, "value": y})
    b = fit_curves(tab, by=["curve"], conc_col="conc", response_col="value", model="5pl", weights="xponent",
                   asymmetry="low").table.iloc[0]
    assert b["status"] == "ok"
    np.testing.assert_allclose([b[k] for k in "abcdg"], p0, rtol=1e-5)
    assert b["rss"] == pytest.approx(c.rss, rel=1e-8)
