"""Each guard of the renderer, proven by a render that must be refused.

Removing a guard (the root check of RepoReader, the kustomization-root check of file
references, the alias budget, the size limit, the object limit) makes a test here fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.render import SecurityError, build, loader
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(CM.format(name="stolen"))
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


def test_resource_path_escaping_the_repo_is_refused(repo: Path) -> None:
    write(repo, {"app/kustomization.yaml": "resources: [../../outside]\n"})
    with pytest.raises(SecurityError, match="outside the repository root"):
        build(repo / "app", root=repo)


def test_absolute_resource_path_is_refused(repo: Path) -> None:
    secret = repo.parent / "outside" / "secret.yaml"
    write(repo, {"kustomization.yaml": f"resources: [{secret}]\n"})
    with pytest.raises(SecurityError):
        build(repo, root=repo)


def test_symlinked_file_pointing_out_is_refused(repo: Path) -> None:
    write(repo, {"kustomization.yaml": "resources: [link.yaml]\n"})
    os.symlink(repo.parent / "outside" / "secret.yaml", repo / "link.yaml")
    with pytest.raises(SecurityError, match="outside the repository root"):
        build(repo, root=repo)


def test_symlinked_directory_pointing_out_is_refused(repo: Path) -> None:
    write(repo, {"kustomization.yaml": "resources: [linked]\n",
                 "../outside/kustomization.yaml": "resources: [secret.yaml]\n"})
    os.symlink(repo.parent / "outside", repo / "linked")
    with pytest.raises(SecurityError):
        build(repo, root=repo)


def test_symlinked_plain_manifest_pointing_out_is_refused(repo: Path) -> None:
    os.symlink(repo.parent / "outside" / "secret.yaml", repo / "a.yaml")
    with pytest.raises(SecurityError):
        build(repo, root=repo)


def test_file_outside_the_kustomization_root_is_refused(repo: Path) -> None:
    write(repo, {"shared/cm.yaml": CM.format(name="shared"),
                 "app/kustomization.yaml": "resources: [../shared/cm.yaml]\n"})
    with pytest.raises(SecurityError, match="is not in or below"):
        build(repo / "app", root=repo)


def test_patch_file_outside_the_kustomization_root_is_refused(repo: Path) -> None:
    write(repo, {"p.yaml": CM.format(name="a"), "app/cm.yaml": CM.format(name="a"),
                 "app/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- path: ../p.yaml\n"})
    with pytest.raises(SecurityError, match="is not in or below"):
        build(repo / "app", root=repo)


def test_generator_file_outside_the_kustomization_root_is_refused(repo: Path) -> None:
    write(repo, {"creds.txt": "hunter2",
                 "app/kustomization.yaml":
                     "secretGenerator:\n- name: s\n  files: [../creds.txt]\n"})
    with pytest.raises(SecurityError, match="is not in or below"):
        build(repo / "app", root=repo)


def test_directory_outside_kustomization_but_inside_repo_is_allowed(repo: Path) -> None:
    write(repo, {"base/cm.yaml": CM.format(name="a"),
                 "base/kustomization.yaml": "resources: [cm.yaml]\n",
                 "app/kustomization.yaml": "resources: [../base]\n"})
    assert [o["metadata"]["name"] for o in build(repo / "app", root=repo)] == ["a"]


def test_yaml_alias_bomb_is_refused(repo: Path) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 6):  # 10**6 leaves: just over the budget, quick to expand if unguarded
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n" + "\n".join(lines) + "\n"
    write(repo, {"kustomization.yaml": "resources: [bomb.yaml]\n", "bomb.yaml": bomb})
    with pytest.raises(SecurityError, match="alias bomb"):
        build(repo, root=repo)


def test_small_aliases_are_expanded_as_independent_copies() -> None:
    docs = loader.parse_documents("a: &x {k: v}\nb: *x\n", "t.yaml")
    value = docs[0].value
    value["a"]["k"] = "changed"
    assert value["b"]["k"] == "v"


def test_oversized_file_is_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    write(repo, {"kustomization.yaml": "resources: [big.yaml]\n",
                 "big.yaml": CM.format(name="big") + "  pad: " + "x" * 2000 + "\n"})
    with pytest.raises(SecurityError, match="larger than the limit"):
        build(repo, root=repo)


def test_too_many_objects_are_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_OBJECTS", 5)
    many = "---\n".join(CM.format(name=f"c{i}") for i in range(6))
    write(repo, {"kustomization.yaml": "resources: [many.yaml]\n", "many.yaml": many})
    with pytest.raises(SecurityError, match="more than 5 objects"):
        build(repo, root=repo)


def test_too_many_objects_in_plain_directory_are_refused(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_OBJECTS", 5)
    write(repo, {"many.yaml": "---\n".join(CM.format(name=f"c{i}") for i in range(6))})
    with pytest.raises(SecurityError, match="more than 5 objects"):
        build(repo, root=repo)


def test_render_target_outside_root_is_refused(repo: Path) -> None:
    with pytest.raises(SecurityError):
        build(repo.parent / "outside", root=repo)
