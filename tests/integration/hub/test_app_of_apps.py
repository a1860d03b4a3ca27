"""App of apps through the hub on a real cluster, as Argo CD users bootstrap: one root
Application whose directory holds Application files. Its children become apps of their
own (never objects in the cluster), synced to their own paths; a commit that changes one
child's definition updates it; a commit that drops children removes them, their objects
following each child's own deletion policy (the resources finalizer deletes them, no
finalizer leaves them). A child naming a project other than its parent's is refused, and
a parent that deploys to two clusters publishes no children; a root that renders nothing
removes none; a root removed takes its children with it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from engine.apps.targets import IN_CLUSTER_SERVER
from tests.support import hubkit as kit
from tests.support.auth import admin_token, bearer
from tests.support.browser import CHROMIUM, Browser, log_in, page
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, Upstream, new_upstream

pytestmark = pytest.mark.timeout(240)
FINALIZER = "resources-finalizer.argocd.argoproj.io"


def _child(name: str, url: str, path: str, *, finalizer: bool = True,
           project: str = "default") -> str:  # fmt: skip
    return kit.application_yaml(name, url, path, name, project=project,
                                finalizers=[FINALIZER] if finalizer else None)


async def test_a_root_app_creates_updates_and_removes_its_children(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster, run = local_clusters[0], uuid.uuid4().hex[:6]
    a, b, c, rogue = (f"aoa-{n}-{run}" for n in ("a", "b", "c", "rogue"))
    upstream = new_upstream(git_daemon, tmp_path, f"aoa-{run}", {
        "a/cm.yaml": kit.configmap_yaml("settings", {"colour": "blue"}),
        "a2/cm.yaml": kit.configmap_yaml("settings", {"colour": "green"}),
        "b/cm.yaml": kit.configmap_yaml("settings", {"colour": "b"}),
        "c/cm.yaml": kit.configmap_yaml("settings", {"colour": "c"}),
    })
    url = upstream.url
    upstream.commit({
        "root/a.yaml": _child(a, url, "a"),
        "root/b.yaml": _child(b, url, "b"),
        "root/c.yaml": _child(c, url, "c", finalizer=False),
        "root/rogue.yaml": _child(rogue, url, "a", project="admin"),
    }, "the children")
    upstream.push("main")
    root = yaml.safe_load(kit.application_yaml(f"root-{run}", url, "root", "argocd"))
    # Two clusters: the children would differ per cluster, so none is published.
    wide = yaml.safe_load(kit.application_yaml(f"wide-{run}", url, "root", "argocd",
                                               api_version="fleetsync.io/v1alpha1"))
    wide["spec"]["destination"] = {"clusterSelector": {}, "namespace": "argocd"}
    admin = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
             "metadata": {"name": "admin"},
             "spec": {"sourceRepos": ["*"],
                      "destinations": [{"server": IN_CLUSTER_SERVER, "namespace": "*"}]}}
    directory = kit.hub_dir(tmp_path / "hub", local_clusters, {
        "root.yaml": yaml.safe_dump(root), "wide.yaml": yaml.safe_dump(wide),
        "admin.yaml": yaml.safe_dump(admin)})
    try:
        async with kit.running_hub(directory) as hub:
            def views() -> dict[str, Any]:
                return {v.name: v for v in hub.apps()}

            await kit.eventually(lambda: kit.configmap_data(cluster, a, "settings"),
                                 within=90, what="the first child's ConfigMap")
            await kit.eventually(lambda: kit.configmap_data(cluster, c, "settings"),
                                 within=60, what="the third child's ConfigMap")
            found = views()
            assert found[a].parent == f"root-{run}" and found[b].parent == f"root-{run}"
            assert set(found[f"root-{run}"].children) == {a, b, c}
            assert rogue not in found or found[rogue].errors
            problems = hub.catalog.problems[rogue].errors
            assert any("project 'admin' is not allowed" in p for p in problems), problems
            async def wide_refused() -> bool:
                status = await kit.status_of(hub, f"wide-{run}", cluster.name)
                return status is not None and any("must deploy to one" in c.message
                                                  for c in status.conditions)

            await kit.eventually(wide_refused, within=30, what="the wide parent refused")
            # The Application documents were never sent to the cluster.
            assert await kit.configmap_data(cluster, "argocd", "settings") is None

            host, port = hub.listening
            async with aiohttp.ClientSession(
                    f"http://{host}:{port}", headers=bearer(await admin_token(hub))) as http:
                async with http.get(f"/api/v1/apps/root-{run}") as answer:
                    body = await answer.json()
                assert sorted(body["children"]) == sorted([a, b, c])
                async with http.get(f"/api/v1/apps/{a}") as answer:
                    assert (await answer.json())["parent"] == f"root-{run}"

            if CHROMIUM.exists():
                await _tree_in_the_dashboard(directory.url, hub, tmp_path, f"root-{run}",
                                             [a, b, c])

            # One child's definition changes in the parent's render: it follows.
            await _push(upstream, directory.url, {"root/a.yaml": _child(a, url, "a2")})

            async def green() -> bool:
                data = await kit.configmap_data(cluster, a, "settings")
                return bool(data and data["colour"] == "green")

            await kit.eventually(green, within=60, what="the changed child applied")

            # Two children dropped: b's objects go with it (finalizer), c's stay.
            await _push(upstream, directory.url, {"root/b.yaml": None, "root/c.yaml": None})
            await kit.eventually(lambda: kit.at_once(b not in views() and c not in views()),
                                 within=60, what="b and c removed from the catalog")

            async def b_gone() -> bool:
                return await kit.configmap_data(cluster, b, "settings") is None

            await kit.eventually(b_gone, within=60, what="b's objects deleted")
            assert await kit.configmap_data(cluster, c, "settings") == {"colour": "c"}
            assert set(views()[f"root-{run}"].children) == {a}

            # A commit that leaves the root rendering nothing removes no child.
            empty = await _push(upstream, directory.url, {
                "root/a.yaml": None, "root/rogue.yaml": None, "root/README.md": "moved"})

            async def empty_seen() -> bool:
                status = await kit.status_of(hub, f"root-{run}", cluster.name)
                return status is not None and status.target_revision == empty and any(
                    "EmptyRender" in str(c.reason) for c in status.conditions)

            await kit.eventually(empty_seen, within=60, what="the root's empty render")
            await hub.follower.reload(force=True)
            assert set(views()[f"root-{run}"].children) == {a}
            assert await kit.configmap_data(cluster, a, "settings") == {"colour": "green"}

            # The root removed: its child goes with it, and its objects (finalizer).
            (directory.root / "apps" / "root.yaml").unlink()
            await kit.eventually(lambda: kit.at_once(a not in views()), within=60,
                                 what="the removed root's child removed")

            async def a_gone() -> bool:
                return await kit.configmap_data(cluster, a, "settings") is None

            await kit.eventually(a_gone, within=60, what="the child's objects deleted")
    finally:
        await kit.clean_up(cluster, namespaces=[a, b, c], apps=[a, b, c])


async def _push(upstream: Upstream, url: str, files: dict[str, str | None]) -> str:
    """Commit ``files`` (None: delete) to main, push, tell the hub; the new commit."""
    sha = upstream.commit(files)
    upstream.push("main")
    await kit.push_webhook(url, upstream)
    return sha


async def _tree_in_the_dashboard(url: str, hub: Any, tmp_path: Path, root: str,
                                 children: list[str]) -> None:  # fmt: skip
    """The apps list shows each child right under its parent, one level in; the child's
    page links to its parent, the parent's to its children."""
    password = hub.auth.initial_password_file.read_text().strip()
    async with Browser.start(tmp_path / "profile") as browser:
        await log_in(browser, url, "admin", password)
        await page(browser, f"{url}/#/", f"document.querySelector('tr[data-app=\"{root}\"]')")
        rows = await browser.evaluate(
            "[...document.querySelectorAll('table.apps tr[data-app]')]"
            ".map(r => [r.dataset.app, r.dataset.depth])")
        names = [name for name, _ in rows]
        at = names.index(root)
        assert rows[at][1] == "0"
        assert sorted(rows[at + 1:at + 1 + len(children)]) == sorted(
            [name, "1"] for name in children), rows
        await page(browser, f"{url}/#/apps/{children[0]}", "document.querySelector('#parent')")
        assert await browser.evaluate("document.querySelector('#parent').innerText") == root
        await page(browser, f"{url}/#/apps/{root}", "document.querySelector('#children')")
        shown = await browser.evaluate("document.querySelector('#children').innerText")
        assert all(name in shown for name in children), shown
