"""Applications themselves managed by GitOps: the hub reads them from a Git directory and
follows new commits there without restart."""

from __future__ import annotations

from pathlib import Path

from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
)


async def test_applications_come_from_a_git_directory_and_follow_its_commits(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    manifests = new_upstream(git_daemon, tmp_path, "gitops-manifests", {
        "one/cm.yaml": configmap_yaml("one", {"n": "1"}),
        "two/cm.yaml": configmap_yaml("two", {"n": "2"}),
    })
    first = application_yaml("gitops-one", manifests.url, "one", "gitops-one")
    apps_repo = new_upstream(git_daemon, tmp_path, "gitops-apps", {"apps/one.yaml": first,
                                                                        "README.md": "apps\n"})
    extra = {"apps": [{"repo": apps_repo.url, "revision": "main", "path": "apps",
                       "projects": ["default"]}],
             "git": {"pollInterval": "2s", "timeout": "10s"}}
    directory = hub_dir(tmp_path / "hub", local_clusters, {}, extra=extra)
    try:
        async with running_hub(directory) as hub:
            await eventually(lambda: configmap_data(cluster, "gitops-one", "one"), within=60,
                             what="ConfigMap one applied from an Application read from Git")
            second = application_yaml("gitops-two", manifests.url, "two", "gitops-two")
            apps_repo.commit({"apps/two.yaml": second}, "add app two")
            apps_repo.push("main")
            await eventually(lambda: configmap_data(cluster, "gitops-two", "two"), within=60,
                             what="ConfigMap two applied after a commit to the apps repo")
            assert {a.name for a in hub.apps()} == {"gitops-one", "gitops-two"}
    finally:
        await clean_up(cluster, namespaces=["gitops-one", "gitops-two"],
                       apps=["gitops-one", "gitops-two"])


async def test_an_unreadable_apps_repository_is_a_source_error_until_its_poll_succeeds(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster, name = local_clusters[0], "gitops-late"
    manifests = new_upstream(git_daemon, tmp_path, "gitops-late-manifests",
                             {"late/cm.yaml": configmap_yaml("late", {"n": "3"})})
    url = f"git://127.0.0.1:{git_daemon.port}/gitops-late-apps.git"  # not there yet
    extra = {"apps": [{"repo": url, "revision": "main", "path": "apps",
                       "projects": ["default"]}],
             "git": {"pollInterval": "1s", "timeout": "10s"}}
    directory = hub_dir(tmp_path / "hub", local_clusters, {}, extra=extra)
    try:
        async with running_hub(directory) as hub:
            [error] = hub.control.source_errors()
            assert "gitops-late-apps.git" in error
            app = application_yaml(name, manifests.url, "late", name)
            new_upstream(git_daemon, tmp_path, "gitops-late-apps", {"apps/late.yaml": app})
            await eventually(lambda: configmap_data(cluster, name, "late"), within=60,
                             what="the app applied once its repository could be polled")
            assert hub.control.source_errors() == []
    finally:
        await clean_up(cluster, namespaces=[name], apps=[name])
