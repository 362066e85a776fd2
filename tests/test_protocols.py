"""Tests of assaykit.protocols: bundled recipes found by name, errors name the file."""

from __future__ import annotations

import pytest

from assaykit.errors import ProtocolError
from assaykit.protocols import PROTOCOL_DIR, list_protocols, read_protocol_table, resolve_protocol


def test_bundled_protocols_are_listed_and_resolved():
    names = list_protocols()
    assert {"elisa_il6_4pl", "qpcr_th_panel"} <= set(names)
    assert resolve_protocol("qpcr_th_panel") == PROTOCOL_DIR / "qpcr_th_panel.toml"
    assert resolve_protocol("elisa_il6_4pl.toml") == PROTOCOL_DIR / "elisa_il6_4pl.toml"
    table, path = read_protocol_table("elisa_il6_4pl", "elisa")
    assert path.name == "elisa_il6_4pl.toml" and table["model"] == "4pl"


def test_a_path_wins_over_a_bundled_name(tmp_path):
    p = tmp_path / "qpcr_th_panel.toml"
    p.write_text("[qpcr]\ncontrol = 'mine'\n")
    assert read_protocol_table(p, "qpcr") == ({"control": "mine"}, p)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[qpcr\n", "protocol is not valid TOML"),
        ("[elisa]\nmodel = '4pl'\n", "protocol has no [qpcr] table (expected a [qpcr] table of options; found elisa)"),
        ("qpcr = 3\n", "[qpcr] must be a table of options (found int)"),
    ],
)
def test_protocol_errors_name_the_file(tmp_path, text, message):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ProtocolError) as e:
        read_protocol_table(p, "qpcr")
    assert str(e.value).startswith(str(p)) and message in str(e.value)


def test_not_utf8_and_missing(tmp_path):
    p = tmp_path / "latin.toml"
    p.write_bytes("[qpcr]\ncontrol = 'caf\u00e9'\n".encode("latin-1"))
    with pytest.raises(ProtocolError, match="protocol is not UTF-8 text"):
        read_protocol_table(p, "qpcr")
    with pytest.raises(ProtocolError) as e:
        resolve_protocol("no_such_recipe")
    assert "no_such_recipe: protocol not found" in str(e.value) and "qpcr_th_panel" in str(e.value)
