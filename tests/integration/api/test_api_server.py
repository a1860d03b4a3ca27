"""Every REST endpoint of the real server over loopback, backed by the hub's real
controller, catalog and store (the hub is opened, not run: actions only queue)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.server import create_app
from engine.hub.controller import HubController
from engine.hub.decisions import Request
from engine.hub.hub import Hub
from engine.model import ResourceKey, TargetKey
from engine.model.reconciles import Trigger
from engine.model.status import AUTOMATED_SYNC_DISABLED
from engine.renderer.cache import RenderKey
from engine.store import Store
from tests.integration.api.hub import CLUSTER_TOKEN, REPO, SECRET_VALUE
from tests.support.auth import admin_token, bearer

Client = TestClient[web.Request, web.Application]
FLEET = (TargetKey("fleet", "dev"), TargetKey("fleet", "prod"))


def queued(hub: Hub, key: TargetKey) -> tuple[Trigger | None, Request | None]:
    """What an action left for ``key``: its trigger in the queue and its pending request."""
    return hub.scheduler.queue.trigger_of(key), hub.runtime.pending(key)


def untouched(hub: Hub, *keys: TargetKey) -> bool:
    """No action reached these targets (the initial tracking queued them PERIODIC)."""
    return all(queued(hub, k) == (Trigger.PERIODIC, None) for k in keys)


async def get_json(client: Client, path: str, status: int = 200) -> Any:
    response = await client.get(path)
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def test_apps_lists_every_app_with_a_status_per_cluster(client: Client) -> None:
    body = await get_json(client, "/api/v1/apps")
    apps = {a["name"]: a for a in body["apps"]}
    assert list(apps) == ["broken", "demo-dev", "demo-prod", "fleet"]
    [error] = body["sourceErrors"]
    assert 'apps/<img id="injected" src="x">.yaml:3: invalid YAML' in error
    [dev] = apps["demo-dev"]["targets"]
    assert (dev["cluster"], dev["sync"], dev["health"]) == ("dev", "Synced", "Healthy")
    assert dev["revision"] == "b" * 40 and dev["operationPhase"] == "Succeeded"
    assert apps["demo-dev"]["syncPolicy"] == {
        "automated": True,
        "prune": True,
        "selfHeal": True,
        "automatedDisabledByRollback": False,
    }
    fleet = {t["cluster"]: t for t in apps["fleet"]["targets"]}
    assert (fleet["dev"]["sync"], fleet["dev"]["health"]) == ("Unknown", "Unknown")
    assert (fleet["prod"]["sync"], fleet["prod"]["health"]) == ("OutOfSync", "Degraded")
    assert apps["broken"]["targets"] == [] and apps["broken"]["errors"]


async def test_app_shows_operation_conditions_and_resources(client: Client) -> None:
    app = await get_json(client, "/api/v1/apps/fleet")
    prod = next(t for t in app["targets"] if t["cluster"] == "prod")
    assert prod["operation"]["phase"] == "Failed"
    assert prod["operation"]["trigger"] == "automated"
    assert prod["conditions"] == [
        {
            "type": "SyncError",
            "reason": "ApplyFailed",
            "message": "Deployment web: forbidden",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }
    ]
    kinds = sorted(r["kind"] for r in prod["resources"])
    assert kinds == ["Deployment", "Namespace", "Secret", "Service"]
    deployment = next(r for r in prod["resources"] if r["kind"] == "Deployment")
    assert deployment == {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "fleet",
        "name": "web",
        "sync": "Synced",
        "health": "Healthy",
        "message": "3/3 replicas available",
    }


async def test_unknown_app_is_404_with_a_json_error(client: Client) -> None:
    body = await get_json(client, "/api/v1/apps/nope", status=404)
    assert body == {"error": "no app named nope"}
    for path in ("/history", "/sync", "/refresh", "/rollback"):
        method = client.get if path == "/history" else client.post
        response = await method(f"/api/v1/apps/nope{path}")
        assert response.status == 404
        assert (await response.json())["error"] == "no app named nope"


async def test_unknown_path_and_method_are_json_errors(client: Client) -> None:
    assert (await get_json(client, "/api/v1/nothing", status=404))["error"] == "Not Found"
    response = await client.get("/api/v1/apps/demo-dev/sync")
    assert response.status == 405
    assert (await response.json())["error"] == "Method Not Allowed"


async def test_history_is_newest_first_across_clusters(client: Client, ids: dict[str, int]) -> None:
    body = await get_json(client, "/api/v1/apps/demo-dev/history")
    assert [h["id"] for h in body["history"]] == [ids["dev2"], ids["dev1"]]
    entry = body["history"][0]
    assert entry["revision"] == "b" * 40 and entry["phase"] == "Succeeded"
    assert entry["source"] == {"repoURL": "https://git.example/demo.git", "path": "overlays/dev"}
    limited = await get_json(client, "/api/v1/apps/demo-dev/history?limit=1")
    assert [h["id"] for h in limited["history"]] == [ids["dev2"]]


async def test_history_of_one_cluster(client: Client, ids: dict[str, int]) -> None:
    body = await get_json(client, "/api/v1/apps/fleet/history?cluster=prod")
    assert [h["id"] for h in body["history"]] == [ids["fleet1"]]
    assert (await get_json(client, "/api/v1/apps/fleet/history?cluster=dev"))["history"] == []
    missing = await get_json(client, "/api/v1/apps/fleet/history?cluster=mars", status=404)
    assert "mars" in missing["error"]
    await get_json(client, "/api/v1/apps/fleet/history?limit=zero", status=400)


async def test_sync_reaches_the_hub_with_the_account_as_trigger(client: Client, hub: Hub) -> None:
    response = await client.post(
        "/api/v1/apps/fleet/sync",
        json={"cluster": "dev", "revision": "v2", "prune": True},
        headers={"X-Fleetsync-User": "alice"},  # a name the caller claims: not trusted
    )
    assert response.status == 202
    assert await response.json() == {"queued": [{"app": "fleet", "cluster": "dev"}]}
    request = Request("manual:admin", revision="v2", prune=True)
    assert queued(hub, FLEET[0]) == (Trigger.MANUAL, request)
    assert untouched(hub, FLEET[1])


async def test_a_selective_sync_names_its_objects(client: Client, hub: Hub) -> None:
    body = {"cluster": "dev", "resources": [
        {"group": "apps", "kind": "Deployment", "namespace": "fleet", "name": "web"},
        {"kind": "ConfigMap", "name": "settings"}]}  # fmt: skip
    assert (await client.post("/api/v1/apps/fleet/sync", json=body)).status == 202
    chosen = frozenset({ResourceKey("apps", "Deployment", "fleet", "web"),
                        ResourceKey("", "ConfigMap", "", "settings")})
    assert queued(hub, FLEET[0]) == (Trigger.MANUAL, Request("manual:admin", resources=chosen))


async def test_sync_without_body_syncs_every_cluster(client: Client, hub: Hub) -> None:
    response = await client.post("/api/v1/apps/fleet/sync")
    assert response.status == 202
    assert len((await response.json())["queued"]) == 2
    for key in FLEET:
        assert queued(hub, key) == (Trigger.MANUAL, Request("manual:admin"))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{", "application/json", 400, "not valid JSON"),
        (b"[1]", "application/json", 400, "must be a JSON object"),
        (b'{"prune": "yes"}', "application/json", 400, "prune must be a bool"),
        (b'{"cluster": 3}', "application/json", 400, "cluster must be a string"),
        (b'{"cluster": "x"}', "text/plain", 415, "application/json"),
        (b'{"cluster": "mars"}', "application/json", 404, "mars"),
        (b'{"resources": []}', "application/json", 400, "list of 1 to 500"),
        (b'{"resources": [{"kind": "ConfigMap"}]}', "application/json", 400,
         "resources[0] needs a kind and a name"),
        (b'{"resources": [{"kind": "ConfigMap", "name": "a", "uid": "x"}]}',
         "application/json", 400, "resources[0] must be"),
    ],
)
async def test_sync_refuses_bad_bodies(
    client: Client, hub: Hub, body: bytes, content_type: str, status: int, error: str
) -> None:
    response = await client.post(
        "/api/v1/apps/fleet/sync", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status
    assert error in (await response.json())["error"]
    assert untouched(hub, *FLEET)


async def test_sync_of_an_invalid_app_is_a_conflict(client: Client) -> None:
    response = await client.post("/api/v1/apps/broken/sync")
    assert response.status == 409
    assert "no registered cluster is named 'gone'" in (await response.json())["error"]


async def test_refresh_compares_and_hard_refresh_drops_the_apps_renders(
    client: Client, hub: Hub
) -> None:
    key = TargetKey("demo-dev", "dev")
    cached = RenderKey(hub.source.access_key(REPO), "a" * 40, "overlays/dev", ())
    hub.renders.cache.get_or_render(cached, lambda: [])
    assert (await client.post("/api/v1/apps/demo-dev/refresh")).status == 202
    assert queued(hub, key) == (Trigger.MANUAL, None)
    assert hub.renders.cache.get(cached) is not None
    assert (await client.post("/api/v1/apps/demo-dev/refresh?hard=true")).status == 202
    assert hub.renders.cache.get(cached) is None
    assert (await client.post("/api/v1/apps/demo-dev/refresh?hard=maybe")).status == 400


async def test_rollback_to_an_entry_turns_automated_sync_off(
    client: Client, hub: Hub, ids: dict[str, int]
) -> None:
    response = await client.post(
        "/api/v1/apps/demo-dev/rollback",
        json={"id": ids["dev1"]},
        headers={"X-Fleetsync-User": "bob"},
    )
    assert response.status == 202
    request = Request(f"rollback:{ids['dev1']}", revision="a" * 40)
    assert queued(hub, TargetKey("demo-dev", "dev")) == (Trigger.MANUAL, request)
    assert await hub.store.get_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED) is True
    app = await get_json(client, "/api/v1/apps/demo-dev")
    assert app["syncPolicy"]["automatedDisabledByRollback"] is True


async def test_rollback_without_an_id_goes_to_the_newest_other_successful_revision(
    client: Client, hub: Hub, ids: dict[str, int]
) -> None:
    response = await client.post("/api/v1/apps/demo-dev/rollback")  # runs b: back to a
    assert response.status == 202
    request = Request(f"rollback:{ids['dev1']}", revision="a" * 40)
    assert queued(hub, TargetKey("demo-dev", "dev"))[1] == request


async def test_rollback_errors(client: Client, hub: Hub, ids: dict[str, int]) -> None:
    unknown = await client.post("/api/v1/apps/demo-dev/rollback", json={"id": 999})
    assert unknown.status == 404
    other_app = await client.post("/api/v1/apps/demo-dev/rollback", json={"id": ids["prod1"]})
    assert other_app.status == 404
    nothing = await client.post("/api/v1/apps/fleet/rollback")  # no successful entry
    assert nothing.status == 400
    assert "no earlier successful revision" in (await nothing.json())["error"]
    not_int = await client.post("/api/v1/apps/demo-dev/rollback", json={"id": True})
    assert not_int.status == 400
    assert untouched(hub, TargetKey("demo-dev", "dev"), *FLEET)
    assert await hub.store.get_app_setting("fleet", AUTOMATED_SYNC_DISABLED) is None


async def test_clusters_never_show_credentials(client: Client) -> None:
    body = await get_json(client, "/api/v1/clusters")
    assert body["clusters"] == [
        {
            "name": "dev",
            "server": "https://127.0.0.1:6443",
            "labels": {"env": "dev"},
            "reachable": True,
            "lastError": "",
        },
        {
            "name": "prod",
            "server": "https://127.0.0.1:7443",
            "labels": {"env": "prod"},
            "reachable": False,
            "lastError": "connection refused",
        },
    ]
    assert CLUSTER_TOKEN.encode() not in await (await client.get("/api/v1/clusters")).read()


async def test_no_response_carries_object_bodies_or_secret_data(client: Client) -> None:
    for path in (
        "/api/v1/apps",
        "/api/v1/apps/demo-dev",
        "/api/v1/apps/fleet",
        "/api/v1/apps/demo-dev/history",
        "/metrics",
    ):
        raw = await (await client.get(path)).read()
        assert SECRET_VALUE.encode() not in raw
        for word in (b'"data"', b'"stringData"', b'"spec"', b'"manifest"', CLUSTER_TOKEN.encode()):
            assert word not in raw, (path, word)


async def test_healthz(client: Client) -> None:
    assert await get_json(client, "/healthz") == {"status": "ok"}


async def test_metrics_page(client: Client) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    assert 'fleetsync_reconciles_total{result="temporary"} 1' in text
    assert 'fleetsync_reconcile_triggers_total{trigger="manual"} 1' in text
    assert "fleetsync_queue_depth 4" in text  # every target, queued when tracked
    assert (
        'fleetsync_target_info{app="fleet",cluster="prod",sync_status="OutOfSync",'
        'health_status="Degraded"} 1'
    ) in text
    assert 'fleetsync_cluster_up{cluster="prod"} 0' in text
    assert "fleetsync_apps 4" in text


async def test_dashboard_and_its_files_are_served(client: Client) -> None:
    index = await client.get("/")
    assert index.status == 200 and index.content_type == "text/html"
    html = await index.text()
    assert '<script src="/static/app.js">' in html
    assert "script-src 'self'" in index.headers["Content-Security-Policy"]
    script = await client.get("/static/app.js")
    assert script.content_type == "text/javascript"
    code = await script.text()
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code
    assert (await client.get("/static/style.css")).content_type == "text/css"
    assert (await client.get("/static/../server.py")).status == 404


async def test_cross_site_actions_are_refused(client: Client, hub: Hub) -> None:
    evil = await client.post("/api/v1/apps/fleet/sync", headers={"Origin": "https://evil.example"})
    assert evil.status == 403
    site = await client.post("/api/v1/apps/fleet/refresh", headers={"Sec-Fetch-Site": "cross-site"})
    assert site.status == 403
    assert untouched(hub, *FLEET)
    origin = f"http://{client.server.host}:{client.server.port}"
    same = await client.post("/api/v1/apps/fleet/refresh", headers={"Origin": origin})
    assert same.status == 202


async def test_webhook_handler_is_mounted_when_given(hub: Hub) -> None:
    seen: list[bytes] = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append(await request.read())
        return web.json_response({"ok": True}, status=202)

    app = create_app(hub.control, auth=hub.auth, webhook_handler=webhook)
    async with TestClient(TestServer(app)) as client:  # no token: the webhook is open
        response = await client.post("/api/webhook", data=b"{}")
        assert response.status == 202 and seen == [b"{}"]
    async with TestClient(TestServer(create_app(hub.control, auth=hub.auth))) as client:
        assert (await client.post("/api/webhook", data=b"{}")).status == 401


async def test_a_hub_that_hangs_is_a_504(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    async def slow(*, app: str, hard: bool = False) -> list[Any]:
        await asyncio.sleep(5)
        return []

    monkeypatch.setattr(hub.control, "request_refresh", slow)
    app = create_app(hub.control, auth=hub.auth, timeout=0.2)
    async with TestClient(TestServer(app), headers=bearer(await admin_token(hub))) as client:
        response = await client.post("/api/v1/apps/demo-dev/refresh")
        assert response.status == 504
        assert orjson.loads(await response.read()) == {"error": "the hub did not answer in time"}


async def test_a_store_failure_answers_without_the_hub_s_paths(
    hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = await Store.open(tmp_path / "closed.db")
    await closed.close()
    control = HubController(catalog=hub.catalog, store=closed, runtime=hub.runtime,
                            directory=hub.clusters, automation=hub.automation,
                            counters=hub.counters, renders=hub.reconciler,
                            changes=hub.changes)  # fmt: skip
    app = create_app(control, auth=hub.auth)
    headers = bearer(await admin_token(hub))
    async with TestClient(TestServer(app, host="127.0.0.1"), headers=headers) as client:
        response = await client.get("/api/v1/apps")
        text = await response.text()
    assert response.status == 500
    assert orjson.loads(text) == {"error": "the hub could not do this (see its log)"}
    assert str(tmp_path) not in text and "Traceback" not in text
    assert any(str(tmp_path) in r.getMessage() for r in caplog.records)
