"""Class 5: Application files from Git must not crash or freeze the hub.

Each hostile file (not UTF-8, deeply nested, an alias bomb, huge, too many of them) is
that file's (or its source's) error; every other file still loads. Unchanged files are
not parsed again, and no URL credential reaches a file's name or error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.apps import (
    AppCatalog,
    AppFile,
    AppSource,
    ClusterInfo,
    ParseCache,
    build_catalog,
    file_from_bytes,
    loader,
    read_dir_source,
)
from engine.apps.sources import MAX_DOCUMENTS_PER_SOURCE, MAX_FILE_BYTES, MAX_FILES_PER_SOURCE
from engine.config.hub import AppsFromDir, AppsFromGit
from engine.errors import ConfigError
from engine.hub.catalog import Catalog, git_app_source

GOOD = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}}}
spec:
  source: {{repoURL: https://git.example/x, path: {path}}}
  destination: {{name: c1, namespace: x}}
"""
# 9 levels of 9 aliases: ~700 bytes that expand to 9**9 (387 million) nodes.
ALIAS_BOMB = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    + ["apiVersion: argoproj.io/v1alpha1", "kind: Application",
       "metadata: {name: bomb}", "spec: {info: *a8}"]
)
HOSTILE = {
    "latin1.yaml": GOOD.format(name="latin", path="x").encode() + b"# caf\xe9\n",
    "brackets-2000.yaml": b"[" * 2000 + b"]" * 2000,
    "brackets-1000000.yaml": b"[" * 1_000_000,
    "bomb.yaml": ALIAS_BOMB.encode(),
    "huge.yaml": b"# " + b"x" * MAX_FILE_BYTES + b"\n",
}
CLUSTERS = [ClusterInfo("c1", "https://c1.example")]


@dataclass
class Blob:
    """A file as Git reads it (``engine.source.TreeFile``'s data and link flag)."""

    data: bytes = b"{}\n"
    is_symlink: bool = False


def _source(files: dict[str, bytes], key: str = "") -> AppSource:
    return AppSource("apps", tuple(file_from_bytes(n, d) for n, d in files.items()), key=key)


def _catalog(*sources: AppSource) -> AppCatalog:
    return build_catalog(sources, ParseCache().parse_sources(sources))


def _error_of(catalog: AppCatalog, name: str) -> str:
    messages = [str(e) for e in catalog.errors if str(e).startswith(name)]
    assert len(messages) == 1, (name, catalog.errors)
    return messages[0]


def test_class5_each_hostile_file_is_its_own_error_and_the_good_app_loads() -> None:
    good = GOOD.format(name="good", path="ok").encode()
    catalog = _catalog(_source({"good.yaml": good, **HOSTILE}))
    assert list(catalog.applications) == ["good"]
    assert catalog.failed_sources == set(HOSTILE)
    assert "not UTF-8" in _error_of(catalog, "latin1.yaml")
    assert "nest" in _error_of(catalog, "brackets-2000.yaml")
    assert "nest" in _error_of(catalog, "brackets-1000000.yaml")
    assert "larger than" in _error_of(catalog, "huge.yaml")


def test_class5_an_alias_bomb_is_refused_by_the_node_budget_not_expanded() -> None:
    assert len(ALIAS_BOMB) < 800
    parsed = loader.parse_file(AppFile("bomb.yaml", ALIAS_BOMB.encode()))
    assert parsed.failed and parsed.definitions == ()
    (error,) = parsed.errors
    assert "expands to more than" in str(error)


def test_class5_a_huge_file_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    calls: list[str] = []
    def parse(text: str, source: str, **kwargs: object) -> list[object]:
        calls.append(source)
        return []

    monkeypatch.setattr(loader, "parse_documents", parse)
    (tmp_path / "huge.yaml").write_bytes(HOSTILE["huge.yaml"])
    local = read_dir_source(tmp_path)
    (file,) = local.files
    assert file.data is None and "larger than" in file.error
    assert loader.parse_file(file_from_bytes("git.yaml", HOSTILE["huge.yaml"])).failed
    assert calls == []


def test_class5_any_exception_while_reading_a_document_is_that_documents_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(doc: object, *, source: str) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(loader, "parse_project", explode)
    files = {"p.yaml": b"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"
                       b"metadata: {name: p}\n",
             "good.yaml": GOOD.format(name="good", path="ok").encode()}
    catalog = _catalog(_source(files))
    assert list(catalog.applications) == ["good"]
    assert "cannot be read (RecursionError)" in _error_of(catalog, "p.yaml")
    assert catalog.invalid_projects.keys() == {"p"}


