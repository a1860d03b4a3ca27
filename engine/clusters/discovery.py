"""API discovery cached per cluster: (apiVersion, kind) → plural, scope and verbs.

Every path is built from escaped segments and an apiVersion that Kubernetes accepts
(``engine.names``), so that no value from Git can address another path.

Discovery is read lazily, one group version at a time (``/api/v1``, ``/apis/G/V``), so a
sync that touches three kinds costs three requests once per cluster. A kind missing from
a cached list is looked up again (at most once a second per group version): that is how
a CustomResourceDefinition created by the same sync becomes usable without a restart.
Concurrent lookups in one group version share one request (``engine.asyncflight``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine import names
from engine.asyncflight import AsyncSingleFlight
from engine.errors import InvalidApiPath, NotFound

Fetch = Callable[[str], Awaitable[Any]]
REFRESH_AFTER = 1.0


@dataclass(frozen=True)
class ApiResource:
    """One kind served by a cluster."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def api_version(self) -> str:
        """``group/version``, or ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str = "", name: str = "") -> str:
        """The REST path of the collection or of one object, every segment escaped.

        ``InvalidApiPath`` for a value that no escaping makes safe (``.``, ``..``, a bad group).
        """
        segments = [self.plural]
        if self.namespaced and namespace:
            segments = ["namespaces", namespace, *segments]
        return group_version_path(self.api_version) + _join([*segments, *([name] if name else [])])


def group_version_path(api_version: str) -> str:
    """``/api/v1`` or ``/apis/G/V`` for an apiVersion Kubernetes accepts (else
    ``InvalidApiPath``)."""
    problem = names.api_version_problem(api_version)
    if problem is not None:
        raise InvalidApiPath(f"apiVersion {problem}")
    group, version = split_api_version(api_version)
    return _join(["apis", group, version] if group else ["api", version])


def _join(segments: list[str]) -> str:
    try:
        return "".join("/" + names.path_segment(s) for s in segments)
    except ValueError as err:
        raise InvalidApiPath(str(err)) from None


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → (``apps``, ``v1``); ``v1`` → (``""``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def parse_resource_list(document: dict[str, Any]) -> dict[str, ApiResource]:
    """The kinds (not subresources) of an ``APIResourceList``, by kind."""
    group, version = split_api_version(str(document.get("groupVersion") or ""))
    kinds: dict[str, ApiResource] = {}
    for item in document.get("resources") or []:
        name = str(item.get("name") or "")
        if not name or "/" in name:
            continue
        kind = str(item.get("kind") or "")
        kinds.setdefault(
            kind,
            ApiResource(
                group=group,
                version=version,
                kind=kind,
                plural=name,
                namespaced=bool(item.get("namespaced")),
                verbs=frozenset(item.get("verbs") or ()),
            ),
        )
    return kinds


class Discovery:
    """The discovery cache of one cluster; ``fetch(path)`` does the GET."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._lists: dict[str, tuple[float, dict[str, ApiResource]]] = {}
        self._preferred: dict[str, str] = {}
        self._loads: AsyncSingleFlight[str, dict[str, ApiResource]] = AsyncSingleFlight()

    async def lookup(self, *, api_version: str, kind: str) -> ApiResource | None:
        """The resource serving ``kind`` at ``api_version``, or None if the cluster has none."""
        cached = self._lists.get(api_version)
        if cached is not None and kind in cached[1]:
            return cached[1][kind]
        if cached is not None and time.monotonic() - cached[0] < REFRESH_AFTER:
            return None
        kinds = await self._load(api_version)
        return kinds.get(kind)

    async def preferred_version(self, group: str) -> str | None:
        """The preferred version of ``group`` (``v1`` for core), None if not served."""
        if not group:
            return "v1"
        if group not in self._preferred:
            if names.api_version_problem(f"{group}/v1") is not None:
                raise InvalidApiPath(f"API group {group[:64]!r} is not a DNS-1123 subdomain")
            try:
                doc = await self._fetch(_join(["apis", group]))
            except NotFound:
                return None
            version = (doc.get("preferredVersion") or {}).get("version")
            if not version:
                return None
            self._preferred[group] = str(version)
        return self._preferred[group]

    async def lookup_group_kind(
        self, *, group: str, kind: str, version: str = ""
    ) -> ApiResource | None:
        """The resource of a group and kind, at ``version`` or the group's preferred one."""
        version = version or await self.preferred_version(group) or ""
        if not version:
            return None
        api_version = f"{group}/{version}" if group else version
        return await self.lookup(api_version=api_version, kind=kind)

    def invalidate(self, api_version: str | None = None) -> None:
        """Forget one group version (or everything) so the next lookup reads it again."""
        if api_version is None:
            self._lists.clear()
            self._preferred.clear()
        else:
            self._lists.pop(api_version, None)
            self._preferred.pop(split_api_version(api_version)[0], None)

    async def _load(self, api_version: str) -> dict[str, ApiResource]:
        path = group_version_path(api_version)
        kinds, _ = await self._loads.do(api_version, lambda: self._read(api_version, path))
        return kinds

    async def _read(self, api_version: str, path: str) -> dict[str, ApiResource]:
        try:
            kinds = parse_resource_list(await self._fetch(path))
        except NotFound:
            kinds = {}
        self._lists[api_version] = (time.monotonic(), kinds)
        return kinds
