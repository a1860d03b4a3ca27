"""Fixtures of the hub tests: a git daemon on loopback serving repositories to change."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.integration.git.git_remotes import Daemon, free_port, git_env, wait_for_port


@pytest.fixture(scope="session")
def hub_git_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A git daemon on loopback serving every repository under its base directory."""
    base = tmp_path_factory.mktemp("hub-git")
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
        env=git_env(base), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield Daemon(base, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
