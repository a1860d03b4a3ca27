"""One cluster's async client: a kubernetes_asyncio ``ApiClient`` behind generic REST calls.

Every call goes through ``request``: rate-limited to the cluster's ``qps``, bounded by a
timeout, its body decoded with orjson, and its failures mapped once to the classes of
``engine.clusters.errors``. Objects are plain dicts addressed by apiVersion and kind
through the per-cluster discovery cache; server-side apply uses the field manager
``fleetsync``. Nothing here logs or formats a credential.

A write (any method but GET, and not a dry run) first asks the ``WRITE_GUARD`` of the task
sending it: a hub replica sets one around each reconcile, so a replica that lost the
target's shard while its requests waited (stopped, cut off) sends none of them
(``engine.hub.ownership``). The guard runs before the rate limiter, again after it, and
once more with a pooled connection in hand, just before the request is written.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from aiohttp.connector import Connection

from engine.clusters.discovery import ApiResource, Discovery
from engine.clusters.errors import api_error
from engine.clusters.k8slib import ApiClient, ConfigException, Configuration, load_kube_config
from engine.config.clusters import ClusterSpec, KubeconfigAuth, ServerAuth
from engine.errors import ClusterUnreachable, ConfigError
from engine.model import FIELD_MANAGER

DEFAULT_TIMEOUT = 30.0
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
READ_BUFSIZE = 2**21  # kubernetes_asyncio's: a watch event may carry a large object
USER_AGENT = "fleetsync"
# Raises (a ``FleetsyncError``) when the task setting it may no longer write to clusters.
WRITE_GUARD: ContextVar[Callable[[], None] | None] = ContextVar("write_guard", default=None)
# The guard of the write this task is sending (None for a read or a dry run), for
# ``_GuardedRequest``.
_SENDING: ContextVar[Callable[[], None] | None] = ContextVar("sending", default=None)


class _GuardedRequest(aiohttp.ClientRequest):
    """Asks the write's guard once more with the connection in hand, just before the
    request is written: a write that waited for a pooled connection (the watches hold
    some), or whose process was stopped meanwhile, is not sent once its task may no
    longer write (the connection is closed, not reused)."""

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        guard = _SENDING.get()
        if guard is not None:
            guard()
        return await super().send(conn)


class RateLimiter:
    """A token bucket: ``qps`` requests a second on average, bursts of ``burst``."""

    def __init__(self, *, qps: float, burst: int) -> None:
        self._qps, self._burst = qps, float(burst)
        self._tokens, self._stamp = float(burst), time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one request may be sent."""
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._qps)
            self._stamp = now
            if self._tokens < 1.0:
                await asyncio.sleep((1.0 - self._tokens) / self._qps)
                self._tokens, self._stamp = 1.0, time.monotonic()
            self._tokens -= 1.0


