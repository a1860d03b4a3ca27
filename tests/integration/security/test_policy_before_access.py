"""Class 2 of the security review: the AppProject is checked before any Git access.

An Application whose project forbids its repository (``sourceRepos``) or its destination
must not make the hub contact that repository at all: no ls-remote, no fetch, no commit
tree, no render. A listening socket stands in for the forbidden "repository" and counts
the connections the hub makes to it; it must see none, while the hub reports the policy
violation on the app.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from engine.hub.hub import Hub
from engine.model import TargetKey
from tests.support.clusters import TestCluster
from tests.support.hubkit import application_yaml, eventually, hub_dir, running_hub

pytestmark = pytest.mark.timeout(120)


class Trap:
    """A TCP listener on loopback that counts (and drops) every connection made to it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.port = int(sock.getsockname()[1])
        self.connections = 0

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@contextmanager
def trap() -> Iterator[Trap]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    found = Trap(sock)
    thread = threading.Thread(target=found.serve, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        sock.close()
        thread.join(timeout=5)


def project_yaml(name: str, *, repos: list[str], namespaces: list[str]) -> str:
    return yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": name},
        "spec": {"sourceRepos": repos,
                 "destinations": [{"server": "*", "namespace": ns} for ns in namespaces]},
    })  # fmt: skip


async def condition_reasons(hub: Hub, app: str, cluster: str) -> set[str]:
    found = await hub.store.get_status(TargetKey(app, cluster))
    return {c.reason for c in found.conditions} if found else set()


async def test_policy_before_access_forbidden_repository_and_destination_are_never_contacted(
    local_clusters: list[TestCluster], tmp_path: Path
) -> None:
    cluster = local_clusters[0].name
    with trap() as forbidden:
        url = f"git://127.0.0.1:{forbidden.port}/tenant-b/private.git"
        apps = {
            # The project allows only team-a's repositories: the trap is not among them.
            "team-a.yaml": project_yaml("team-a", repos=["git://git.example/team-a/*"],
                                        namespaces=["team-a-*"]),
            "source.yaml": application_yaml("forbidden-source", url, ".", "team-a-one",
                                            project="team-a"),
            # The project allows the repository, but not the destination namespace.
            "open.yaml": project_yaml("open-repos", repos=["*"], namespaces=["allowed-*"]),
            "destination.yaml": application_yaml("forbidden-destination", url, ".",
                                                 "kube-system", project="open-repos"),
        }
        directory = hub_dir(tmp_path / "hub", local_clusters, apps)
        async with running_hub(directory) as hub:
            for app, rule in (("forbidden-source", "sourceRepos"),
                              ("forbidden-destination", "destinations")):
                async def reported(app: str = app, rule: str = rule) -> bool:
                    return rule in await condition_reasons(hub, app, cluster)

                await eventually(reported, within=60, what=f"{app}: {rule} violation reported")
            # A few more reconcile rounds (every 5 s) must not reach the repository either.
            await hub.request_refresh(app="forbidden-source", hard=True)
            await hub.request_refresh(app="forbidden-destination", hard=True)

            async def refreshed() -> bool:
                return hub.metrics().queue_depth == 0 and hub.metrics().running == 0

            await eventually(refreshed, within=30, what="the refreshes ran")
        assert forbidden.connections == 0, "the hub contacted a repository its project forbids"
        mirrors = directory.root / "data" / "git" / "mirrors"
        assert not mirrors.exists() or not any(mirrors.iterdir()), "a mirror was created"
        trees = directory.root / "data" / "trees"
        assert not trees.exists() or not any(trees.iterdir()), "a commit tree was written"
