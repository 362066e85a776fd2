"""Benchmark: reading Gen5 and SoftMax Pro text exports.

Prints the median time to read one 96-well export of each format with
``assaykit.read_plate`` (target: <= 5 ms each on a 2-core machine), the median of a
baseline measured in the same run (a naive ``pandas.read_csv`` of the bare 8 x 12 grid of
the same file: no header parsing, no flags, no canonical table), and their ratio; then
the time to read a batch of exports with ``assaykit.read_many`` (progress bar on stderr)
against reading as many bare grid CSV files with ``pandas.read_csv`` and concatenating them.

Usage::

    python benchmarks/bench_read_text.py [--batch 1000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import assaykit
from assaykit.io import Source
from assaykit.simulate import random_plate_truth, write_plate


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _grid_text(path: Path, fmt: str) -> str:
    """The bare 8 x 12 grid of an export, as CSV (input of the baseline)."""
    df = assaykit.read_plate(path)
    df = df[(df.metric == "raw") & (df.read == df.read.iloc[0]) & (df.plate == df.plate.iloc[0])]
    wide = df.pivot(index="row", columns="col", values="value")
    return wide.to_csv()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1000, help="number of exports read with read_many")
    ap.add_argument(
        "--repeat", type=int, default=200, help="repetitions of the single-file timings"
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="assaykit_bench_"))
    truth = random_plate_truth(96, ("abs_450",), seed=1, p_overflow=0.02)
    files = {
        "gen5": write_plate(truth, tmp / "gen5.txt", "gen5"),
        "softmax": write_plate(truth, tmp / "softmax.txt", "softmax"),
    }
    print(f"{'case':<34}{'median ms':>11}{'baseline ms':>13}{'ratio':>8}")
    for fmt, path in files.items():
        data = path.read_bytes()
        grid = _grid_text(path, fmt)

        def ours(data=data, path=path):
            return assaykit.read_plate(Source(data=data, name=str(path)))

        def baseline(grid=grid):
            return pd.read_csv(io.StringIO(grid), index_col=0)

        t_ours = _median_ms(ours, args.repeat)
        t_base = _median_ms(baseline, args.repeat)
        status = "ok" if t_ours <= 5.0 else "SLOW (target 5 ms)"
        print(
            f"{'read_plate ' + fmt + ' 96 wells':<34}{t_ours:>11.3f}{t_base:>13.3f}{t_ours / t_base:>8.2f}  {status}"
        )

    # batch of exports, half Gen5 and half SoftMax, format detected per file
    paths = []
    grid_files = []
    for k in range(args.batch):
        fmt = "gen5" if k % 2 == 0 else "softmax"
        p = tmp / f"batch_{k:05d}.txt"
        p.write_bytes(files[fmt].read_bytes())
        paths.append(p)
        g = tmp / f"grid_{k:05d}.csv"
        g.write_text(_BASE_GRID)
        grid_files.append(g)
    t0 = time.perf_counter()
    df = assaykit.read_many(paths, progress=True)
    t_many = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd.concat([pd.read_csv(g, index_col=0) for g in grid_files])
    t_base = time.perf_counter() - t0
    print(
        f"{'read_many ' + str(args.batch) + ' exports':<34}{t_many * 1e3:>11.1f}{t_base * 1e3:>13.1f}"
        f"{t_many / t_base:>8.2f}  ({len(df)} rows, {t_many / args.batch * 1e3:.2f} ms/file)"
    )


_BASE_GRID = (
    "row,"
    + ",".join(str(c) for c in range(1, 13))
    + "\n"
    + "".join(r + "," + ",".join(["0.123"] * 12) + "\n" for r in "ABCDEFGH")
)

if __name__ == "__main__":
    main()