def _encoded(api: ApiClient, body: Any) -> bytes:
    """``body`` as JSON: by orjson, or as kubernetes_asyncio encodes it when orjson cannot
    (an integer beyond 64 bits, a key that is not a string)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(api.sanitize_for_serialization(body)).encode()


def _environment_proxy(server: str) -> str | None:
    """The proxy the environment names for ``server`` (``HTTPS_PROXY``, less ``NO_PROXY``),
    read once when the client is made."""
    parts = urllib.parse.urlsplit(server)
    host = parts.hostname or ""
    if not host or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme or "https")


def _stop_environment_lookups(api: ApiClient) -> None:
    """kubernetes_asyncio's session trusts the environment, so aiohttp looks for
    ``~/.netrc`` and the proxy variables on every request (several % of a sync's CPU at
    fleet scale); the proxy was read once in ``connect``, the session's connector moves
    to a session that does not look again."""
    rest = api.rest_client
    old = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(connector=old.connector, trust_env=False,
                                              read_bufsize=READ_BUFSIZE,
                                              request_class=_GuardedRequest)
    old.detach()


class ClusterClient:
    """Generic, discovery-backed REST access to one cluster; build with ``connect``."""

    def __init__(
        self,
        spec: ClusterSpec,
        api: ApiClient,
        *,
        timeout: float,
        scratch: tempfile.TemporaryDirectory[str] | None = None,
    ) -> None:
        self.spec, self.name, self.api, self.timeout = spec, spec.name, api, timeout
        self.discovery = Discovery(self.get_path)
        self.apply_slots = asyncio.Semaphore(spec.limits.concurrent_applies)
        self._limiter = RateLimiter(qps=spec.limits.qps, burst=max(10, int(spec.limits.qps)))
        self._scratch = scratch

    def __repr__(self) -> str:
        return f"ClusterClient({self.name!r}, server={self.server!r})"

    @property
    def server(self) -> str:
        """The API server URL."""
        return str(self.api.configuration.host)

    @classmethod
    async def connect(
        cls, *, spec: ClusterSpec, request_timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = USER_AGENT,
    ) -> ClusterClient:  # fmt: skip
        """A client for ``spec`` (reads credential files; no request is sent yet), sending
        ``user_agent`` (which the cluster's audit log records)."""
        cfg = Configuration()
        scratch = None
        if isinstance(spec.auth, KubeconfigAuth):
            await _load_kubeconfig(spec, spec.auth, cfg)
        else:
            scratch = _server_configuration(spec, spec.auth, cfg)
        cfg.connection_pool_maxsize = max(4, 2 * spec.limits.concurrent_applies)
        if not cfg.proxy:
            cfg.proxy = _environment_proxy(str(cfg.host))
        api = ApiClient(configuration=cfg)
        api.user_agent = user_agent
        _stop_environment_lookups(api)
        return cls(spec, api, timeout=request_timeout, scratch=scratch)

    async def close(self) -> None:
        """Close the connections (and delete any CA file written for ``caData``)."""
        await self.api.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    async def request(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        request_timeout: float | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body; raise mapped errors."""
        limit = request_timeout or self.timeout
        line = f"{method} {path}"
        guard = WRITE_GUARD.get()
        if method == "GET" or (query or {}).get("dryRun") == "All":
            guard = None
        if guard is not None:
            guard()  # a refused write spends no token
        await self._limiter.acquire()
        if guard is not None:
            guard()  # the wait may have been long
        sending = _SENDING.set(guard)
        try:
            async with asyncio.timeout(limit + 1.0):
                status, data = await self._send(method, path, query, body, content_type, limit)
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise ClusterUnreachable(f"{self.name}: {line}: {_why(err)} ({self.server})") from None
        finally:
            _SENDING.reset(sending)
        if not 200 <= status <= 299:
            raise api_error(cluster=self.name, request=line, status=status, body=data)
        return orjson.loads(data) if data else None

    async def _send(self, method: str, path: str, query: dict[str, str] | None, body: Any,
                    content_type: str, limit: float) -> tuple[int, bytes]:  # fmt: skip
        """One HTTP exchange on the ApiClient's session, with its headers and credentials
        (a refreshing token is asked for on each request, as its ``call_api`` does), the
        body encoded by orjson: ``call_api`` walks and re-encodes every body in Python
        (~0.1 ms for a small ConfigMap, more per Deployment, on each apply and dry run)."""
        api, rest = self.api, self.api.rest_client
        headers = {**api.default_headers, "Content-Type": content_type,
                   "Accept": "application/json"}
        for setting in (await api.configuration.auth_settings()).values():
            headers[setting["key"]] = setting["value"]  # kubernetes_asyncio's: headers only
        url = f"{api.configuration.host}{path}"
        if query:
            url = f"{url}?{urllib.parse.urlencode(query)}"
        extra: dict[str, Any] = {}
        if rest.proxy:
            extra.update(proxy=rest.proxy, proxy_headers=rest.proxy_headers)
        if rest.server_hostname:
            extra["server_hostname"] = rest.server_hostname
        data = None if body is None else _encoded(api, body)
        async with rest.pool_manager.request(
                method, url, data=data, headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit), **extra) as response:
            return response.status, await response.read()

    async def get_path(self, path: str) -> Any:
        """GET a raw API path (used by discovery)."""
        return await self.request(method="GET", path=path)

    async def resource(self, *, api_version: str, kind: str) -> ApiResource:
        """The served resource of a kind (``NotFound`` if the cluster does not serve it)."""
        found = await self.discovery.lookup(api_version=api_version, kind=kind)
        if found is None:
            raise api_error(
                cluster=self.name,
                request=f"discovery {api_version}",
                status=404,
                body=orjson.dumps({"message": f"no kind {kind} in {api_version}"}),
            )
        return found

    async def get(self, *, res: ApiResource, namespace: str, name: str) -> dict[str, Any]:
        """One live object."""
        result: dict[str, Any] = await self.request(
            method="GET", path=res.path(namespace=namespace, name=name)
        )
        return result

    async def list(
        self, *, res: ApiResource, namespace: str = "", label_selector: str = "", limit: int = 0
    ) -> list[dict[str, Any]]:
        """The objects of a kind (in one namespace when given), optionally by label; the
        first ``limit`` only when given (the API server's own paging, the rest unread)."""
        query = {"labelSelector": label_selector} if label_selector else {}
        if limit:
            query["limit"] = str(limit)
        result = await self.request(method="GET", path=res.path(namespace=namespace),
                                    query=query or None)
        items: list[dict[str, Any]] = result.get("items") or []
        return items

    async def apply(
        self, *, res: ApiResource, obj: dict[str, Any], force: bool, dry_run: bool = False
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` as field manager ``fleetsync``; return the result."""
        meta = obj.get("metadata") or {}
        query = {"fieldManager": FIELD_MANAGER, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        path = res.path(namespace=str(meta.get("namespace") or ""), name=str(meta["name"]))
        result: dict[str, Any] = await self.request(
            method="PATCH", path=path, query=query, body=obj, content_type=APPLY_PATCH
        )
        return result

    async def create(self, *, res: ApiResource, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (POST, field manager ``fleetsync``): the one way to create an
        object with a ``generateName``; return it as created (with its name)."""
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        result: dict[str, Any] = await self.request(
            method="POST", path=res.path(namespace=namespace),
            query={"fieldManager": FIELD_MANAGER}, body=obj)
        return result

    async def delete(
        self,
        *,
        res: ApiResource,
        namespace: str,
        name: str,
        propagation: str = "Background",
        uid: str | None = None,
    ) -> None:
        """Delete one object; ``uid`` makes it a precondition (never deletes a successor)."""
        body: dict[str, Any] = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": propagation,
        }
        if uid:
            body["preconditions"] = {"uid": uid}
        await self.request(
            method="DELETE", path=res.path(namespace=namespace, name=name), body=body
        )


async def _load_kubeconfig(spec: ClusterSpec, auth: KubeconfigAuth, cfg: Any) -> None:
    try:
        await load_kube_config(
            config_file=str(auth.path), context=auth.context, client_configuration=cfg
        )
    except (OSError, ConfigException) as err:
        # The message of ConfigException names contexts and files, never key material.
        problem = err.strerror if isinstance(err, OSError) else str(err)
        raise ConfigError(f"cluster {spec.name}: kubeconfig {auth.path}: {problem}") from None


def _server_configuration(
    spec: ClusterSpec, auth: ServerAuth, cfg: Any
) -> tempfile.TemporaryDirectory[str] | None:
    cfg.host = auth.server
    scratch = None
    if auth.ca_file is not None:
        cfg.ssl_ca_cert = str(auth.ca_file)
    elif auth.ca_data is not None:
        scratch = tempfile.TemporaryDirectory(prefix="fleetsync-ca-")
        ca_path = Path(scratch.name) / "ca.crt"
        try:
            ca_path.write_bytes(base64.b64decode(auth.ca_data, validate=True))
        except ValueError:
            scratch.cleanup()
            raise ConfigError(f"cluster {spec.name}: caData: not valid base64") from None
        cfg.ssl_ca_cert = str(ca_path)
    cfg.verify_ssl = not auth.insecure
    if auth.tls_server_name:
        cfg.tls_server_name = auth.tls_server_name
    if auth.cert_file is not None:
        cfg.cert_file, cfg.key_file = str(auth.cert_file), str(auth.key_file)
    token = _token(spec, auth)
    if token is not None:
        cfg.api_key = {"BearerToken": token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    if auth.token_file is not None:
        cfg.refresh_api_key_hook = _TokenFile(auth.token_file)
    return scratch


def spec_secrets(spec: ClusterSpec) -> tuple[str, ...]:
    """The secret strings of a cluster's credentials (bearer tokens, inline client keys),
    for redaction: never to be shown, only to be searched for and removed."""
    if isinstance(spec.auth, ServerAuth):
        token = _token(spec, spec.auth)
        return (token,) if token else ()
    try:
        document = yaml.safe_load(spec.auth.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()
    users = document.get("users") if isinstance(document, dict) else None
    found = []
    for entry in users if isinstance(users, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        for key in ("token", "client-key-data", "password"):
            value = user.get(key) if isinstance(user, dict) else None
            if isinstance(value, str) and value:
                found.append(value)
    return tuple(found)


def _token(spec: ClusterSpec, auth: ServerAuth) -> str | None:
    if auth.token is not None:
        return auth.token
    if auth.token_env is not None:
        value = os.environ.get(auth.token_env)
        if not value:
            raise ConfigError(f"cluster {spec.name}: tokenEnv: ${auth.token_env} is not set")
        return value.strip()
    if auth.token_file is not None:
        try:
            return auth.token_file.read_text().strip()
        except OSError as err:
            raise ConfigError(
                f"cluster {spec.name}: tokenFile {auth.token_file}: {err.strerror}"
            ) from None
    return None


class _TokenFile:
    """Re-reads a rotated token file (projected service account tokens) when it changes."""

    def __init__(self, path: Path) -> None:
        self._path, self._stamp = path, 0

    def __call__(self, cfg: Any) -> None:
        try:
            stamp = self._path.stat().st_mtime_ns
            if stamp != self._stamp:
                cfg.api_key["BearerToken"] = self._path.read_text().strip()
                self._stamp = stamp
        except OSError:
            pass  # keep the last token; the API server's 401 says what is wrong


def _why(err: BaseException) -> str:
    """A short reason a request did not get through (never a URL with credentials)."""
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(err, aiohttp.ClientConnectorError):
        reason = err.os_error.strerror or type(err.os_error).__name__
        return f"cannot connect: {reason.lower()}"
    return type(err).__name__
