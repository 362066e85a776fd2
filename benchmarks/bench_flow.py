"""Flow gating benchmark: assaykit's exact fast path vs FlowKit ``GatingStrategy.gate_sample``.

The Th-subset template (``protocols/flow_th_subsets.xml``, 13 gates) on 10 M events of the
simulated Th panel (15 channels: 3 scatter, 11 fluorescence, time; float32 FCS 3.1 with
``$SPILLOVER``), side by side in one run:

* **assaykit, template** — ``assaykit.flow.gate`` with the template's boundaries;
* **assaykit, thresholds** — the same with the protocol's data-driven thresholds
  (``protocols/flow_th_subsets.toml``);
* **FlowKit** — ``GatingStrategy.gate_sample`` on the same file, given the template and then
  the per-sample strategy assaykit exported (GatingML) for the thresholds run.

Every tool runs in its own fresh process (so peak memory is its own); peak memory is the
process's peak RSS (``VmHWM``, imports and data included). "End to end" for assaykit is
from the sample in memory (``read_fcs`` done) to the statistics table: compensation,
transforms, every gate, thresholds, counts and percentages of every population and the
event masks; reading the FCS file is timed separately, as is FlowKit's ``Sample`` load.
The counts of every population must be identical to FlowKit's. assaykit's child also times
a second ``gate`` call in the same process (memory already mapped; the peak memory reported
is that of the first call).

Usage::

    python benchmarks/bench_flow.py [--events 10000000] [--out benchmarks/results_flow.json]

The events are 1 M simulated events (``assaykit.simulate.flow``, seed 1) repeated 10×, each
value multiplied by ``1 + 0.001·N(0, 1)`` so that no two events are equal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_file(path: Path, n_events: int, base: int = 1_000_000) -> None:
    """Write the benchmark FCS file (simulated Th panel, tiled with jitter)."""
    import numpy as np

    from assaykit.simulate.flow import simulate_th_panel, write_fcs

    tube = simulate_th_panel(min(base, n_events), seed=1, sample="bench")
    rng = np.random.default_rng(2)
    reps = -(-n_events // tube.data.shape[0])
    parts = []
    for _ in range(reps):
        jitter = (1 + 0.001 * rng.standard_normal(tube.data.shape)).astype(np.float32)
        parts.append(tube.data * jitter)
    data = np.concatenate(parts)[:n_events]
    write_fcs(path, data, tube.channels, markers=tube.markers, spillover=tube.spillover)


def _settings(thresholds: bool):
    from assaykit.flow import FlowSettings
    from assaykit.protocols import read_protocol_table

    opts, _ = read_protocol_table("flow_th_subsets", "flow")
    opts = {k: v for k, v in opts.items() if k not in ("mfi_channels", "thresholds")}
    if thresholds:
        opts["thresholds"] = read_protocol_table("flow_th_subsets", "flow")[0]["thresholds"]
    return FlowSettings.from_mapping(opts).replace(workers=1)


def run_ours(fcs: str, thresholds: bool, gml_out: str | None) -> dict:
    import assaykit.flow as af

    t0 = time.perf_counter()
    (sample,) = af.read_fcs([fcs])
    t_read = time.perf_counter() - t0
    settings = _settings(thresholds)
    t0 = time.perf_counter()
    res = af.gate([sample], settings=settings, progress=False)
    t_gate = time.perf_counter() - t0
    peak = _peak_mb()
    del res  # a second call in the same process: memory already mapped (no first-touch page faults)
    t0 = time.perf_counter()
    res = af.gate([sample], settings=settings, progress=False)
    t_warm = time.perf_counter() - t0
    if res.errors.shape[0]:
        raise SystemExit(res.errors.to_string())
    if gml_out:
        af.export_gatingml(res.strategy, gml_out, sample=sample.name)
    counts = dict(zip(res.stats["population"], map(int, res.stats["count"]), strict=True))
    return {"tool": "assaykit" + (" thresholds" if thresholds else " template"), "events": sample.n_events,
            "read_s": t_read, "gate_s": t_gate, "events_per_s": sample.n_events / t_gate,
            "gate_s_second_call": t_warm, "peak_mb": peak, "counts": counts}


def run_flowkit(fcs: str, gml: str, label: str) -> dict:
    import warnings

    import flowkit as fk

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    s = fk.Sample(fcs, sample_id="bench")
    t_read = time.perf_counter() - t0
    gs = fk.parse_gating_xml(gml)
    t0 = time.perf_counter()
    rep = gs.gate_sample(s).report
    t_gate = time.perf_counter() - t0
    counts = dict(zip(rep["gate_name"], map(int, rep["count"]), strict=True))
    return {"tool": label, "events": s.event_count, "read_s": t_read, "gate_s": t_gate,
            "events_per_s": s.event_count / t_gate, "peak_mb": _peak_mb(), "counts": counts}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results_flow.json"))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--skip-flowkit", action="store_true")
    a = ap.parse_args()
    if a.child:
        kind, fcs, *rest = a.child
        if kind == "ours":
            print(json.dumps(run_ours(fcs, rest[0] == "1", rest[1] if len(rest) > 1 else None)))
        else:
            print(json.dumps(run_flowkit(fcs, rest[0], rest[1])))
        return
    from assaykit.flow.strategy import template_path

    with tempfile.TemporaryDirectory() as tmp:
        fcs = os.path.join(tmp, "bench.fcs")
        t0 = time.perf_counter()
        make_file(Path(fcs), a.events)
        print(f"data: {a.events:,} events written in {time.perf_counter() - t0:.1f} s", flush=True)
        gml = os.path.join(tmp, "bench_thresholds.xml")
        rows = [_child("--child", "ours", fcs, "0"), _child("--child", "ours", fcs, "1", gml)]
        if not a.skip_flowkit:
            rows.append(_child("--child", "fk", fcs, str(template_path("th_subsets")), "FlowKit template"))
            rows.append(_child("--child", "fk", fcs, gml, "FlowKit thresholds"))
    print(f"{'tool':22} {'read s':>7} {'gate s':>7} {'events/s':>11} {'peak MB':>8} {'2nd call s':>10}")
    for r in rows:
        second = f"{r['gate_s_second_call']:10.2f}" if "gate_s_second_call" in r else f"{'':>10}"
        print(f"{r['tool']:22} {r['read_s']:7.2f} {r['gate_s']:7.2f} {r['events_per_s']:11.3g} {r['peak_mb']:8.0f} {second}")
    if not a.skip_flowkit:
        for ours, ref in ((rows[0], rows[2]), (rows[1], rows[3])):
            same = ours["counts"] == ref["counts"]
            print(f"{ours['tool']} vs {ref['tool']}: counts identical = {same}")
            if not same:
                print({k: (ours["counts"].get(k), v) for k, v in ref["counts"].items() if ours["counts"].get(k) != v})
    Path(a.out).write_text(json.dumps(rows, indent=1))
    print("written", a.out)


if __name__ == "__main__":
    main()
