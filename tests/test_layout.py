"""Tests of assaykit.layout: read_layout, layout_params and annotate (strict / left)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

import assaykit
from assaykit.errors import LayoutError
from assaykit.layout import annotate, layout_params, read_layout
from assaykit.schema import plate_table, qpcr_table, row_letter


def write(tmp_path, text: str, name: str = "layout.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def plate96(plate: str | list[str] = "1", read: str = "abs_450") -> pd.DataFrame:
    plates = [plate] if isinstance(plate, str) else plate
    frames = []
    for p in plates:
        wells = [f"{row_letter(r)}{c}" for r in range(8) for c in range(1, 13)]
        frames.append(plate_table(plate=p, well=wells, read=read, value=np.arange(96) / 10))
    return pd.concat(frames, ignore_index=True)


SIMPLE = """
    [col]
    1.conc_pg_ml = 100
    2.conc_pg_ml = 10
    [row]
    A.replicate = 1
    B.replicate = 2
    [elisa]
    model = '4pl'
    read = 'abs_450'
"""


def test_read_layout_is_tidy_one_row_per_well(tmp_path):
    p = write(tmp_path, SIMPLE)
    lay = read_layout(p)
    assert list(lay.columns[:2]) == ["plate", "well"]
    assert set(lay.columns) == {"plate", "well", "conc_pg_ml", "replicate"}
    assert len(lay) == 4 and set(lay["well"]) == {"A1", "A2", "B1", "B2"}
    assert lay["plate"].isna().all()  # one layout for every plate
    row = lay.set_index("well").loc["B2"]
    assert row["conc_pg_ml"] == 10 and row["replicate"] == 2
    assert lay.attrs["layout_file"] == str(p)


def test_layout_params_returns_extra_tables(tmp_path):
    p = write(tmp_path, SIMPLE)
    assert layout_params(p) == {"elisa": {"model": "4pl", "read": "abs_450"}}
    p2 = write(tmp_path, "[well.A1]\nx = 1\n", "noextras.toml")
    assert layout_params(p2) == {}


def test_read_layout_with_plates(tmp_path):
    p = write(
        tmp_path,
        """
        [plate.P1]
        well.A1.sample = 'a'
        [plate.P2]
        well.A1.sample = 'b'
        [expt]
        operator = 'me'
        """,
    )
    lay = read_layout(p)
    assert sorted(lay["plate"]) == ["P1", "P2"]
    assert lay["plate"].map(type).eq(str).all()
    assert dict(zip(lay["plate"], lay["sample"], strict=True)) == {"P1": "a", "P2": "b"}
    assert (lay["operator"] == "me").all()


def test_bundled_layout_reads():
    from assaykit.datasets import path

    lay = read_layout(path("elisa_il6_layout.toml"))
    assert len(lay) == 96
    assert lay["role"].value_counts().to_dict() == {"sample": 72, "standard": 16, "blank": 4, "control": 4}
    std = lay[lay["role"] == "standard"].set_index("well")["std_conc_pg_ml"]
    assert std["A1"] == 1000 and std["H2"] == pytest.approx(7.8125)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("[block.3x.A1]\nx = 1\n", "Unknown [block] size '3x'", None),
        ("[row.A\nx = 1\n", "invalid TOML: Expected ']' at the end of a table declaration", 1),
        ("[row.A]\nx = 1\n[row.A]\ny = 2\n", "invalid TOML: Cannot declare ('row', 'A') twice", 3),
        ("", "No wells defined", None),
        ("[row.A]\nx = 1\n", "no columns", None),
        ("[row.A]\nx=1\n[col.'1,3,...,']\ny=2\n", "Cannot parse column", None),
    ],
)
def test_wellmap_errors_become_layout_errors(tmp_path, text, message, line):
    p = write(tmp_path, text)
    with pytest.raises(LayoutError) as info:
        read_layout(p)
    err = info.value
    assert message in str(err)
    assert err.location["file"] == str(p)
    assert str(err).startswith(str(p))
    assert str(p) not in err.message  # wellmap's own copy of the path is dropped
    assert err.location.get("line") == line
    assert "\n" not in str(err)


def test_missing_layout_file(tmp_path):
    with pytest.raises(LayoutError, match="layout file not found") as info:
        read_layout(tmp_path / "nope.toml")
    assert info.value.location["file"].endswith("nope.toml")


def test_layout_folder(tmp_path):
    with pytest.raises(LayoutError, match="layout is a folder, not a file"):
        read_layout(tmp_path)


def test_layout_not_utf8(tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe[\x00r\x00")
    with pytest.raises(LayoutError, match="layout is not UTF-8 text") as info:
        read_layout(p)
    assert "byte 0xff at offset 0" in str(info.value)


def test_missing_included_file(tmp_path):
    p = write(tmp_path, "[row.A]\nx=1\n[col.1]\ny=2\n[meta]\ninclude = 'standards.toml'\n")
    with pytest.raises(LayoutError, match="cannot read a file the layout refers to") as info:
        read_layout(p)
    assert "standards.toml: No such file or directory" in str(info.value)


@pytest.mark.parametrize("field", ["well", "row", "col", "col_j", "row_i", "well0"])
def test_reserved_field_names(tmp_path, field):
    p = write(tmp_path, f"[row.A]\n{field} = 7\n[col.1]\ny = 2\n")
    with pytest.raises(LayoutError, match="layout field uses a reserved name") as info:
        read_layout(p)
    assert info.value.found == field


def test_other_wellmap_failures_are_layout_errors(tmp_path, monkeypatch):
    import wellmap

    p = write(tmp_path, SIMPLE)

    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(wellmap, "load", boom)
    with pytest.raises(LayoutError, match=r"invalid layout \('surprise'\)"):
        read_layout(p)


# ----------------------------------------------------------------- annotate


def test_annotate_strict_joins_and_keeps_every_row(tmp_path):
    data = plate96()
    lay = read_layout(write(tmp_path, SIMPLE))
    out = annotate(data, lay)
    assert len(out) == len(data)
    assert list(out["well"]) == list(data["well"])  # row order kept
    assert list(out.columns) == list(data.columns) + [c for c in lay.columns if c not in ("plate", "well")]
    by_well = out.set_index("well")
    assert by_well.loc["A1", "conc_pg_ml"] == 100 and by_well.loc["B2", "replicate"] == 2
    assert np.isnan(by_well.loc["H12", "conc_pg_ml"])  # wells the layout does not describe stay
    assert by_well.loc["A1", "value"] == 0.0


def test_annotate_strict_refuses_layout_wells_missing_from_data(tmp_path):
    data = plate96()
    data = data[data["well"] != "B2"]
    lay = read_layout(write(tmp_path, SIMPLE))
    with pytest.raises(LayoutError, match=r"layout well not in the export \(1 such wells; pass how='left'") as info:
        annotate(data, lay)
    assert info.value.location["well"] == "B2" and info.value.location["plate"] == "1"
    out = annotate(data, lay, how="left")
    assert len(out) == len(data) and "B2" not in set(out["well"])


def test_annotate_left_keeps_data_rows():
    data = plate96()
    lay = pd.DataFrame({"plate": [None, None], "well": ["A1", "Z9"], "sample": ["s1", "ghost"]})
    out = annotate(data, lay, how="left")
    assert len(out) == 96
    assert out.set_index("well").loc["A1", "sample"] == "s1"
    assert out["sample"].notna().sum() == 1


def test_annotate_generic_layout_applies_to_every_plate_and_specific_wins():
    data = plate96(["P1", "P2"])
    lay = pd.DataFrame(
        {"plate": [None, None, "P2"], "well": ["A1", "A2", "A1"], "sample": ["gen_a1", "gen_a2", "p2_a1"]}
    )
    out = annotate(data, lay).set_index(["plate", "well"])["sample"]
    assert out[("P1", "A1")] == "gen_a1"
    assert out[("P2", "A1")] == "p2_a1"
    assert out[("P2", "A2")] == "gen_a2"
    assert pd.isna(out[("P1", "B1")])


def test_annotate_normalises_well_spelling():
    data = plate96()
    lay = pd.DataFrame({"plate": [None], "well": ["a01"], "sample": ["x"]})
    assert annotate(data, lay).set_index("well").loc["A1", "sample"] == "x"


def test_annotate_duplicate_layout_well():
    data = plate96()
    lay = pd.DataFrame({"plate": [None, None], "well": ["A1", "A01"], "sample": ["x", "y"]})
    with pytest.raises(LayoutError, match="well described twice in layout") as info:
        annotate(data, lay)
    assert info.value.location["well"] == "A1"
    assert "plate" not in info.value.location


def test_annotate_clashing_columns():
    data = plate96()
    data = data.assign(sample_label="STD1")
    lay = pd.DataFrame({"plate": [None], "well": ["A1"], "sample_label": ["x"], "value": [1.0]})
    with pytest.raises(LayoutError, match="layout fields would overwrite data columns") as info:
        annotate(data, lay)
    assert info.value.found == "sample_label, value"


def test_annotate_unknown_plate():
    data = plate96(["P1"])
    lay = pd.DataFrame({"plate": ["P9"], "well": ["A1"], "sample": ["x"]})
    with pytest.raises(LayoutError, match="layout plates not found in the data") as info:
        annotate(data, lay)
    assert info.value.found == "P9" and "P1" in info.value.expected


def test_annotate_bad_arguments():
    data = plate96()
    lay = pd.DataFrame({"plate": [None], "well": ["A1"], "sample": ["x"]})
    with pytest.raises(LayoutError, match="unknown join mode"):
        annotate(data, lay, how="inner")
    with pytest.raises(LayoutError, match="data has no 'plate' column"):
        annotate(data.drop(columns=["plate"]), lay)
    with pytest.raises(LayoutError, match="layout has no 'well' column"):
        annotate(data, lay.drop(columns=["well"]))
    bad = pd.DataFrame({"plate": [None], "well": ["A0"], "sample": ["x"]})
    with pytest.raises(LayoutError, match="not a well name") as info:
        annotate(data, bad)
    assert info.value.found == "'A0'"


def test_annotate_qpcr_table(tmp_path):
    q = qpcr_table(
        {"plate": "run1", "well": ["A1", "A1", "B1"], "sample": ["s", "s", "t"], "target": ["GAPDH", "IL6", "IL6"], "cq": [20.0, 25.0, np.nan]}
    )
    lay = read_layout(write(tmp_path, "[row.A]\ngroup = 'ctrl'\n[row.B]\ngroup = 'lps'\n[col.1]\nbio_rep = 1\n"))
    out = annotate(q, lay)
    assert list(out["group"]) == ["ctrl", "ctrl", "lps"]
    assert len(out) == 3


def test_annotate_empty_generic_layout_part():
    data = plate96(["P1", "P2"])
    lay = pd.DataFrame({"plate": ["P1"], "well": ["A1"], "sample": ["x"]})
    out = annotate(data, lay)
    assert out["sample"].notna().sum() == 1 and len(out) == 192


def test_top_level_exports():
    assert assaykit.read_layout is read_layout and assaykit.annotate is annotate


def test_annotate_fills_empty_reader_columns_but_never_overwrites_values():
    data = plate96().assign(dilution=np.nan, sample_label="")
    lay = pd.DataFrame({"plate": [None], "well": ["A1"], "dilution": [4], "sample_label": ["S1"]})
    out = annotate(data, lay)
    a1 = out.set_index("well").loc["A1"]
    assert a1["dilution"] == 4 and a1["sample_label"] == "S1"
    assert list(out.columns).count("dilution") == 1 and len(out) == 96
    with pytest.raises(LayoutError, match="layout fields would overwrite data columns") as info:
        annotate(data.assign(dilution=2.0), lay)
    assert info.value.found == "dilution"


def test_annotate_bundled_gen5_export_with_its_layout():
    from assaykit.datasets import path

    plate = assaykit.read_plate(path("elisa_il6_gen5.txt"))
    out = annotate(plate, read_layout(path("elisa_il6_layout.toml")))
    assert len(out) == len(plate) == 192
    assert out["role"].notna().all()
    h12 = out[(out["well"] == "H12") & (out["read"] == "abs_450")].iloc[0]
    assert h12["sample"] == "D3_iguratimod_30uM" and h12["dilution"] == 8


def test_corpus_layouts(corpus):
    std = read_layout(corpus("plate_reader", "layouts", "wellmap_std_curve.toml"))
    assert len(std) == 18 and set(std.columns) == {"plate", "well", "dilution", "replicate"}
    c3 = std.set_index("well").loc["C3"]
    assert c3["dilution"] == 1e3 and c3["replicate"] == 3
    brad = read_layout(corpus("plate_reader", "layouts", "wellmap_bradford_standards.toml"))
    assert len(brad) == 27 and brad["standard"].all()
    by_well = brad.set_index("well")["ug_mL"]
    assert by_well["A1"] == by_well["C1"] == 2000 and by_well["B9"] == 0


def test_annotate_left_ignores_plates_the_export_lacks():
    data = plate96(["P1"])
    lay = pd.DataFrame({"plate": ["P1", "P2"], "well": ["A1", "A1"], "sample": ["x", "y"]})
    with pytest.raises(LayoutError, match="layout plates not found in the data"):
        annotate(data, lay)
    out = annotate(data, lay, how="left")
    assert out.set_index("well").loc["A1", "sample"] == "x" and len(out) == 96
    nothing = pd.DataFrame({"plate": ["P7", "P8"], "well": ["A1", "A1"], "sample": ["x", "y"]})
    with pytest.raises(LayoutError, match="layout plates not found in the data") as info:
        annotate(data, nothing, how="left")
    assert info.value.found == "P7, P8"
