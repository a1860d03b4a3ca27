"""Bases built once per commit tree and kept for the other apps' renders: the output and
the files each render depends on are exactly those of a render from scratch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import RenderError
from engine.render import build, loader, resid
from engine.render.accumulator import Accumulator
from engine.render.build import SharedBuild
from engine.render.loader import RepoReader
from engine.render.resid import Gvk
from engine.renderer.shared import SharedDirectories
from tests.support.files import write as write_tree

CORPUS = Path(__file__).parents[2] / "conformance" / "kustomize"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "input").is_dir())

BASE = {
    "base/common/kustomization.yaml": "resources: [configmap.yaml]\n",
    "base/common/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: common}\n"
                                  "data: {shared: v1}\n",
    "base/web/kustomization.yaml": "resources: [../common, deployment.yaml]\n",
    "base/web/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                                "spec: {replicas: 2}\n",
}


def app(name: str, top: str = "") -> dict[str, str]:
    return {f"apps/{name}/kustomization.yaml":
            f"{top}resources: [../../base/web]\nnamePrefix: {name}-\n"}


def render(root: Path, name: str, shared: SharedDirectories | None) -> tuple[list, set[str]]:
    reads: set[str] = set()
    objects = build(root / "apps" / name, root=root, reads=reads, shared=shared)
    return objects, reads


def test_a_second_app_reuses_the_base_and_depends_on_its_files(tmp_path: Path) -> None:
    write_tree(tmp_path, BASE | app("a") | app("b"))
    shared = SharedDirectories()
    render(tmp_path, "a", shared)
    assert shared.hits == 0
    objects, reads = render(tmp_path, "b", shared)
    assert shared.hits == 1  # base/web, with base/common inside it
    assert (objects, reads) == render(tmp_path, "b", None)
    assert {"base/common/configmap.yaml", "base/web/deployment.yaml"} <= reads
    assert [o["metadata"]["name"] for o in objects] == ["b-common", "b-web"]


def test_a_reused_base_is_never_changed_by_the_app_that_used_it(tmp_path: Path) -> None:
    write_tree(tmp_path, BASE | app("a") | app("b"))
    shared = SharedDirectories()
    first, _ = render(tmp_path, "a", shared)
    first[0]["data"]["shared"] = "edited by a caller"
    for _ in range(2):  # each render transforms its own copy (namePrefix) of what was kept
        again, _ = render(tmp_path, "a", shared)
        assert again == render(tmp_path, "a", None)[0]
        assert again[0]["data"] == {"shared": "v1"}


@pytest.mark.parametrize("top", ["buildMetadata: [originAnnotations]\n",
                                 "openapi: {version: v1.21.2}\n"])
def test_nothing_is_shared_when_the_top_changes_how_bases_build(tmp_path: Path,
                                                                 top: str) -> None:
    write_tree(tmp_path, BASE | app("a", top) | app("b", top))
    shared = SharedDirectories()
    render(tmp_path, "a", shared)
    assert (render(tmp_path, "b", shared)) == render(tmp_path, "b", None)
    assert shared.hits == 0 and shared.misses == 0


@pytest.mark.parametrize("name", CASES)
def test_every_conformance_case_renders_the_same_from_kept_builds(name: str) -> None:
    case = CORPUS / name
    target_file = case / "target"
    target = case / "input" / (target_file.read_text().strip() if target_file.exists() else ".")
    shared = SharedDirectories()

    def once(kept: SharedDirectories | None) -> tuple[object, set[str]]:
        reads: set[str] = set()
        try:
            return build(target, root=case / "input", reads=reads, shared=kept), reads
        except RenderError as err:
            return str(err), reads

    scratch = once(None)
    assert once(shared) == scratch
    assert once(shared) == scratch  # from what the first render kept


def test_kept_builds_are_bounded_by_the_resources_they_hold() -> None:
    kept = SharedDirectories(max_resources=3)

    def built(size: int) -> SharedBuild:
        return SharedBuild(Accumulator([object()] * size), frozenset(), False)  # type: ignore[list-item]

    kept.put(Path("/t/a"), built(2))
    kept.put(Path("/t/b"), built(1))
    assert kept.get(Path("/t/a")) is not None  # now the most recently used
    kept.put(Path("/t/c"), built(1))  # over the bound: b, the least recently used, goes
    assert kept.get(Path("/t/b")) is None
    assert kept.get(Path("/t/a")) is not None and kept.get(Path("/t/c")) is not None
    kept.put(Path("/t/huge"), built(4))  # larger than the bound: not kept at all
    assert kept.get(Path("/t/huge")) is None



def test_renders_of_one_tree_look_at_each_path_once(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Which paths are links is known after one render of a tree: the next renders resolve
    by lookups (no system call per path component, the root's included); a path leaving
    the tree is refused every time all the same."""
    write_tree(tmp_path, BASE | app("a") | app("b") | {
        "apps/a/kustomization.yaml": "resources: [../../base/web, settings.yaml]\n",
        "apps/a/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n"})
    (tmp_path / "apps" / "c").mkdir()
    (tmp_path / "apps" / "c" / "kustomization.yaml").symlink_to("/etc/hostname")
    calls: list[str] = []
    lstat, stat = os.lstat, os.stat

    def counted(path: str, **kwargs: object) -> os.stat_result:
        calls.append(os.fspath(path))
        return lstat(path, **kwargs)  # type: ignore[arg-type]

    def counted_stat(path: str, **kwargs: object) -> os.stat_result:
        calls.append(os.fspath(path))
        return stat(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", counted)
    monkeypatch.setattr(os, "stat", counted_stat)
    shared = SharedDirectories()
    render(tmp_path, "a", shared)
    first = len(calls)
    assert first > 0
    assert render(tmp_path, "a", shared) == render(tmp_path, "a", None)
    calls.clear()
    render(tmp_path, "a", shared)
    assert calls == []  # nothing in the tree again, nor above it (the root's own path)
    for _ in range(2):
        with pytest.raises(RenderError, match="outside the repository root"):
            render(tmp_path, "c", shared)


@pytest.mark.parametrize("path", [
    "apps/a/../../base/web", "apps/a/./kustomization.yaml", "apps/missing/../a",
    "apps/up/../file.yaml", "apps/up/x.yaml", "apps/up/..", "apps/../..", "..", ".",
    "apps//a/", "apps/loop/x"])
def test_a_path_resolves_as_realpath_says(tmp_path: Path, path: str) -> None:
    """Component by component, with links handed to realpath: the same answer, links to
    directories followed by ``..`` included."""
    write_tree(tmp_path, BASE | app("a") | {"inside/real/x.yaml": "a: 1\n",
                                             "inside/file.yaml": "b: 2\n"})
    (tmp_path / "apps" / "up").symlink_to(tmp_path / "inside" / "real")
    (tmp_path / "apps" / "loop").symlink_to(tmp_path / "apps" / "loop")
    reader = RepoReader(tmp_path, kinds={})
    expected = Path(os.path.realpath(tmp_path / path))
    inside = expected == reader.root or str(expected).startswith(f"{reader.root}{os.sep}")
    if inside:
        assert reader.resolve(tmp_path / path) == expected
    else:
        with pytest.raises(RenderError, match="outside"):
            reader.resolve(tmp_path / path)


def test_a_root_reached_through_a_link_is_its_real_directory(tmp_path: Path) -> None:
    """The root is resolved from ``/`` by lookups too: a link on its way is followed, as
    realpath does, whether or not another render looked at its components first."""
    write_tree(tmp_path / "real", BASE | app("a"))
    (tmp_path / "via").symlink_to(tmp_path / "real")
    kinds: dict[str, int] = {}
    RepoReader(tmp_path / "real", kinds=kinds)
    for _ in range(2):
        reader = RepoReader(tmp_path / "via", kinds=kinds)
        assert reader.root == Path(os.path.realpath(tmp_path / "real"))
        assert reader.resolve(tmp_path / "via" / "apps" / "a") == reader.root / "apps" / "a"


def test_a_reader_remembers_a_bounded_number_of_shown_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``display`` answers each path once as relpath would, and a repository with more
    paths than the bound does not grow the reader beyond it."""
    monkeypatch.setattr(loader, "MAX_RESOLVED", 3)
    reader = RepoReader(tmp_path, kinds={})
    paths = [tmp_path / f"d{n}" / "x.yaml" for n in range(5)] + [Path("rel/../y.yaml")]
    for path in [*paths, *paths]:
        assert reader.display(path) == os.path.relpath(
            os.path.normpath(os.path.join(tmp_path, path)), tmp_path)
    assert len(reader._shown) == 3
    assert reader.display(tmp_path.parent / "elsewhere") == os.path.join("..", "elsewhere")


def test_gvks_are_shared_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """One Gvk per (apiVersion, kind), equal to one made afresh; past the bound, new ones
    are made and not kept."""
    monkeypatch.setattr(resid, "_KNOWN", {})
    monkeypatch.setattr(resid, "MAX_KNOWN", 2)
    first = Gvk.of({"apiVersion": "apps/v1", "kind": "Deployment"})
    assert first is Gvk.of({"apiVersion": "apps/v1", "kind": "Deployment"})
    assert first == Gvk("apps", "v1", "Deployment")
    assert Gvk.of({"apiVersion": 1, "kind": None}) == Gvk("", "1", "")
    for n in range(5):
        assert Gvk.of({"apiVersion": f"g{n}/v1", "kind": "K"}) == Gvk(f"g{n}", "v1", "K")
    assert len(resid._KNOWN) == 2
