"""Helpers for tests of the running hub: a demo repository, a hub directory, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import orjson
import yaml
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from engine.config.hub import load_config
from engine.hub.hub import Hub
from engine.local.demo import DEMO_REPO_URL, default_example
from engine.model import TargetKey
from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name
from engine.model.status import TargetStatus
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Upstream, free_port

DEMO = default_example()
WEBHOOK_SECRET = "demo-webhook-secret"
T = TypeVar("T")


def demo_files() -> dict[str, str]:
    """The demo scenario's repository content, as the user pushes it."""
    repo = DEMO / "repo"
    return {str(p.relative_to(repo)): p.read_text() for p in repo.rglob("*") if p.is_file()}


def demo_apps(repo_url: str) -> dict[str, str]:
    """The demo's AppProject and Applications, verbatim but for ``repoURL``."""
    return {
        p.name: p.read_text().replace(DEMO_REPO_URL, repo_url)
        for p in sorted((DEMO / "apps").glob("*.yaml"))
    }


@dataclass
class HubDir:
    """A hub's configuration directory: clusters.yaml, apps/, fleetsync.yaml."""

    root: Path
    port: int

    @property
    def config(self) -> Path:
        return self.root / "fleetsync.yaml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_apps(self, apps: dict[str, str]) -> None:
        """Replace the app files (the hub follows them without restart)."""
        directory = self.root / "apps"
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.yaml"):
            if old.name not in apps:
                old.unlink()
        for name, text in apps.items():
            (directory / name).write_text(text)


def hub_dir(
    root: Path,
    clusters: list[TestCluster],
    apps: dict[str, str],
    *,
    default: str | None = None,
    extra: dict[str, Any] | None = None,
    implicit_default_project: bool = True,
) -> HubDir:
    """Write a hub directory registering ``clusters`` (``default`` answers to
    ``https://kubernetes.default.svc``) with ``apps``. Most tests' apps use the implicit
    permissive project ``default``, so it is on unless ``implicit_default_project`` is
    False (``extra`` may override any top-level key)."""
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for cluster in clusters:
        labels = dict(cluster.labels)
        if cluster.name == (default or clusters[0].name):
            labels["fleetsync.io/default"] = "true"
        entries.append({"name": cluster.name, "labels": labels,
                        "kubeconfig": str(cluster.kubeconfig)})
    (root / "clusters.yaml").write_text(yaml.safe_dump({"clusters": entries}))
    port = free_port()
    config = {
        "clusters": "clusters.yaml",
        "dataDir": "data",
        "apps": ["apps/"],
        "implicitDefaultProject": implicit_default_project,
        "server": {"listen": f"127.0.0.1:{port}"},
        "webhook": {"secretFile": "webhook.secret"},
        "git": {"pollInterval": "30s", "timeout": "10s"},
        **(extra or {}),
    }
    (root / "webhook.secret").write_text(WEBHOOK_SECRET)
    (root / "fleetsync.yaml").write_text(yaml.safe_dump(config))
    directory = HubDir(root, port)
    directory.write_apps(apps)
    return directory


@contextlib.asynccontextmanager
async def running_hub(directory: HubDir) -> AsyncIterator[Hub]:
    """A hub running in this event loop until the block ends."""
    hub = Hub(load_config(directory.config))
    task = asyncio.create_task(hub.run())
    ready = asyncio.create_task(hub.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=60,
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        ready.cancel()
        await task  # raises what made the hub fail
    try:
        yield hub
    finally:
        hub.stop()
        await asyncio.wait_for(task, timeout=60)


async def at_once(value: T) -> T:
    """``value``, awaited: a check for ``eventually`` that is already known."""
    return value


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, within: float, what: str, every: float = 0.2
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: T | None = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"not within {within}s: {what} (last seen: {last!r})")


async def status_of(hub: Hub, app: str, cluster: str) -> TargetStatus | None:
    """The stored status of one target."""
    return await hub.store.get_status(TargetKey(app, cluster))


# ---------------------------------------------------------------- helpers for one-off apps
def configmap_yaml(name: str, data: dict[str, str]) -> str:
    """A ConfigMap manifest (no namespace: it lands in the destination namespace)."""
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name}, "data": data})


def application_yaml(
    name: str,
    repo_url: str,
    path: str,
    namespace: str,
    *,
    project: str = "default",
    cluster: str | None = None,
    automated: bool = True,
    extra_spec: dict[str, Any] | None = None,
    api_version: str = "argoproj.io/v1alpha1",
    finalizers: list[str] | None = None,
) -> str:
    """An Application (Argo CD format unless ``api_version`` says otherwise) to ``cluster``
    by name (the default cluster when None), CreateNamespace on, reconciled every 5 s."""
    destination: dict[str, Any] = {"namespace": namespace}
    if cluster is None:
        destination["server"] = "https://kubernetes.default.svc"
    else:
        destination["name"] = cluster
    policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true", "timeout.reconcile=5s"]}
    if automated:
        policy["automated"] = {"prune": True, "selfHeal": True}
    spec: dict[str, Any] = {
        "project": project,
        "source": {"repoURL": repo_url, "targetRevision": "main", "path": path},
        "destination": destination,
        "syncPolicy": policy,
        **(extra_spec or {}),
    }
    meta: dict[str, Any] = {"name": name}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return yaml.safe_dump({"apiVersion": api_version, "kind": "Application",
                           "metadata": meta, "spec": spec})


async def namespace_exists(cluster: TestCluster, name: str) -> bool:
    """Whether namespace ``name`` exists (and is not being deleted) on ``cluster``."""

    async with cluster.api_client() as api:
        try:
            found = await client.CoreV1Api(api).read_namespace(name)
        except ApiException as err:
            if err.status == 404:
                return False
            raise
    return found.metadata.deletion_timestamp is None


async def configmap_data(cluster: TestCluster, namespace: str, name: str) -> dict[str, str] | None:
    """The data of a ConfigMap on ``cluster``, or None when it does not exist."""

    async with cluster.api_client() as api:
        try:
            found = await client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
    return dict(found.data or {})


async def clean_up(cluster: TestCluster, *, namespaces: list[str], apps: list[str]) -> None:
    """Delete the test's namespaces and the inventories of its apps (absent ones are fine)."""

    async with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        calls = [core.delete_namespace(n) for n in namespaces] + [
            core.delete_namespaced_config_map(configmap_name(a), INVENTORY_NAMESPACE)
            for a in apps
        ]
        for call in calls:
            try:
                await call
            except ApiException as err:
                if err.status != 404:
                    raise


async def push_webhook(url: str, upstream: Upstream) -> dict[str, Any]:
    """POST a signed GitHub push event for ``upstream``'s main branch to the hub at ``url``;
    the hub's JSON answer."""
    body = orjson.dumps({"ref": "refs/heads/main", "repository": {"clone_url": upstream.url}})
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}",
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, session.post(
        f"{url}/api/webhook", data=body, headers=headers, timeout=aiohttp.ClientTimeout(10)
    ) as response:
        assert response.status == 202, await response.text()
        result: dict[str, Any] = await response.json()
        return result
