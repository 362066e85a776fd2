"""Curve models: closed forms, inverses, derivatives and parameter converters."""

from __future__ import annotations

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import FitError
from assaykit.immunoassay.models import (
    ec50,
    five_pl,
    five_pl_inverse,
    four_pl,
    four_pl_inverse,
    from_drc,
    from_prism,
    gd_jacobian,
    gd_log_inverse_gradient,
    gd_predict,
    linear,
    linear_inverse,
    lmfit_model,
    loglinear,
    loglinear_inverse,
    to_drc,
    to_prism,
)

X = np.array([0.0, 0.1, 1.0, 7.5, 30.0, 160.0, 900.0, 1e5])


def test_four_pl_closed_form():
    a, b, c, d = 0.05, 1.3, 160.0, 3.6
    y = four_pl(np.array([0.0, c, 1e12]), a, b, c, d)
    assert y[0] == a
    assert y[1] == pytest.approx((a + d) / 2, rel=1e-15)
    assert y[2] == pytest.approx(d, rel=1e-12)
    # x = c * 3^(1/b): (x/c)^b = 3 -> y = d + (a - d)/4
    assert four_pl(c * 3 ** (1 / b), a, b, c, d) == pytest.approx(d + (a - d) / 4, rel=1e-14)


def test_five_pl_reduces_to_four_pl_and_orientations_are_identities():
    p = (0.08, 2.2, 1.5, 2.9)
    np.testing.assert_allclose(five_pl(X, *p, 1.0), four_pl(X, *p), rtol=1e-14)
    np.testing.assert_allclose(five_pl(X, *p, 1.0, "low"), four_pl(X, *p), rtol=1e-14)
    a, b, c, d = p
    np.testing.assert_allclose(five_pl(X, a, b, c, d, 0.25, "low"), five_pl(X, d, -b, c, a, 0.25), rtol=1e-14)
    # closed form of each orientation at x = c: 'high' d + (a-d) 2^-g, 'low' a + (d-a) 2^-g
    assert five_pl(c, a, b, c, d, 0.25) == pytest.approx(d + (a - d) * 2**-0.25, rel=1e-14)
    assert five_pl(c, a, b, c, d, 0.25, "low") == pytest.approx(a + (d - a) * 2**-0.25, rel=1e-14)
    # a is the x -> 0 response and d the x -> inf response in both orientations
    for o in ("high", "low"):
        y = five_pl(np.array([0.0, 1e12]), a, b, c, d, 0.25, o)
        assert y[0] == pytest.approx(a, abs=1e-12) and y[1] == pytest.approx(d, rel=1e-6)


def test_bad_asymmetry_raises():
    with pytest.raises(FitError, match="unknown 5PL asymmetry"):
        five_pl(X, 0, 1, 1, 1, 1, "left")
    with pytest.raises(FitError, match="unknown 5PL asymmetry"):
        five_pl_inverse(1.0, 0, 1, 1, 2, 1, "left")


@FUZZ_SETTINGS
@given(
    a=st.floats(-0.5, 0.5), span=st.floats(0.2, 5.0), b=st.floats(0.4, 4.0), logc=st.floats(-3, 6),
    g=st.floats(0.2, 5.0), frac=st.floats(0.01, 0.99), decreasing=st.booleans(), low=st.booleans(),
)
def test_inverse_is_inverse(a, span, b, logc, g, frac, decreasing, low):
    d = a + span
    if decreasing:
        a, d = d, a
    c = float(np.exp(logc))
    y = a + frac * (d - a)
    o = "low" if low else "high"
    x = five_pl_inverse(y, a, b, c, d, g, o)
    assert np.isfinite(x) and x > 0
    assert five_pl(x, a, b, c, d, g, o) == pytest.approx(y, rel=1e-9, abs=1e-9 * span)
    x4 = four_pl_inverse(y, a, b, c, d)
    assert four_pl(x4, a, b, c, d) == pytest.approx(y, rel=1e-9, abs=1e-9 * span)


def test_inverse_beyond_asymptotes_is_nan():
    a, b, c, d = 0.05, 1.3, 160.0, 3.6
    out = four_pl_inverse(np.array([0.01, 0.05, 3.6, 4.0, np.nan]), a, b, c, d)
    assert np.all(np.isnan(out))
    out = five_pl_inverse(np.array([0.01, 4.0]), a, b, c, d, 0.5, "low")
    assert np.all(np.isnan(out))


