"""The dashboard end to end in headless Chromium, against a hub running the demo scenario on
a real cluster: log in, see the demo apps Synced and Healthy, open one, read its diff after
an out-of-band change (the field, who changed it), see what a sync would do (dry run,
nothing written), press Sync, see the status change
without a reload, log out; a user of another project sees nothing of it.

The demo's Applications self-heal, which would undo the change before anyone reads it:
here demo-dev's ``selfHeal`` is off, nothing else of the demo changes. Screenshots go to the
test's directory, and to ``$FLEETSYNC_SCREENSHOTS`` when set (the README's comes from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from engine.cli import main
from engine.model import HealthStatus, SyncStatus
from tests.support.auth import admin_token
from tests.support.browser import CHROMIUM, Browser, log_in, page
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    demo_apps,
    demo_files,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at "
                       "/usr/bin/chromium (apt-get install -y chromium)"),
]
PASSWORD = "another long enough password"
AUTH = {"auth": {"accounts": {"bob": ["login"]},
                 "policy": "p, role:other, applications, *, other-proj/*, allow\n"
                           "g, bob, role:other\n"}}


async def test_log_in_read_a_drift_s_diff_sync_it_live_and_log_out(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = local_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "dashboard-demo", demo_files())
    apps = demo_apps(upstream.url)
    dev = "argocd-dev-application.yaml"
    assert "selfHeal: true" in apps[dev]
    apps[dev] = apps[dev].replace("selfHeal: true", "selfHeal: false")
    directory = hub_dir(tmp_path / "hub", local_clusters, apps, default=cluster.name,
                        extra=AUTH)
    shots = [tmp_path]
    if os.environ.get("FLEETSYNC_SCREENSHOTS"):
        shots.append(Path(os.environ["FLEETSYNC_SCREENSHOTS"]))
    async with cluster.api_client() as api:
        core, deployments = client.CoreV1Api(api), client.AppsV1Api(api)
        await _no_namespaces(core, "dev", "prod")  # an earlier test's would hide this one's
        try:
            async with running_hub(directory) as hub, \
                    Browser.start(tmp_path / "profile") as browser:  # fmt: skip
                host, port = hub.listening
                url = f"http://{host}:{port}"

                async def both_healthy() -> bool:
                    for app in ("demo-dev", "demo-prod"):
                        status = await status_of(hub, app, cluster.name)
                        if status is None or status.health is not HealthStatus.HEALTHY:
                            return False
                    return True

                await eventually(both_healthy, within=90, what="the demo apps healthy")
                password = hub.auth.initial_password_file.read_text().strip()
                await log_in(browser, url, "admin", password)
                dom = await page(browser, f"{url}/#/", "document.querySelectorAll("
                                 "'tr[data-app] .badge.health-Healthy').length >= 2")
                for app in ("demo-dev", "demo-prod"):
                    row = dom.split(f'data-app="{app}"', 1)[1].split("</tr>", 1)[0]
                    assert "sync-Synced" in row and "health-Healthy" in row, row
                await _shoot(browser, shots, "dashboard-apps.png")

                # The resource graph: Deployment → ReplicaSet → Pod, read live, with edges.
                section = f'section[data-cluster="{cluster.name}"]'
                await page(browser, f"{url}/#/apps/demo-dev",
                           f"document.querySelector('{section} .graph-button')")
                await browser.evaluate(f"document.querySelector('{section} .graph-button').click()")
                pods = "document.querySelectorAll('svg.graph g[data-node^=\"Pod/dev-demo-\"]')"
                await browser.wait_for(f"{pods}.length >= 1", within=30, what="a Pod in the graph")
                nodes = await browser.evaluate(
                    "[...document.querySelectorAll('svg.graph g.node')].map(g => g.dataset.node)")
                assert "Deployment/dev-demo" in nodes and "Service/dev-demo" in nodes, nodes
                assert any(n.startswith("ReplicaSet/dev-demo-") for n in nodes), nodes
                assert await browser.evaluate(
                    "document.querySelectorAll('svg.graph path.edge').length") >= 2
                await _shoot(browser, shots, "dashboard-graph.png")

                # Someone scales the Deployment by hand: OutOfSync, not healed (no selfHeal).
                await deployments.patch_namespaced_deployment(
                    "dev-demo", "dev", {"spec": {"replicas": 3}}, field_manager="kubectl-edit",
                    _content_type="application/merge-patch+json")
                await page(browser, f"{url}/#/apps/demo-dev",
                           f"document.querySelector('{section} .badge.sync-OutOfSync')")
                await browser.evaluate(f"document.querySelector('{section} .diff-button').click()")
                ready = ("document.querySelector('.object-diff[data-object=\"Deployment/dev-demo\"]"
                         " pre')")
                await browser.wait_for(ready, within=30, what="the Deployment's diff")
                shown = await browser.evaluate(
                    "document.querySelector('.object-diff[data-object=\"Deployment/dev-demo\"]')"
                    ".innerText")
                assert "spec.replicas" in shown and "kubectl-edit" in shown, shown
                assert any(line.startswith("-") and "replicas: 3" in line
                           for line in shown.splitlines()), shown
                await _shoot(browser, shots, "dashboard-diff.png")

                # The CLI reads the same comparison; exit 1 says something differs.
                monkeypatch.setenv("FLEETSYNC_SERVER", url)
                monkeypatch.setenv("FLEETSYNC_AUTH_TOKEN", await admin_token(hub))
                monkeypatch.setenv("FLEETSYNC_CONFIG", str(tmp_path / "cli.yaml"))
                capsys.readouterr()
                code = await asyncio.to_thread(main, ["app", "diff", "demo-dev"])
                out = capsys.readouterr().out
                assert code == 1, out
                assert "Deployment.apps dev/dev-demo: OutOfSync" in out
                assert "spec.replicas changed by kubectl-edit" in out

                # A dry run of the sync says what it would do and writes nothing.
                code = await asyncio.to_thread(main, ["app", "sync", "demo-dev", "--dry-run"])
                out = capsys.readouterr().out
                assert code == 1, out
                assert " update Deployment.apps dev/dev-demo" in out, out
                assert "Service" not in out, out  # in sync: nothing to do
                await browser.evaluate("document.querySelector('#sync-dry-run').click()")
                await browser.evaluate("document.querySelector('#sync').click()")
                planned = (f"document.querySelector('{section} .diff h3').innerText"
                           ".startsWith('Dry run of a sync: 1 of')")
                await browser.wait_for(planned, within=30, what="the dry run's answer")
                assert await browser.evaluate(
                    "document.querySelector('.object-diff[data-object=\"Deployment/dev-demo\"]"
                    " .action').dataset.action") == "update"
                live = await deployments.read_namespaced_deployment("dev-demo", "dev")
                assert live.spec.replicas == 3
                await browser.evaluate("document.querySelector('#sync-dry-run').click()")

                # Sync: the badge turns Synced by itself (pushed, no reload, no 30 s poll).
                await browser.evaluate("document.querySelector('#sync').click()")
                await browser.wait_for(f"document.querySelector('{section} .badge.sync-Synced')",
                                       within=20, what="Synced, live")
                live = await deployments.read_namespaced_deployment("dev-demo", "dev")
                assert live.spec.replicas == 1
                status = await status_of(hub, "demo-dev", cluster.name)
                assert status is not None and status.sync is SyncStatus.SYNCED
                assert status.operation is not None
                assert status.operation.trigger == "manual:admin"

                await browser.evaluate("document.querySelector('#logout').click()")
                await browser.wait_for("document.querySelector('#login')", what="logged out")

                # bob's role covers another project only: the demo apps do not exist for him.
                await hub.auth.set_password("bob", PASSWORD, current=None)
                await log_in(browser, url, "bob", PASSWORD)
                dom = await page(browser, f"{url}/#/", "document.querySelector('#overview')")
                assert "demo-dev" not in dom and "demo-prod" not in dom
                assert "0 apps" in dom

                # The CLI follows a sync it asked for until its operation ends.
                capsys.readouterr()
                code = await asyncio.to_thread(main, ["app", "sync", "demo-prod", "--wait",
                                                      "--timeout", "60s"])
                out, err = capsys.readouterr()
                assert code == 0, err
                assert f"queued: demo-prod@{cluster.name}" in out
                assert f"demo-prod: {cluster.name} succeeded" in err, err
        finally:
            await _no_namespaces(core, "dev", "prod")


async def _no_namespaces(core: client.CoreV1Api, *names: str) -> None:
    for name in names:
        with contextlib.suppress(ApiException):
            await core.delete_namespace(name)

    async def gone() -> bool:
        present = {ns.metadata.name for ns in (await core.list_namespace()).items}
        return not present & set(names)

    await eventually(gone, within=90, what=f"namespaces {', '.join(names)} deleted")


async def _shoot(browser: Browser, directories: list[Path], name: str) -> None:
    await browser.screenshot(directories[0] / name)
    for directory in directories[1:]:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(directories[0] / name, directory / name)
