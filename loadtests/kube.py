"""A bare async Kubernetes client for the load tests: aiohttp over the kubeconfig's TLS.

Deliberately not the hub's client: the floor must be the cost of the API calls alone (no
discovery, rate limiter, retries or object model), and the observers must not share code
with what they observe. It knows the paths of the few kinds the generated fleet holds.
Also here: the kube-apiserver's own ``apiserver_request_total`` counter, read from its
``/metrics`` with the admin client certificate.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
TIMEOUT = aiohttp.ClientTimeout(total=60)

# (apiVersion, kind) → (path prefix, plural, namespaced)
RESOURCES = {
    ("v1", "Namespace"): ("api/v1", "namespaces", False),
    ("v1", "ConfigMap"): ("api/v1", "configmaps", True),
    ("v1", "Service"): ("api/v1", "services", True),
    ("apps/v1", "Deployment"): ("apis/apps/v1", "deployments", True),
}


class KubeError(RuntimeError):
    """An API call answered with an unexpected status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message[:300]}")
        self.status = status


def kind_path(api_version: str, kind: str, namespace: str = "") -> str:
    """The collection path of a kind (in ``namespace`` when namespaced and given)."""
    prefix, plural, namespaced = RESOURCES[(api_version, kind)]
    if namespaced and namespace:
        return f"/{prefix}/namespaces/{namespace}/{plural}"
    return f"/{prefix}/{plural}"


def object_path(obj: dict[str, Any]) -> str:
    """The path of one object of a known kind."""
    meta = obj["metadata"]
    collection = kind_path(obj["apiVersion"], obj["kind"], meta.get("namespace", ""))
    return f"{collection}/{meta['name']}"


def ssl_context(kubeconfig: Path) -> tuple[str, ssl.SSLContext]:
    """The server URL and a TLS context (cluster CA, admin client certificate) of the
    kubeconfig's first cluster and user."""
    doc = yaml.safe_load(kubeconfig.read_text())
    cluster, user = doc["clusters"][0]["cluster"], doc["users"][0]["user"]
    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    # ssl loads a client certificate only from files: write them to a private directory
    # for the duration of the call.
    with tempfile.TemporaryDirectory(prefix="fleet-bench-tls-") as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        for path, field in ((cert, "client-certificate-data"), (key, "client-key-data")):
            path.write_bytes(base64.b64decode(user[field]))
            os.chmod(path, 0o600)
        context.load_cert_chain(cert, key)
    return str(cluster["server"]), context


