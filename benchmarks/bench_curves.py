"""Benchmark: many standard curves fitted, back-calculated and flagged.

Run:  python benchmarks/bench_curves.py [--curves 1000] [--repeats 5]

Workloads (synthetic, fixed seed; 8 standards, 2-fold from 500, in duplicate, noise
3 % CV + 0.004 OD as in ../shared/notes/elisa.md):

* 4PL: ``fit_curves`` on the tidy table (one group per curve), then
  ``CurveBatch.back_calculate`` of every standard well (concentration, 95 % CI, status).
  Target: <= 0.1 s for 1,000 curves.
* 5PL (asymmetry g log-uniform in 0.3-3, 2 % CV): the same with ``model='5pl'`` (both
  asymmetry orientations tried, the better kept). Target: <= 0.5 s.

Baseline, measured in the same run: a Python loop of ``scipy.optimize.curve_fit``
(Levenberg–Marquardt, same starting values) plus a numpy inverse per curve (no CI, no
status). Prints medians over ``--repeats`` runs, the ratio baseline / assaykit, and
the agreement of the fitted parameters with the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from assaykit.immunoassay import fit_curves, five_pl, five_pl_inverse, four_pl, four_pl_inverse
from assaykit.immunoassay._start import start_values

LEVELS = 500 / 2.0 ** np.arange(8)


def make(n: int, model: str, seed: int = 20240611) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.02, 0.1, n)
    b = rng.uniform(0.9, 1.8, n)
    c = rng.uniform(80, 300, n)
    d = rng.uniform(2.5, 4.0, n)
    x = np.tile(np.repeat(LEVELS, 2), n)
    gi = np.repeat(np.arange(n), 16)
    if model == "5pl":
        g = np.exp(rng.uniform(np.log(0.3), np.log(3.0), n))
        mu = five_pl(x, a[gi], b[gi], c[gi], d[gi], g[gi])
        cv = 0.02
    else:
        mu = four_pl(x, a[gi], b[gi], c[gi], d[gi])
        cv = 0.03
    y = mu * (1 + cv * rng.standard_normal(x.size)) + 0.004 * rng.standard_normal(x.size)
    return pd.DataFrame({"curve": gi, "conc": x, "response": y})


def run_assaykit(table: pd.DataFrame, model: str):
    batch = fit_curves(table, by="curve", model=model)
    bc = batch.back_calculate(table)
    return batch, bc


def run_curve_fit(table: pd.DataFrame, model: str):
    n = table.curve.nunique()
    X = table.conc.to_numpy().reshape(n, -1)
    Y = table.response.to_numpy().reshape(n, -1)
    st = start_values(X, Y, "4pl")
    out = np.full((n, 5 if model == "5pl" else 4), np.nan)
    rss = np.full(n, np.nan)
    f = five_pl if model == "5pl" else four_pl
    inv = five_pl_inverse if model == "5pl" else four_pl_inverse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            p0 = [st[i, 0], st[i, 1], np.exp(st[i, 2]), st[i, 3]] + ([1.0] if model == "5pl" else [])
            try:
                p, _ = curve_fit(f, X[i], Y[i], p0=p0, maxfev=20000)
            except RuntimeError:
                continue
            out[i] = p
            rss[i] = np.sum((Y[i] - f(X[i], *p)) ** 2)
            inv(Y[i], *p)
    return out, rss


def timed(fn, repeats):
    times, res = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curves", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    targets = {"4pl": 0.1, "5pl": 0.5}
    for model in ("4pl", "5pl"):
        table = make(args.curves, model)
        run_assaykit(table.iloc[:160], model)  # warm-up (imports, caches)
        t_ak, (batch, bc) = timed(lambda table=table, model=model: run_assaykit(table, model), args.repeats)
        base_repeats = max(1, args.repeats // 2 if model == "4pl" else 1)
        t_cf, ref = timed(lambda table=table, model=model: run_curve_fit(table, model), base_repeats)
        ref, ref_rss = ref
        tab = batch.table
        names = ["a", "b", "c", "d", "g"][: ref.shape[1]]
        ours = tab[names].to_numpy(float)
        same = (tab.asymmetry.to_numpy() != "low") if model == "5pl" else np.ones(len(tab), bool)
        ok = same & np.all(np.isfinite(ref), axis=1) & (tab.status.to_numpy() == "ok")
        rel = np.max(np.abs(ours[ok] - ref[ok]) / np.abs(ref[ok]), axis=1)
        print(f"== {args.curves} {model.upper()} curves (8 standards x 2), fit + back-calculate + flag")
        print(f"   assaykit fit_curves + back_calculate : median {t_ak * 1e3:8.1f} ms over {args.repeats} runs "
              f"(target <= {targets[model] * 1e3:.0f} ms: {'PASS' if t_ak <= targets[model] else 'FAIL'})")
        print(f"   scipy curve_fit loop (baseline)      : median {t_cf * 1e3:8.1f} ms over {base_repeats} runs")
        print(f"   ratio baseline / assaykit            : {t_cf / t_ak:8.1f}x")
        print(f"   curve status: {tab.status.value_counts().to_dict()}; method: {tab.method.value_counts().to_dict()}"
              + (f"; asymmetry: {tab.asymmetry.value_counts().to_dict()}" if model == "5pl" else ""))
        print(f"   back-calculated wells: {len(bc)}; status: {bc.status.value_counts().to_dict()}")
        print(f"   max-rel param difference vs curve_fit on {ok.sum()} comparable curves: "
              f"median {np.median(rel):.1e}, 99th pct {np.percentile(rel, 99):.1e}")
        fin = np.isfinite(ref_rss)
        better = tab.rss.to_numpy()[fin] <= ref_rss[fin] * (1 + 1e-9)
        print(f"   RSS <= curve_fit's RSS (+1e-9 rel) on {better.mean() * 100:.1f} % of {fin.sum()} curves; "
              f"worst ratio ours/curve_fit {np.max(tab.rss.to_numpy()[fin] / ref_rss[fin]):.6f}")
        if model == "5pl":
            t_hi, _ = timed(lambda table=table: fit_curves(table, by="curve", model="5pl", asymmetry="high")
                            .back_calculate(table), args.repeats)
            print(f"   5PL with one orientation (asymmetry='high', the R/Gen5 form): median {t_hi * 1e3:.1f} ms "
                  f"(target <= {targets[model] * 1e3:.0f} ms: {'PASS' if t_hi <= targets[model] else 'FAIL'})")


if __name__ == "__main__":
    main()
