"""The registry follows clusters.yaml and the credential files it names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.clusters import ClusterRegistry, RegistryChange
from engine.errors import ConfigError


def _write(path: Path, *entries: str) -> None:
    path.write_text("clusters:\n" + "".join(f"- {e}\n" for e in entries))


def test_reload_reports_added_changed_and_removed(tmp_path: Path) -> None:
    reg_file = tmp_path / "clusters.yaml"
    _write(reg_file, "{name: a, kubeconfig: a.kc}", "{name: b, kubeconfig: b.kc}")
    registry = ClusterRegistry.load(reg_file)
    assert list(registry.clusters) == ["a", "b"]

    _write(
        reg_file, "{name: a, kubeconfig: a.kc, labels: {env: prod}}", "{name: c, kubeconfig: c.kc}"
    )
    change = registry.reload()
    assert change == RegistryChange(frozenset({"c"}), frozenset({"a"}), frozenset({"b"}))
    assert not registry.reload()


def test_a_changed_kubeconfig_file_changes_the_cluster(tmp_path: Path) -> None:
    reg_file = tmp_path / "clusters.yaml"
    _write(reg_file, "{name: a, kubeconfig: a.kc}")
    (tmp_path / "a.kc").write_text("one")
    registry = ClusterRegistry.load(reg_file)
    (tmp_path / "a.kc").write_text("two")
    assert registry.reload().changed == {"a"}


def test_an_invalid_edit_keeps_the_previous_clusters(tmp_path: Path) -> None:
    reg_file = tmp_path / "clusters.yaml"
    _write(reg_file, "{name: a, kubeconfig: a.kc}")
    registry = ClusterRegistry.load(reg_file)
    _write(reg_file, "{name: a}")
    with pytest.raises(ConfigError):
        registry.reload()
    assert list(registry.clusters) == ["a"]


def test_unknown_cluster_error_lists_the_registered_ones(tmp_path: Path) -> None:
    reg_file = tmp_path / "clusters.yaml"
    _write(reg_file, "{name: a, kubeconfig: a.kc}")
    with pytest.raises(ConfigError, match=r"no cluster 'z' \(registered: a\)"):
        ClusterRegistry.load(reg_file).get("z")


async def test_watch_yields_the_change_without_restart(tmp_path: Path) -> None:
    reg_file = tmp_path / "clusters.yaml"
    _write(reg_file, "{name: a, kubeconfig: a.kc}")
    registry = ClusterRegistry.load(reg_file)
    changes = registry.watch(interval=0.05)
    _write(reg_file, "{name: a, kubeconfig: a.kc}", "{name: b, kubeconfig: b.kc}")
    change = await asyncio.wait_for(anext(changes), timeout=5)
    assert change.added == {"b"}
    await changes.aclose()
