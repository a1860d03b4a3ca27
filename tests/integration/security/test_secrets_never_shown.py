"""Class 8 of the security review: secrets never reach a response, a page, a log or the store.

A real ``fleetsync serve`` process runs with secrets planted everywhere a hub meets them:
a token written in Applications' ``repoURL`` (apps served over smart HTTP with Basic auth,
and Applications themselves read from Git through such a URL), a cluster credential (a
bearer token from the environment, and the client key of a real cluster's kubeconfig), a
webhook secret, and a Secret's data in the manifests. The hub goes through a sync, a drift
heal, a manual sync, a policy failure, a render failure and an unreachable cluster. Then
every API response, the dashboard as Chromium renders it, the hub's log (at DEBUG) and the
SQLite files are searched: none of the secrets may appear, in clear or encoded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from engine.local.fleet import die_with_parent
from tests.support.auth import bearer
from tests.support.browser import CHROMIUM, Browser, log_in, page
from tests.support.clusters import TestCluster
from tests.support.git_remotes import HTTP_TOKEN, HTTP_USER, Daemon, HttpGit, new_upstream
from tests.support.hubkit import application_yaml, eventually, hub_dir

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

ROOT = Path(__file__).resolve().parents[3]
CLUSTER_TOKEN = "planted-cluster-token-4b1d7e"
SECRET_VALUE = "planted-secret-value-93c2a8"
WEBHOOK_SECRET = "planted-webhook-secret-5e0f"


def secret_yaml(name: str) -> str:
    data = base64.b64encode(SECRET_VALUE.encode()).decode()
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                           "type": "Opaque", "data": {"password": data}})


def project_yaml(name: str, repos: list[str]) -> str:
    return yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": name},
        "spec": {"sourceRepos": repos, "destinations": [{"server": "*", "namespace": "*"},
                                                        {"name": "*", "namespace": "*"}]},
    })  # fmt: skip


def needles(cluster: TestCluster) -> dict[str, str]:
    """Every secret planted, in the forms it could be leaked in."""
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())
    client_key = kubeconfig["users"][0]["user"]["client-key-data"]
    found = {
        "repo token": HTTP_TOKEN,
        "cluster token": CLUSTER_TOKEN,
        "secret value": SECRET_VALUE,
        "secret data": base64.b64encode(SECRET_VALUE.encode()).decode(),
        "webhook secret": WEBHOOK_SECRET,
        "client key (kubeconfig)": client_key[20:80],
        "client key (PEM)": base64.b64decode(client_key).decode().splitlines()[1][:40],
    }
    found |= {f"{name} (URL-quoted)": quote(value, safe="") for name, value in found.items()
              if quote(value, safe="") != value}
    return found


@contextlib.contextmanager
def serve(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``fleetsync serve --log-level DEBUG`` as a child process, stopped on the way out."""
    env = {**os.environ, "PLANTED_CLUSTER_TOKEN": CLUSTER_TOKEN,
           "PLANTED_WEBHOOK_SECRET": WEBHOOK_SECRET}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--config", str(config),
             "--log-level", "DEBUG"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def get(session: aiohttp.ClientSession, url: str) -> tuple[str, Any]:
    async with session.get(url) as response:
        text = await response.text()
        body = await response.json() if response.content_type == "application/json" else None
        return text, body


async def conditions(session: aiohttp.ClientSession, base: str, app: str) -> set[str]:
    _, body = await get(session, f"{base}/api/v1/apps/{app}")
    reasons: set[str] = set()
    for target in (body or {}).get("targets", []):
        reasons |= {c.get("reason", "") for c in target.get("conditions", [])}
    return reasons


async def drift_the_secret(cluster: TestCluster, namespace: str) -> None:
    """Change the Secret's data as another field manager would (kubectl edit)."""
    async with cluster.api_client() as api:
        other = base64.b64encode(b"changed-by-hand").decode()
        await client.CoreV1Api(api).patch_namespaced_secret(
            "db", namespace, {"data": {"password": other}}, field_manager="kubectl-edit")


async def secret_data(cluster: TestCluster, namespace: str) -> str | None:
    async with cluster.api_client() as api:
        try:
            found = await client.CoreV1Api(api).read_namespaced_secret("db", namespace)
        except client.exceptions.ApiException:
            return None
        return (found.data or {}).get("password")


