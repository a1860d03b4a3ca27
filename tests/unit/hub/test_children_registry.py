"""The hub's record of what parent Applications published: new children wake the
follower, the same ones do not; a parent's rights come from where it was defined (the
``appProjects`` of its configured source, inherited down the tree, depth counted); an
invalid parent's children stay; a parent no longer defined loses them."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from engine.apps import ParseCache, build_catalog
from engine.apps.catalog import AppCatalog
from engine.apps.children import MAX_DEPTH, split_children
from engine.apps.sources import AppSource, file_from_bytes
from engine.config.hub import AppsFromDir
from engine.hub.children import Children


def _app(name: str, project: str = "team") -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name},
            "spec": {"project": project, "source": {"repoURL": "https://git.example/r.git"},
                     "destination": {"name": "one", "namespace": name}}}


def _catalog(*sources: AppSource) -> AppCatalog:
    return build_catalog(list(sources), ParseCache().parse_sources(list(sources)))


def _root_source(app_projects: bool) -> AppSource:
    text = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: root}\n"
            "spec: {project: team, source: {repoURL: 'https://git.example/r.git'}, "
            "destination: {name: one}}\n")
    return AppSource("apps/", (file_from_bytes("apps/root.yaml", text.encode()),),
                     app_projects=app_projects, key="apps[0]")


ENTRIES = [AppsFromDir(Path("apps"), app_projects=True)]


def test_new_children_wake_the_follower_and_the_same_ones_do_not() -> None:
    children = Children()
    _, found = split_children([_app("a")])
    assert children.differs("root", found)
    children.publish("root", found)
    assert children.changed.is_set()
    children.changed.clear()
    _, again = split_children([_app("a")])
    assert not children.differs("root", again)
    children.publish("root", again)
    assert not children.changed.is_set()


def test_a_parent_passes_down_what_its_configured_source_accepts() -> None:
    children = Children()
    children.publish("root", split_children([_app("a")])[1])
    entries = [AppsFromDir(Path("apps"), app_projects=False)]
    source = children.sources(_catalog(_root_source(False)), entries)["root"]
    assert source.projects == ("team",) and not source.app_projects
    source = children.sources(_catalog(_root_source(True)), ENTRIES)["root"]
    assert source.app_projects


def test_grandchildren_count_their_depth_until_refused() -> None:
    """A chain of parents each rendering the next: past MAX_DEPTH levels, refused."""
    children = Children()
    names = [f"p{i}" for i in range(MAX_DEPTH + 2)]
    children.publish("root", split_children([_app(names[0])])[1])
    for parent, child in pairwise(names):
        children.publish(parent, split_children([_app(child)])[1])
    catalog = _catalog(_root_source(True))
    for _ in names:  # each reload reads one more level
        sources = children.sources(catalog, ENTRIES)
        catalog = _catalog(_root_source(True), *sources.values())
    errors = {p: s.error for p, s in children.sources(catalog, ENTRIES).items()}
    assert errors["root"] == ""
    assert errors[names[MAX_DEPTH - 2]] == ""  # depth MAX_DEPTH
    assert "levels of app of apps" in errors[names[MAX_DEPTH - 1]]


def test_an_invalid_parent_keeps_its_children_and_a_removed_one_loses_them() -> None:
    children = Children()
    children.publish("root", split_children([_app("a")])[1])
    first = children.sources(_catalog(_root_source(True)), ENTRIES)
    text = b"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: root}\n"
    broken = AppSource("apps/", (file_from_bytes("apps/root.yaml", text),), key="apps[0]")
    assert "root" in _catalog(broken).invalid_apps
    assert children.sources(_catalog(broken), ENTRIES) == first
    children.changed.clear()
    assert not children.drop_missing({"root"})
    assert children.drop_missing(set())
    assert children.changed.is_set() and children.sources(_catalog(), ENTRIES) == {}


def test_an_app_that_renders_no_children_publishes_nothing() -> None:
    """Every app's sync publishes what it renders: one without children must not wake the
    follower (a reload makes every settled target compare again)."""
    children = Children()
    children.publish("plain", split_children([])[1])
    assert not children.changed.is_set() and children.published("plain") is None
