"""The Git webhook receiver: ``POST /api/webhook`` from GitHub, GitLab or Gitea.

The handler reads at most ``max_body`` bytes (413 beyond), checks the secret before
looking at the payload (401 on mismatch), and hands the push's repository URLs and ref to
``on_push``, which polls those repositories at once and says how many apps it queued.
Events other than pushes (GitHub's ``ping``) are acknowledged and ignored. Without a
configured secret every request is accepted and a warning is logged once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

from aiohttp import web

from engine.errors import WebhookError
from engine.webhooks import (
    MAX_BODY_BYTES,
    Provider,
    detect_provider,
    is_push,
    parse_push,
    verify,
)

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/webhook"
READ_TIMEOUT = 10.0
PUSH_TIMEOUT = 60.0


class PushHandler(Protocol):
    """Polls the pushed repositories now; returns how many apps were queued."""

    def __call__(self, *, repo_urls: frozenset[str], ref: str) -> Awaitable[int]: ...


class WebhookReceiver:
    """An aiohttp handler for push webhooks."""

    def __init__(
        self,
        *,
        on_push: PushHandler,
        secret: str | None,
        max_body: int = MAX_BODY_BYTES,
        push_timeout: float = PUSH_TIMEOUT,
    ) -> None:
        self._on_push = on_push
        self._secret = secret or None
        self._max_body = max_body
        self._push_timeout = push_timeout
        self._warned = False

    async def handle(self, request: web.Request) -> web.Response:
        """Verify and act on one webhook request."""
        try:
            body = await self._read(request)
            provider = detect_provider(request.headers)
            self._authenticate(provider, request, body)
            if not is_push(provider, request.headers):
                return web.json_response({"provider": provider, "ignored": True}, status=202)
            event = parse_push(provider, body, content_type=request.content_type)
        except WebhookError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        try:
            async with asyncio.timeout(self._push_timeout):
                refreshed = await self._on_push(repo_urls=event.repo_urls, ref=event.ref)
        except TimeoutError:
            return web.json_response({"error": "polling the repositories timed out"}, status=504)
        log.info("%s push to %s of %s: %d apps queued", provider, event.ref,
                 ", ".join(sorted(event.repo_urls)), refreshed)  # fmt: skip
        return web.json_response(
            {"provider": provider, "ref": event.ref, "repos": sorted(event.repo_urls),
             "refreshed": refreshed}, status=202,
        )  # fmt: skip

    async def _read(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self._max_body:
            raise WebhookError(f"payload over {self._max_body} bytes", status=413)
        chunks, size = [], 0
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                async for chunk in request.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self._max_body:
                        raise WebhookError(f"payload over {self._max_body} bytes", status=413)
                    chunks.append(chunk)
        except TimeoutError:
            raise WebhookError("the payload did not arrive in time", status=408) from None
        return b"".join(chunks)

    def _authenticate(self, provider: Provider, request: web.Request, body: bytes) -> None:
        if self._secret is None:
            if not self._warned:
                log.warning("no webhook secret is configured: accepting unsigned webhooks")
                self._warned = True
            return
        if not verify(provider, request.headers, body, self._secret):
            raise WebhookError(f"{provider} webhook signature or token does not match", status=401)


def add_webhook_route(
    app: web.Application,
    *,
    on_push: PushHandler,
    secret: str | None,
    path: str = WEBHOOK_PATH,
    max_body: int = MAX_BODY_BYTES,
) -> WebhookReceiver:
    """Register ``POST path`` on ``app``; returns the receiver."""
    receiver = WebhookReceiver(on_push=on_push, secret=secret, max_body=max_body)
    app.router.add_post(path, receiver.handle)
    return receiver
