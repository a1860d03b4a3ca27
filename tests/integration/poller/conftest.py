"""A git daemon on loopback for the poller and webhook tests (helpers from tests/support)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from engine.source import GitSource
from tests.support.git_remotes import Daemon, Upstream, new_upstream

_counter = itertools.count()


@pytest.fixture
def demo_repo(git_daemon: Daemon, tmp_path: Path) -> Upstream:
    """A fresh repository shaped like the demo: base/ and overlays/dev, overlays/prod."""
    files: dict[str, str | None] = {
        "base/deploy.yaml": "kind: Deployment\n",
        "overlays/dev/kustomization.yaml": "resources: [../../base]\n",
        "overlays/prod/kustomization.yaml": "resources: [../../base]\n",
    }
    return new_upstream(git_daemon, tmp_path, f"poll{next(_counter)}", files)

@pytest.fixture
def git_source(tmp_path: Path) -> GitSource:
    """A GitSource with short timeouts under the test's temporary directory."""
    return GitSource(tmp_path / "cache", network_timeout=10, local_timeout=10, freshness=5)