def test_linear_and_loglinear_inverses():
    np.testing.assert_allclose(linear_inverse(linear(X, 0.02, 0.1), 0.02, 0.1), X, rtol=1e-12, atol=1e-12)
    assert np.isnan(linear_inverse(1.0, 0.0, 0.1))
    xp = X[X > 0]
    np.testing.assert_allclose(loglinear_inverse(loglinear(xp, 0.8, -1.2), 0.8, -1.2), xp, rtol=1e-12)
    assert np.isnan(loglinear(0.0, 0.8, -1.2)) and np.isnan(loglinear_inverse(-1.0, 0.8, -1.2))
    assert loglinear(100.0, 0.5, 1.0) == pytest.approx(100.0, rel=1e-14)


@pytest.mark.parametrize("asym", ["high", "low"])
def test_ec50_gives_the_midpoint(asym):
    a, b, c, d, g = 0.1, 1.7, 40.0, 2.5, 0.4
    x50 = ec50(b, c, g, asym)
    assert five_pl(x50, a, b, c, d, g, asym) == pytest.approx((a + d) / 2, rel=1e-12)
    assert ec50(b, c) == pytest.approx(c, rel=1e-15)


@pytest.mark.parametrize("b", [1.3, -0.8])
def test_jacobian_matches_finite_differences(b):
    th = np.array([0.07, b, np.log(50.0), 2.8, np.log(0.6)])
    y, J = gd_jacobian(X, *th)
    assert J.shape == (X.size, 5)
    np.testing.assert_allclose(y, gd_predict(X, th[0], b, 50.0, th[3], 0.6), rtol=1e-14)
    for k in range(5):
        h = 1e-6
        tp, tm = th.copy(), th.copy()
        tp[k] += h
        tm[k] -= h
        fd = (gd_jacobian(X, *tp)[0] - gd_jacobian(X, *tm)[0]) / (2 * h)
        np.testing.assert_allclose(J[:, k], fd, rtol=1e-6, atol=1e-9)
    # x = 0 is exact: response a (b > 0) or d (b < 0), zero derivative in b, c, g
    assert y[0] == (th[0] if b > 0 else th[3])
    assert np.all(J[0, [1, 2, 4]] == 0)


def test_log_inverse_gradient_matches_finite_differences():
    p = np.array([0.08, 2.2, 1.5, 2.9, 0.25])
    y = np.array([0.3, 1.0, 2.5])
    lx, grad, d_dy = gd_log_inverse_gradient(y, *p)
    np.testing.assert_allclose(np.exp(lx), five_pl_inverse(y, *p), rtol=1e-13)
    for k in range(5):
        h = 1e-7 * abs(p[k])
        pp, pm = p.copy(), p.copy()
        pp[k] += h
        pm[k] -= h
        fd = (np.log(five_pl_inverse(y, *pp)) - np.log(five_pl_inverse(y, *pm))) / (2 * h)
        np.testing.assert_allclose(grad[:, k], fd, rtol=1e-6)
    fd = (np.log(five_pl_inverse(y + 1e-7, *p)) - np.log(five_pl_inverse(y - 1e-7, *p))) / 2e-7
    np.testing.assert_allclose(d_dy, fd, rtol=1e-6)
    lx, grad, d_dy = gd_log_inverse_gradient(np.array([0.01, 3.0]), *p)
    assert np.all(np.isnan(lx)) and np.all(np.isnan(grad)) and np.all(np.isnan(d_dy))


def _drc(x, b, c, d, e, f=1.0):
    return c + (d - c) / (1 + np.exp(b * (np.log(x) - np.log(e)))) ** f


def _prism4(x, Bottom, Top, HillSlope, LogEC50):
    return Bottom + (Top - Bottom) / (1 + 10 ** ((LogEC50 - np.log10(x)) * HillSlope))


def _prism5(x, Bottom, Top, HillSlope, LogEC50, S, LogXb):
    return Bottom + (Top - Bottom) / (1 + 10 ** ((LogXb - np.log10(x)) * HillSlope)) ** S


XP = X[X > 0]


