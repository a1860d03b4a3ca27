"""The CLI's tables: one printable line per row, control characters removed."""

from __future__ import annotations

from engine.cli.app import clean, short, table


def test_cli_tables_keep_control_characters_off_the_terminal() -> None:
    assert clean("bad\x1b[31mred\nline\x9b") == "bad [31mred line"
    assert table(["a", "b"], [["x", None]]) == "A  B\nx  -\n"
    assert short("f" * 40) == "f" * 10 and short("v1.2") == "v1.2"
