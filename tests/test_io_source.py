"""Source: every kind of input (text, workbooks, binary FCS/TIFF/PNG), read lazily from disk."""

from __future__ import annotations

import pytest

from assaykit.datasets import path
from assaykit.errors import FormatDetectionError, ReaderError
from assaykit.io import Source, read_plate, read_qpcr
from assaykit.kinds import read

BINARY = [
    (b"FCS2.0    256    1024", "an FCS 2.0 file"),
    (b"FCS3.0    256    1024", "an FCS 3.0 file"),
    (b"FCS3.1    256    1024", "an FCS 3.1 file"),
    (b"II*\x00\x08\x00\x00\x00", "a TIFF image"),
    (b"MM\x00*\x00\x00\x00\x08", "a TIFF image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
]


@pytest.mark.parametrize(("magic", "what"), BINARY)
def test_binary_inputs_are_binary(magic, what):
    src = Source(magic + bytes(range(256)) * 4, "x.bin")
    assert src.kind == "binary" and src.binary_type == what and src.describe() == what
    assert src.head() == "" and src.sheet_names == []
    with pytest.raises(ReaderError, match="x.bin: a binary file is not a text export") as info:
        _ = src.text
    assert info.value.found == what and info.value.expected == "text (csv/txt)"
    with pytest.raises(ReaderError, match="x.bin: a binary file is not a workbook export") as info:
        src.sheet(0)
    assert info.value.found == what


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"plain,text\n1,2\n", "text"),
        (b"", "text"),
        (b"\x1f\x8b\x08\x00gzip", "text"),  # gzip: out of scope, as before
        (b"PK\x03\x04rest", "xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "xls"),
        (b"FCS", "text"),  # too short to be an FCS header
        (b"FCS4.0    ", "text"),  # not a version we know
    ],
)
def test_text_and_workbook_kinds_unchanged(data, kind):
    assert Source(data, "x").kind == kind


def test_source_needs_data_or_path():
    with pytest.raises(TypeError, match="needs data or a path"):
        Source(name="x")


def test_from_path_is_lazy(tmp_path):
    p = tmp_path / "run.txt"
    p.write_bytes(b"first content\n")
    src = Source.from_path(p)
    assert src.path == p and src.name == str(p)
    assert src.head_bytes(5) == b"first" and src.kind == "text"
    p.write_bytes(b"second content\n")  # not read yet: the Source sees the file as it is now
    assert src.data == b"second content\n"
    p.write_bytes(b"third\n")  # read once: the Source keeps what it read
    assert src.data == b"second content\n" and src.lines == ["second content"]
    assert src.head_bytes(6) == b"second"


def test_sniffing_a_binary_file_reads_only_its_start(tmp_path):
    p = tmp_path / "sample.fcs"
    p.write_bytes(b"FCS3.1" + b"\x00" * 200_000)
    src = Source.from_path(p)
    for kind in ("plate", "qpcr"):
        with pytest.raises(FormatDetectionError, match=f"not a recognised {kind} export") as info:
            read(src, kind)
        assert info.value.found == "an FCS 3.1 file"
    p.write_bytes(b"FCS3.1 changed")  # detection never loaded the 200 kB
    assert src.data == b"FCS3.1 changed"


def test_binary_file_through_the_readers(tmp_path):
    p = tmp_path / "blot.tif"
    p.write_bytes(b"II*\x00" + b"\x01" * 100)
    with pytest.raises(FormatDetectionError, match="blot.tif: not a recognised plate export.*found a TIFF image"):
        read_plate(p)
    with pytest.raises(ReaderError, match="blot.tif: a binary file is not a text export"):
        read_plate(p, format="gen5")
    with pytest.raises(ReaderError, match="blot.tif: expected a workbook.*found a TIFF image"):
        read_qpcr(p, format="design_analysis")


def test_from_path_errors(tmp_path):
    with pytest.raises(ReaderError, match="missing.txt: file not found"):
        Source.from_path(tmp_path / "missing.txt")
    with pytest.raises(ReaderError, match="is a folder, not a file"):
        Source.from_path(tmp_path)


def test_lazy_source_reads_like_bytes():
    p = path("elisa_il6_gen5.txt")
    lazy, eager = read_plate(Source.from_path(p)), read_plate(Source(p.read_bytes(), str(p)))
    assert lazy.equals(eager)
    q = path("qpcr_pbmc_quantstudio.txt")
    assert read_qpcr(Source.from_path(q)).equals(read_qpcr(Source(q.read_bytes(), str(q))))
