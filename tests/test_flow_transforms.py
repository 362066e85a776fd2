"""Compensation and transforms: FlowKit's arithmetic, FlowJo's biex look-up table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assaykit.flow as af
from assaykit.errors import AnalysisError, ReaderError
from assaykit.events import FlowSample, SpillMatrix
from assaykit.flow.compensation import compensate_rows

DATA = Path(__file__).parent / "data" / "flow"


def test_compensation_bit_identical_to_flowkit(corpus):
    import flowkit as fk

    path = corpus("flow", "100715.fcs")
    (s,) = af.read_fcs(path)
    fks = fk.Sample(str(path))
    spill = fks.metadata["spill"]
    m = fk.Matrix(spill, [fks.pnn_labels[i] for i in fks.fluoro_indices])
    ref = m.apply(fks)
    ours = af.compensate(s)
    assert np.array_equal(ours, ref)  # bit for bit
    rows = np.flatnonzero(np.arange(s.n_events) % 7 == 3)
    assert np.array_equal(af.compensate(s, rows=rows), ref[rows])


def test_compensation_from_csv_matches_flowkit(corpus, tmp_path):
    import flowkit as fk

    fcs = corpus("flow", "test_comp_example.fcs")
    csv = corpus("flow", "comp_complete_example.csv")
    with pytest.warns(Warning):
        (s,) = af.read_fcs(fcs)
    spill = af.read_spill_csv(csv)
    assert len(spill.detectors) == 14
    fks = fk.Sample(str(fcs), ignore_offset_error=True)
    ref = fk.Matrix(str(csv), [fks.pnn_labels[i] for i in fks.fluoro_indices]).apply(fks)
    assert np.array_equal(af.compensate(s, spill), ref)
    assert np.array_equal(af.compensate(s, str(csv)), ref)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 63, 64, 65, 1000])
def test_row_subsets_are_bit_identical(n):
    rng = np.random.default_rng(n)
    x = rng.lognormal(5, 2, (5000, 6))
    m = SpillMatrix(tuple("abcdef"), np.eye(6) + rng.uniform(0, 0.3, (6, 6)) * (1 - np.eye(6)))
    full = np.linalg.solve(m.matrix.T, x.T).T
    rows = np.sort(rng.choice(5000, n, replace=False))
    assert np.array_equal(compensate_rows(x, m, list(range(6)), rows), full[rows])


def test_spill_detector_not_in_sample():
    s = FlowSample("tube", "tube.fcs", np.ones((4, 2)), ("FSC-A", "FL1-A"))
    m = SpillMatrix(("FL1-A", "FL9-A"), np.eye(2), source="comp.csv")
    with pytest.raises(AnalysisError, match=r"tube.fcs, sample tube, channel FL9-A: spillover detector is not a channel"):
        af.compensate(s, m)


def test_compensation_none_and_missing_spill():
    s = FlowSample("tube", None, np.arange(8.0).reshape(4, 2), ("FSC-A", "FL1-A"))
    assert np.array_equal(af.compensate(s), s.events)  # no $SPILL: unchanged (GatingML rule)
    assert np.array_equal(af.compensate(s, "none"), s.events)


def test_spill_csv_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("FL1-A,FL2-A\n1,0.1\n0.2,x\n")
    with pytest.raises(ReaderError, match=r"bad.csv, line 3: spillover matrix holds a non-number"):
        af.read_spill_csv(p)
    p.write_text("FL1-A,FL2-A\n1,0.1\n")
    with pytest.raises(ReaderError, match="not square"):
        af.read_spill_csv(p)


def test_biex_against_flowjo_lut(corpus):
    """FlowJo's exported biex table (4096 channels): channel = biex(value) within 0.002 channels."""
    lut = pd.read_csv(corpus("flow", "flowjo_xforms", "tr_biex_l256_w-7.943282_n1.000000_m4.418540_r262144.000029.csv"))
    xf = af.biex(negative=1.0, width=-7.943282, positive=4.418540, max_value=262144.000029)
    chan = xf.apply(lut["lookup[i]"].to_numpy().reshape(-1, 1)).ravel()
    assert np.max(np.abs(chan - lut["i"].to_numpy())) < 0.002
    back = xf.inverse(lut["i"].to_numpy(float).reshape(-1, 1)).ravel()
    rel = np.abs(back - lut["lookup[i]"]) / np.maximum(np.abs(lut["lookup[i]"]), 1.0)
    assert rel.max() < 1e-5  # the table holds 6 significant digits


@pytest.mark.parametrize("make,cls,kw", [
    (af.logicle, "LogicleTransform", {"t": 262144, "w": 0.5, "m": 4.5, "a": 0}),
    (af.asinh, "AsinhTransform", {"t": 262144, "m": 4.5, "a": 0}),
    (af.hyperlog, "HyperlogTransform", {"t": 262144, "w": 0.5, "m": 4.5, "a": 0}),
    (af.linear, "LinearTransform", {"t": 262144, "a": 0}),
])
def test_transforms_are_flowkit_exact(make, cls, kw):
    import flowkit as fk

    x = np.linspace(-1000, 262144, 2001).reshape(-1, 1)
    ours = make(**kw)
    ref = getattr(fk.transforms, cls)(**{f"param_{k}": float(v) for k, v in kw.items()})
    assert type(ours).__name__ == cls
    assert np.array_equal(ours.apply(x), ref.apply(x))
    assert np.allclose(ours.inverse(ours.apply(x)), x, rtol=1e-6, atol=1e-6)


def test_logicle_closed_form_points():
    """Logicle (Parks 2006): data 0 → w/m; data T → 1."""
    xf = af.logicle(t=262144, w=0.5, m=4.5, a=0)
    y = xf.apply(np.array([[0.0], [262144.0]])).ravel()
    assert y[0] == pytest.approx(0.5 / 4.5, abs=1e-9)
    assert y[1] == pytest.approx(1.0, abs=1e-9)


def test_asinh_closed_form():
    t, m, a = 262144.0, 4.5, 0.0
    x = np.array([[10.0], [1000.0]])
    expected = (np.arcsinh(x * np.sinh(m * np.log(10)) / t) + a * np.log(10)) / ((m + a) * np.log(10))
    assert np.allclose(af.asinh(t, m, a).apply(x), expected, rtol=1e-12)


def test_default_transforms_flowjo_like():
    meta = {"p1r": "262144", "p2r": "1024", "p3r": "1000"}
    s = FlowSample("s", None, np.ones((2, 3)), ("FSC-A", "FL1-A", "Time"), ("", "CD4", ""), metadata=meta)
    xf = af.default_transforms(s, params={"CD4": {"w": 1.0}})
    assert type(xf["FSC-A"]).__name__ == "LinearTransform" and type(xf["Time"]).__name__ == "LinearTransform"
    assert type(xf["FL1-A"]).__name__ == "LogicleTransform"
    assert xf["FL1-A"].param_t == 1024.0 and xf["FL1-A"].param_w == 1.0 and xf["FL1-A"].param_m == 4.5
    b = af.default_transforms(s, fluoro="biex")
    assert type(b["FL1-A"]).__name__ == "WSPBiexTransform"
    with pytest.raises(AnalysisError, match="unknown transform"):
        af.default_transforms(s, fluoro="sqrt")
