"""``build(..., reads=)`` names every file an overlay depends on, and nothing else."""

from __future__ import annotations

from pathlib import Path

from engine import render


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_reads_are_the_overlay_its_base_and_their_resources(tmp_path: Path) -> None:
    _write(tmp_path, {
        "base/kustomization.yaml": "resources: [cm.yaml]\n",
        "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "base/unused.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\n",
        "overlays/dev/kustomization.yaml": "resources: [../../base]\nnamePrefix: dev-\n",
        "overlays/prod/kustomization.yaml": "resources: [../../base]\n",
    })
    reads: set[str] = set()
    render.build(tmp_path / "overlays" / "dev", root=tmp_path, reads=reads)
    assert reads == {"overlays/dev/kustomization.yaml", "base/kustomization.yaml", "base/cm.yaml"}


def test_a_plain_directory_records_the_listing_so_new_files_count(tmp_path: Path) -> None:
    _write(tmp_path, {"manifests/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    reads: set[str] = set()
    render.build(tmp_path / "manifests", root=tmp_path, reads=reads)
    assert "manifests" in reads and "manifests/a.yaml" in reads
