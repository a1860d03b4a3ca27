"""Loading Applications and AppProjects from files and directories into one catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.apps import DEFAULT_PROJECT, load_documents

DEMO = Path(__file__).parents[3] / "examples" / "argocd-kustomize-demo" / "apps"

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}}}
spec:
  source: {{repoURL: https://git.example/x}}
  destination: {{name: in-cluster, namespace: x}}
"""


def test_demo_directory_loads_cleanly() -> None:
    catalog = load_documents([DEMO])
    assert sorted(catalog.applications) == ["demo-dev", "demo-prod"]
    assert sorted(catalog.projects) == ["demo-proj"]
    assert catalog.errors == () and catalog.warnings == ()
    assert all(a.warnings == () for a in catalog.applications.values())


def test_directories_recurse_and_read_multi_document_files(tmp_path: Path) -> None:
    (tmp_path / "team" / "deep").mkdir(parents=True)
    (tmp_path / "team" / "deep" / "two.yml").write_text(
        APP.format(name="a") + "---\n" + APP.format(name="b")
    )
    (tmp_path / "one.yaml").write_text(APP.format(name="c"))
    (tmp_path / "notes.txt").write_text("not yaml: [")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hidden.yaml").write_text(APP.format(name="hidden"))
    catalog = load_documents([tmp_path])
    assert sorted(catalog.applications) == ["a", "b", "c"]
    assert catalog.errors == ()


def test_other_kinds_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "mixed.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: s}\n---\n"
        + APP.format(name="a")
    )
    catalog = load_documents([tmp_path])
    assert list(catalog.applications) == ["a"]
    assert len(catalog.warnings) == 2
    assert "document 1 (v1 ConfigMap)" in catalog.warnings[0]
    assert "Rollout" in catalog.warnings[1]


def test_duplicate_names_are_errors_naming_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(APP.format(name="web"))
    (tmp_path / "b.yaml").write_text(APP.format(name="web"))
    catalog = load_documents([tmp_path])
    assert "web" not in catalog.applications
    (error,) = catalog.errors
    assert str(tmp_path / "a.yaml") in str(error) and str(tmp_path / "b.yaml") in str(error)
    assert catalog.invalid_apps["web"] is error


def test_a_broken_file_never_stops_the_others(tmp_path: Path) -> None:
    shutil.copytree(DEMO, tmp_path / "demo")
    (tmp_path / "broken.yaml").write_text("apiVersion: [unclosed\n")
    (tmp_path / "invalid.yaml").write_text(APP.format(name="bad").replace("repoURL", "repo"))
    catalog = load_documents([tmp_path, tmp_path / "missing.yaml"])
    assert sorted(catalog.applications) == ["demo-dev", "demo-prod"]
    messages = sorted(str(e) for e in catalog.errors)
    assert len(messages) == 3
    assert any(m.startswith(f"{tmp_path / 'broken.yaml'}:2: invalid YAML") for m in messages)
    assert any("Application bad: spec.source.repoURL: is required" in m for m in messages)
    assert any("missing.yaml: no such file" in m for m in messages)
    assert catalog.failed_sources == {str(tmp_path / "broken.yaml"), str(tmp_path / "missing.yaml")}
    assert list(catalog.invalid_apps) == ["bad"]


def test_default_project_allows_everything_only_when_the_operator_says_so() -> None:
    assert load_documents([DEMO]).project("default") is None
    catalog = load_documents([DEMO], implicit_default_project=True)
    assert catalog.project("default") is DEFAULT_PROJECT
    assert catalog.project("demo-proj") is catalog.projects["demo-proj"]
    assert catalog.project("nope") is None
