"""Fixtures of the security tests against real servers: smart HTTP git behind Basic auth.

``git_daemon`` comes from ../conftest.py; ``http_git`` serves the same repositories over
smart HTTP (``git http-backend``) and demands the test user name and token.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.integration.git.git_remotes import BackendHandler, Daemon, HttpGit


@pytest.fixture(scope="session")
def http_git(git_daemon: Daemon) -> Iterator[HttpGit]:
    """Smart HTTP over the daemon's repositories, behind Basic auth (HTTP_USER/HTTP_TOKEN)."""
    handler = type("Handler", (BackendHandler,), {"base": git_daemon.base})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpGit(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
