"""Class 5 of issue 8 (the parser's part): YAML that nests without end, or is not UTF-8,
is refused by ``parse_documents`` as a RenderError naming the source and line, never a
RecursionError, a crash of the process or a long stall. Alias bombs stay refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.render import RenderError, SecurityError, loader
from engine.render.loader import parse_documents

DEEP = {
    "2,000 [": "[" * 2000 + "]" * 2000,
    "1,000,000 [": "[" * 1_000_000,
    "1,000,000 {": "{a: " * 1_000_000,
    "block mappings": "".join(" " * i + "k:\n" for i in range(3000)),
    "compact sequences": "- " * 100_000 + "x\n",
    "just over the limit": "[" * (loader.MAX_DEPTH + 1) + "]" * (loader.MAX_DEPTH + 1),
}


@pytest.mark.parametrize("yaml11", [False, True])
@pytest.mark.parametrize("name", list(DEEP))
def test_deep_nesting_is_refused_with_source_and_line(name: str, yaml11: bool) -> None:
    with pytest.raises(RenderError, match=r"^apps/app\.yaml:\d+: .*nest"):
        parse_documents("kind: X\n---\n" + DEEP[name], "apps/app.yaml", yaml11=yaml11)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = loader.MAX_DEPTH
    value = parse_documents("[" * depth + "]" * depth, "ok.yaml")[0].value
    for _ in range(depth - 1):
        value = value[0]
    assert value == []


@pytest.fixture()
def python_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python parser (used when PyYAML has no libyaml): its composer recurses."""
    core, yaml11 = loader.make_loaders(yaml.SafeLoader, python_composer=True)
    monkeypatch.setattr(loader, "_CoreLoader", core)
    monkeypatch.setattr(loader, "Yaml11Loader", yaml11)


@pytest.mark.parametrize("name", ["2,000 [", "1,000,000 {", "block mappings",
                                  "just over the limit"])
def test_deep_nesting_is_refused_by_the_pure_python_parser(
        python_loaders: None, name: str) -> None:
    with pytest.raises(RenderError, match=rf"^t\.yaml:\d+: invalid YAML: nested deeper than "
                                          rf"{loader.MAX_DEPTH} levels"):
        parse_documents(DEEP[name], "t.yaml", yaml11=True)


def test_pure_python_parser_still_parses(python_loaders: None) -> None:
    assert parse_documents("a: [1, {b: on}]\n", "t.yaml", yaml11=True)[0].value == {
        "a": [1, {"b": True}]}


def test_deep_nesting_does_not_crash_the_process(tmp_path: Path) -> None:
    """libyaml's composer is recursive C: a crash would kill the hub, not raise."""
    for name, text in DEEP.items():
        (tmp_path / f"{len(text)}-{name[0]}.yaml").write_text(text)
    code = ("import pathlib, sys\nfrom engine.render import RenderError\n"
            "from engine.render.loader import parse_documents\n"
            "for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):\n"
            "    try:\n        parse_documents(path.read_text(), path.name)\n"
            "    except RenderError as err:\n        print('refused', err)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parents[2], check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("refused") == len(DEEP)


@pytest.mark.parametrize("data", [b"kind: X\nname: \xff\xfe\n", b"\xff\xfeb\x00:\x00"])
def test_bytes_that_are_not_utf8_are_a_render_error(data: bytes) -> None:
    with pytest.raises(RenderError, match=r"^apps/x\.yaml:\d+: not UTF-8 text"):
        parse_documents(data, "apps/x.yaml", yaml11=True)


def test_text_with_lone_surrogates_is_a_render_error() -> None:
    text = b"name: \xff\n".decode("utf-8", errors="surrogateescape")
    with pytest.raises(RenderError, match=r"^apps/x\.yaml: not UTF-8 text"):
        parse_documents(text, "apps/x.yaml", yaml11=True)


def test_text_with_lone_surrogates_is_a_render_error_in_pure_python(
        python_loaders: None) -> None:
    text = b"name: \xff\n".decode("utf-8", errors="surrogateescape")
    with pytest.raises(RenderError, match=r"^apps/x\.yaml"):
        parse_documents(text, "apps/x.yaml", yaml11=True)


def test_utf8_bytes_are_parsed() -> None:
    assert parse_documents("name: café\n".encode(), "x.yaml")[0].value == {"name": "café"}


@pytest.mark.parametrize("yaml11", [False, True])
def test_alias_bomb_is_still_refused(yaml11: bool) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 7):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(SecurityError, match=r"^bomb\.yaml:1: .*alias bomb"):
        parse_documents("\n".join(lines) + "\n", "bomb.yaml", yaml11=yaml11)
