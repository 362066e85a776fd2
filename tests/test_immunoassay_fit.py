"""Single-curve fits, weights, failures and back-calculation of StandardCurve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import AnalysisError, FitError
from assaykit.immunoassay import (
    BACKCALC_STATUS,
    STATUS_PRIORITY,
    StandardCurve,
    fit_curve,
    five_pl,
    four_pl,
    linear,
    loglinear,
    parse_weights,
    worst_status,
)
from assaykit.immunoassay.curve import SUMMARY_COLUMNS

LEVELS = np.array([0.0, 7.8125, 15.625, 31.25, 62.5, 125.0, 250.0, 500.0])
X = np.repeat(LEVELS, 2)
P4 = dict(a=0.045, b=1.35, c=160.0, d=3.6)


def noisy(y, seed=0, cv=0.03):
    rng = np.random.default_rng(seed)
    return y * (1 + cv * rng.standard_normal(y.size)) + 0.004 * rng.standard_normal(y.size)


# ---------------------------------------------------------------- closed-form recovery
@pytest.mark.parametrize("decreasing", [False, True])
def test_exact_4pl_recovered(decreasing):
    p = dict(P4)
    if decreasing:  # competitive ELISA
        p["a"], p["d"] = p["d"], p["a"]
    c = fit_curve(X, four_pl(X, **p), "4pl")
    for k, v in p.items():
        assert c.params[k] == pytest.approx(v, rel=1e-7)
    assert c.rss < 1e-20 and c.converged and c.status == "ok"
    assert c.increasing is (not decreasing)
    assert c.asymptotes == pytest.approx((p["a"], p["d"]))


@pytest.mark.parametrize("asym", ["high", "low"])
@pytest.mark.parametrize("decreasing", [False, True])
def test_exact_5pl_recovered_in_either_orientation(asym, decreasing):
    x = np.repeat(np.geomspace(0.3, 3000, 9), 2)
    p = dict(a=0.08, b=1.6, c=20.0, d=2.9, g=0.35)
    if decreasing:
        p["a"], p["d"] = p["d"], p["a"]
    y = five_pl(x, **p, asymmetry=asym)
    c = fit_curve(x, y, "5pl")  # asymmetry='auto' must find the right orientation
    assert c.asymmetry == asym
    for k, v in p.items():
        assert c.params[k] == pytest.approx(v, rel=1e-6), k
    np.testing.assert_allclose(c.predict(x), y, rtol=1e-9)
    assert "g" in c.formula


def test_exact_linear_and_loglinear():
    x = np.repeat([1.0, 2, 5, 10, 20, 50], 2)
    c = fit_curve(x, linear(x, 0.02, 0.05), "linear")
    assert c.params == pytest.approx({"slope": 0.02, "intercept": 0.05}, rel=1e-10)
    assert c.method == "closed_form" and c.asymmetry is None
    c = fit_curve(x, loglinear(x, 0.8, -1.5), "loglinear")
    assert c.params == pytest.approx({"slope": 0.8, "intercept": -1.5}, rel=1e-10)
    bc = c.back_calculate(loglinear(np.array([3.0, 100.0]), 0.8, -1.5))
    assert bc.conc.tolist() == pytest.approx([3.0, 100.0], rel=1e-9)
    assert bc.status.tolist() == ["ok", "extrapolated"]
    assert c.back_calculate([-0.1]).status[0] == "below_curve"


def test_linear_back_calculation_and_weights():
    x = np.repeat([0.0, 1, 2, 5, 10, 20], 2)
    y = noisy(linear(x, 0.1, 0.05), seed=2)
    c = fit_curve(x, y, "linear", "1/y")
    ref = np.polyfit(x, y, 1, w=np.sqrt(1 / y))  # numpy weights multiply residuals
    assert c.params["slope"] == pytest.approx(ref[0], rel=1e-10)
    bc = c.back_calculate([0.0, 1.0])
    assert bc.status.tolist() == ["below_curve", "ok"]
    assert bc.ci_low[1] < bc.conc[1] < bc.ci_high[1]


# ---------------------------------------------------------------- weights
def test_parse_weights():
    assert parse_weights(None) == ("none", 0.0)
    assert parse_weights("1/y") == ("1/y", 1.0)
    assert parse_weights("1/y2") == ("1/y^2", 2.0)
    assert parse_weights("power") == ("power", None)
    assert parse_weights("power:1.8") == ("power", 1.8)
    assert parse_weights(("power", 1.5)) == ("power", 1.5)
    with pytest.raises(FitError, match="unknown weights"):
        parse_weights("1/x")
    with pytest.raises(FitError, match="unknown weights"):
        parse_weights("power:abc")
    with pytest.raises(FitError, match="exponent must be finite"):
        parse_weights(("power", float("nan")))


@pytest.mark.parametrize("weights, sigma_power", [("1/y^2", 1.0), ("1/y", 0.5), ("none", 0.0)])
def test_weights_multiply_squared_residuals(weights, sigma_power):
    """w = 1/y^k is scipy's sigma = y^(k/2) with relative sigma (independent cross-check)."""
    from scipy.optimize import curve_fit

    y = noisy(four_pl(X, **P4), seed=3)
    c = fit_curve(X, y, "4pl", weights)
    p, cov = curve_fit(four_pl, X, y, p0=[0.05, 1.3, 150, 3.5], sigma=y**sigma_power, absolute_sigma=False,
                       xtol=1e-14, ftol=1e-14, gtol=1e-14)
    np.testing.assert_allclose([c.params[k] for k in "abcd"], p, rtol=1e-6)
    np.testing.assert_allclose(c.covariance, cov, rtol=1e-4)


