"""Benchmark: reading .xlsx plate-reader exports.

For each workbook, prints the median time of

* ``assaykit.read_plate(path)``: calamine parse + format detection + canonical table
  (target: <= 25 ms for one ordinary export);
* the same workbook loaded with ``openpyxl.load_workbook(read_only=True, data_only=True)``,
  iterating every cell value of every sheet (no parsing of the layout, no table);
* ``pandas.read_excel(path, sheet_name=None, header=None, engine='openpyxl')``;

all measured in the same run, and the ratios baseline / assaykit (> 1 means assaykit
is faster). Workbooks: the Tecan Magellan, BMG SMART Control and Tecan i-control
exports of ``../shared/corpus`` when present, plus a generic 2-read 96-well grid
workbook written on the fly.

Usage::

    python benchmarks/bench_read_xlsx.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import openpyxl
import pandas as pd

import assaykit

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "plate_reader"
FILES = {
    "tecan_magellan (384 wells, 2 labels)": CORPUS / "tecan_magellan" / "SLA01P01_ELISA.xlsx",
    "bmg_smart (96 wells, 5 blocks)": CORPUS / "bmg" / "smart_control_picogreen_stdcurve.xlsx",
    "tecan_icontrol (96 wells x 632 cycles)": CORPUS / "tecan_icontrol" / "infinite200pro_sample_ODs.xlsx",
}


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _openpyxl(path: Path) -> int:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            n += len(row)
    wb.close()
    return n


def _pandas(path: Path):
    return pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")


def _generic_workbook(folder: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plate 1"
    for k, read in enumerate(("abs_450", "abs_630")):
        ws.append([read, *range(1, 13)])
        for i, r in enumerate("ABCDEFGH"):
            ws.append([r, *[round(0.05 + 0.01 * (i * 12 + j) + k, 4) for j in range(12)]])
        ws.append([])
    path = folder / "generic.xlsx"
    wb.save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30, help="repetitions per timing")
    args = ap.parse_args()
    files = {k: v for k, v in FILES.items() if v.exists()}
    files["generic (96 wells, 2 reads)"] = _generic_workbook(Path(tempfile.mkdtemp(prefix="assaykit_bench_")))
    print(f"{'workbook':42s} {'rows':>6s} {'assaykit':>10s} {'openpyxl':>10s} {'pandas':>10s}"
          f" {'opx/ak':>7s} {'pd/ak':>7s}")
    for name, path in files.items():
        n = len(assaykit.read_plate(path))
        repeat = max(5, args.repeat // 5) if path.stat().st_size > 200_000 else args.repeat
        ak = _median_ms(lambda p=path: assaykit.read_plate(p), repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about missing default styles
            ox = _median_ms(lambda p=path: _openpyxl(p), repeat)
            pdx = _median_ms(lambda p=path: _pandas(p), repeat)
        print(f"{name:42s} {n:6d} {ak:8.1f}ms {ox:8.1f}ms {pdx:8.1f}ms {ox / ak:7.1f} {pdx / ak:7.1f}")
    print("target: assaykit <= 25 ms median for one ordinary export")


if __name__ == "__main__":
    main()
