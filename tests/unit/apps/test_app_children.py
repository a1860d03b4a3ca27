"""App of apps, the pure part: which rendered objects are children, and what a parent's
children may be (its project, AppProjects only when its source accepts them, bounded in
count and depth, names claimed like any other)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.apps import AppSource, ParseCache, build_catalog, file_from_bytes
from engine.apps.children import (
    MAX_CHILDREN,
    MAX_DEPTH,
    ChildSet,
    child_source,
    parent_of,
    split_children,
)


def _app(name: str, project: str = "team", api: str = "argoproj.io/v1alpha1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": "Application", "metadata": {"name": name},
            "spec": {"project": project,
                     "source": {"repoURL": "https://git.example/r.git", "path": name},
                     "destination": {"name": "one", "namespace": name}}}


def _project(name: str) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": name},
            "spec": {"sourceRepos": ["*"], "destinations": [{"name": "*", "namespace": "*"}]}}


CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}


def _catalog(children: list[dict[str, Any]], *, project: str = "team", app_projects: bool,
             others: tuple[AppSource, ...] = ()):  # type: ignore[no-untyped-def]
    _, found = split_children(children)
    sources = [*others, child_source("root", found, project=project,
                                     app_projects=app_projects, depth=1)]
    return build_catalog(sources, ParseCache().parse_sources(sources))


def test_applications_projects_and_sets_are_children_and_everything_else_is_applied() -> None:
    fleet_app = _app("fleet", api="fleetsync.io/v1alpha1")
    look_alike = {"apiVersion": "example.com/v1", "kind": "Application", "metadata": {"name": "x"}}
    applied, children = split_children([CONFIGMAP, _app("a"), _project("p"), fleet_app,
                                        look_alike])
    assert applied == [CONFIGMAP, look_alike]
    assert [c.label for c in children.children] == ["Application/a", "AppProject/p",
                                                    "Application/fleet"]


def test_the_digest_follows_the_content() -> None:
    _, first = split_children([_app("a")])
    _, same = split_children([_app("a")])
    _, other = split_children([_app("a", project="else")])
    assert first.digest == same.digest != other.digest


def test_children_use_the_parents_project_and_no_other() -> None:
    catalog = _catalog([_app("a"), _app("b", project="admin")], app_projects=False)
    assert set(catalog.applications) == {"a"}
    (error,) = [str(e) for e in catalog.errors if "Application b" in str(e)]
    assert "project 'admin' is not allowed" in error and "the parent's project" in error


def test_a_child_appproject_needs_a_source_that_accepts_them() -> None:
    refused = _catalog([_project("own"), _app("a", project="own")], app_projects=False)
    assert "own" not in refused.projects and "a" not in refused.applications
    accepted = _catalog([_project("own"), _app("a", project="own")], app_projects=True)
    assert "own" in accepted.projects and "a" in accepted.applications


def test_a_parent_of_any_project_passes_none_of_its_own_down() -> None:
    source = child_source("root", ChildSet(), project="*", app_projects=False, depth=1)
    assert source.projects == () and not source.allows("anything")


def test_a_child_named_like_an_app_of_a_file_takes_neither() -> None:
    text = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
            "spec: {project: team, source: {repoURL: 'https://git.example/r.git'}, "
            "destination: {name: one}}\n")
    file_source = AppSource("apps/", (file_from_bytes("apps/a.yaml", text.encode()),),
                            key="apps[0]")
    catalog = _catalog([_app("a")], app_projects=False, others=(file_source,))
    assert "a" not in catalog.applications and "a" in catalog.invalid_apps


def test_too_many_children_are_refused_whole() -> None:
    _, many = split_children([_app(f"a{i}") for i in range(MAX_CHILDREN + 1)])
    source = child_source("root", many, project="team", app_projects=False, depth=1)
    assert source.files == () and f"more than {MAX_CHILDREN}" in source.error
    _, enough = split_children([_app(f"a{i}") for i in range(3)])
    assert len(child_source("root", enough, project="team", app_projects=False,
                            depth=1).files) == 3


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_children_deeper_than_the_limit_are_refused(depth: int) -> None:
    _, children = split_children([_app("a")])
    source = child_source("root", children, project="team", app_projects=False, depth=depth)
    assert bool(source.error) is (depth > MAX_DEPTH)


def test_a_childs_source_names_its_parent() -> None:
    source = child_source("root", ChildSet(), project="team", app_projects=False, depth=1)
    assert parent_of(source.identity) == "root"
    assert parent_of("apps[0]") is None
