"""Benchmark: reading Thermo qPCR exports (QuantStudio .txt, QuantStudio / D&A .xlsx, SDS).

For each export, prints the median time of ``assaykit.read_qpcr`` (format forced, and
detected from content) and of a baseline measured in the same run, and the ratio
baseline / assaykit (> 1 means assaykit is faster):

* text exports — baseline: ``pandas.read_csv(sep='\\t')`` of the bare ``[Results]`` table,
  already cut out of the file (no header search, no flags, no canonical table).
  Target: assaykit <= 2 ms for one export.
* workbooks — baseline: ``openpyxl.load_workbook(read_only=True, data_only=True)`` and
  iterating every row of the ``Results`` sheet (no table built). Target: <= 20 ms.

Exports: the corpus files in ``../shared/corpus/qpcr`` when present, plus a synthetic full
384-well QuantStudio text export written on the fly (always available).

Usage::

    python benchmarks/bench_read_qpcr.py [--repeat 100]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

import pandas as pd

from assaykit.io import Source, read_qpcr

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "qpcr"

TEXT = [
    ("thermo_qs7flex_standard_curve__allotropy_example04.txt", "quantstudio_txt"),
    ("thermo_viia7_384_ddct_sybr_melt__allotropy_example01.txt", "quantstudio_txt"),
    ("abi_7900ht_sds23_rq_results__HTqPCR_SDS_sample.txt", "sds"),
]
BOOKS = [
    ("thermo_da_qs3_relative_quantification__allotropy_example02.xlsx", "design_analysis"),
    ("thermo_qs7flex_ddct_crt__allotropy_example08.xlsx", "quantstudio_xlsx"),
    ("thermo_steponeplus_ddct_sybr_melt__MikeAxtell_MJA_March15_2021_data.xls", "steponeplus"),
]


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    _BEST.append(min(times) * 1e3)
    return statistics.median(times) * 1e3


_BEST: list[float] = []  # fastest run of each measurement (less sensitive to a loaded machine)


def _best() -> float:
    return _BEST[-1]


def synthetic_quantstudio_384() -> bytes:
    """A 384-well QuantStudio 7 Flex text export: 128 samples × 3 targets, with amplification data."""
    lines = [
        "* Block Type = 384-Well Block",
        "* Experiment Barcode = NA",
        "* Experiment Type = Comparative C\u0442 (\u0394\u0394C\u0442)",
        "* Quantification Cycle Method = Ct",
        "",
        "[Amplification Data]",
        "Well\tCycle\tTarget Name\tRn\tDelta Rn",
    ]
    targets = ["GAPDH", "TBX21", "RORC"]
    for w in range(1, 385):
        for cyc in range(1, 41):
            lines.append(
                f"{w}\t{cyc}\t{targets[(w - 1) % 3]}\t{0.5 + cyc * 0.01:.3f}\t{cyc * 0.01:.3f}"
            )
    lines += [
        "[Results]",
        "Well\tWell Position\tOmit\tSample Name\tTarget Name\tTask\tReporter\tQuencher\tQuantity\t"
        "Quantity Mean\tQuantity SD\tRQ\tRQ Min\tRQ Max\tCT\tCt Mean\tCt SD\tDelta Ct\tDelta Ct Mean\t"
        "Delta Ct SE\tDelta Delta Ct\tAutomatic Ct Threshold\tCt Threshold\tAutomatic Baseline\t"
        "Baseline Start\tBaseline End\tComments\tAmp Score\tCq Conf",
    ]
    for w in range(1, 385):
        row = "ABCDEFGHIJKLMNOP"[(w - 1) // 24]
        col = (w - 1) % 24 + 1
        ct = "Undetermined" if w % 97 == 0 else f"{20 + (w % 13) * 0.731:.3f}"
        lines.append(
            f"{w}\t{row}{col}\tfalse\tS{(w - 1) // 3 + 1}\t{targets[(w - 1) % 3]}\tUNKNOWN\tFAM\tNFQ-MGB"
            f"\t\t\t\t1.000\t0.800\t1.200\t{ct}\t25.100\t0.120\t\t3.210\t0.050\t0.000\ttrue\t0.200\ttrue"
            "\t3\t15\t\t1.200\t0.980"
        )
    lines += ["", "Endogenous Control = GAPDH", "Reference Sample = S1", ""]
    return "\n".join(lines).encode()


def results_section(data: bytes) -> str:
    """The bare tab-separated table of a text export (the baseline's input)."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if "[Results]" in lines:
        start = lines.index("[Results]") + 1
    else:  # SDS: the header names Detector
        start = next(i for i, ln in enumerate(lines) if "\tDetector\t" in ln)
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return "\n".join(lines[start:end])


def bench_text(name: str, data: bytes, fmt: str, repeat: int) -> None:
    section = results_section(data)
    ours = _median_ms(lambda: read_qpcr(Source(data=data, name=name), format=fmt), repeat)
    ours_best = _best()
    detected = _median_ms(lambda: read_qpcr(Source(data=data, name=name)), repeat)
    base = _median_ms(lambda: pd.read_csv(io.StringIO(section), sep="\t"), repeat)
    base_best = _best()
    n = len(read_qpcr(Source(data=data, name=name), format=fmt))
    print(
        f"{name[:52]:52s} {n:4d} rows  assaykit {ours:6.2f} ms (best {ours_best:5.2f}, detected"
        f" {detected:6.2f})  read_csv(section) {base:5.2f} ms (best {base_best:5.2f})"
        f"  ratio {base / ours:4.2f}  target <= 2 ms"
    )


def bench_book(path: Path, fmt: str, repeat: int) -> None:
    from openpyxl import load_workbook

    data = path.read_bytes()

    def openpyxl_results():
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = list(wb["Results"].iter_rows(values_only=True))
        wb.close()
        return rows

    ours = _median_ms(lambda: read_qpcr(Source(data=data, name=path.name), format=fmt), repeat)
    ours_best = _best()
    detected = _median_ms(lambda: read_qpcr(Source(data=data, name=path.name)), repeat)
    if path.suffix == ".xlsx":
        base = _median_ms(openpyxl_results, max(5, repeat // 5))
        base_text = (
            f"openpyxl(Results) {base:6.2f} ms (best {_best():6.2f})  ratio {base / ours:5.2f}"
        )
    else:
        base_text = "openpyxl cannot read .xls"
    n = len(read_qpcr(Source(data=data, name=path.name), format=fmt))
    print(
        f"{path.name[:52]:52s} {n:4d} rows  assaykit {ours:6.2f} ms (best {ours_best:5.2f}, detected"
        f" {detected:6.2f})  {base_text}  target <= 20 ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=100, help="timed repetitions per measurement")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs (medians inflate on a busy machine)")
    print("text exports (median of", args.repeat, "reads)")
    bench_text(
        "synthetic_quantstudio_384well_with_amplification.txt",
        synthetic_quantstudio_384(),
        "quantstudio_txt",
        args.repeat,
    )
    if CORPUS.exists():
        for name, fmt in TEXT:
            bench_text(name, (CORPUS / name).read_bytes(), fmt, args.repeat)
        print("workbooks")
        for name, fmt in BOOKS:
            bench_book(CORPUS / name, fmt, max(10, args.repeat // 2))
    else:
        print(f"({CORPUS} not found: corpus exports skipped)")


if __name__ == "__main__":
    main()
