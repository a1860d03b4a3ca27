"""Real Git remotes on loopback for the source tests: git daemon, smart HTTP with Basic auth.

``git_daemon`` (session, from ../conftest.py) serves every bare repository under its base
path over git:// and accepts pushes; ``http_git`` (session, from ../conftest.py too) serves
the same repositories over smart HTTP through ``git http-backend`` and demands a user name
and token.
``upstream`` makes a fresh bare repository plus a working clone to commit and push from.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from engine.source import GitSource
from tests.support.git_remotes import Daemon, Upstream, new_upstream

_counter = itertools.count()


@pytest.fixture
def upstream(git_daemon: Daemon, tmp_path: Path) -> Upstream:
    """A fresh repository with one commit on ``main`` (``base/`` and ``overlays/dev/``)."""
    files: dict[str, str | None] = {"base/deploy.yaml": "kind: Deployment\n",
                                    "overlays/dev/k.yaml": "dev: 1\n"}
    return new_upstream(git_daemon, tmp_path, f"repo{next(_counter)}", files)


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    """A GitSource with short timeouts, caching under the test's temporary directory."""
    return GitSource(tmp_path / "cache", network_timeout=10, local_timeout=10, freshness=5)


@pytest.fixture
def local_source(tmp_path: Path) -> GitSource:
    """A GitSource that may read local repositories (file:// URLs and paths)."""
    return GitSource(tmp_path / "local-cache", network_timeout=10, local_timeout=10,
                     allow_local=True)  # fmt: skip
