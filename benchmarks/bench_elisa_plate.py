"""Benchmark: one 96-well ELISA plate end to end (read -> layout -> fit -> tables).

Run:  python benchmarks/bench_elisa_plate.py [--repeats 30]

Workload: the bundled IL-6 Gen5 export and its wellmap layout (assaykit.datasets):
``read_plate`` -> ``read_layout`` -> ``annotate`` -> ``analyze`` (450 nm minus the 630 nm
reference, 4PL, mean blank subtracted; builds the wells, samples, standards, curves and
linearity tables with CIs, statuses and QC). Target: <= 50 ms median in total.

Baseline, measured in the same run on the same annotated table: a minimal script with
``scipy.optimize.curve_fit`` on the standards and a numpy inverse of every well (no
CIs, no statuses, no QC, no replicate tables). Prints the median of every stage, the
total, and the ratio total / baseline (how much the full pipeline costs over a bare fit).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import curve_fit

import assaykit
from assaykit.datasets import path
from assaykit.immunoassay import analyze, four_pl, four_pl_inverse

OPTIONS = {"read": "abs_450", "reference_read": "abs_630", "model": "4pl", "conc_col": "std_conc_pg_ml",
           "blank": "subtract_mean"}


def timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def baseline(ann) -> np.ndarray:
    a450 = ann[ann["read"] == "abs_450"].set_index("well")
    a630 = ann[ann["read"] == "abs_630"].set_index("well")["value"]
    y = a450["value"] - a630.reindex(a450.index)
    blank = y[a450["role"] == "blank"].mean()
    y = y - blank
    st = a450["role"] == "standard"
    x = a450.loc[st, "std_conc_pg_ml"].to_numpy(float)
    p, _ = curve_fit(four_pl, x, y[st].to_numpy(float), p0=[0.05, 1.0, 100.0, 3.0], maxfev=2000)
    return four_pl_inverse(y.to_numpy(float), *p) * a450["dilution"].to_numpy(float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    export, layout = path("elisa_il6_gen5.txt"), path("elisa_il6_layout.toml")

    t_read, plate = timed(lambda: assaykit.read_plate(export), args.repeats)
    t_layout, lay = timed(lambda: assaykit.read_layout(layout), args.repeats)
    t_annot, ann = timed(lambda: assaykit.annotate(plate, lay), args.repeats)
    t_analyze, res = timed(lambda: analyze(ann, **OPTIONS), args.repeats)
    t_total, _ = timed(lambda: analyze(assaykit.annotate(assaykit.read_plate(export),
                                                         assaykit.read_layout(layout)), **OPTIONS), args.repeats)
    t_base, conc = timed(lambda: baseline(ann), args.repeats)

    ok = res.wells["role"].eq("sample").to_numpy() & np.isfinite(res.wells["conc"].to_numpy())
    agree = np.nanmax(np.abs(res.wells["conc"].to_numpy()[ok] / conc[ok] - 1))
    print(f"96-well IL-6 plate, medians over {args.repeats} runs")
    print(f"  read_plate     {t_read * 1e3:8.2f} ms")
    print(f"  read_layout    {t_layout * 1e3:8.2f} ms")
    print(f"  annotate       {t_annot * 1e3:8.2f} ms")
    print(f"  analyze        {t_analyze * 1e3:8.2f} ms")
    print(f"  end to end     {t_total * 1e3:8.2f} ms   (target <= 50 ms: {'met' if t_total <= 0.05 else 'NOT met'})")
    print(f"  baseline (curve_fit + inverse on the annotated table) {t_base * 1e3:8.2f} ms")
    print(f"  ratio end-to-end / baseline {t_total / t_base:6.1f}x; analyze / baseline {t_analyze / t_base:6.1f}x")
    print(f"  sample concentrations agree with the baseline to {agree:.1e} relative")


if __name__ == "__main__":
    main()
