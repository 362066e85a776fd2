"""Batches on concurrent.futures executors (process pool, dask LocalCluster) and the workflow layer."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import assaykit.flow as af
from assaykit.flow.workflow import FlowRunResult, expand_paths, run

DATA = Path(__file__).parent / "data" / "flow"
GML = str(DATA / "gml_quadrant1_gate.xml")


def _inputs(tmp_path):
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(b"FCS3.0  not really")
    good = tmp_path / "copy.fcs"
    good.write_bytes((DATA / "data1.fcs").read_bytes())
    return [str(DATA / "data1.fcs"), str(bad), str(good)]


def _check(res):
    assert sorted(res.stats["sample"].unique()) == ["copy", "data1"]
    assert res.errors["sample"].tolist() == ["bad"] and "bad.fcs" in res.errors.at[0, "error"]
    a = res.stats[res.stats["sample"] == "data1"].drop(columns="sample").reset_index(drop=True)
    b = res.stats[res.stats["sample"] == "copy"].drop(columns="sample").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert a["count"].tolist() == [620, 238, 5148, 7361]


def test_process_pool_default_and_explicit(tmp_path):
    items = _inputs(tmp_path)
    _check(af.gate(items, strategy=GML, settings=af.FlowSettings(workers=2), progress=False))
    with ProcessPoolExecutor(max_workers=2) as ex:
        _check(af.gate(items, strategy=GML, executor=ex, progress=False))


def test_flow_samples_on_a_process_pool():
    import pickle

    (s,) = af.read_fcs(DATA / "data1.fcs")
    back = pickle.loads(pickle.dumps(s))
    assert back.metadata == s.metadata and not back.events.flags.writeable
    twin = af.FlowSample("twin", None, back.events, back.channels, back.markers, back.spill, back.metadata)
    with ProcessPoolExecutor(max_workers=2) as ex:
        res = af.gate([s, twin], strategy=GML, executor=ex, progress=False)
    assert res.errors.empty and res.stats["count"].sum() == 2 * s.n_events
    again = pickle.loads(pickle.dumps(res))
    assert again.mask("data1", "FL2P-FL4P").sum() == 620


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    items = _inputs(tmp_path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            _check(af.gate(items, strategy=GML, executor=client.get_executor(), progress=False))


def test_workflow_run_tables_and_gatingml(tmp_path):
    res = run([DATA], af.FlowSettings(workers=1, strategy=GML, mfi_channels=("CD4 FITC",)), progress=False)
    assert isinstance(res, FlowRunResult)
    assert set(res.tables()) == {"stats", "thresholds", "errors"}
    assert res.samples == ("data1", "data_set_simple_line_100")
    assert res.tables()["errors"]["sample"].tolist() == ["data_set_simple_line_100"]  # no FL2-H channel
    st = res.stats
    assert {"median_cd4_fitc", "mean_cd4_fitc", "geomean_cd4_fitc"} <= set(st.columns)
    xml = res.gatingml()
    assert "Gating-ML" in xml and "FL2P-FL4P" in xml
    with pytest.raises(AttributeError):
        res.settings = None


def test_expand_paths_folders():
    files = expand_paths([DATA])
    assert [Path(f).name for f in files] == ["data1.fcs", "data_set_simple_line_100.fcs"]


def test_settings_from_protocol_table_and_layers():
    from assaykit.protocols import read_protocol_table

    opts, where = read_protocol_table("flow_th_subsets", "flow")
    s = af.FlowSettings.merged(opts, {"pct_of": "CD3pos"}, where=(str(where), None))
    assert s.strategy == "th_subsets" and s.pct_of == "CD3pos" and len(s.thresholds) >= 5
    assert s.to_dict()["thresholds"][0]["gate"]
