"""FCS reading (assaykit.flow.read_fcs) and the FlowSample type."""

from __future__ import annotations

import warnings
from pathlib import Path

import flowio
import numpy as np
import pytest

import assaykit.flow as af
from assaykit.errors import AnalysisError, AssaykitWarning, ReaderError
from assaykit.events import FlowSample, SpillMatrix

DATA = Path(__file__).parent / "data" / "flow"


def _write_fcs(path: Path, events: np.ndarray, names: list[str], **meta) -> Path:
    with open(path, "wb") as fh:
        flowio.create_fcs(fh, events.astype(np.float32).ravel(), names, metadata_dict=meta or None)
    return path


def test_read_fcs20_local():
    (s,) = af.read_fcs(DATA / "data1.fcs")
    assert s.name == "data1"
    assert s.events.shape == (13367, 8)
    assert s.channels[:3] == ("FSC-H", "SSC-H", "FL1-H")
    assert s.markers[2] == "CD4 FITC"
    assert s.spill is None
    assert not s.events.flags.writeable
    assert s.channel("FL1-H") == 2 and s.channel("CD4 FITC") == 2 and s.channel("cd4 fitc") == 2


def test_events_equal_flowkit_raw():
    import flowkit as fk

    (s,) = af.read_fcs([DATA / "data1.fcs"])
    ref = fk.Sample(str(DATA / "data1.fcs")).get_events(source="raw")
    assert np.array_equal(s.events, ref)


def test_spill_found_in_keywords(corpus):
    (s,) = af.read_fcs(corpus("flow", "100715.fcs"))
    assert isinstance(s.spill, SpillMatrix)
    assert s.spill.matrix.shape == (13, 13)
    assert s.spill.detectors[0] == "B515-A"
    assert np.allclose(np.diag(s.spill.matrix), 1.0)
    assert s.markers[s.channel("CD4")] == "CD4"


def test_offset_error_retried_with_warning(corpus):
    with pytest.warns(AssaykitWarning, match="offsets"):
        (s,) = af.read_fcs(corpus("flow", "test_comp_example.fcs"))
    assert s.events.shape == (10703, 18)
    assert s.spill is not None and len(s.spill.detectors) == 14


def test_fcs31_written_by_flowio_with_spillover(tmp_path):
    ev = np.arange(30, dtype=float).reshape(10, 3) + 1
    p = _write_fcs(tmp_path / "t.fcs", ev, ["FSC-A", "FL1-A", "FL2-A"],
                   spillover="2,FL1-A,FL2-A,1,0.1,0.05,1")
    (s,) = af.read_fcs(p)
    assert s.spill.detectors == ("FL1-A", "FL2-A")
    assert np.allclose(s.spill.matrix, [[1, 0.1], [0.05, 1]])
    assert np.allclose(s.events, ev)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.fcs"
    p.write_bytes(b"")
    with pytest.raises(ReaderError, match="empty.fcs"):
        af.read_fcs(p)


def test_truncated_file(tmp_path):
    data = (DATA / "data1.fcs").read_bytes()
    p = tmp_path / "cut.fcs"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReaderError, match=r"cut\.fcs.*(corrupt or truncated|cannot read)"):
        af.read_fcs(p)


def test_header_only(tmp_path):
    p = tmp_path / "hdr.fcs"
    p.write_bytes(b"FCS3.1    ")
    with pytest.raises(ReaderError, match=r"hdr\.fcs: FCS file is empty or truncated in its header"):
        af.read_fcs(p)


def test_not_fcs(tmp_path):
    p = tmp_path / "notes.fcs"
    p.write_text("hello")
    with pytest.raises(ReaderError, match="notes.fcs"):
        af.read_fcs(p)


def test_nan_events_name_file_and_channel(tmp_path):
    ev = np.ones((5, 2))
    ev[3, 1] = np.nan
    p = _write_fcs(tmp_path / "nan.fcs", ev, ["FSC-A", "FL1-A"])
    with pytest.raises(ReaderError, match=r"nan\.fcs, channel FL1-A: events hold NaN or infinite values"):
        af.read_fcs(p)


def test_inf_events(tmp_path):
    ev = np.ones((5, 2))
    ev[0, 0] = np.inf
    p = _write_fcs(tmp_path / "inf.fcs", ev, ["FSC-A", "FL1-A"])
    with pytest.raises(ReaderError, match="channel FSC-A"):
        af.read_fcs(p)


def test_channel_lookup_errors():
    s = FlowSample("s", None, np.zeros((2, 3)), ("FSC-A", "FL1-A", "FL2-A"), ("", "CD4", "cd4"))
    assert s.channel("CD4") == 1  # exact marker wins over a case-insensitive one
    with pytest.raises(AnalysisError, match=r"sample s, channel CD8: channel not found in sample"):
        s.channel("CD8")
    with pytest.raises(AnalysisError, match="ambiguous"):
        s.channel("Cd4")


def test_flowsample_checks_shapes():
    with pytest.raises(AnalysisError, match="channel names do not match"):
        FlowSample("s", None, np.zeros((2, 3)), ("a", "b"))
    with pytest.raises(AnalysisError, match="not square"):
        SpillMatrix(("a", "b"), np.eye(3))


def test_read_through_kinds_registry():
    from assaykit.kinds import read

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = read(DATA / "data1.fcs", "flow")
    assert isinstance(s, FlowSample)
