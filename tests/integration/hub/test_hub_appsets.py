"""ApplicationSets through the hub: a clusters generator over clusters.yaml labels and a list
generator create Applications that sync; an element added creates one more, an element
removed deletes its Application and (with the resources finalizer) its objects, while
``preserveResourcesOnDeletion`` leaves them; a template that stops rendering keeps the
Applications it generated before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.model import SyncStatus
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(200)


def _appset(name: str, repo: str, generators: list[Any], *, preserve: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "goTemplate": True,
        "generators": generators,
        "template": {
            "metadata": {"name": "{{.app}}-{{.name}}",
                         "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
            "spec": {"project": "default",
                     "source": {"repoURL": repo, "targetRevision": "main", "path": "{{.app}}"},
                     "destination": {"name": "{{.name}}", "namespace": "as-{{.app}}"},
                     "syncPolicy": {"automated": {"prune": True},
                                    "syncOptions": ["CreateNamespace=true",
                                                    "timeout.reconcile=5s"]}}}}
    if preserve:
        spec["syncPolicy"] = {"preserveResourcesOnDeletion": True}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": name}, "spec": spec}


def _matrix(apps: list[str]) -> list[Any]:
    return [{"matrix": {"generators": [
        {"clusters": {"selector": {"matchLabels": {"fleetsync.io/default": "true"}}}},
        {"list": {"elements": [{"app": app} for app in apps]}}]}}]


async def test_an_application_set_creates_updates_and_removes_applications(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "appsets", {
        f"{app}/cm.yaml": configmap_yaml("settings", {"app": app}) for app in ("a", "b", "c")})

    def write(apps: list[str], kept: list[str]) -> dict[str, str]:
        return {"deleting.yaml": yaml.safe_dump(_appset("deleting", upstream.url, _matrix(apps),
                                                        preserve=False)),
                "keeping.yaml": yaml.safe_dump(_appset("keeping", upstream.url, _matrix(kept),
                                                       preserve=True))}

    directory = hub_dir(tmp_path / "hub", local_clusters[:1], write(["a", "b"], ["c"]))
    try:
        async with running_hub(directory) as hub:
            async def synced(*apps: str) -> bool:
                for app in apps:
                    status = await status_of(hub, f"{app}-{cluster.name}", cluster.name)
                    if status is None or status.sync is not SyncStatus.SYNCED:
                        return False
                return True

            await eventually(lambda: synced("a", "b", "c"), within=60, what="three generated")
            assert await configmap_data(cluster, "as-b", "settings") == {"app": "b"}

            # b removed from one set, c from the other: b's objects go, c's stay.
            directory.write_apps(write(["a"], []))

            async def removed() -> bool:
                names = {a.name for a in hub.apps()}
                return (f"b-{cluster.name}" not in names and f"c-{cluster.name}" not in names
                        and await configmap_data(cluster, "as-b", "settings") is None)

            await eventually(removed, within=60, what="b and c removed, b's objects deleted")
            assert await configmap_data(cluster, "as-c", "settings") == {"app": "c"}

            # A template that no longer renders keeps the Application it made before.
            broken = _appset("deleting", upstream.url, _matrix(["a"]), preserve=False)
            broken["spec"]["goTemplateOptions"] = ["missingkey=error"]
            broken["spec"]["template"]["metadata"]["name"] = "{{.nope}}"
            directory.write_apps({"deleting.yaml": yaml.safe_dump(broken)})

            async def reported() -> bool:
                return any("map has no entry" in e for e in hub.control.source_errors())

            await eventually(reported, within=30, what="the broken template reported")
            assert f"a-{cluster.name}" in {a.name for a in hub.apps()}
    finally:
        await clean_up(cluster, namespaces=["as-a", "as-b", "as-c"],
                       apps=[f"{a}-{cluster.name}" for a in ("a", "b", "c")])


async def test_a_git_directories_generator_follows_the_repository(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "appsets-git", {
        f"envs/{app}/cm.yaml": configmap_yaml("settings", {"app": app}) for app in ("x", "y")})
    appset = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
              "metadata": {"name": "envs"},
              "spec": {"goTemplate": True,
                       "generators": [{"git": {"repoURL": upstream.url, "revision": "main",
                                               "directories": [{"path": "envs/*"}]}}],
                       "template": {
                           "metadata": {"name": "env-{{.path.basename}}",
                                        "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
                           "spec": {"project": "default",
                                    "source": {"repoURL": upstream.url, "targetRevision": "main",
                                               "path": "{{.path.path}}"},
                                    "destination": {"name": cluster.name,
                                                    "namespace": "env-{{.path.basename}}"},
                                    "syncPolicy": {"automated": {"prune": True},
                                                   "syncOptions": ["CreateNamespace=true"]}}}}}
    directory = hub_dir(tmp_path / "hub", local_clusters[:1],
                        {"envs.yaml": yaml.safe_dump(appset)},
                        extra={"git": {"pollInterval": "1s", "timeout": "10s"}})
    try:
        async with running_hub(directory) as hub:
            async def present(*apps: str) -> bool:
                for app in apps:
                    status = await status_of(hub, f"env-{app}", cluster.name)
                    if status is None or status.sync is not SyncStatus.SYNCED:
                        return False
                return True

            await eventually(lambda: present("x", "y"), within=60, what="x and y generated")
            upstream.commit({"envs/z/cm.yaml": configmap_yaml("settings", {"app": "z"}),
                             "envs/x/cm.yaml": None}, "z in, x out")
            upstream.push("main")

            async def moved() -> bool:
                names = {a.name for a in hub.apps()}
                return ("env-x" not in names and await present("z")
                        and await configmap_data(cluster, "env-x", "settings") is None)

            await eventually(moved, within=60, what="z generated, x removed with its objects")
    finally:
        await clean_up(cluster, namespaces=["env-x", "env-y", "env-z"],
                       apps=["env-x", "env-y", "env-z"])


def _labelled(repo: str, cluster: str) -> dict[str, Any]:
    """A clusters generator on a label and a git files generator, one set each."""
    def template(name: str, path: str, namespace: str, to: str) -> dict[str, Any]:
        return {"metadata": {"name": name},
                "spec": {"project": "default",
                         "source": {"repoURL": repo, "targetRevision": "main", "path": path},
                         "destination": {"name": to, "namespace": namespace},
                         "syncPolicy": {"automated": {"prune": True},
                                        "syncOptions": ["CreateNamespace=true",
                                                        "timeout.reconcile=5s"]}}}

    gold = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "gold"},
            "spec": {"goTemplate": True,
                     "generators": [{"clusters": {"selector": {"matchLabels": {"tier": "gold"}}}}],
                     "template": template("gold-{{.name}}", "a", "gold", "{{.name}}")}}
    files = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
             "metadata": {"name": "files"},
             "spec": {"goTemplate": True,
                      "generators": [{"git": {"repoURL": repo, "revision": "main",
                                              "files": [{"path": "config/*.json"}]}}],
                      "template": template("file-{{.id}}", "{{.app}}", "files-{{.id}}",
                                           cluster)}}
    return {"gold.yaml": yaml.safe_dump(gold), "files.yaml": yaml.safe_dump(files)}


async def test_clusters_labels_and_git_files_create_update_and_remove_applications(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "appsets-files", {
        **{f"{app}/cm.yaml": configmap_yaml("settings", {"app": app}) for app in ("a", "b")},
        "config/one.json": '{"id": "one", "app": "a"}'})
    directory = hub_dir(tmp_path / "hub", local_clusters[:1],
                        _labelled(upstream.url, cluster.name),
                        extra={"git": {"pollInterval": "1s", "timeout": "10s"}})
    registration = directory.root / "clusters.yaml"

    def label(tier: str | None) -> None:
        doc = yaml.safe_load(registration.read_text())
        labels = doc["clusters"][0]["labels"]
        labels.pop("tier", None)
        if tier:
            labels["tier"] = tier
        registration.write_text(yaml.safe_dump(doc))

    try:
        async with running_hub(directory) as hub:
            async def app_data(app: str, namespace: str) -> dict[str, str] | None:
                status = await status_of(hub, app, cluster.name)
                if status is None or status.sync is not SyncStatus.SYNCED:
                    return None
                return await configmap_data(cluster, namespace, "settings")

            async def file_app(app: str) -> bool:
                return await app_data("file-one", "files-one") == {"app": app}

            await eventually(lambda: file_app("a"), within=60, what="file-one from the JSON")
            assert f"gold-{cluster.name}" not in {a.name for a in hub.apps()}

            # The cluster gets the label: its Application appears; the JSON changes: updated.
            label("gold")
            upstream.commit({"config/one.json": '{"id": "one", "app": "b"}'}, "b")
            upstream.push("main")

            async def gold() -> bool:
                return await app_data(f"gold-{cluster.name}", "gold") == {"app": "a"}

            await eventually(gold, within=60, what="the labelled cluster's Application")
            await eventually(lambda: file_app("b"), within=60, what="file-one updated to b")

            # The label goes: so does its Application.
            label(None)

            async def gone() -> bool:
                return f"gold-{cluster.name}" not in {a.name for a in hub.apps()}

            await eventually(gone, within=60, what="the unlabelled cluster's Application gone")
    finally:
        await clean_up(cluster, namespaces=["gold", "files-one"],
                       apps=[f"gold-{cluster.name}", "file-one"])
