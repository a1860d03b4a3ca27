"""The cluster client sends its requests itself on the ApiClient's session: what reaches
the server (method, path, query, headers, body) is what kubernetes_asyncio's ``call_api``
sent, a rotated token file is read again, and a body orjson cannot encode still goes.
The server is a loopback HTTP recorder, not an imitation of the Kubernetes API."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from engine.clusters.client import APPLY_PATCH, USER_AGENT, WRITE_GUARD, ClusterClient
from engine.config.clusters import ClusterSpec, ServerAuth

Handler = Callable[[web.Request], Awaitable[web.Response]]


@contextlib.asynccontextmanager
async def _serving(handle: Handler) -> AsyncIterator[str]:
    """A loopback HTTP server answering every path with ``handle``; its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append({"method": request.method, "path": request.path,
                     "query": dict(request.query), "headers": dict(request.headers),
                     "body": await request.read()})
        return web.json_response({"kind": "ConfigMap", "metadata": {"name": "x"}})

    async with _serving(record) as server:
        yield server, seen


@contextlib.asynccontextmanager
async def _client(server: str, token_file: Path, token: str) -> AsyncIterator[ClusterClient]:
    await asyncio.to_thread(token_file.write_text, token)
    spec = ClusterSpec(name="rec", labels={}, auth=ServerAuth(server=server,
                                                               token_file=token_file))
    client = await ClusterClient.connect(spec=spec)
    try:
        yield client
    finally:
        await client.close()


async def test_an_apply_sends_method_path_query_headers_and_body(
    recorder: tuple[str, list[dict[str, Any]]], tmp_path: Path,
) -> None:
    server, seen = recorder
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "x", "namespace": "n"}, "data": {"k": "v"}}
    async with _client(server, tmp_path / "token", "first-token\n") as client:
        answer = await client.request(method="PATCH", path="/api/v1/namespaces/n/configmaps/x",
                                      query={"fieldManager": "fleetsync", "force": "true"},
                                      body=obj, content_type=APPLY_PATCH)
    assert answer == {"kind": "ConfigMap", "metadata": {"name": "x"}}
    [sent] = seen
    assert (sent["method"], sent["path"]) == ("PATCH", "/api/v1/namespaces/n/configmaps/x")
    assert sent["query"] == {"fieldManager": "fleetsync", "force": "true"}
    assert sent["headers"]["Content-Type"] == APPLY_PATCH
    assert sent["headers"]["Accept"] == "application/json"
    assert sent["headers"]["Authorization"] == "Bearer first-token"
    assert sent["headers"]["User-Agent"] == USER_AGENT
    assert orjson.loads(sent["body"]) == obj


async def test_a_rotated_token_file_is_sent_on_the_next_request(
    recorder: tuple[str, list[dict[str, Any]]], tmp_path: Path,
) -> None:
    server, seen = recorder
    token = tmp_path / "token"
    async with _client(server, token, "old-token") as client:
        await client.request(method="GET", path="/api")
        token.write_text("new-token")
        stat = token.stat()
        os.utime(token, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        await client.request(method="GET", path="/api")
    assert [s["headers"]["Authorization"] for s in seen] == ["Bearer old-token",
                                                             "Bearer new-token"]
    assert [s["body"] for s in seen] == [b"", b""]


async def test_a_body_orjson_cannot_encode_is_sent_as_json_still(
    recorder: tuple[str, list[dict[str, Any]]], tmp_path: Path,
) -> None:
    server, seen = recorder
    huge = 2**70  # YAML gives Python ints of any size; orjson stops at 64 bits
    async with _client(server, tmp_path / "token", "t") as client:
        await client.request(method="PATCH", path="/x", body={"data": {"n": huge}},
                             content_type=APPLY_PATCH)
    assert seen[0]["body"] == b'{"data": {"n": 1180591620717411303424}}'


class _Refused(Exception):
    pass


async def test_a_write_that_waited_for_a_connection_is_not_sent_once_its_guard_refuses(
    tmp_path: Path,
) -> None:
    """Every pooled connection is held by a slow read; a write passes its guard, waits
    for a connection, and its task loses the right to write meanwhile: nothing is sent."""
    release, held, seen = asyncio.Event(), asyncio.Event(), []
    pool = 0

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.method)
        if request.method == "GET" and len(seen) <= pool:
            if len(seen) == pool:
                held.set()
            await release.wait()
        return web.json_response({})

    allowed = True

    def guard() -> None:
        if not allowed:
            raise _Refused("the shard is lost")

    async with _serving(handle) as server, _client(server, tmp_path / "token", "t") as client:
        pool = client.api.rest_client.pool_manager.connector.limit
        reads = [asyncio.create_task(client.request(method="GET", path=f"/slow/{i}"))
                 for i in range(pool)]
        await held.wait()
        guarded = WRITE_GUARD.set(guard)
        write = asyncio.create_task(client.request(method="PATCH", path="/w", body={"a": 1},
                                                   content_type=APPLY_PATCH))
        await asyncio.sleep(0.2)  # past both guards of ``request``, queued for a connection
        allowed = False
        release.set()
        with pytest.raises(_Refused):
            await write
        await asyncio.gather(*reads)
        WRITE_GUARD.reset(guarded)
        await client.request(method="GET", path="/after")  # the pool still serves
    assert "PATCH" not in seen
    assert seen.count("GET") == pool + 1