def test_power_weights():
    y = noisy(four_pl(X, **P4), seed=4, cv=0.05)
    none = fit_curve(X, y, "4pl")
    k0 = fit_curve(X, y, "4pl", ("power", 0.0))
    assert k0.params == pytest.approx(none.params, rel=1e-7)
    k2 = fit_curve(X, y, "4pl", "power:2")
    assert k2.weight_power == 2.0 and k2.weights == "power" and k2.converged
    # IRLS fixed point: the weights are 1/ŷ^2 of the final curve
    np.testing.assert_allclose(k2.fit_weights, k2.predict(X) ** -2.0, rtol=1e-6)
    est = fit_curve(np.repeat(LEVELS, 3), noisy(four_pl(np.repeat(LEVELS, 3), **P4), seed=5, cv=0.06), "4pl",
                    "power")
    assert 0.0 <= est.weight_power <= 4.0
    with pytest.raises(FitError, match="cannot estimate the power-law variance exponent"):
        fit_curve(LEVELS, four_pl(LEVELS, **P4) + 0.01, "4pl", "power")


def test_power_weights_linear():
    x = np.repeat([1.0, 2, 5, 10, 20, 50], 2)
    y = noisy(linear(x, 0.1, 0.05), seed=6)
    c = fit_curve(x, y, "linear", ("power", 2.0))
    np.testing.assert_allclose(c.fit_weights, c.predict(x) ** -2.0, rtol=1e-8)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "conc, response, model, weights, match",
    [
        (X, np.full(X.size, np.nan), "4pl", "none", "no usable standards"),
        (np.repeat([1.0, 10, 100], 3), np.arange(9.0) + 1, "4pl", "none", "too few distinct standard levels"),
        (np.repeat([0.0, 10, 100], 3), np.arange(9.0) + 1, "4pl", "none", "too few non-zero standard levels"),
        (np.repeat([0.0, 1, 10, 100], 3), np.arange(12.0) + 1, "4pl", "none", None),
        (np.repeat([1.0, 3, 10, 100], 3), np.arange(12.0) + 1, "5pl", "none", "too few distinct standard levels"),
        (np.repeat([0.0, 3, 10, 100], 3), np.arange(12.0) + 1, "5pl", "none", "too few non-zero standard levels"),
        (np.array([-1.0, 1, 10, 100, 1000]), np.arange(5.0) + 1, "4pl", "none", "negative standard concentration"),
        (np.array([0.0, 1, 10, 100]), np.arange(4.0) + 1, "loglinear", "none", "zero concentration in a log-log"),
        (np.array([1.0, 1, 10, 100]), np.array([-1.0, 1, 2, 3]), "loglinear", "none", "non-positive response"),
        (X, four_pl(X, **P4) - 0.1, "4pl", "1/y^2", r"weights 1/y\^2 need positive responses"),
        (np.array([1.0, 10.0]), np.array([1.0, 2.0]), "linear", "none", "too few standard points"),
        (np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0]), "linear", "none", "too few distinct standard levels"),
    ],
)
def test_unfittable_standards_raise(conc, response, model, weights, match):
    if match is None:  # 3 non-zero levels plus a zero standard is enough for a 4PL
        assert fit_curve(conc, four_pl(conc, **P4), model, weights).converged
        return
    with pytest.raises(FitError, match=match) as exc:
        fit_curve(conc, response, model, weights, name="IL-6")
    assert str(exc.value).startswith("read IL-6: ") and "expected" in str(exc.value)


