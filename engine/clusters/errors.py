"""Kubernetes API errors, mapped once from the HTTP status to a small class tree.

    ClusterError (engine.errors)
    ├── Unreachable          no answer: connection refused, TLS failure, timeout
    └── ApiError             the API server answered with an error Status
        ├── NotFound         404
        ├── Conflict         409 (also SSA field conflicts: ``message`` names the manager)
        ├── Forbidden        401, 403
        ├── Unprocessable    400, 422 (invalid object)
        ├── TooManyRequests  429
        └── ServerError      5xx

Each carries the cluster name, the request line and the ``message`` of the Kubernetes
Status; never a header, token or certificate. ``temporary`` tells retry from report.
"""

from __future__ import annotations

from typing import Any

import orjson

from engine.errors import ClusterError


class Unreachable(ClusterError):
    """The cluster did not answer (connection, TLS or timeout)."""

    temporary = True


class ApiError(ClusterError):
    """The API server answered with an error ``Status``."""

    temporary = False

    def __init__(
        self,
        *,
        cluster: str,
        request: str,
        status: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{cluster}: {request}: {status} {reason}: {message}")
        self.cluster, self.request, self.status = cluster, request, status
        self.reason, self.message = reason, message
        self.details = details or {}


class NotFound(ApiError):
    """404: the object, or its kind, does not exist."""


class Conflict(ApiError):
    """409: already exists, stale resourceVersion, or an SSA field conflict."""


class Forbidden(ApiError):
    """401/403: the credentials may not do this."""


class Unprocessable(ApiError):
    """400/422: the API server rejected the object as invalid."""


class TooManyRequests(ApiError):
    """429: throttled by the API server."""

    temporary = True


class ServerError(ApiError):
    """5xx: the API server failed."""

    temporary = True


_BY_STATUS: dict[int, type[ApiError]] = {
    400: Unprocessable,
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    429: TooManyRequests,
}


def api_error(*, cluster: str, request: str, status: int, body: bytes) -> ApiError:
    """The error for an HTTP ``status`` and a (possibly non-Status) response ``body``."""
    payload: dict[str, Any] = {}
    try:
        decoded = orjson.loads(body) if body else {}
        if isinstance(decoded, dict):
            payload = decoded
    except orjson.JSONDecodeError:
        pass
    message = str(payload.get("message") or body[:200].decode(errors="replace").strip())
    reason = str(payload.get("reason") or "")
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    details = payload.get("details")
    return cls(
        cluster=cluster,
        request=request,
        status=status,
        reason=reason,
        message=message,
        details=details if isinstance(details, dict) else None,
    )
