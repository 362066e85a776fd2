"""Open kinds of data: a toy third kind registered with one call, read every way assaykit reads;
and ``read_many``'s renaming modes."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import assaykit
import assaykit.kinds as kinds_module
from assaykit.cli import main
from assaykit.datasets import path
from assaykit.errors import FormatDetectionError, ReaderError, SchemaError
from assaykit.io import Source, read_many
from assaykit.kinds import read, register, register_kind


def _validate_toy(df, where=None):
    if list(df.columns) != ["plate", "well", "value", "source_file"]:
        raise SchemaError("not a toy table", file=where, found=str(list(df.columns)))


def _read_toy(source: Source) -> pd.DataFrame:
    rows = [line.split(",") for line in source.lines[1:] if line.strip()]
    return pd.DataFrame(
        {
            "plate": [r[0] for r in rows],
            "well": [r[1] for r in rows],
            "value": [float(r[2]) for r in rows],
            "source_file": source.name,
        }
    )


def _forget(name: str) -> None:
    for table in (kinds_module._KINDS, kinds_module._REGISTRY):
        table.pop(name, None)
    kinds_module._LOADED.discard(name)


@pytest.fixture
def toy():
    """The toy kind: one ``register_kind`` call and one reader."""
    register_kind("toy", package=__name__, validate=_validate_toy, sheet="toys", description="toy tables")
    register("toy_csv", kind="toy", sniff=lambda s: s.head(10).startswith("toy"), description="a toy CSV")(_read_toy)
    yield "toy"
    _forget("toy")


@pytest.fixture
def toy_objects():
    """A toy kind whose reader returns one object per file (not a table)."""
    register_kind("toy_obj", package=__name__, tabular=False, description="toy objects")
    register("toy_obj_txt", kind="toy_obj", sniff=lambda s: s.head(10).startswith("toy"),
             description="a toy object")(lambda source: tuple(source.lines))  # fmt: skip
    yield "toy_obj"
    _forget("toy_obj")


def _toy_file(p, *rows: str):
    p.write_text("toy\n" + "".join(r + "\n" for r in rows))
    return p


# ---------------------------------------------------------------- a third kind
def test_toy_kind_through_kinds_read(toy, tmp_path):
    f = _toy_file(tmp_path / "a.csv", "P1,A1,1.5", "P1,A2,2.5")
    df = read(f, "toy")
    assert df.attrs["format"] == "toy_csv" and list(df["value"]) == [1.5, 2.5]
    assert read(f, "toy", format="toy_csv").equals(df)
    assert [k.name for k in assaykit.io.kinds()][-1] == "toy"
    with pytest.raises(FormatDetectionError, match="not a recognised toy export"):
        read(path("elisa_il6_gen5.txt"), "toy")
    with pytest.raises(FormatDetectionError, match="unknown toy format"):
        read(f, "toy", format="gen5")


def test_toy_kind_validator_runs(toy, tmp_path):
    register("toy_bad", kind="toy", sniff=lambda s: False, description="broken")(lambda s: pd.DataFrame({"x": [1]}))
    with pytest.raises(SchemaError, match="a.csv: not a toy table"):
        read(_toy_file(tmp_path / "a.csv", "P1,A1,1"), "toy", format="toy_bad")


def test_toy_kind_through_read_many(toy, tmp_path):
    a = _toy_file(tmp_path / "a.csv", "P1,A1,1", "P1,A2,2")
    b = _toy_file(tmp_path / "b.csv", "P1,A1,3")
    df = read_many([a, b], kind="toy", progress=False)
    assert list(df["plate"]) == ["a", "a", "b"] and list(df["value"]) == [1.0, 2.0, 3.0]
    assert df.attrs["formats"] == ["toy_csv"]


def test_toy_objects_through_read_many(toy_objects, tmp_path):
    a = _toy_file(tmp_path / "a.txt", "x")
    b = _toy_file(tmp_path / "b.txt", "y", "z")
    assert read_many([a, b], kind="toy_obj", progress=False) == [("toy", "x"), ("toy", "y", "z")]


def test_toy_kind_through_the_cli(toy, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(main, ["formats", "--kind", "toy"])
    assert listed.exit_code == 0 and listed.stdout == "toy formats:\n  toy_csv  a toy CSV\n"
    every = runner.invoke(main, ["formats"]).stdout
    assert "plate formats:" in every and "qpcr formats:" in every and "toy formats:" in every
    a = _toy_file(tmp_path / "a.csv", "P1,A1,1", "P2,A1,2")
    out = tmp_path / "out.csv"
    r = runner.invoke(main, ["read", str(a), "--kind", "toy", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "read 2 rows from" in r.stderr and "(format toy_csv, 2 plates)" in r.stderr
    assert pd.read_csv(out)["plate"].tolist() == ["P1", "P2"]  # one file: names as read
    xlsx = tmp_path / "out.xlsx"
    r = runner.invoke(main, ["read", str(a), str(_toy_file(tmp_path / "b.csv", "P1,B1,3")), "--kind", "toy",
                             "-o", str(xlsx)])  # fmt: skip
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(xlsx)
    assert "toys" in wb.sheetnames and wb["toys"].max_row == 4  # the kind names the sheet
    assert [c.value for c in wb["toys"]["A"]][1:] == ["a/P1", "a/P2", "b"]


def test_cli_kind_choice_follows_the_registry(toy_objects, tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["read", str(_toy_file(tmp_path / "a.txt", "x")), "--kind", "toy_obj"])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    assert "this kind of data is read into objects, not one table" in r.stderr and "toy_obj" in r.stderr
    r = runner.invoke(main, ["read", str(tmp_path / "a.txt"), "--kind", "nosuch"])
    assert r.exit_code == 2 and "Invalid value for '--kind'" in r.stderr and "toy_obj" in r.stderr


# ---------------------------------------------------------------- read_many: renaming
@pytest.fixture
def two_runs(tmp_path):
    """Two copies of one QuantStudio export: both hold plate '1'."""
    a, b = tmp_path / "monday.txt", tmp_path / "tuesday.txt"
    shutil.copy(path("qpcr_pbmc_quantstudio.txt"), a)
    shutil.copy(path("qpcr_pbmc_quantstudio.txt"), b)
    return a, b


def test_rename_auto_renames_only_on_a_clash(toy, two_runs, tmp_path):
    both = read_many(two_runs, kind="qpcr", progress=False)
    assert list(dict.fromkeys(both["plate"])) == ["monday", "tuesday"]
    assert both.attrs["formats"] == ["quantstudio_txt"]
    a = _toy_file(tmp_path / "a.csv", "P1,A1,1")
    b = _toy_file(tmp_path / "b.csv", "P2,A1,2")
    assert list(read_many([a, b], kind="toy", progress=False)["plate"]) == ["P1", "P2"]


def test_rename_files_renames_every_plate(toy, tmp_path):
    a = _toy_file(tmp_path / "a.csv", "P1,A1,1")
    b = _toy_file(tmp_path / "b.csv", "P2,A1,2", "P3,A1,3")
    df = read_many([a, b], kind="toy", progress=False, rename="files")
    assert list(df["plate"]) == ["a", "b/P2", "b/P3"]
    one = read_many([b], kind="toy", progress=False, rename="files")
    assert list(one["plate"]) == ["P2", "P3"]  # one file: names as read


def test_rename_none_keeps_names_and_refuses_a_clash(toy, two_runs, tmp_path):
    a = _toy_file(tmp_path / "a.csv", "P1,A1,1")
    b = _toy_file(tmp_path / "b.csv", "P2,A1,2")
    assert list(read_many([a, b], kind="toy", progress=False, rename="none")["plate"]) == ["P1", "P2"]
    with pytest.raises(ReaderError, match="two exports give the same plate name") as info:
        read_many(two_runs, kind="qpcr", progress=False, rename="none")
    err = info.value
    assert err.location == {"file": str(two_runs[1]), "plate": "1"}
    assert err.expected == "distinct plate names" and err.found == f"also from {two_runs[0]}"
    assert "rename='none'" in err.message


def test_rename_collisions_after_renaming_are_reader_errors(toy, tmp_path):
    (tmp_path / "x").mkdir()
    a = _toy_file(tmp_path / "run.csv", "P1,A1,1")
    b = _toy_file(tmp_path / "x" / "run.csv", "P1,A1,2")
    for mode, text in [("auto", "after renaming plates after their files"),
                       ("files", "(files with the same name?)")]:  # fmt: skip
        with pytest.raises(ReaderError, match="two exports give the same plate name") as info:
            read_many([a, b], kind="toy", progress=False, rename=mode)
        assert text in info.value.message and info.value.location["plate"] == "run"
        assert info.value.expected == "exports with distinct file names"


def test_rename_unknown_mode():
    with pytest.raises(ReaderError, match="unknown rename mode") as info:
        read_many([], rename="stems")
    assert info.value.expected == "auto or files or none" and info.value.found == "'stems'"


def test_read_many_formats_in_file_order_without_repeats(tmp_path):
    gen5, generic = path("elisa_il6_gen5.txt"), path("elisa_il6_generic.csv")
    again = tmp_path / "again.txt"
    shutil.copy(gen5, again)
    df = read_many([gen5, generic, again], progress=False, rename="files")
    assert df.attrs["formats"] == ["gen5", "generic"]
    assert list(dict.fromkeys(df["plate"]))[:2] == ["elisa_il6_gen5", "elisa_il6_generic"]


def test_read_many_on_an_executor_equals_in_process(two_runs):
    with ThreadPoolExecutor(2) as ex:
        threaded = read_many(two_runs, kind="qpcr", progress=False, executor=ex)
    pd.testing.assert_frame_equal(threaded, read_many(two_runs, kind="qpcr", progress=False))


def test_read_many_with_a_reader(two_runs):
    seen = []

    def reader(p, format=None):
        seen.append((p, format))
        return assaykit.read_qpcr(p, format=format)

    df = read_many(two_runs, kind="qpcr", progress=False, reader=reader, format="quantstudio_txt")
    assert [s[1] for s in seen] == ["quantstudio_txt"] * 2 and df.attrs["formats"] == ["quantstudio_txt"]


def test_read_many_sources_and_unknown_kind():
    data = path("qpcr_pbmc_quantstudio.txt").read_bytes()
    df = read_many([Source(data, "d/a.txt"), Source(data, "b.txt")], kind="qpcr", progress=False, rename="files")
    assert list(dict.fromkeys(df["plate"])) == ["a", "b"]
    with pytest.raises(FormatDetectionError, match="unknown kind of data"):
        read_many([], kind="nosuch")
