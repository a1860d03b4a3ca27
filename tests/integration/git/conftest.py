"""Real Git remotes on loopback for the source tests: git daemon, smart HTTP with Basic auth.

``git_daemon`` (session) serves every bare repository under its base path over git:// and
accepts pushes; ``http_git`` (session) serves the same repositories over smart HTTP through
``git http-backend`` and demands a user name and token. ``upstream`` makes a fresh bare
repository plus a working clone to commit and push from.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from git_remotes import (
    BackendHandler,
    Daemon,
    HttpGit,
    Upstream,
    free_port,
    git_env,
    wait_for_port,
)

from engine.source import GitSource

_counter = itertools.count()


@pytest.fixture(scope="session")
def git_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A git daemon on loopback serving (and accepting pushes to) repositories under base."""
    base = tmp_path_factory.mktemp("daemon")
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
        env=git_env(base), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port)
        yield Daemon(base, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def upstream(git_daemon: Daemon, tmp_path: Path) -> Upstream:
    """A fresh repository with one commit on ``main`` (``base/`` and ``overlays/dev/``)."""
    name = f"repo{next(_counter)}"
    env = git_env(tmp_path)
    bare = git_daemon.base / f"{name}.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], env=env,
                   check=True)  # fmt: skip
    work = tmp_path / "work"
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(work)], env=env, check=True)
    repo = Upstream(name, bare, work, git_daemon.port, env)
    repo.commit({"base/deploy.yaml": "kind: Deployment\n", "overlays/dev/k.yaml": "dev: 1\n"})
    repo.push("main")
    return repo


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    """A GitSource with short timeouts, caching under the test's temporary directory."""
    return GitSource(tmp_path / "cache", network_timeout=10, local_timeout=10, freshness=5)


@pytest.fixture(scope="session")
def http_git(git_daemon: Daemon) -> Iterator[HttpGit]:
    """Smart HTTP (git http-backend) over the daemon's repositories, behind Basic auth."""
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
