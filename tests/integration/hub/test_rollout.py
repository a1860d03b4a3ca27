"""Progressive rollout on four real clusters (``strategy.rollout``): a healthy commit walks
every step in order, one cluster at a time where ``maxParallel`` says so, waiting for each
step to be Healthy and soaked and for its pause; a commit that never becomes ready (kwok's
never-ready label) halts after the first step, no other cluster gets it, and with
``onFailure: rollback`` the first step's cluster goes back to the commit it ran."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from engine.cli import main
from engine.hub.hub import Hub
from engine.model import HealthStatus, SyncStatus, TargetKey
from tests.support.auth import admin_token, bearer
from tests.support.browser import CHROMIUM, Browser, log_in, page
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import eventually, hub_dir, running_hub, status_of

pytestmark = pytest.mark.timeout(300)
APP = NAMESPACE = "rolling"  # no other test of these clusters uses the name
PAUSE, SOAK, DEADLINE = 3.0, 1.0, 20.0
RUN = uuid.uuid4().hex[:8]  # each run's content differs from what an earlier one left


def _deployment(colour: str, *, never_ready: bool = False) -> str:
    labels = {"app": "web"}
    pod_labels = {**labels, **({"kwok.fleetsync.io/never-ready": "true"} if never_ready else {})}
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": [
                     {"name": "web", "image": "registry.k8s.io/pause:3.10",
                      "env": [{"name": "COLOUR", "value": colour}]}]}}}})


def _app(repo: str, clusters: list[TestCluster]) -> str:
    """Step 1: the first cluster, then a pause; step 2: the second and third, one at a time;
    the fourth is in no step, so it follows the last."""
    first, second, third = (c.name for c in clusters[:3])
    return yaml.safe_dump({
        "apiVersion": "fleetsync.io/v1alpha1", "kind": "Application",
        "metadata": {"name": APP},
        "spec": {"project": "default",
                 "source": {"repoURL": repo, "targetRevision": "main", "path": "app"},
                 "destination": {"namespace": NAMESPACE, "clusterSelector": {
                     "matchExpressions": [{"key": "env", "operator": "Exists"}]}},
                 "syncPolicy": {"automated": {"prune": True},
                                "syncOptions": ["CreateNamespace=true", "timeout.reconcile=5s"]},
                 "strategy": {"rollout": {
                     "steps": [{"clusters": [first], "pause": f"{PAUSE:g}s"},
                               {"clusters": [second, third], "maxParallel": 1}],
                     "soak": f"{SOAK:g}s", "progressDeadline": f"{DEADLINE:g}s",
                     "onFailure": "rollback"}}}})


async def _started(hub: Hub, cluster: str, sha: str) -> datetime | None:
    """When the sync of ``sha`` on ``cluster`` started, if it did."""
    status = await status_of(hub, APP, cluster)
    op = status.operation if status is not None else None
    return op.started_at if op is not None and op.revision == sha else None


async def _runs(hub: Hub, cluster: str, sha: str) -> bool:
    status = await status_of(hub, APP, cluster)
    return bool(status and status.revision == sha and status.sync is SyncStatus.SYNCED
                and status.health is HealthStatus.HEALTHY)


async def _everywhere(hub: Hub, clusters: list[TestCluster], sha: str) -> None:
    """Wait until every cluster runs ``sha`` and the rollout of it completed."""
    names = [c.name for c in clusters]

    async def everywhere() -> bool:
        return all([await _runs(hub, name, sha) for name in names])

    await eventually(everywhere, within=120, what=f"{sha[:8]} on every cluster")

    async def completed() -> bool:  # the last cluster's soak ends after it is Healthy
        rollout = hub.control.apps()[0].rollout
        return rollout is not None and (rollout.phase, rollout.revision) == ("Completed", sha)

    await eventually(completed, within=30, what=f"the rollout of {sha[:8]} completed")


async def _walks_in_order(hub: Hub, clusters: list[TestCluster], sha: str) -> None:
    """Every cluster gets ``sha`` one after the other in step order, the second step only
    after the first's pause."""
    await _everywhere(hub, clusters, sha)
    names = [c.name for c in clusters]
    found = [await _started(hub, name, sha) for name in names]
    starts = [s for s in found if s is not None]
    assert len(starts) == len(names), found
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(starts)]
    assert gaps[0] >= PAUSE + SOAK, gaps  # step 1 healthy, soaked, then the pause
    assert all(gap >= SOAK for gap in gaps[1:]), gaps  # one at a time in the last step


