"""Class 9: the operator, not the Application author, picks what an app may use.

Each apps source is bound to the projects its Applications may name; AppProjects come
only from sources allowed to define them; a name defined twice is an error for every
definition (and stays so while one of them cannot be read); the permissive implicit
``default`` project exists only when ``implicitDefaultProject`` is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.apps import (
    DEFAULT_PROJECT,
    AppCatalog,
    AppSource,
    ClusterInfo,
    ParseCache,
    build_catalog,
    file_from_bytes,
)
from engine.config.hub import AppsFromDir, AppsFromGit
from engine.hub.catalog import Catalog, git_app_source

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}}}
spec:
  project: {project}
  source: {{repoURL: https://git.example/x, path: {path}}}
  destination: {{name: c1, namespace: x}}
"""
PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {{name: {name}}}
spec:
  sourceRepos: ["{repos}"]
  destinations: [{{name: "*", namespace: "*"}}]
"""
CLUSTERS = [ClusterInfo("c1", "https://c1.example")]


@dataclass
class Blob:
    """A file as Git reads it."""

    data: bytes
    is_symlink: bool = False


def app(name: str, project: str = "team-a", path: str = "p") -> bytes:
    return APP.format(name=name, project=project, path=path).encode()


def project(name: str, repos: str = "*") -> bytes:
    return PROJECT.format(name=name, repos=repos).encode()


def source(name: str, files: dict[str, bytes], *, projects: tuple[str, ...] = ("*",),
           app_projects: bool = True) -> AppSource:
    return AppSource(name, tuple(file_from_bytes(f"{name}/{f}", d) for f, d in files.items()),
                     projects, app_projects, key=name)  # fmt: skip


def catalog_of(*sources: AppSource, implicit: bool = False) -> AppCatalog:
    return build_catalog(sources, ParseCache().parse_sources(sources),
                         implicit_default_project=implicit)  # fmt: skip


def test_class9_an_app_may_name_only_the_projects_its_source_is_bound_to() -> None:
    tenant = source("tenant", {"ok.yaml": app("ok", "team-a"),
                               "grab.yaml": app("grab", "platform")}, projects=("team-a",))
    ops = source("ops", {"p.yaml": project("team-a") + b"---\n" + project("platform")})
    catalog = catalog_of(tenant, ops)
    assert list(catalog.applications) == ["ok"]
    error = str(catalog.invalid_apps["grab"])
    assert "tenant/grab.yaml" in error and "'platform' is not allowed" in error
    assert "from tenant" in error and "team-a" in error


def test_class9_a_star_binding_allows_any_project() -> None:
    ops = source("ops", {"a.yaml": app("a", "platform"), "p.yaml": project("platform")},
                 projects=("*",))
    assert list(catalog_of(ops).applications) == ["a"]


def test_class9_a_git_source_binds_its_apps_to_the_configured_projects() -> None:
    entry = AppsFromGit("git://h/apps.git", projects=("team-a",))
    files = {"a.yaml": Blob(app("a", "team-a")), "b.yaml": Blob(app("b", "platform"))}
    catalog = catalog_of(git_app_source(0, entry, "f" * 40, files),
                         source("ops", {"p.yaml": project("team-a") + b"---\n"
                                        + project("platform")}))  # fmt: skip
    assert list(catalog.applications) == ["a"] and list(catalog.invalid_apps) == ["b"]


def test_class9_app_projects_from_a_source_not_allowed_to_define_them_are_ignored() -> None:
    tenant = source("tenant", {"a.yaml": app("a", "team-a"),
                               "p.yaml": project("team-a", repos="*")},
                    projects=("team-a",), app_projects=False)
    catalog = catalog_of(tenant)
    assert catalog.projects == {}
    assert any("tenant/p.yaml: AppProject team-a: ignored" in str(e) for e in catalog.errors)
    assert catalog.project_problem(catalog.applications["a"]) is not None


def test_class9_two_definitions_of_one_app_across_sources_are_an_error_for_both() -> None:
    first = source("platform", {"web.yaml": app("web", path="real")})
    second = source("tenant", {"web.yaml": app("web", path="stolen")})
    catalog = catalog_of(first, second, source("ops", {"p.yaml": project("team-a")}))
    assert "web" not in catalog.applications
    error = str(catalog.invalid_apps["web"])
    assert "platform/web.yaml" in error and "tenant/web.yaml" in error


def test_class9_two_definitions_in_one_source_or_file_are_an_error_for_both() -> None:
    one = source("s", {"a.yaml": app("web"), "b.yaml": app("web"),
                       "c.yaml": app("twice") + b"---\n" + app("twice")})
    catalog = catalog_of(one)
    assert catalog.applications == {}
    assert set(catalog.invalid_apps) == {"web", "twice"}


def test_class9_a_broken_second_definition_still_makes_the_name_invalid() -> None:
    good = source("a", {"web.yaml": app("web")})
    broken = source("b", {"web.yaml": app("web").replace(b"repoURL", b"repo")})
    assert "web" in catalog_of(good, broken).invalid_apps


def test_class9_two_app_projects_of_one_name_are_both_unused() -> None:
    ops = source("ops", {"p1.yaml": project("team-a", "https://a/*"),
                         "p2.yaml": project("team-a", "*"), "a.yaml": app("a", "team-a")})
    catalog = catalog_of(ops)
    assert catalog.project("team-a") is None and "team-a" in catalog.invalid_projects
    problem = catalog.project_problem(catalog.applications["a"])
    assert problem is not None and "defined 2 times" in problem


def test_class9_the_implicit_default_project_exists_only_when_enabled() -> None:
    apps = source("s", {"a.yaml": app("a", "default")})
    off = catalog_of(apps)
    assert off.project("default") is None
    problem = off.project_problem(off.applications["a"])
    assert problem is not None and "implicitDefaultProject: true" in problem
    assert "define an AppProject named default" in problem
    on = catalog_of(apps, implicit=True)
    assert on.project("default") is DEFAULT_PROJECT
    assert on.project_problem(on.applications["a"]) is None


def test_class9_a_defined_default_project_is_used_either_way() -> None:
    apps = source("s", {"a.yaml": app("a", "default"), "p.yaml": project("default", "x")})
    for implicit in (False, True):
        found = catalog_of(apps, implicit=implicit).project("default")
        assert found is not None and found.source_repos == ("x",)


def test_class9_the_hub_refuses_an_app_whose_project_default_is_not_defined(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_bytes(app("a", "default"))
    catalog = Catalog([AppsFromDir(tmp_path)])
    catalog.reload(CLUSTERS)
    assert catalog.project("default") is None
    assert any("implicitDefaultProject" in e for e in catalog.problems["a"].errors)
    allowing = Catalog([AppsFromDir(tmp_path)], implicit_default_project=True)
    allowing.reload(CLUSTERS)
    assert allowing.problems["a"].errors == ()


def _hub_catalog(tmp_path: Path) -> tuple[Catalog, AppsFromGit]:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "p.yaml").write_bytes(project("team-a"))
    (tmp_path / "ops" / "web.yaml").write_bytes(app("web", path="real"))
    entry = AppsFromGit("git://h/tenant.git", projects=("team-a",))
    return Catalog([AppsFromDir(tmp_path / "ops"), entry]), entry


def test_class9_a_second_definition_does_not_take_over_an_app_nor_drop_its_targets(
    tmp_path: Path,
) -> None:
    catalog, entry = _hub_catalog(tmp_path)
    first = catalog.reload(CLUSTERS, {1: git_app_source(1, entry, "1" * 40, {})})
    assert {k.app for k in first.added} == {"web"}
    before = dict(catalog.targets)
    stolen = {"web.yaml": Blob(app("web", path="stolen"))}
    change = catalog.reload(CLUSTERS, {1: git_app_source(1, entry, "2" * 40, stolen)})
    assert not change  # the targets stay as they were: never a deletion, never the thief's
    assert catalog.targets == before
    assert "web" not in catalog.apps.applications
    (error,) = catalog.problems["web"].errors
    assert str(tmp_path / "ops" / "web.yaml") in error and "git://h/tenant.git//web.yaml" in error


def test_class9_an_unreadable_source_does_not_free_its_app_names(tmp_path: Path) -> None:
    catalog, entry = _hub_catalog(tmp_path)
    catalog.reload(CLUSTERS, {1: git_app_source(1, entry, "1" * 40, {})})
    before = dict(catalog.targets)
    (tmp_path / "ops" / "web.yaml").write_bytes(b"spec: [broken")  # the owner's file breaks
    stolen = {"web.yaml": Blob(app("web", path="stolen"))}
    change = catalog.reload(CLUSTERS, {1: git_app_source(1, entry, "2" * 40, stolen)})
    assert not change and catalog.targets == before
    assert "web" in catalog.apps.invalid_apps
    # Still so at the next reload while the owner's file stays broken.
    (tmp_path / "ops" / "other.yaml").write_bytes(app("other"))
    catalog.reload(CLUSTERS, {1: git_app_source(1, entry, "2" * 40, stolen)})
    assert "web" in catalog.apps.invalid_apps and catalog.targets.keys() >= before.keys()


def test_class9_an_unreadable_git_source_keeps_its_apps(tmp_path: Path) -> None:
    catalog, entry = _hub_catalog(tmp_path)
    mine = {"mine.yaml": Blob(app("mine"))}
    catalog.reload(CLUSTERS, {1: git_app_source(1, entry, "1" * 40, mine)})
    before = dict(catalog.targets)
    for _ in range(2):  # the next reloads, while the repository stays unreachable
        change = catalog.reload(CLUSTERS, {})
        assert not change and catalog.targets == before
        assert "mine" in catalog.apps.applications
        assert "could not be read" in catalog.problems["mine"].warnings[-1]
