"""Batched fits agree with single fits; failures stay per group; vectorised back-calculation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assaykit.errors import AnalysisError, FitError
from assaykit.immunoassay import (
    CurveBatch,
    fit_curve,
    fit_curves,
    five_pl,
    four_pl,
    linear,
    lm_batch,
)
from assaykit.immunoassay._start import start_values
from assaykit.immunoassay.curve import SUMMARY_COLUMNS

LEVELS = 500 / 2.0 ** np.arange(8)


def make_table(n_curves=12, model="4pl", seed=0, reps=2, cv=0.03):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_curves):
        a, b, c, d = rng.uniform(0.02, 0.1), rng.uniform(0.9, 1.8), rng.uniform(80, 300), rng.uniform(2.5, 4)
        x = np.repeat(LEVELS, reps)
        if model == "5pl":
            mu = five_pl(x, a, b, c, d, np.exp(rng.uniform(np.log(0.4), np.log(2.5))))
        elif model == "linear":
            mu = linear(x, 0.005, 0.05)
        else:
            mu = four_pl(x, a, b, c, d)
        y = mu * (1 + cv * rng.standard_normal(x.size)) + 0.004 * rng.standard_normal(x.size)
        rows.append(pd.DataFrame({"plate": f"P{i // 4}", "read": f"R{i % 4}", "conc": x, "response": y}))
    return pd.concat(rows, ignore_index=True)


def assert_same_curve(row, single, rel):
    for k, v in single.params.items():
        assert row[k] == pytest.approx(v, rel=rel, abs=1e-9), k
        assert row[f"{k}_se"] == pytest.approx(single.stderr[k], rel=max(rel * 10, 1e-5)), k
    assert row["rss"] == pytest.approx(single.rss, rel=1e-8)
    assert row["aic"] == pytest.approx(single.aic, abs=1e-6)


@pytest.mark.parametrize("weights", ["none", "1/y^2", "1/y", "power:1.5"])
def test_batch_equals_single_4pl(weights):
    t = make_table()
    batch = fit_curves(t, by=["plate", "read"], weights=weights)
    assert isinstance(batch, CurveBatch)
    assert list(batch.table.columns) == ["plate", "read", *SUMMARY_COLUMNS]
    assert (batch.table.status == "ok").all()
    for _, row in batch.table.iterrows():
        s = t[(t.plate == row.plate) & (t.read == row.read)]
        single = fit_curve(s.conc, s.response, "4pl", weights)
        assert_same_curve(row, single, 1e-6)
        c = batch.curves[(row.plate, row.read)]
        assert c.params == pytest.approx(single.params, rel=1e-6)
        assert c.label == f"{row.plate}/{row.read}"


def test_batch_equals_single_5pl_both_orientations():
    t = make_table(model="5pl", seed=3, cv=0.01)
    batch = fit_curves(t, by=["plate", "read"], model="5pl")
    for _, row in batch.table.iterrows():
        s = t[(t.plate == row.plate) & (t.read == row.read)]
        single = fit_curve(s.conc, s.response, "5pl")
        assert row.asymmetry == single.asymmetry
        if row.status == "ok":
            assert_same_curve(row, single, 1e-4)
        else:  # a 5PL at its asymmetry bound: same optimum, flat ridge
            assert row.rss == pytest.approx(single.rss, rel=1e-6)


def test_batch_auto_and_linear():
    t = make_table(n_curves=4, model="5pl", seed=4, cv=0.01)
    batch = fit_curves(t, by="read", model="auto")
    for _, row in batch.table.iterrows():
        s = t[t.read == row.read]
        single = fit_curve(s.conc, s.response, "auto")
        assert row.model == single.model
        assert row.aic == pytest.approx(single.aic, abs=1e-6)
    lt = make_table(n_curves=4, model="linear", seed=5)
    lb = fit_curves(lt, by="read", model="linear", weights="power:2")
    for _, row in lb.table.iterrows():
        s = lt[lt.read == row.read]
        single = fit_curve(s.conc, s.response, "linear", "power:2")
        assert row.slope == pytest.approx(single.params["slope"], rel=1e-8)
        assert row.method == "closed_form" and np.isnan(row.a)


def test_batch_estimated_power():
    t = make_table(n_curves=3, seed=6, reps=3, cv=0.06)
    batch = fit_curves(t, by="read", weights="power")
    for _, row in batch.table.iterrows():
        s = t[t.read == row.read]
        single = fit_curve(s.conc, s.response, "4pl", "power")
        assert row.weight_power == pytest.approx(single.weight_power, rel=1e-12)
        assert row.c == pytest.approx(single.params["c"], rel=1e-6)


def test_failures_are_per_group():
    t = make_table(n_curves=4)
    bad = pd.DataFrame({
        "plate": ["X"] * 6 + ["Y"] * 8 + ["Z"] * 8,
        "read": ["few"] * 6 + ["nan"] * 8 + ["neg"] * 8,
        "conc": [1, 1, 10, 10, 100, 100] + list(LEVELS) + [-1.0, *LEVELS[1:]],
        "response": [0.1, 0.1, 1, 1, 2, 2] + [np.nan] * 8 + list(np.linspace(0.1, 3, 8)),
    })
    batch = fit_curves(pd.concat([t, bad], ignore_index=True), by=["plate", "read"])
    tab = batch.table.set_index(["plate", "read"])
    assert (tab.loc["P0", "status"] == "ok").all()
    assert tab.loc[("X", "few"), "status"] == "failed"
    assert "too few distinct standard levels" in tab.loc[("X", "few"), "reason"]
    assert "no usable standards" in tab.loc[("Y", "nan"), "reason"]
    assert "negative standard concentration" in tab.loc[("Z", "neg"), "reason"]
    assert not tab.loc[("X", "few"), "converged"] and np.isnan(tab.loc[("X", "few"), "c"])
    assert ("X", "few") not in batch.curves and ("P0", "R0") in batch.curves
    # the failed groups back-calculate to 'no_curve', the others as their curves do
    q = pd.DataFrame({"plate": ["X", "P0", "Q"], "read": ["few", "R1", "R1"], "response": [1.0, 1.0, 1.0]})
    out = batch.back_calculate(q)
    assert out.status.tolist()[0] == "no_curve" and out.status.tolist()[2] == "no_curve"
    assert np.isnan(out.conc[0]) and np.isfinite(out.conc[1])


def test_batch_back_calculate_equals_curve():
    t = make_table(n_curves=6, seed=9)
    batch = fit_curves(t, by=["plate", "read"], weights="1/y^2")
    q = t.copy()
    q["dil"] = 2.0
    q["m"] = 2
    out = batch.back_calculate(q, n_replicates_col="m", dilution_col="dil")
    assert list(out.columns) == ["plate", "read", "response", "n_replicates", "dilution", "conc", "ci_low",
                                 "ci_high", "se_log_conc", "status"]
    assert out.index.equals(q.index)
    for key, c in batch.curves.items():
        sel = (q.plate == key[0]) & (q.read == key[1])
        ref = c.back_calculate(q.response[sel], n_replicates=2, dilution=2.0)
        np.testing.assert_allclose(out.conc[sel], ref.conc, rtol=1e-12)
        np.testing.assert_allclose(out.ci_high[sel], ref.ci_high, rtol=1e-12)
        assert out.status[sel].tolist() == ref.status.tolist()
    with pytest.raises(AnalysisError, match="lacks columns needed to back-calculate"):
        batch.back_calculate(q.drop(columns="plate"))


def test_single_group_and_mask():
    t = make_table(n_curves=1, seed=2)
    t["masked"] = False
    t.loc[0, "masked"] = True
    t["response"] = t.response.astype(object)
    t.loc[1, "response"] = "OVRFLW"  # non-numeric counts as missing
    batch = fit_curves(t, by=None, mask_col="masked")
    single = fit_curve(t.conc, pd.to_numeric(t.response, errors="coerce"), mask=t.masked)
    assert batch.table.n[0] == t.shape[0] - 2 == single.n
    assert batch.curves[()].params == pytest.approx(single.params, rel=1e-6)
    assert batch.back_calculate(t.assign(response=1.0)).status.iloc[0] == "ok"


def test_batch_argument_errors():
    t = make_table(n_curves=1)
    with pytest.raises(AnalysisError, match="lacks columns needed to fit curves"):
        fit_curves(t, by="analyte")
    with pytest.raises(FitError, match="unknown curve model"):
        fit_curves(t, by="read", model="3pl")
    with pytest.raises(FitError, match="unknown 5PL asymmetry"):
        fit_curves(t, by="read", asymmetry="up")
    with pytest.raises(FitError, match="log-log fits are unweighted"):
        fit_curves(t, by="read", model="loglinear", weights="1/y^2")


def test_batch_power_not_estimable_and_log_failures():
    t = make_table(n_curves=1, reps=1)
    tab = fit_curves(t, by="read", weights="power").table
    assert tab.status[0] == "failed" and "power-law variance exponent" in tab.reason[0]
    t0 = t.copy()
    t0.loc[0, "conc"] = 0.0
    tab = fit_curves(t0, by="read", model="loglinear").table
    assert tab.status[0] == "failed" and "zero concentration" in tab.reason[0]
    tab = fit_curves(t.assign(response=t.response - 1.0), by="read", weights="1/y").table
    assert "need positive responses" in tab.reason[0]


def test_lm_batch_recovers_exact_curves():
    rng = np.random.default_rng(11)
    m = 50
    x = np.tile(np.repeat(LEVELS, 2), (m, 1))
    p = np.column_stack([rng.uniform(0.02, 0.1, m), rng.uniform(0.9, 1.8, m), rng.uniform(80, 300, m),
                         rng.uniform(2.5, 4, m)])
    y = four_pl(x, p[:, :1], p[:, 1:2], p[:, 2:3], p[:, 3:4])
    th, conv, iters, cost = lm_batch(x, y, np.ones_like(x), start_values(x, y), "4pl")
    assert conv.all() and (cost < 1e-20).all()
    np.testing.assert_allclose(th[:, 1], p[:, 1], rtol=1e-7)
    np.testing.assert_allclose(np.exp(th[:, 2]), p[:, 2], rtol=1e-7)


def test_batch_falls_back_to_lmfit_when_lm_stops_early():
    t = make_table(n_curves=3, seed=12)
    batch = fit_curves(t, by="read", max_iter=0)
    assert (batch.table.method == "lmfit").all() and (batch.table.status == "ok").all()
    ref = fit_curves(t, by="read")
    np.testing.assert_allclose(batch.table.c, ref.table.c, rtol=1e-6)
    assert "lmfit" in batch.curves[("R0",)].message


def test_batch_equals_single_on_diverse_curves():
    """Scales from 0.1 to 1e4, zero standards, decreasing curves, both 5PL orientations."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(16):
        scale, cscale = 10 ** rng.uniform(-1, 4), 10 ** rng.uniform(-2, 3)
        lv = np.concatenate([[0.0], cscale * np.geomspace(0.01, 100, rng.integers(5, 9))])
        x = np.repeat(lv, rng.integers(1, 4))
        a, d = scale * rng.uniform(0.005, 0.05), scale * rng.uniform(0.8, 1.2)
        if i % 3 == 0:
            a, d = d, a
        g = np.exp(rng.uniform(-1, 1)) if i % 2 else 1.0
        mu = five_pl(x, a, rng.uniform(0.7, 2.5), cscale * rng.uniform(0.3, 3), d, g, "high" if i % 4 < 2 else "low")
        y = mu * (1 + 0.03 * rng.standard_normal(x.size)) + 0.002 * scale * rng.standard_normal(x.size)
        rows.append(pd.DataFrame({"k": i, "conc": x, "response": y}))
    t = pd.concat(rows, ignore_index=True)
    t = t[t.response > 0]
    for model, weights in (("4pl", "none"), ("5pl", "1/y^2")):
        batch = fit_curves(t, by="k", model=model, weights=weights)
        assert (batch.table.status != "failed").all()
        for _, row in batch.table.iterrows():
            s = t[t.k == row.k]
            single = fit_curve(s.conc, s.response, model, weights)
            assert row.rss == pytest.approx(single.rss, rel=1e-6), (model, row.k)
            assert row.asymmetry == (single.asymmetry or "")