async def test_a_rollout_walks_its_steps_and_a_failing_commit_halts_and_rolls_back(
    four_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = new_upstream(git_daemon, tmp_path, "rollout", {"app/deploy.yaml":
                                                             _deployment("blue")})
    first = upstream.git("rev-parse", "HEAD")
    directory = hub_dir(tmp_path / "hub", four_clusters,
                        {"rolling.yaml": _app(upstream.url, four_clusters)},
                        default=four_clusters[0].name,
                        extra={"git": {"pollInterval": "2s", "timeout": "10s"}})
    names = [c.name for c in four_clusters]
    async with running_hub(directory) as hub:
        # The app's first commit is rolled out like any other (on clusters an earlier run
        # left it on, nothing needs a sync: the walk's order is checked on the next one).
        await _everywhere(hub, four_clusters, first)

        # A healthy change walks the steps in order, with the pause and one at a time.
        green = upstream.commit({"app/deploy.yaml": _deployment(f"green-{RUN}")}, "green")
        upstream.push("main")
        await _walks_in_order(hub, four_clusters, green)

        # A change that never becomes ready: the first cluster gets it, misses the
        # progress deadline, and goes back; nobody else ever syncs it.
        red = upstream.commit({"app/deploy.yaml": _deployment(f"red-{RUN}", never_ready=True)},
                              "red")
        upstream.push("main")

        async def halted() -> object:
            view = hub.control.apps()[0].rollout
            return view if view is not None and view.revision == red and \
                view.phase == "Halted" else None  # fmt: skip

        rollout = await eventually(halted, within=DEADLINE + 60, what="the red rollout halted")
        assert (rollout.failed, rollout.rolled_back) == (names[0], True), rollout
        assert "progress deadline" in rollout.reason
        await eventually(lambda: _runs(hub, names[0], green), within=60,
                         what="the first cluster back on green")
        for name in names[1:]:
            assert await _started(hub, name, red) is None, name
            status = await status_of(hub, APP, name)
            assert status is not None and status.revision == green
        history = await hub.store.history(TargetKey(APP, names[0]))
        assert [e.revision for e in history[:2]] == [green, red]  # red, then back to green
        async with four_clusters[0].api_client() as api:
            live = await client.AppsV1Api(api).read_namespaced_deployment("web", NAMESPACE)
            assert live.spec.template.spec.containers[0].env[0].value == f"green-{RUN}"

        # The CLI shows why it stopped.
        monkeypatch.setenv("FLEETSYNC_SERVER", directory.url)
        monkeypatch.setenv("FLEETSYNC_AUTH_TOKEN", await admin_token(hub))
        monkeypatch.setenv("FLEETSYNC_CONFIG", str(tmp_path / "cli.yaml"))
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["app", "get", APP]) == 0
        out = capsys.readouterr().out
        assert f"halted by {names[0]}: not Healthy within the progress deadline" in out, out
        assert "rolled back" in out

        # The dashboard's app page, and the metrics.
        if CHROMIUM.exists():
            password = hub.auth.initial_password_file.read_text().strip()
            async with Browser.start(tmp_path / "profile") as browser:
                await log_in(browser, directory.url, "admin", password)
                await page(browser, f"{directory.url}/#/apps/{APP}",
                           "document.querySelector('section.rollout[data-rollout=Halted]')")
                shown = await browser.evaluate(
                    "document.querySelector('section.rollout').innerText")
                assert f"Halted by {names[0]}: not Healthy within" in shown, shown
        async with aiohttp.ClientSession() as session, session.get(
                f"{directory.url}/metrics", headers=bearer(await admin_token(hub))) as answer:
            text = await answer.text()
        assert (f'fleetsync_rollout_info{{app="{APP}",phase="Halted",step="1",'
                f'failed="{names[0]}"}} 1') in text, text