def test_drc_conventions_of_the_R_reference_header():
    p4 = {"a": 0.05, "b": 1.3, "c": 160.0, "d": 3.6}
    # 4PL == LL.4(b = -b, c = a, d = d, e = c): an increasing curve has a negative drc slope
    assert to_drc(p4) == {"b": -1.3, "c": 0.05, "d": 3.6, "e": 160.0}
    np.testing.assert_allclose(_drc(XP, **to_drc(p4)), four_pl(XP, **p4), rtol=1e-13)
    # 5PL == LL.5(b = +b, c = d, d = a, e = c, f = g)
    p5 = {"a": 0.08, "b": 2.2, "c": 1.5, "d": 2.9, "g": 0.25}
    assert to_drc(p5, "5pl") == {"b": 2.2, "c": 2.9, "d": 0.08, "e": 1.5, "f": 0.25}
    for o in ("high", "low"):
        np.testing.assert_allclose(_drc(XP, **to_drc(p5, "5pl", o)), five_pl(XP, **p5, asymmetry=o), rtol=1e-13)
        back, orient = from_drc(to_drc(p5, "5pl", o))
        assert orient == o and back == pytest.approx(p5, rel=1e-15)
    back, _ = from_drc(to_drc(p4))
    assert back == pytest.approx(p4)
    back, _ = from_drc({"b": 1.3, "c": 3.6, "d": 0.05, "e": 160.0})  # positive drc slope form
    assert back == pytest.approx(p4)


def test_prism_conventions():
    p4 = {"a": 0.05, "b": 1.3, "c": 160.0, "d": 3.6}
    pr = to_prism(p4)
    assert pr["Bottom"] == 0.05 and pr["Top"] == 3.6 and pr["HillSlope"] == 1.3
    np.testing.assert_allclose(_prism4(XP, **pr), four_pl(XP, **p4), rtol=1e-13)
    assert from_prism(pr)[0] == pytest.approx(p4)
    neg = {"Bottom": 3.6, "Top": 0.05, "HillSlope": -1.3, "LogEC50": np.log10(160.0)}
    assert from_prism(neg)[0] == pytest.approx(p4)
    p5 = {"a": 0.08, "b": 2.2, "c": 1.5, "d": 2.9, "g": 0.25}
    for o in ("high", "low"):
        pr = to_prism(p5, "5pl", o)
        np.testing.assert_allclose(_prism5(XP, **pr), five_pl(XP, **p5, asymmetry=o), rtol=1e-12)
        # Prism's LogEC50 is the true midpoint
        assert 10 ** pr["LogEC50"] == pytest.approx(ec50(p5["b"], p5["c"], p5["g"], o), rel=1e-12)
        back, orient = from_prism({k: pr[k] for k in ("Bottom", "Top", "HillSlope", "LogEC50", "S")})
        assert orient == o and back == pytest.approx(p5, rel=1e-12)
        back, orient = from_prism({k: pr[k] for k in ("Bottom", "Top", "HillSlope", "LogXb", "S")})
        assert orient == o and back == pytest.approx(p5, rel=1e-12)


def test_converters_reject_other_models():
    with pytest.raises(FitError, match="4PL and 5PL only"):
        to_drc({"slope": 1, "intercept": 0}, "linear")
    with pytest.raises(FitError, match="4PL and 5PL only"):
        to_prism({"slope": 1, "intercept": 0}, "linear")


@pytest.mark.parametrize("model", ["4pl", "5pl", "linear", "loglinear"])
def test_lmfit_models_fit_exact_data(model):
    x = np.repeat([1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0], 2)
    true = {
        "4pl": dict(a=0.05, b=1.2, c=60.0, d=3.0),
        "5pl": dict(a=0.05, b=1.2, c=60.0, d=3.0, g=0.6),
        "linear": dict(slope=0.003, intercept=0.04),
        "loglinear": dict(slope=0.9, intercept=-2.0),
    }[model]
    f = {"4pl": four_pl, "5pl": five_pl, "linear": linear, "loglinear": loglinear}[model]
    y = f(x, **true)
    m = lmfit_model(model)
    pars = m.guess(y, x=x)
    res = m.fit(y, pars, x=x)
    for k, v in true.items():
        assert res.params[k].value == pytest.approx(v, rel=1e-5)


def test_lmfit_model_unknown():
    with pytest.raises(FitError, match="unknown curve model"):
        lmfit_model("6pl")
