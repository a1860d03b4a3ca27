"""The API's request and response shapes: JSON bodies in, JSON (or ``{"error"}``) out."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web

from engine.errors import InvalidRequest

T = TypeVar("T")


def json_response(body: Any, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    """A JSON response written by orjson."""
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json",
                        headers=headers)  # fmt: skip


def error_response(message: str, *, status: int) -> web.Response:
    """The API's error shape: ``{"error": message}``."""
    return json_response({"error": message}, status=status)


async def read_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` when empty); ``InvalidRequest`` otherwise."""
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="request bodies must be application/json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def body_field(body: dict[str, Any], name: str, kind: type[T]) -> T | None:
    """``body[name]`` when absent or of type ``kind``; ``InvalidRequest`` otherwise."""
    value = body.get(name)
    # bool is an int in Python; an id of true is a mistake, not 1.
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise InvalidRequest(f"{name} must be a {kind.__name__ if kind is not str else 'string'}")


def int_query(request: web.Request, name: str) -> int | None:
    """Query parameter ``name`` as a positive integer, or None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidRequest(f"{name} must be a positive integer")
    return int(raw)
