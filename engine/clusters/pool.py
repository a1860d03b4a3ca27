"""One ``ClusterClient`` per registered cluster, rebuilt when its registration changes.

Clients are made on first use. ``update(change)`` (fed by ``ClusterRegistry.watch``) closes
the clients of changed and removed clusters so the next use connects with the new
credentials; syncs already holding the old client finish with it.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from engine.clusters.client import DEFAULT_TIMEOUT, USER_AGENT, ClusterClient
from engine.clusters.registry import ClusterRegistry, RegistryChange


class ClusterPool:
    """Async clients of the clusters of one registry; use as ``async with``."""

    def __init__(self, registry: ClusterRegistry, *, timeout: float = DEFAULT_TIMEOUT,
                 user_agent: str = USER_AGENT) -> None:  # fmt: skip
        self.registry, self.timeout, self.user_agent = registry, timeout, user_agent
        self._clients: dict[str, ClusterClient] = {}
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> ClusterPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def client(self, name: str) -> ClusterClient:
        """The client of cluster ``name`` (``ConfigError`` when it is not registered)."""
        async with self._lock:
            existing = self._clients.get(name)
            if existing is not None:
                return existing
            spec = self.registry.get(name)
            made = await ClusterClient.connect(
                spec=spec, request_timeout=self.timeout, user_agent=self.user_agent
            )
            self._clients[name] = made
            return made

    async def update(self, change: RegistryChange) -> None:
        """Drop the clients of clusters whose registration changed or went away."""
        async with self._lock:
            stale = [
                self._clients.pop(n) for n in change.changed | change.removed if n in self._clients
            ]
        for old in stale:
            await old.close()

    async def close(self) -> None:
        """Close every client."""
        async with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for made in clients:
            await made.close()
