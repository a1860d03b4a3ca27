"""Class 11, a deeply nested webhook body: refused as a 400 with a clear error, never a
500 with a traceback (the stdlib parser recursed until RecursionError). JSON and GitHub's
form encoding (``payload=``) are bounded alike; the HTTP side runs through the real
receiver and API server on loopback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.server import create_app
from engine.api.webhook import WebhookReceiver
from engine.store import Store
from engine.webhooks import (
    MAX_DEPTH,
    Provider,
    WebhookError,
    hmac_sha256,
    parse_push,
)
from tests.integration.api.hub import StoreHub
from tests.support.auth import store_authenticator

SECRET = "s3cr3t"
FORM = "application/x-www-form-urlencoded"
PUSH = {"ref": "refs/heads/main", "repository": {"clone_url": "https://git.example/a/b.git"}}


def nested(depth: int) -> bytes:
    """A push payload with a list nested ``depth`` levels deep under an unused key."""
    inner = b"[" * depth + b"]" * depth
    return orjson.dumps(PUSH)[:-1] + b',"x":' + inner + b"}"


def form(body: bytes) -> bytes:
    return urlencode({"payload": body.decode()}).encode()


@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_webhook_nesting_too_deep_is_a_payload_error(content_type: str) -> None:
    body = nested(20_000)
    body = form(body) if content_type == FORM else body
    with pytest.raises(WebhookError, match=f"nested deeper than {MAX_DEPTH} levels") as caught:
        parse_push(Provider.GITHUB, body, content_type=content_type)
    assert caught.value.status == 400


@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_webhook_nesting_within_the_bound_is_parsed(content_type: str) -> None:
    body = nested(MAX_DEPTH - 1)
    body = form(body) if content_type == FORM else body
    event = parse_push(Provider.GITHUB, body, content_type=content_type)
    assert event.ref == "refs/heads/main"


# --- through the real receiver ------------------------------------------------------------


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async def on_push(*, repo_urls: frozenset[str], ref: str) -> int:
        return 1

    receiver = WebhookReceiver(on_push=on_push, secret=SECRET)
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        auth, _ = await store_authenticator(store, tmp_path)
        app = create_app(StoreHub(store), auth=auth, webhook_handler=receiver.handle)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client


def signed(body: bytes, content_type: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": "sha256=" + hmac_sha256(SECRET, body),
        "Content-Type": content_type,
    }


@pytest.mark.parametrize("content_type", ["application/json", FORM])
async def test_webhook_nesting_deep_body_is_a_400_without_traceback(
    client: TestClient[web.Request, web.Application],
    caplog: pytest.LogCaptureFixture,
    content_type: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = nested(20_000)
    body = form(body) if content_type == FORM else body
    response = await client.post("/api/webhook", data=body, headers=signed(body, content_type))
    text = await response.text()
    assert response.status == 400, text
    assert orjson.loads(text) == {"error": f"the payload is nested deeper than {MAX_DEPTH} levels"}
    assert "Traceback" not in text and "File " not in text
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_webhook_nesting_a_normal_push_is_still_accepted(
    client: TestClient[web.Request, web.Application],
) -> None:
    body = nested(10)
    headers = signed(body, "application/json")
    response = await client.post("/api/webhook", data=body, headers=headers)
    assert response.status == 202, await response.text()
    assert (await response.json())["refreshed"] == 1
