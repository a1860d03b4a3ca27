"""The names the hub's REST API and its clients share (cheap to import: no HTTP library)."""

from __future__ import annotations

import os

API = "/api/v1"
SESSION_COOKIE = "fleetsync_session"
DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 10.0


def default_server() -> str:
    """``$FLEETSYNC_SERVER``, else the hub's default address on loopback."""
    return os.environ.get("FLEETSYNC_SERVER") or DEFAULT_SERVER
