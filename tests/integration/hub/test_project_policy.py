"""AppProject policy in the running hub: a violation blocks the whole sync of its target,
nothing of it reaches the cluster, the status names the object and the rule; an app of the
same hub that breaks no rule syncs as usual."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from engine.hub.hub import Hub
from engine.model import SyncStatus
from engine.model.status import Condition
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    namespace_exists,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(120)


def _project(name: str, namespaces: list[str]) -> str:
    """A project allowing ``namespaces`` on any cluster and no cluster-scoped kind."""
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": name},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": ns} for ns in namespaces],
            },
        }
    )


def _cluster_role(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        }
    )


async def _cluster_role_exists(cluster: TestCluster, name: str) -> bool:
    async with cluster.api_client() as api:
        try:
            await client.RbacAuthorizationV1Api(api).read_cluster_role(name)
        except ApiException as err:
            if err.status == 404:
                return False
            raise
    return True


async def _violation(hub: Hub, app: str, cluster: str) -> Condition | None:
    status = await status_of(hub, app, cluster)
    if status is None:
        return None
    return next((c for c in status.conditions if c.type == "PolicyViolation"), None)


async def test_policy_violation_blocks_the_target_and_applies_nothing(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    run = uuid.uuid4().hex[:6]
    ok_ns, denied_ns, role_ns = f"pp-{run}-ok", f"pp-{run}-denied", f"pp-{run}-role"
    role = f"pp-{run}-reader"
    upstream = new_upstream(
        git_daemon,
        tmp_path,
        f"policy-{run}",
        {
            "ok/cm.yaml": configmap_yaml("settings", {"mode": "ok"}),
            "denied/cm.yaml": configmap_yaml("settings", {"mode": "denied"}),
            "role/cm.yaml": configmap_yaml("settings", {"mode": "role"}),
            "role/clusterrole.yaml": _cluster_role(role),
        },
    )
    project = f"pp-{run}"
    apps = {
        "project.yaml": _project(project, [ok_ns, role_ns]),
        # Allowed: the control that the hub does sync while the others are blocked.
        "ok.yaml": application_yaml(f"pp-{run}-ok", upstream.url, "ok", ok_ns, project=project),
        # Its destination namespace is not among the project's destinations.
        "denied.yaml": application_yaml(
            f"pp-{run}-denied", upstream.url, "denied", denied_ns, project=project
        ),
        # Its namespace is allowed, but it renders a ClusterRole the project does not list.
        "role.yaml": application_yaml(
            f"pp-{run}-role", upstream.url, "role", role_ns, project=project
        ),
    }
    directory = hub_dir(tmp_path / "hub", [cluster], apps)
    try:
        async with running_hub(directory) as hub:

            async def ok_synced() -> bool:
                status = await status_of(hub, f"pp-{run}-ok", cluster.name)
                return bool(status and status.sync is SyncStatus.SYNCED)

            await eventually(ok_synced, within=45, what="the allowed app Synced")
            assert await configmap_data(cluster, ok_ns, "settings") == {"mode": "ok"}

            denied = await eventually(
                lambda: _violation(hub, f"pp-{run}-denied", cluster.name),
                within=30,
                what="a policy condition on the app with a denied namespace",
            )
            assert denied.reason == "destinations"
            assert denied_ns in denied.message and project in denied.message

            blocked = await eventually(
                lambda: _violation(hub, f"pp-{run}-role", cluster.name),
                within=30,
                what="a policy condition on the app rendering a ClusterRole",
            )
            assert blocked.reason == "clusterResourceWhitelist"
            assert f"ClusterRole {role}" in blocked.message
            assert project in blocked.message

            # Nothing of a blocked target was applied: not even its allowed objects.
            assert not await _cluster_role_exists(cluster, role)
            assert not await namespace_exists(cluster, denied_ns)
            assert not await namespace_exists(cluster, role_ns)
            for app in (f"pp-{run}-denied", f"pp-{run}-role"):
                status = await status_of(hub, app, cluster.name)
                assert status is not None
                assert status.sync is not SyncStatus.SYNCED
                assert status.operation is None  # blocked before any sync began
                assert await hub.store.history(status.key) == []
    finally:
        await clean_up(
            cluster,
            namespaces=[ok_ns, denied_ns, role_ns],
            apps=[f"pp-{run}-ok", f"pp-{run}-denied", f"pp-{run}-role"],
        )
