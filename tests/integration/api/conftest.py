"""The API under test: the real aiohttp server on loopback over ``StoreHub`` and a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.server import create_app
from engine.store import Store
from tests.integration.api.hub import StoreHub, seed


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        yield store


@pytest.fixture
async def ids(store: Store) -> dict[str, int]:
    """History entry ids of the seeded syncs, by label (dev1, dev2, prod1, fleet1)."""
    return await seed(store)


@pytest.fixture
def hub(store: Store, ids: dict[str, int]) -> StoreHub:
    return StoreHub(store)


@pytest.fixture
async def client(hub: StoreHub) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(create_app(hub), host="127.0.0.1")) as client:
        yield client
