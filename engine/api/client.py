"""A small async client of the hub's REST API, used by ``fleetsync app``.

    async with HubClient("http://127.0.0.1:8080", token=token, timeout=10) as hub:
        apps = await hub.get("/apps")
        queued = await hub.post("/apps/demo-dev/sync", {"cluster": "dev"})

Errors: ``HubUnreachable`` (no connection, or no answer within the timeout; temporary)
and ``HubError`` (the hub answered with an error status; carries it and the hub's
message). Both are ``FleetsyncError``s (``engine.errors``), so the CLI prints them as one
line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from engine.api.protocol import API, DEFAULT_SERVER, DEFAULT_TIMEOUT, default_server
from engine.errors import HubError, HubUnreachable

Params = Mapping[str, str] | Sequence[tuple[str, str]]  # query parameters

__all__ = ["DEFAULT_SERVER", "DEFAULT_TIMEOUT", "HubClient", "HubError", "HubUnreachable",
           "default_server"]


class HubClient:
    """JSON requests to one hub's ``/api/v1``, each bounded by ``timeout`` seconds."""

    def __init__(self, server: str, *, token: str | None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:  # fmt: skip
        self.server = server.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout), headers=headers)

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._session.close()

    async def get(self, path: str, *, params: Params | None = None) -> Any:
        """``GET /api/v1<path>``; the decoded JSON body (``params`` may repeat a name as
        pairs)."""
        return await self._request("GET", path, params=params)

    async def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
    ) -> Any:
        """``POST /api/v1<path>`` with a JSON body; the decoded JSON answer."""
        return await self._request("POST", path, params=params, body=body)

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        """``PUT /api/v1<path>`` with a JSON body; the decoded JSON answer."""
        return await self._request("PUT", path, params=None, body=body)

    async def delete(self, path: str, *, params: dict[str, str] | None = None) -> Any:
        """``DELETE /api/v1<path>``; the decoded JSON answer."""
        return await self._request("DELETE", path, params=params)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        url = f"{self.server}{API}{path}"
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self._session.request(
                method, url, params=params, data=data, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise HubUnreachable(f"the hub at {self.server} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise HubUnreachable(
                f"cannot reach the hub at {self.server} ({exc}); is `fleetsync serve` "
                "running, and is --server or $FLEETSYNC_SERVER right?"
            ) from None
        return _decode(raw, status=status, url=url)


def _decode(raw: bytes, *, status: int, url: str) -> Any:
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    if status >= 400:
        message = body.get("error") if isinstance(body, dict) else None
        raise HubError(f"{message or f'HTTP {status}'} ({status})", status=status)
    if body is None:
        raise HubError(
            f"{url} answered {status} without JSON; is it a fleetsync hub?", status=status
        )
    return body
