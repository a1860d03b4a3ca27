"""Kubernetes API errors, mapped once from the HTTP status to the classes below
``ClusterError`` in ``engine.errors`` (``ApiError``: ``NotFound``, ``Conflict``,
``Forbidden``, ``Unprocessable``, ``TooManyRequests``, ``ServerError``).

Each carries the cluster name, the request line and the ``message`` of the Kubernetes
Status (for a 409 from server-side apply, the message names the conflicting manager);
never a header, token or certificate.
"""

from __future__ import annotations

from typing import Any

import orjson

from engine.errors import (
    ApiError,
    ClusterError,
    ClusterUnreachable,
    Conflict,
    Forbidden,
    InvalidApiPath,
    NotFound,
    ServerError,
    TooManyRequests,
    Unprocessable,
)

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


__all__ = ["ApiError", "ClusterError", "ClusterUnreachable", "Conflict", "Forbidden",
           "InvalidApiPath", "NotFound", "ServerError", "TooManyRequests", "Unprocessable",
           "api_error"]