class Kube:
    """One cluster: raw REST calls over a pooled aiohttp session."""

    def __init__(self, name: str, kubeconfig: Path, *, connections: int = 64) -> None:
        self.name = name
        self.server, context = ssl_context(kubeconfig)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=connections), timeout=TIMEOUT)

    async def close(self) -> None:
        """Close the session and its connections."""
        await self._session.close()

    async def request(
        self, method: str, path: str, *, query: dict[str, str] | None = None,
        body: Any = None, content_type: str = "application/json", ok: Iterable[int] = (),
    ) -> Any:
        """One call; the decoded JSON answer (None for a status listed in ``ok``)."""
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self._session.request(method, self.server + path, params=query,
                                         data=data, headers=headers) as response:
            payload = await response.read()
            if response.status in ok:
                return None
            if response.status >= 300:
                raise KubeError(response.status, payload.decode(errors="replace"))
            return orjson.loads(payload) if payload else None

    async def apply(self, obj: dict[str, Any], *, manager: str, dry_run: bool = False) -> None:
        """Server-side apply ``obj`` (force) as field manager ``manager``."""
        query = {"fieldManager": manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        await self.request("PATCH", object_path(obj), query=query, body=obj,
                           content_type=APPLY_PATCH)

    async def merge_patch(self, path: str, patch: dict[str, Any], *, manager: str) -> Any:
        """A JSON merge patch of the object (or subresource) at ``path``."""
        return await self.request("PATCH", path, query={"fieldManager": manager}, body=patch,
                                  content_type=MERGE_PATCH)

    async def delete(self, path: str) -> None:
        """Delete the object at ``path`` (absent is fine)."""
        await self.request("DELETE", path, ok=(404,))

    async def list(self, path: str, *, selector: str = "") -> tuple[list[dict[str, Any]], str]:
        """The items at a collection path and the list's resourceVersion."""
        query = {"labelSelector": selector} if selector else None
        found = await self.request("GET", path, query=query)
        return list(found.get("items") or []), str(found["metadata"]["resourceVersion"])

    async def watch(
        self, path: str, *, selector: str, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        """The events of a watch from ``resource_version`` until the server ends it."""
        query = {"watch": "1", "labelSelector": selector, "resourceVersion": resource_version,
                 "allowWatchBookmarks": "true", "timeoutSeconds": "600"}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with self._session.get(self.server + path, params=query,
                                     timeout=timeout) as response:
            if response.status >= 300:
                raise KubeError(response.status, (await response.read()).decode())
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield orjson.loads(line)

    async def text(self, path: str) -> str:
        """A plain-text endpoint (``/metrics``)."""
        async with self._session.get(self.server + path) as response:
            if response.status >= 300:
                raise KubeError(response.status, (await response.read()).decode())
            return await response.text()


@contextlib.asynccontextmanager
async def connect(
    kubeconfigs: dict[str, Path], *, connections: int = 64
) -> AsyncIterator[dict[str, Kube]]:
    """A ``Kube`` per cluster name, closed on the way out."""
    kubes = {name: Kube(name, path, connections=connections)
             for name, path in kubeconfigs.items()}
    try:
        yield kubes
    finally:
        await asyncio.gather(*(k.close() for k in kubes.values()))


# ------------------------------------------------------------------ apiserver_request_total
RequestKey = tuple[str, str, str, str]  # verb, dry_run, resource, subresource


def parse_request_totals(text: str) -> Counter[RequestKey]:
    """``apiserver_request_total`` of a kube-apiserver's /metrics, summed over the labels
    other than verb, dry_run, resource and subresource."""
    totals: Counter[RequestKey] = Counter()
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        series, _, value = line.rpartition(" ")
        labels = dict(_labels(series[len("apiserver_request_total{"):-1]))
        key = (labels.get("verb", ""), labels.get("dry_run", ""),
               labels.get("resource", ""), labels.get("subresource", ""))
        totals[key] += int(float(value))
    return totals


def _labels(text: str) -> Iterable[tuple[str, str]]:
    """The ``name="value"`` pairs of a Prometheus label set (values hold no quotes here)."""
    for part in text.split('",'):
        name, _, value = part.partition('="')
        if name:
            yield name.strip(), value.rstrip('"')


async def request_totals(kubes: dict[str, Kube]) -> Counter[RequestKey]:
    """``apiserver_request_total`` summed over every reachable cluster's API server."""
    totals: Counter[RequestKey] = Counter()
    for kube in kubes.values():
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            totals.update(parse_request_totals(await kube.text("/metrics")))
    return totals


def by_verb(delta: Counter[RequestKey]) -> dict[str, int]:
    """Requests by verb, dry runs apart (``PATCH (dry run)``)."""
    verbs: Counter[str] = Counter()
    for (verb, dry_run, _resource, _sub), count in delta.items():
        verbs[f"{verb} (dry run)" if dry_run else verb] += count
    return dict(sorted(verbs.items()))


def by_resource(delta: Counter[RequestKey]) -> dict[str, int]:
    """Requests by ``VERB resource[/subresource]``, dry runs apart."""
    found: Counter[str] = Counter()
    for (verb, dry_run, resource, sub), count in delta.items():
        what = f"{resource}/{sub}" if sub else resource or "(none)"
        found[f"{verb}{' (dry run)' if dry_run else ''} {what}"] += count
    return dict(sorted(found.items()))


def difference(after: Counter[RequestKey], before: Counter[RequestKey]) -> Counter[RequestKey]:
    """``after`` minus ``before``, keeping only positive counts."""
    delta = Counter(after)
    delta.subtract(before)
    return Counter({k: v for k, v in delta.items() if v > 0})
