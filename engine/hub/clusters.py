"""The registered clusters as the hub last saw them: name, API server URL, labels.

The config follower refreshes it after each change of ``clusters.yaml`` (``refresh``); the
reconciler reads a cluster's labels and server for policy and targeting (``info``); the
controller shows it (``views``). The mapping is replaced, never refilled in place, so a
reader never sees half of a refresh.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.api.views import ClusterView
from engine.apps import ClusterInfo
from engine.clusters import ClusterPool, ClusterRegistry
from engine.errors import FleetsyncError


class ClusterDirectory:
    """Each registered cluster's ``ClusterInfo``, and why a client could not be made."""

    def __init__(self) -> None:
        self._infos: Mapping[str, ClusterInfo] = {}
        self._errors: Mapping[str, str] = {}

    @property
    def infos(self) -> Mapping[str, ClusterInfo]:
        """Every registered cluster by name, in registration order."""
        return self._infos

    def info(self, name: str) -> ClusterInfo:
        """The cluster called ``name`` (with no server or labels if it is not registered)."""
        return self._infos.get(name) or ClusterInfo(name)

    def update(self, infos: Mapping[str, ClusterInfo], errors: Mapping[str, str]) -> None:
        """Replace what is known: the clusters and the errors of those without a client."""
        self._infos, self._errors = dict(infos), dict(errors)

    async def refresh(self, registry: ClusterRegistry, pool: ClusterPool) -> None:
        """Read every registered cluster's server from its client (made now if needed)."""
        infos: dict[str, ClusterInfo] = {}
        errors: dict[str, str] = {}
        for name, spec in registry.clusters.items():
            try:
                server = (await pool.client(name)).server
            except FleetsyncError as err:
                server, errors[name] = "", str(err)
            infos[name] = ClusterInfo(name, server, dict(spec.labels))
        self.update(infos, errors)

    def views(self, unreachable: Mapping[str, str]) -> list[ClusterView]:
        """Every cluster as the API shows it, sorted by name; ``unreachable`` says which
        clusters the last reconciles could not reach, and why."""
        down = {**unreachable, **self._errors}
        return [
            ClusterView(name=i.name, server=i.server, labels=dict(i.labels),
                        reachable=name not in down, last_error=down.get(name, ""))
            for name, i in sorted(self._infos.items())
        ]