def test_group_keys_with_missing_values_and_name_clash():
    t = make_table(n_curves=2, seed=13)
    t["analyte"] = np.where(t.read == "R0", "IL-6", None)
    batch = fit_curves(t, by="analyte")
    assert batch.table.analyte.isna().sum() == 1 and (batch.table.status == "ok").all()
    out = batch.back_calculate(t)
    assert (out.status != "no_curve").all()
    with pytest.raises(AnalysisError, match="grouping column has the name of a curve-table column"):
        fit_curves(t.rename(columns={"read": "g"}), by="g")


def test_batch_inversion_interval_equals_curve():
    t = make_table(n_curves=3, seed=14)
    batch = fit_curves(t, by="read")
    q = pd.DataFrame({"read": ["R0", "R1", "R0", "R2", "zz"], "response": [0.5, 1.0, 2.0, 1.5, 1.0]})
    out = batch.back_calculate(q, interval="inversion")
    for i, row in q.iterrows():
        if row.read == "zz":
            assert out.status[i] == "no_curve"
            continue
        ref = batch.curves[(row.read,)].back_calculate([row.response], interval="inversion")
        assert out.ci_low[i] == pytest.approx(ref.ci_low[0], rel=1e-12)
        assert out.ci_high[i] == pytest.approx(ref.ci_high[0], rel=1e-12)
    with pytest.raises(AnalysisError, match="unknown interval type"):
        batch.back_calculate(q, interval="wald")
