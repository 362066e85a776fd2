"""Tests of the ``assaykit`` command line, run in-process with click's CliRunner."""

from __future__ import annotations

import hashlib
import io

import click
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import assaykit
import assaykit.cli as cli
from assaykit.cli import main
from assaykit.cli.demo import DEMO_PARTS, available_parts, run_demo
from assaykit.datasets import path
from assaykit.errors import ReaderError

GEN5 = str(path("elisa_il6_gen5.txt"))
LAYOUT = str(path("elisa_il6_layout.toml"))


@pytest.fixture
def run():
    runner = CliRunner()

    def _run(*args: str, **kwargs):
        return runner.invoke(main, list(args), **kwargs)

    return _run


def assert_one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert text in err
    assert "Traceback" not in result.output


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"assaykit {assaykit.__version__}\n"


def test_help_of_every_command(run):
    result = run("--help")
    assert result.exit_code == 0 and "Usage: assaykit" in result.stdout
    names = main.list_commands(click.Context(main))
    assert {"read", "formats", "demo", "immunoassay", "elisa", "qpcr"} <= set(names)
    for name in names:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert f"Usage: assaykit {name}" in result.stdout
    assert run("-h").exit_code == 0


def test_read_to_stdout(run):
    result = run("read", GEN5)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(io.StringIO(result.stdout))
    assert len(df) == 192 and list(df.columns[:11]) == list(assaykit.schema.PLATE_COLUMNS)
    assert "read 192 rows" in result.stderr and "format gen5, 1 plate" in result.stderr


def test_read_with_layout_to_csv_and_tsv(run, tmp_path):
    out = tmp_path / "plate.csv"
    result = run("read", GEN5, "--layout", LAYOUT, "-o", str(out))
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out)
    assert len(df) == 192 and df["role"].notna().all()
    assert df.loc[(df["well"] == "A1") & (df["read"] == "abs_450"), "std_conc_pg_ml"].iloc[0] == 1000
    assert f"wrote {out}" in result.stderr
    tsv = tmp_path / "plate.tsv"
    assert run("read", GEN5, "--format", "gen5", "-o", str(tsv)).exit_code == 0
    assert pd.read_csv(tsv, sep="\t").shape[0] == 192


