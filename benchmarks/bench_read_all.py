"""Benchmark: read every plate-reader and qPCR export of the corpus, and simulated exports.

For each file, prints the median and the minimum time of ``assaykit.read_plate`` /
``assaykit.read_qpcr`` (format detected from the content, from the bytes in memory, so
disk speed does not count), the number of rows of the table, and a baseline measured in
the same run on the same bytes:

* text exports — ``pandas.read_csv`` of the whole file (C engine, no header, the
  file's delimiter and encoding given, ragged lines padded): parsing the bytes into a
  grid, with none of the work of finding blocks, keys, flags or the canonical table;
* workbooks (.xlsx) — ``openpyxl.load_workbook(read_only=True, data_only=True)`` and
  iterating every cell value of every sheet (openpyxl cannot read .xls: no baseline);
* XML (BioPlex, RDML) — ``xml.etree.ElementTree`` parse of the document (after
  ``zipfile`` extraction for zipped RDML).

``ratio`` is assaykit median / baseline median (< 1: assaykit is faster than the
baseline). Targets (2-core machine, one file): plate text export <= 5 ms, plate .xlsx
<= 25 ms, qPCR text export <= 2 ms, qPCR .xlsx <= 20 ms; the column ``target`` says
``ok`` or ``SLOW``. RDML (zipped XML) has no stated target: ``no target`` (its ratio to
unzipping and parsing the XML with ElementTree is the measure). Files much larger than one ordinary export (the 30-plex Luminex
export and the i-control kinetic workbook) are marked ``large`` instead.

The corpus is ``../shared/corpus/{plate_reader,qpcr}`` beside the project; it is skipped
with a message when absent. The simulated exports (written with
:mod:`assaykit.simulate`) are always measured.

Usage::

    python benchmarks/bench_read_all.py [--min-time 0.3] [--max-repeat 200] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from assaykit.io import Source, read_plate, read_qpcr
from assaykit.simulate import (
    random_plate_truth,
    simulate_qpcr_run,
    write_cfx_csv,
    write_plate,
    write_quantstudio_txt,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SKIP_SUFFIXES = {".md", ".toml"}
TARGET_MS = {("plate", "text"): 5.0, ("plate", "book"): 25.0, ("qpcr", "text"): 2.0, ("qpcr", "book"): 20.0}
LARGE_BYTES = 150_000  # above this, a file is not "one ordinary export"


def _time(fn: Callable[[], object], min_time: float, max_repeat: int) -> tuple[float, float, int]:
    """Median and minimum (ms) of repeated calls after one warm-up; at least 5 calls."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeat and (len(times) < 5 or time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, min(times) * 1e3, len(times)


def _container(data: bytes) -> str:
    if data.startswith(b"PK"):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if data.lstrip()[:1] == b"<":
        return "xml"
    return "text"


def _read_csv_baseline(data: bytes) -> tuple[str, Callable[[], object]]:
    src = Source(data=data, name="baseline")
    encoding = src.encoding
    text = src.text
    counts = {d: text.count(d) for d in ("\t", ",", ";")}
    sep = max(counts, key=counts.get)
    width = max((ln.count(sep) for ln in text.splitlines()), default=0) + 1

    def run():
        return pd.read_csv(
            io.BytesIO(data),
            sep=sep,
            header=None,
            names=range(width),
            encoding=encoding,
            engine="c",
            dtype=object,
            skip_blank_lines=False,
        )

    return f"read_csv(sep={sep!r})", run


def _openpyxl_baseline(data: bytes) -> tuple[str, Callable[[], object]]:
    from openpyxl import load_workbook

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about missing default styles
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            n = 0
            for ws in wb.worksheets:
                for row in ws.iter_rows(values_only=True):
                    n += len(row)
            wb.close()
        return n

    return "openpyxl read-only", run


def _xml_baseline(data: bytes) -> tuple[str, Callable[[], object]]:
    if data.startswith(b"PK"):

        def run():
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return [ET.fromstring(z.read(n)) for n in z.namelist() if n.endswith((".xml", ".rdml"))]

        return "zip + ElementTree", run
    return "ElementTree", lambda: ET.fromstring(data)