def test_argument_errors():
    y = four_pl(X, **P4)
    with pytest.raises(FitError, match="unknown curve model"):
        fit_curve(X, y, "6pl")
    with pytest.raises(FitError, match="unknown 5PL asymmetry"):
        fit_curve(X, y, "5pl", asymmetry="left")
    with pytest.raises(FitError, match="log-log fits are unweighted"):
        fit_curve(X[2:], y[2:], "loglinear", "1/y")
    with pytest.raises(FitError, match="different lengths"):
        fit_curve(X, y[:-1])
    with pytest.raises(FitError, match="mask has a different length"):
        fit_curve(X, y, mask=[True])
    with pytest.raises(FitError, match="must be numeric"):
        fit_curve(["a"] * 3, [1, 2, 3])


def test_error_names_the_read():
    with pytest.raises(FitError) as exc:
        fit_curve([1.0, 2.0], [1.0, 2.0], "4pl", name="IL-6")
    assert str(exc.value).startswith("read IL-6: too few")
    assert "expected >= 3" in str(exc.value)


def test_auto_model_fails_when_nothing_fits():
    with pytest.raises(FitError, match="too few"):
        fit_curve([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "auto")


def test_mask_and_nan_are_kept_but_not_fitted():
    y = four_pl(X, **P4)
    y_bad = y.copy()
    y_bad[-1] = 0.3  # an outlier
    y_bad[3] = np.nan
    mask = np.zeros(X.size, bool)
    mask[-1] = True
    c = fit_curve(X, y_bad, "4pl", mask=mask)
    assert c.n == X.size - 2 and c.used.sum() == X.size - 2
    assert not c.used[-1] and not c.used[3] and c.conc.size == X.size
    assert c.params["c"] == pytest.approx(P4["c"], rel=1e-7)


# ---------------------------------------------------------------- back-calculation
@pytest.fixture(scope="module")
def curve() -> StandardCurve:
    return fit_curve(X, noisy(four_pl(X, **P4), seed=1), "4pl")


def test_back_calculate_statuses(curve):
    a, d = curve.asymptotes
    y = [a - 0.01, np.nan, 0.08, 1.0, 3.4, d + 0.01]
    bc = curve.back_calculate(y)
    assert list(bc.columns) == ["response", "n_replicates", "dilution", "conc", "ci_low", "ci_high",
                                "se_log_conc", "status"]
    assert bc.status.tolist() == ["below_curve", "missing", "extrapolated", "ok", "extrapolated", "above_curve"]
    assert bc.conc.isna().tolist() == [True, True, False, False, False, True]
    assert set(bc.status) <= set(BACKCALC_STATUS)
    ok = bc.conc.notna()
    assert (bc.ci_low[ok] < bc.conc[ok]).all() and (bc.conc[ok] < bc.ci_high[ok]).all()
    np.testing.assert_allclose(curve.predict(bc.conc[ok]), bc.response[ok], rtol=1e-10)
    np.testing.assert_allclose(curve.inverse(bc.response[ok]), bc.conc[ok], rtol=1e-12)


def test_decreasing_curve_statuses():
    p = dict(P4, a=3.6, d=0.045)
    c = fit_curve(X, noisy(four_pl(X, **p), seed=7), "4pl")
    assert not c.increasing
    bc = c.back_calculate([4.0, 1.0, 0.01])
    assert bc.status.tolist() == ["below_curve", "ok", "above_curve"]


def test_dilution_and_replicates(curve):
    one = curve.back_calculate([1.0])
    diluted = curve.back_calculate([1.0], n_replicates=3, dilution=10.0)
    assert diluted.conc[0] == pytest.approx(10 * one.conc[0], rel=1e-14)
    assert diluted.se_log_conc[0] < one.se_log_conc[0]
    assert diluted.ci_low[0] / diluted.conc[0] > one.ci_low[0] / one.conc[0]
    per = curve.back_calculate([1.0, 1.0], n_replicates=[1, 4], dilution=[2.0, 5.0])
    assert per.n_replicates.tolist() == [1, 4] and per.dilution.tolist() == [2.0, 5.0]
    # closed form of the delta method without parameter uncertainty: se = |d ln x/dy| σ/√m
    lvl = curve.back_calculate([1.0], level=0.5)
    assert lvl.ci_high[0] < one.ci_high[0]


def test_back_calculate_argument_errors(curve):
    with pytest.raises(AnalysisError, match="n_replicates must be >= 1"):
        curve.back_calculate([1.0], n_replicates=0)
    with pytest.raises(AnalysisError, match="dilution factors must be positive"):
        curve.back_calculate([1.0], dilution=-2)
    with pytest.raises(AnalysisError, match="confidence level"):
        curve.back_calculate([1.0], level=95)
    with pytest.raises(AnalysisError, match="unknown interval type"):
        curve.back_calculate([1.0], interval="bootstrap")
    with pytest.raises(AnalysisError, match="do not match the responses"):
        curve.back_calculate([1.0, 2.0, 3.0], dilution=[1.0, 2.0])


def test_inversion_interval(curve):
    d = curve.back_calculate([0.3, 1.0, 2.0])
    inv = curve.back_calculate([0.3, 1.0, 2.0], interval="inversion")
    np.testing.assert_allclose(inv.conc, d.conc)
    assert (inv.ci_low < inv.conc).all() and (inv.conc < inv.ci_high).all()
    # mid-curve, the inversion interval is close to the delta-method one
    np.testing.assert_allclose(inv.ci_low, d.ci_low, rtol=0.05)
    np.testing.assert_allclose(inv.ci_high, d.ci_high, rtol=0.05)
    # at the endpoints, |ȳ - f(x)| = t * sqrt(Var f̂ + σ²/m)
    from scipy import stats

    t = stats.t.ppf(0.975, curve.df)
    for x in (inv.ci_low[1], inv.ci_high[1]):
        f, v = curve._pred_var(np.array([x]))
        assert abs(1.0 - f[0]) == pytest.approx(t * np.sqrt(v[0] + curve.sigma**2), rel=1e-6)
    # near the top asymptote the band does not close: the upper limit is infinite
    top = curve.back_calculate([curve.params["d"] - 0.02], interval="inversion")
    assert top.status[0] == "extrapolated" and np.isinf(top.ci_high[0])


def test_curve_is_immutable_and_tables(curve):
    with pytest.raises(dataclasses.FrozenInstanceError):
        curve.rss = 0.0
    with pytest.raises(ValueError):
        curve.conc[0] = 1.0
    f = curve.to_frame()
    assert list(f.columns) == list(SUMMARY_COLUMNS) and len(f) == 1
    assert f.loc[0, "c"] == curve.params["c"] and np.isnan(f.loc[0, "g"])
    pf = curve.params_frame()
    assert pf.param.tolist() == ["a", "b", "c", "d"]
    assert pf.stderr.tolist() == [curve.stderr[k] for k in "abcd"]
    assert curve.param_names == ("a", "b", "c", "d")
    np.testing.assert_allclose(np.sqrt(np.diag(curve.covariance)), pf.stderr)


def test_auto_model_keeps_lowest_aic():
    x = np.repeat(np.geomspace(0.3, 3000, 9), 2)
    y = noisy(five_pl(x, 0.08, 1.6, 20.0, 2.9, 0.3), seed=8, cv=0.01)
    auto = fit_curve(x, y, "auto")
    f4 = fit_curve(x, y, "4pl")
    f5 = fit_curve(x, y, "5pl")
    assert auto.aic == min(f4.aic, f5.aic) and auto.model == "5pl"


def test_worst_status():
    out = worst_status(["ok", "extrapolated", "ok"], ["below_lloq", "ok", "masked"])
    assert out.tolist() == ["below_lloq", "extrapolated", "masked"]
    assert set(STATUS_PRIORITY) == set(BACKCALC_STATUS)


def test_elisa_alias():
    import assaykit.elisa as elisa

    assert elisa.fit_curve is fit_curve
    c = elisa.fit_curve(X, four_pl(X, **P4))
    assert isinstance(c.back_calculate([1.0]), pd.DataFrame)


def test_non_convergence_raises_and_fails_per_group(monkeypatch):
    from assaykit.immunoassay import batch as batch_mod
    from assaykit.immunoassay import fit as fit_mod

    def no_fit(x, y, w, model, theta0):
        return np.asarray(theta0, float), False, "maximum number of function evaluations exceeded", 7

    def no_lm(X, Y, W, theta0, model="4pl", **kw):
        m = X.shape[0]
        return np.asarray(theta0, float), np.zeros(m, bool), np.full(m, 3), np.full(m, 1.0)

    monkeypatch.setattr(fit_mod, "_lmfit_gd", no_fit)
    monkeypatch.setattr(batch_mod, "lm_batch", no_lm)
    y = noisy(four_pl(X, **P4), seed=1)
    with pytest.raises(FitError, match="the curve fit did not converge") as exc:
        fit_curve(X, y, "4pl", name="IL-6")
    assert "maximum number of function evaluations" in str(exc.value)
    with pytest.raises(FitError, match="did not converge"):
        fit_curve(X, y, "5pl")
    with pytest.raises(FitError, match="did not converge"):
        fit_curve(X, y, "auto")
    from assaykit.immunoassay import fit_curves

    tab = fit_curves(pd.DataFrame({"grp": "x", "conc": X, "response": y}), by="grp").table
    assert tab.status[0] == "failed" and "did not converge" in tab.reason[0]
    assert not tab.converged[0] and tab.method[0] == ""


@FUZZ_SETTINGS
@given(
    a=st.floats(0.0, 0.2), span=st.floats(0.5, 4.0), b=st.floats(0.6, 3.0), c=st.floats(20.0, 300.0),
    decreasing=st.booleans(),
)
def test_exact_4pl_recovered_property(a, span, b, c, decreasing):
    d = a + span
    if decreasing:
        a, d = d, a
    y = four_pl(X, a, b, c, d)
    curve = fit_curve(X, y, "4pl")
    got = [curve.params[k] for k in "abcd"]
    np.testing.assert_allclose(got, [a, b, c, d], rtol=1e-6, atol=1e-9)
