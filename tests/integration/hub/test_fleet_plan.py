"""``fleetsync plan`` on four real clusters: a commit that changes a shared base is planned
for every cluster the app reaches, with each object's diff and changed fields, an app
whose files did not change is ``Unchanged`` (no request to its cluster), a commit that
drops an object shows it as pruned, and nothing is written to any cluster or to the
hub's history while planning (the clusters' audit logs say so)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client

from engine.cli import main
from engine.hub.hub import Hub
from engine.model import SyncStatus, TargetKey
from tests.support.auth import admin_token
from tests.support.browser import CHROMIUM, Browser, log_in, page
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, Upstream, new_upstream
from tests.support.hubkit import application_yaml, eventually, hub_dir, running_hub, status_of
from tests.support.replicas import audited_writes

pytestmark = pytest.mark.timeout(240)
WEB, OTHER = "plan-web", "plan-other"


def _deployment(colour: str) -> str:
    labels = {"app": "web"}
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "web", "image": "registry.k8s.io/pause:3.10",
                      "env": [{"name": "COLOUR", "value": colour}]}]}}}})


def _files() -> dict[str, str]:
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                "data": {"mode": "fleet"}}
    return {
        "base/kustomization.yaml": "resources: [deploy.yaml]\n",
        "base/deploy.yaml": _deployment("blue"),
        "overlays/fleet/kustomization.yaml": "resources: [../../base, settings.yaml]\n",
        "overlays/fleet/settings.yaml": yaml.safe_dump(settings),
        "other/cm.yaml": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "other"}, "data": {"a": "1"}}),
    }


def _fleet_app(repo: str) -> str:
    """The web app on every cluster that has an ``env`` label (all four)."""
    return yaml.safe_dump({
        "apiVersion": "fleetsync.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo, "targetRevision": "main", "path": "overlays/fleet"},
                 "destination": {"namespace": WEB, "clusterSelector": {
                     "matchExpressions": [{"key": "env", "operator": "Exists"}]}},
                 "syncPolicy": {"automated": {"prune": True},
                                "syncOptions": ["CreateNamespace=true", "timeout.reconcile=5s"]}}})


def _branch(upstream: Upstream, name: str, files: dict[str, str | None]) -> str:
    """Commit ``files`` on a new branch ``name`` from main, push it, go back to main."""
    upstream.git("checkout", "--quiet", "-b", name, "main")
    sha = upstream.commit(files, f"{name}")
    upstream.push(f"{name}:refs/heads/{name}")
    upstream.git("checkout", "--quiet", "main")
    return sha


def _plan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["plan", *argv])
    return code, capsys.readouterr().out


def _hub_writes(clusters: list[TestCluster]) -> dict[str, list[tuple[object, str, str]]]:
    """Every write (dry runs left out) the hub made to each cluster so far."""
    return {c.name: [w for w in audited_writes(c.audit_log) if w[1].startswith("fleetsync")]
            for c in clusters}  # fmt: skip


async def _record_reads(hub: Hub, clusters: list[TestCluster],
                        monkeypatch: pytest.MonkeyPatch) -> list[str]:  # fmt: skip
    """The paths the hub GETs from ``clusters`` from now on (until the patch is undone)."""
    reads: list[str] = []
    for cluster in clusters:
        hub_client = await hub.pool.client(cluster.name)
        send = hub_client.request

        async def recorded(send: Any = send, **kwargs: Any) -> Any:
            if kwargs["method"] == "GET":
                reads.append(kwargs["path"])
            return await send(**kwargs)

        monkeypatch.setattr(hub_client, "request", recorded)
    return reads


async def _history_sizes(hub: Hub, keys: list[TargetKey]) -> list[int]:
    return [len(await hub.store.history(k)) for k in keys]


async def test_a_plan_lists_every_cluster_a_commit_changes_and_writes_nothing(
    four_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    first = four_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "fleet-plan", _files())
    apps = {"web.yaml": _fleet_app(upstream.url),
            "other.yaml": application_yaml("other", upstream.url, "other", OTHER,
                                           cluster=first.name)}
    directory = hub_dir(tmp_path / "hub", four_clusters, apps, default=first.name)
    keys = [TargetKey("web", c.name) for c in four_clusters] + [TargetKey("other", first.name)]
    async with running_hub(directory) as hub:
        async def all_synced() -> bool:
            for key in keys:
                status = await status_of(hub, key.app, key.cluster)
                if status is None or status.sync is not SyncStatus.SYNCED:
                    return False
            return True

        await eventually(all_synced, within=120, what="five targets synced")
        monkeypatch.setenv("FLEETSYNC_SERVER", directory.url)
        monkeypatch.setenv("FLEETSYNC_AUTH_TOKEN", await admin_token(hub))
        monkeypatch.setenv("FLEETSYNC_CONFIG", str(tmp_path / "cli.yaml"))
        greener = _branch(upstream, "greener", {"base/deploy.yaml": _deployment("green")})
        smaller = _branch(upstream, "smaller", {
            "overlays/fleet/settings.yaml": None,
            "overlays/fleet/kustomization.yaml": "resources: [../../base]\n"})
        await asyncio.sleep(1)  # let the last sync's writes reach the audit logs
        writes, history = _hub_writes(four_clusters), await _history_sizes(hub, keys)

        # The shared base changed: web changes on all four clusters, other is untouched;
        # the Deployment that agrees with its base manifest is dry-run, never read.
        reads = await _record_reads(hub, four_clusters, monkeypatch)
        code, out = await asyncio.to_thread(_plan, capsys, "--revision", "greener", "-o", "json")
        assert not [r for r in reads if "/deployments/" in r], reads
        monkeypatch.undo()
        monkeypatch.setenv("FLEETSYNC_SERVER", directory.url)
        monkeypatch.setenv("FLEETSYNC_AUTH_TOKEN", await admin_token(hub))
        monkeypatch.setenv("FLEETSYNC_CONFIG", str(tmp_path / "cli.yaml"))
        assert code == 1, out
        plan = json.loads(out)
        by_target = {(t["app"], t["cluster"]): t for t in plan["targets"]}
        assert set(by_target) == {(k.app, k.cluster) for k in keys}
        assert by_target["other", first.name]["state"] == "Unchanged"
        for cluster in four_clusters:
            web = by_target["web", cluster.name]
            assert web["state"] == "Changes" and web["revision"] == greener, web
            [change] = web["objects"]
            assert (change["action"], change["kind"], change["namespace"], change["name"]) == (
                "update", "Deployment", WEB, "web")
            assert any("env" in path for path in change["paths"]), change["paths"]
            assert "blue" in change["diff"] and "green" in change["diff"], change["diff"]
        summary = plan["summary"]
        assert (summary["clustersChanging"], summary["appsChanging"], summary["changed"],
                summary["pruned"], summary["Unchanged"]) == (4, 1, 4, 0, 1)

        # The same plan as a table and as Markdown for a pull request.
        code, out = await asyncio.to_thread(_plan, capsys, "--revision", "greener")
        assert code == 1
        assert f" update Deployment.apps {WEB}/web" in out and "4 of 5 target(s) change" in out
        code, out = await asyncio.to_thread(_plan, capsys, "--revision", "greener",
                                            "-o", "markdown")
        assert f"| web | {first.name} | Changes | 0 | 1 | 0 |" in out.replace("\\-", "-"), out
        assert "```diff" in out

        # A commit that drops an object: pruned on every cluster (the app prunes).
        code, out = await asyncio.to_thread(_plan, capsys, "--revision", "smaller", "-o", "json")
        plan = json.loads(out)
        pruned = {t["cluster"]: [(o["action"], o["kind"], o["name"]) for o in t["objects"]]
                  for t in plan["targets"] if t["app"] == "web"}  # fmt: skip
        assert pruned == {c.name: [("prune", "ConfigMap", "settings")] for c in four_clusters}
        assert plan["summary"]["pruned"] == 4 and smaller in {t["revision"]
                                                              for t in plan["targets"]}

        # One app only, and one whose files did not change: nothing to do, exit 0.
        code, out = await asyncio.to_thread(_plan, capsys, "--revision", "greener",
                                            "--app", "other")
        assert code == 0 and "Unchanged" in out and "web" not in out.split("\n\n")[0]

        # The dashboard's plan page shows the same plan.
        if CHROMIUM.exists():
            await _plan_in_the_dashboard(directory.url, hub, tmp_path, len(four_clusters))

        # Nothing was written while planning: no write of the hub in any audit log, no
        # history entry, and the live Deployment still runs the old value.
        await asyncio.sleep(1)
        assert _hub_writes(four_clusters) == writes
        assert await _history_sizes(hub, keys) == history
        async with first.api_client() as api:
            live = await client.AppsV1Api(api).read_namespaced_deployment("web", WEB)
            assert live.spec.template.spec.containers[0].env[0].value == "blue"


async def _plan_in_the_dashboard(url: str, hub: Hub, tmp_path: Path, clusters: int) -> None:
    password = hub.auth.initial_password_file.read_text().strip()
    async with Browser.start(tmp_path / "profile") as browser:
        await log_in(browser, url, "admin", password)
        await page(browser, f"{url}/#/plan", "document.querySelector('#plan-revision')")
        await browser.evaluate("(() => { const i = document.querySelector('#plan-revision');"
                               " i.value = 'greener'; i.dispatchEvent(new Event('input'));"
                               " document.querySelector('#plan-run').click(); })()")
        await browser.wait_for("document.querySelector('#plan-summary')", within=60,
                               what="the plan's summary")
        summary = await browser.evaluate("document.querySelector('#plan-summary').innerText")
        assert summary.startswith(f"{clusters} of {clusters + 1} target(s) change"), summary
        rows = await browser.evaluate(
            "[...document.querySelectorAll('table.plan tr[data-target]')].map(r => r.innerText)")
        assert sum("Changes" in r for r in rows) == clusters, rows
        assert await browser.evaluate(
            "document.querySelectorAll('details[data-plan] .action[data-action=update]').length"
        ) == clusters