def test_class5_any_exception_of_the_yaml_parser_is_that_files_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(text: str, source: str, **kwargs: object) -> object:
        raise MemoryError

    monkeypatch.setattr(loader, "parse_documents", explode)
    parsed = loader.parse_file(AppFile("a.yaml", b"a: 1\n"))
    assert parsed.failed and "cannot be parsed (MemoryError)" in str(parsed.errors[0])


def test_class5_a_source_with_too_many_files_is_refused_whole(tmp_path: Path) -> None:
    for index in range(MAX_FILES_PER_SOURCE + 1):
        (tmp_path / f"f{index}.yaml").write_text("{}\n")
    local = read_dir_source(tmp_path, key="apps[0]")
    assert local.files == () and "more than" in local.error
    assert _catalog(local).failed_sources == {"apps[0]"}
    many = {f"apps/f{i}.yaml": Blob() for i in range(MAX_FILES_PER_SOURCE + 1)}
    entry = AppsFromGit("git://h/apps.git", projects=("*",))
    git = git_app_source(0, entry, "a" * 40, many)
    assert git.files == () and "more than" in git.error


def test_class5_a_source_with_too_many_documents_is_refused_whole() -> None:
    half = b"--- {}\n" * (MAX_DOCUMENTS_PER_SOURCE // 2 + 1)
    good = GOOD.format(name="good", path="ok").encode()
    catalog = _catalog(_source({"a.yaml": half, "b.yaml": half, "good.yaml": good}, key="s"))
    assert catalog.applications == {}
    assert catalog.failed_sources == {"s"}
    one = loader.parse_file(AppFile("all.yaml", half * 2))
    assert one.failed and "more than" in str(one.errors[0])


def test_class5_unchanged_files_are_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parsed: list[str] = []
    real = loader.parse_file
    def counting(file: AppFile) -> loader.ParsedFile:
        parsed.append(file.name)
        return real(file)

    monkeypatch.setattr(loader, "parse_file", counting)
    (tmp_path / "a.yaml").write_text(GOOD.format(name="a", path="a"))
    (tmp_path / "b.yaml").write_text(GOOD.format(name="b", path="b"))
    catalog = Catalog([AppsFromDir(tmp_path)])
    first = catalog.reload(CLUSTERS)
    assert len(first.added) == 2 and len(parsed) == 2
    assert catalog.prepare(CLUSTERS, {}) is None  # nothing changed: no work at all
    (tmp_path / "b.yaml").write_text(GOOD.format(name="b", path="b2"))
    change = catalog.reload(CLUSTERS)
    assert parsed[2:] == [str(tmp_path / "b.yaml")]
    assert {k.app for k in change.changed} == {"b"} and not change.added | change.removed


def test_class5_a_comment_does_not_change_a_definition(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(name="a", path="a"))
    catalog = Catalog([AppsFromDir(tmp_path)])
    catalog.reload(CLUSTERS)
    (tmp_path / "a.yaml").write_text("# reviewed\n" + GOOD.format(name="a", path="a"))
    assert not catalog.reload(CLUSTERS)


def test_class5_file_names_and_errors_from_git_never_show_the_url_token() -> None:
    entry = AppsFromGit("https://bot:s3cr3t-token@git.example/apps.git", projects=("*",))
    files = {"apps/bad.yaml": Blob(b"\xff\xfe"), "apps/bomb.yaml": Blob(ALIAS_BOMB.encode()),
             "apps/ok.yaml": Blob(GOOD.format(name="ok", path="ok").encode())}
    source = git_app_source(0, entry, "0123456789" * 4, files)
    catalog = _catalog(source)
    app = catalog.applications["ok"]
    text = " ".join([source.name, app.source_file, *map(str, catalog.errors)])
    assert "s3cr3t-token" not in text and "bot" not in text
    assert app.source_file == "https://***@git.example/apps.git//apps/ok.yaml@01234567"


def test_class5_an_unreadable_file_keeps_the_apps_it_defined(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(name="a", path="a"))
    catalog = Catalog([AppsFromDir(tmp_path)])
    catalog.reload(CLUSTERS)
    (tmp_path / "a.yaml").write_bytes(GOOD.format(name="a", path="a").encode() + b"\xff")
    change = catalog.reload(CLUSTERS)
    assert not change and "a" in catalog.apps.applications
    assert any("not UTF-8" in e for e in catalog.general_errors)
    assert "could not be read" in catalog.problems["a"].warnings[-1]


def test_class5_parse_errors_are_config_errors() -> None:
    parsed = loader.parse_file(AppFile("x.yaml", b"[" * 5000))
    assert all(isinstance(e, ConfigError) for e in parsed.errors)
