"""The kustomization graph walked before the kustomize fallback: what counts as remote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.render import SecurityError
from engine.render.graph import check_local_only
from engine.render.loader import RepoReader

INLINE_PATCH = """patchesStrategicMerge:
- |-
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm
    annotations: {docs: "https://docs.example.com/x"}
"""


def walk(root: Path, files: dict[str, str], start: str = "app") -> list[str]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    reader = RepoReader(root)
    return sorted(reader.display(p) for p in check_local_only(reader, root / start))


def test_local_bases_and_components_are_walked(tmp_path: Path) -> None:
    assert walk(tmp_path, {
        "app/kustomization.yaml": "resources: [../base, cm.yaml]\ncomponents: [../c]\n",
        "base/kustomization.yaml": "resources: [../shared.v2]\n",
        "shared.v2/kustomization.yaml": "resources: []\n",
        "c/kustomization.yaml": "kind: Component\n",
    }) == ["app", "base", "c", "shared.v2"]


def test_urls_inside_inline_patches_are_not_entries(tmp_path: Path) -> None:
    assert walk(tmp_path, {"app/kustomization.yaml": INLINE_PATCH}) == ["app"]


@pytest.mark.parametrize("entry", ["example.com/org/repo", "https://example.com/cm.yaml",
                                   "git::https://example.com/repo", "org/repo//base?ref=v1"])
def test_remote_forms_are_refused(tmp_path: Path, entry: str) -> None:
    with pytest.raises(SecurityError, match=re.escape(f"resources entry {entry!r} is remote")):
        walk(tmp_path, {"app/kustomization.yaml": f"resources: ['{entry}']\n"})


def test_a_cycle_is_walked_once(tmp_path: Path) -> None:
    assert walk(tmp_path, {"app/kustomization.yaml": "resources: [../b]\n",
                           "b/kustomization.yaml": "resources: [../app]\n"}) == ["app", "b"]