def test_read_to_workbook_hashes_inputs(run, tmp_path):
    out = tmp_path / "plate.xlsx"
    result = run("read", GEN5, "--layout", LAYOUT, "--how", "left", "-o", str(out))
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["info", "reads", "layout"]
    info = {(r[0], r[1]): (r[2], r[3]) for r in wb["info"].iter_rows(min_row=2, values_only=True)}
    for f in (GEN5, LAYOUT):
        with open(f, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        name = f.rsplit("/", 1)[-1]
        assert info[("input", name)][1] == digest
    assert info[("parameter", "format")][0] == "gen5"
    assert info[("parameter", "layout_join")][0] == "left"
    assert wb["reads"].max_row == 193


def test_read_qpcr_kind_reaches_qpcr_readers(run, tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("not a qpcr run\n")
    result = run("read", str(p), "--kind", "qpcr")
    assert_one_line_error(result, "not a recognised qpcr export")


def test_read_errors_are_one_line(run, tmp_path):
    assert_one_line_error(run("read", str(tmp_path / "missing.txt")), "missing.txt: file not found")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    assert_one_line_error(run("read", str(junk)), "not a recognised plate export")
    assert_one_line_error(run("read", GEN5, "--format", "nosuch"), "unknown plate format")
    assert_one_line_error(run("read", GEN5, "-o", str(tmp_path / "out.json")), "unsupported output type")
    assert_one_line_error(run("read", GEN5, "-o", str(tmp_path / "no" / "out.csv")), "output folder does not exist")
    bad_layout = tmp_path / "bad.toml"
    bad_layout.write_text("[plate.P9]\nwell.A1.x = 1\n")
    assert_one_line_error(run("read", GEN5, "--layout", str(bad_layout)), "layout plates not found in the data")
    broken = tmp_path / "broken.toml"
    broken.write_text("[row.A\n")
    assert_one_line_error(run("read", GEN5, "--layout", str(broken)), "line 1: invalid TOML")


def test_usage_errors_exit_2(run):
    result = run("read", GEN5, "--kind", "no_such_kind")
    assert result.exit_code == 2 and "Invalid value for '--kind'" in result.stderr
    assert run("nosuchcommand").exit_code == 2


def test_debug_shows_the_traceback(run, tmp_path):
    result = run("--debug", "read", str(tmp_path / "missing.txt"))
    assert result.exit_code == 1
    assert isinstance(result.exception, ReaderError)
    result = run("read", str(tmp_path / "missing.txt"), env={"ASSAYKIT_DEBUG": "1"})
    assert isinstance(result.exception, ReaderError)


def test_unexpected_and_os_errors(run, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(assaykit, "read_plate", boom)
    result = run("read", GEN5)
    assert_one_line_error(result, "error: unexpected RuntimeError: boom second line")
    assert "rerun with --debug" in result.stderr
    result = run("--debug", "read", GEN5)
    assert isinstance(result.exception, RuntimeError)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "plate.txt")

    monkeypatch.setattr(assaykit, "read_plate", denied)
    assert_one_line_error(run("read", GEN5), "error: plate.txt: Permission denied")

    def full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(assaykit, "read_plate", full)
    assert_one_line_error(run("read", GEN5), "error: disk full")


def test_formats(run):
    result = run("formats")
    assert result.exit_code == 0
    assert "plate formats:" in result.stdout and "qpcr formats:" in result.stdout
    assert "gen5" in result.stdout and "generic" in result.stdout
    result = run("formats", "--kind", "plate")
    assert "qpcr formats:" not in result.stdout


def test_formats_none_available(run, monkeypatch):
    import assaykit.io

    monkeypatch.setattr(assaykit.io, "formats", lambda kind: pd.DataFrame({"format": [], "description": []}))
    result = run("formats", "--kind", "qpcr")
    assert result.stdout == "qpcr formats:\n  (none available)\n"


def test_demo_writes_files(run, tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "-o", str(out), "--part", "plate")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (out / "plate").iterdir())
    assert names == ["elisa_il6_heatmap.png", "elisa_il6_plate.csv", "elisa_il6_plate.xlsx"]
    assert "plate: wrote" in result.stdout and "demo: 3 files written" in result.stdout
    df = pd.read_csv(out / "plate" / "elisa_il6_plate.csv")
    assert len(df) == 192 and df["role"].notna().all()
    wb = openpyxl.load_workbook(out / "plate" / "elisa_il6_plate.xlsx")
    assert wb.sheetnames == ["info", "reads", "layout", "truth"]
    assert (out / "plate" / "elisa_il6_heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_all_parts(run, tmp_path):
    result = run("demo", "-o", str(tmp_path / "all"))
    assert result.exit_code == 0, result.output
    for name in available_parts():
        assert any((tmp_path / "all" / name).iterdir())


def test_demo_unknown_part(run, tmp_path):
    result = run("demo", "-o", str(tmp_path), "--part", "nope")
    assert result.exit_code == 2 and "unknown part 'nope'; available: plate" in result.stderr


def test_demo_parts_plug_in(tmp_path, monkeypatch):
    import assaykit.cli.demo as demo_mod

    (tmp_path / "demo_fake.py").write_text(
        "from pathlib import Path\n"
        "def run(outdir):\n"
        "    p = Path(outdir) / 'fake.txt'\n"
        "    p.write_text('hi')\n"
        "    return [p]\n"
    )
    (tmp_path / "demo_broken.py").write_text("import not_a_real_module_for_assaykit_tests\n")
    monkeypatch.setattr(cli, "__path__", [*cli.__path__, str(tmp_path)])
    monkeypatch.setattr(demo_mod, "DEMO_PARTS", ("fake", "absent"))
    assert list(available_parts()) == ["fake"]
    lines: list[str] = []
    written = run_demo(tmp_path / "out", echo=lines.append)
    assert written == {"fake": [tmp_path / "out" / "fake" / "fake.txt"]}
    assert lines == [f"fake: wrote {tmp_path / 'out' / 'fake' / 'fake.txt'}"]
    monkeypatch.setattr(demo_mod, "DEMO_PARTS", ("broken",))
    with pytest.raises(ModuleNotFoundError, match="not_a_real_module_for_assaykit_tests"):
        available_parts()
    assert "plate" in DEMO_PARTS


def test_command_modules_plug_in(tmp_path, monkeypatch, run):
    (tmp_path / "hello.py").write_text(
        "import click\n"
        "@click.command('hello')\n"
        "def hello():\n"
        "    '''Say hello.'''\n"
        "    click.echo('hello from a plug-in')\n"
    )
    (tmp_path / "multi.py").write_text(
        "import click\n"
        "@click.command('one')\n"
        "def one():\n"
        "    '''One.'''\n"
        "@click.command('two')\n"
        "def two():\n"
        "    '''Two.'''\n"
        "COMMANDS = (one, two)\n"
    )
    (tmp_path / "broken.py").write_text("import not_a_real_module_for_assaykit_tests\n")
    monkeypatch.setattr(cli, "__path__", [*cli.__path__, str(tmp_path)])
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("hello", "multi", "absent"))
    monkeypatch.setattr(main, "commands", dict(main.commands))
    cli._add_commands()
    assert {"hello", "one", "two", "read", "demo"} <= set(main.commands)
    result = run("hello")
    assert result.exit_code == 0 and result.stdout == "hello from a plug-in\n"
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("broken",))
    with pytest.raises(ModuleNotFoundError, match="not_a_real_module_for_assaykit_tests"):
        cli._add_commands()


