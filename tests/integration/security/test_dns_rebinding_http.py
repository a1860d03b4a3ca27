"""Class 10, browser attacks on a loopback hub, over HTTP: the real aiohttp server on
loopback refuses every request whose Host is a name it was not given, before any handler
runs (API reads, actions, /metrics, the dashboard, the webhook), and answers to IP
literals, ``localhost`` and the configured names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.server import create_app
from engine.store import Store
from tests.integration.api.hub import StoreHub, seed
from tests.support.auth import bearer, store_authenticator

Client = TestClient[web.Request, web.Application]
EVIL = "evil.example"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[StoreHub]:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        await seed(store)
        yield StoreHub(store)


@pytest.fixture
async def webhook_calls() -> list[bytes]:
    return []


@pytest.fixture
async def client(hub: StoreHub, webhook_calls: list[bytes],
                 tmp_path: Path) -> AsyncIterator[Client]:  # fmt: skip
    async def webhook(request: web.Request) -> web.Response:
        webhook_calls.append(await request.read())
        return web.json_response({"ok": True}, status=202)

    auth, token = await store_authenticator(hub.store, tmp_path)
    app = create_app(hub, auth=auth, webhook_handler=webhook, allowed_hosts=["Hub.Example."])
    async with TestClient(TestServer(app, host="127.0.0.1"), headers=bearer(token)) as client:
        yield client


def host(client: Client, name: str) -> dict[str, str]:
    return {"Host": f"{name}:{client.server.port}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/apps"),
        ("GET", "/api/v1/apps/fleet/history"),
        ("GET", "/api/v1/clusters"),
        ("GET", "/metrics"),
        ("GET", "/"),
        ("GET", "/static/app.js"),
        ("GET", "/healthz"),
        ("GET", "/no/such/path"),
    ],
)
async def test_dns_rebinding_reads_under_another_host_are_refused(
    client: Client, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=host(client, EVIL))
    assert response.status == 421
    assert response.content_type == "application/json"
    assert "server.allowedHosts" in orjson.loads(await response.read())["error"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/apps/fleet/sync", "/api/v1/apps/fleet/refresh", "/api/v1/apps/fleet/rollback"],
)
async def test_dns_rebinding_actions_under_another_host_never_reach_the_hub(
    client: Client, hub: StoreHub, path: str
) -> None:
    # What a rebound page sends: its own name as Host and as Origin, same-origin.
    origin = f"http://{EVIL}:{client.server.port}"
    headers = {**host(client, EVIL), "Origin": origin, "Sec-Fetch-Site": "same-origin"}
    response = await client.post(path, json={"prune": True}, headers=headers)
    assert response.status == 421
    assert hub.calls == []


async def test_dns_rebinding_webhook_under_another_host_is_refused(
    client: Client, webhook_calls: list[bytes]
) -> None:
    response = await client.post("/api/webhook", data=b"{}", headers=host(client, EVIL))
    assert response.status == 421
    assert webhook_calls == []


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "hub.example", "HUB.EXAMPLE."])
async def test_dns_rebinding_loopback_and_configured_names_are_served(
    client: Client, hub: StoreHub, webhook_calls: list[bytes], name: str
) -> None:
    assert (await client.get("/api/v1/apps", headers=host(client, name))).status == 200
    assert (await client.get("/metrics", headers=host(client, name))).status == 200
    assert (await client.get("/", headers=host(client, name))).status == 200
    origin = {"Origin": f"http://{name.lower()}:{client.server.port}"}
    refresh = await client.post(
        "/api/v1/apps/fleet/refresh", headers={**host(client, name.lower()), **origin}
    )
    assert refresh.status == 202 and len(hub.calls) == 1
    webhook = await client.post("/api/webhook", data=b"{}", headers=host(client, name))
    assert webhook.status == 202 and webhook_calls == [b"{}"]


async def test_dns_rebinding_a_request_without_host_is_refused(client: Client) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(b"GET /api/v1/apps HTTP/1.0\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.0 421") or answer.startswith(b"HTTP/1.1 421")


async def test_dns_rebinding_origin_of_another_name_is_refused_for_actions(
    client: Client, hub: StoreHub, webhook_calls: list[bytes]
) -> None:
    # Host is fine (the hub's own address), but the page that sends it is elsewhere.
    evil_origin = {"Origin": f"http://{EVIL}:{client.server.port}"}
    for path in ("/api/v1/apps/fleet/sync", "/api/webhook"):
        response = await client.post(path, headers={**host(client, "127.0.0.1"), **evil_origin})
        assert response.status == 403
    cross_site = {"Sec-Fetch-Site": "cross-site"}
    assert (await client.post("/api/webhook", data=b"{}", headers=cross_site)).status == 403
    assert hub.calls == [] and webhook_calls == []
