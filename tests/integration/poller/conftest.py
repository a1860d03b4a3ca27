"""A git daemon on loopback for the poller and webhook tests (helpers from ../git)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.source import GitSource
from tests.integration.git.git_remotes import Daemon, Upstream, free_port, git_env, wait_for_port

_counter = itertools.count()


@pytest.fixture(scope="session")
def poll_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A git daemon serving (and accepting pushes to) repositories under its base path."""
    base = tmp_path_factory.mktemp("poll-daemon")
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
def demo_repo(poll_daemon: Daemon, tmp_path: Path) -> Upstream:
    """A fresh repository shaped like the demo: base/ and overlays/dev, overlays/prod."""
    name = f"poll{next(_counter)}"
    env = git_env(tmp_path)
    bare = poll_daemon.base / f"{name}.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], env=env,
                   check=True)  # fmt: skip
    work = tmp_path / f"work-{name}"
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(work)], env=env, check=True)
    repo = Upstream(name, bare, work, poll_daemon.port, env)
    repo.commit({"base/deploy.yaml": "kind: Deployment\n",
                 "overlays/dev/kustomization.yaml": "resources: [../../base]\n",
                 "overlays/prod/kustomization.yaml": "resources: [../../base]\n"})  # fmt: skip
    repo.push("main")
    return repo


@pytest.fixture
def git_source(tmp_path: Path) -> GitSource:
    """A GitSource with short timeouts under the test's temporary directory."""
    return GitSource(tmp_path / "cache", network_timeout=10, local_timeout=10, freshness=5)
