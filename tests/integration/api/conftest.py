"""The API under test: the real aiohttp server on loopback over a real, opened hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.server import create_app
from engine.hub.hub import Hub
from tests.integration.api.hub import open_hub
from tests.support.auth import admin_token, bearer


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async with open_hub(tmp_path / "hub") as hub:
        yield hub


@pytest.fixture
def ids(hub: Hub) -> dict[str, int]:
    """History entry ids of the seeded syncs, by label (dev1, dev2, prod1, fleet1)."""
    return hub.ids  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(hub.control, auth=hub.auth)
    headers = bearer(await admin_token(hub))
    async with TestClient(TestServer(app, host="127.0.0.1"), headers=headers) as client:
        yield client