async def test_secrets_in_messages_never_reach_api_dashboard_logs_or_store(
    local_clusters: list[TestCluster], git_daemon: Daemon, http_git: HttpGit, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    namespace = f"sec-{os.getpid()}"
    manifests = new_upstream(git_daemon, tmp_path, f"secret-manifests-{os.getpid()}", {
        "good/secret.yaml": secret_yaml("db"),
        "broken/bad.yaml": f"kind: Secret\ndata: {{password: {SECRET_VALUE}\n  - [\n",
    })
    with_token = f"http://{HTTP_USER}:{HTTP_TOKEN}@127.0.0.1:{http_git.port}"
    repo_url = f"{with_token}/{manifests.name}.git"
    good = application_yaml("leak-good", repo_url, "good", namespace, project="open")
    apps_repo = new_upstream(git_daemon, tmp_path, f"secret-apps-{os.getpid()}",
                             {"apps/good.yaml": good})
    local_apps = {
        "projects.yaml": project_yaml("open", [f"http://127.0.0.1:{http_git.port}/*"])
        + "---\n" + project_yaml("strict", ["https://git.example/*"]),
        "forbidden.yaml": application_yaml("leak-forbidden", repo_url, "good", namespace,
                                           project="strict"),
        "broken.yaml": application_yaml("leak-broken", repo_url, "broken", namespace,
                                        project="open"),
        "dead.yaml": application_yaml("leak-dead", repo_url, "good", namespace, project="open",
                                      cluster="dead"),
    }
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], local_apps, extra={
        "apps": ["apps/", {"repo": f"{with_token}/{apps_repo.name}.git", "revision": "main",
                           "path": "apps", "projects": ["open"]}],
        "webhook": {"secretEnv": "PLANTED_WEBHOOK_SECRET"},
        "git": {"pollInterval": "2s", "timeout": "10s"},
    })  # fmt: skip
    registration = yaml.safe_load((directory.root / "clusters.yaml").read_text())
    registration["clusters"].append({
        "name": "dead", "server": "https://127.0.0.1:9", "insecureSkipTLSVerify": True,
        "tokenEnv": "PLANTED_CLUSTER_TOKEN"})  # fmt: skip
    (directory.root / "clusters.yaml").write_text(yaml.safe_dump(registration))
    log = directory.root / "hub.log"
    responses: list[str] = []
    try:
        with serve(directory.config, log) as process:
            async with aiohttp.ClientSession() as session:
                base = directory.url

                async def up() -> bool:
                    assert process.poll() is None, log.read_text()[-3000:]
                    with contextlib.suppress(aiohttp.ClientError):
                        return (await get(session, f"{base}/healthz"))[1] is not None
                    return False

                await eventually(up, within=60, what="the hub answers")
                password = (directory.root / "data" / "initial-admin-password").read_text()
                async with session.post(f"{base}/api/v1/session", json={
                        "username": "admin", "password": password.strip()}) as response:
                    session.headers.update(bearer((await response.json())["token"]))
                # Every path the hub takes: sync, failure before access, render, cluster.
                for app, reason in (("leak-forbidden", "sourceRepos"),
                                    ("leak-broken", "RenderFailed"),
                                    ("leak-dead", "ClusterUnavailable")):
                    async def failed(app: str = app, reason: str = reason) -> bool:
                        return reason in await conditions(session, base, app)

                    await eventually(failed, within=90, what=f"{app} reports {reason}")
                synced = base64.b64encode(SECRET_VALUE.encode()).decode()

                async def applied() -> bool:
                    return await secret_data(cluster, namespace) == synced

                await eventually(applied, within=90, what="the Secret synced from Git")
                await drift_the_secret(cluster, namespace)
                await eventually(applied, within=60, what="the drifted Secret healed")
                async with session.post(f"{base}/api/v1/apps/leak-good/sync",
                                        json={"prune": True}) as response:
                    assert response.status == 202
                    responses.append(await response.text())
                await asyncio.sleep(3)
                for path in ("/api/v1/apps", "/api/v1/clusters", "/metrics", "/healthz"):
                    responses.append((await get(session, base + path))[0])
                for app in ("leak-good", "leak-forbidden", "leak-broken", "leak-dead"):
                    responses.append((await get(session, f"{base}/api/v1/apps/{app}"))[0])
                    responses.append((await get(session, f"{base}/api/v1/apps/{app}/history"))[0])
                async with Browser.start(tmp_path / "profile") as browser:
                    await log_in(browser, base, "admin", password.strip())
                    for path, ready in (("/", "[data-app]"), ("/#/clusters", "tr[data-cluster]"),
                                        ("/#/apps/leak-good", 'h1[data-app="leak-good"]'),
                                        ("/#/apps/leak-forbidden", 'h1[data-app="leak-forbidden"]'),
                                        ("/#/apps/leak-broken", 'h1[data-app="leak-broken"]'),
                                        ("/#/apps/leak-dead", 'h1[data-app="leak-dead"]')):
                        responses.append(await page(browser, base + path,
                                                    f"document.querySelector('{ready}')"))
        assert any("leak-good" in r for r in responses) and "***@" in "".join(responses)
        stored = b"".join(p.read_bytes() for p in (directory.root / "data").glob("fleetsync.db*"))
        assert b"leak-good" in stored
        places = {"API and dashboard": "\n".join(responses), "log": log.read_text(),
                  "SQLite": stored.decode("utf-8", "replace")}
        leaks = [f"{what} in {place}" for place, text in places.items()
                 for what, needle in needles(cluster).items() if needle in text]
        assert not leaks, f"secrets shown: {leaks}"
    finally:
        async with cluster.api_client() as api:
            with contextlib.suppress(client.exceptions.ApiException):
                await client.CoreV1Api(api).delete_namespace(namespace)