def test_commands_load_lazily():
    """`assaykit --version` and one workflow's command import no other workflow."""
    import subprocess
    import sys

    code = (
        "import sys; from click.testing import CliRunner; from assaykit.cli import main; "
        "r = CliRunner().invoke(main, sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.startswith(('assaykit.cli.', 'assaykit.immunoassay', "
        "'assaykit.qpcr', 'assaykit.flow', 'assaykit.blot', 'flowkit', 'scipy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    out = subprocess.run([sys.executable, "-c", code, "qpcr", "--help"], capture_output=True, text=True, check=True)
    loaded = out.stdout
    assert "assaykit.cli.qpcr" in loaded and "assaykit.cli.elisa" not in loaded and "flowkit" not in loaded


def test_main_is_a_click_group():
    assert isinstance(main, click.Group) and cli.COMMAND_MODULES[:2] == ("elisa", "qpcr")


def test_every_installed_format_is_in_the_docs_index():
    from pathlib import Path

    from assaykit.io import formats

    index = (Path(__file__).resolve().parent.parent / "docs" / "formats.md").read_text(encoding="utf-8")
    for kind in ("plate", "qpcr"):
        for name in formats(kind)["format"]:
            assert f"| `{name}` |" in index, f"format {name!r} missing from docs/formats.md"


def test_broken_pipe_exits_quietly(run, monkeypatch):
    def pipe(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(assaykit, "read_plate", pipe)
    result = run("read", GEN5)
    assert result.exit_code == 1 and result.stderr == ""


def test_read_qpcr_run_with_layout_to_workbook(run, tmp_path):
    out = tmp_path / "run.xlsx"
    result = run(
        "read", str(path("qpcr_pbmc_quantstudio.txt")), "--kind", "qpcr",
        "--layout", str(path("qpcr_pbmc_layout.toml")), "-o", str(out),
    )
    assert result.exit_code == 0, result.output
    assert "read 72 rows" in result.stderr and "format quantstudio_txt" in result.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["info", "wells", "layout"]
    header = [c.value for c in wb["wells"][1]]
    assert {"sample", "target", "cq", "condition", "donor"} <= set(header)
    assert wb["wells"].max_row == 73


def test_every_format_page_linked_from_the_index_exists():
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    links = set(re.findall(r"\((formats/[a-z0-9_]+\.md)\)", (docs / "formats.md").read_text(encoding="utf-8")))
    assert len(links) >= 14
    missing = sorted(link for link in links if not (docs / link).is_file())
    assert not missing, f"docs/formats.md links to missing pages: {missing}"


def test_read_several_exports(run, tmp_path):
    from assaykit.simulate import random_plate_truth, write_plate

    generic = str(path("elisa_il6_generic.csv"))
    two = write_plate(random_plate_truth(n_plates=2, seed=5), tmp_path / "two.txt", "softmax")
    out = tmp_path / "all.csv"
    result = run("read", GEN5, generic, str(two), "--layout", LAYOUT, "--how", "left", "-o", str(out))
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, dtype={"plate": str})
    plates = list(dict.fromkeys(df["plate"]))
    assert plates[:2] == ["elisa_il6_gen5", "elisa_il6_generic"]
    assert len(plates) == 4 and all(p.startswith("two/") for p in plates[2:])
    assert len(df) == 192 + 192 + 2 * 96
    assert df["role"].notna().all()  # a plate-less layout applies to every plate
    assert "from 3 exports (format gen5, generic, softmax, 4 plates)" in result.stderr
    a1 = df[(df["plate"] == "elisa_il6_generic") & (df["well"] == "A1") & (df["read"] == "abs_450")]
    assert a1["value"].iloc[0] == pytest.approx(3.273)


def test_read_several_exports_with_the_same_name(run, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "plate.txt").write_bytes(path("elisa_il6_gen5.txt").read_bytes())
    result = run("read", str(tmp_path / "a" / "plate.txt"), str(tmp_path / "b" / "plate.txt"))
    assert result.exit_code == 1 and result.stdout == ""
    last = result.stderr.rstrip("\n").split("\n")[-1]  # after the progress bar
    assert last.startswith("error: ") and "Traceback" not in result.stderr
    assert "two exports give the same plate name (files with the same name?)" in last
    assert "plate plate" in last and "also from" in last


def test_read_needs_an_export(run):
    result = run("read")
    assert result.exit_code == 2 and "Missing argument 'EXPORT...'" in result.stderr