def _baseline(data: bytes) -> tuple[str, Callable[[], object] | None]:
    kind = _container(data)
    if kind == "xls":
        return "n/a (.xls)", None
    if kind == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = z.namelist()
        except zipfile.BadZipFile:
            return "n/a", None
        if any(n.startswith("xl/") for n in names):
            return _openpyxl_baseline(data)
        return _xml_baseline(data)
    if kind == "xml":
        return _xml_baseline(data)
    return _read_csv_baseline(data)


def corpus_files() -> list[tuple[str, str, bytes]]:
    """(kind, name, bytes) of every plate-reader and qPCR export of the corpus."""
    out = []
    for kind, folder in (("plate", "plate_reader"), ("qpcr", "qpcr")):
        root = CORPUS / folder
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix.lower() not in SKIP_SUFFIXES and p.name != "SOURCES.md":
                out.append((kind, str(p.relative_to(CORPUS)), p.read_bytes()))
    return out


def simulated_files(folder: Path) -> list[tuple[str, str, bytes]]:
    """(kind, name, bytes) of simulated Gen5, SoftMax, generic, CFX and QuantStudio exports."""
    out = []
    for fmt in ("gen5", "softmax", "generic"):
        for n_wells in (96, 384):
            truth = random_plate_truth(n_wells, ("abs_450",), seed=n_wells, p_overflow=0.02)
            p = write_plate(truth, folder / f"sim_{fmt}_{n_wells}.txt", fmt)
            out.append(("plate", f"simulated/{p.name}", p.read_bytes()))
    wells = simulate_qpcr_run(
        targets=["IL6", "TNF", "IFNG"],
        references=["GAPDH"],
        fold_changes={"lps": {"IL6": 8.0, "TNF": 4.0}, "dex": {"IL6": 0.5}},
        n_bio=3,
        p_undetermined=0.02,
        seed=1,
    )
    for fn, suffix in ((write_cfx_csv, "csv"), (write_quantstudio_txt, "txt")):
        p = fn(wells, folder / f"sim_qpcr_{len(wells)}wells.{suffix}")
        out.append(("qpcr", f"simulated/{p.name}", p.read_bytes()))
    return out


def bench(kind: str, name: str, data: bytes, min_time: float, max_repeat: int) -> None:
    read = read_plate if kind == "plate" else read_qpcr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            df = read(Source(data=data, name=name))
        except Exception as exc:  # a corpus file no reader accepts: say so, do not time it
            print(f"{name[:60]:60s} {kind:5s} not read: {type(exc).__name__}")
            return
        med, best, n = _time(lambda: read(Source(data=data, name=name)), min_time, max_repeat)
    base_name, base_fn = _baseline(data)
    if base_fn is not None:
        b_med, b_best, _ = _time(base_fn, min_time, max_repeat)
        base = f"{b_med:8.2f} {b_best:8.2f}  {med / b_med:6.2f}  {base_name}"
    else:
        base = f"{'':8s} {'':8s}  {'':6s}  {base_name}"
    family = "book" if base_name.startswith(("openpyxl", "n/a (.xls)")) else "text"
    target = TARGET_MS[(kind, family)]
    if "ElementTree" in base_name:
        status = "no target (XML)"
    elif len(data) > LARGE_BYTES:
        status = f"large ({len(data) / 1e3:.0f} kB)"
    else:
        status = f"ok (<= {target:g})" if med <= target else f"SLOW (> {target:g})"
    print(
        f"{name[:60]:60s} {kind:5s} {df.attrs.get('format', '?'):16s} {len(df):6d} {med:8.2f} {best:8.2f}"
        f" {n:5d}  {status:18s} {base}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds spent timing each measurement")
    ap.add_argument("--max-repeat", type=int, default=200, help="at most this many timed calls")
    ap.add_argument("--only", default="", help="only files whose name contains this")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs (medians inflate on a busy machine)")
    files: list[tuple[str, str, bytes]] = []
    if CORPUS.exists():
        files += corpus_files()
    else:
        print(f"({CORPUS} not found: corpus exports skipped)")
    files += simulated_files(Path(tempfile.mkdtemp(prefix="assaykit_bench_")))
    print(
        f"{'file':60s} {'kind':5s} {'format':16s} {'rows':>6s} {'median':>8s} {'min':>8s} {'n':>5s}  "
        f"{'target (ms)':18s} {'base med':>8s} {'base min':>8s}  {'ratio':>6s}  baseline"
    )
    for kind, name, data in files:
        if args.only in name:
            bench(kind, name, data, args.min_time, args.max_repeat)


if __name__ == "__main__":
    main()
