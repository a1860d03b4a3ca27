"""Class 3 against real git: an app cannot read repositories on the hub's disk unless allowed.

The "other tenant" is a mirror the hub already filled from a git daemon; an Application
pointing at it by path or ``file://`` URL is refused before git runs, and git itself is
not allowed the file transport either. An operator who allows local repositories (the
demo, tests) can read them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from engine.errors import SourceError
from engine.source import GitSource, InvalidRepository
from tests.support.git_remotes import Daemon, Upstream, new_upstream

_counter = itertools.count()


@pytest.fixture
def tenant(git_daemon: Daemon, tmp_path: Path) -> Upstream:
    files: dict[str, str | None] = {"secret/values.yaml": "password: hunter2\n"}
    return new_upstream(git_daemon, tmp_path, f"tenant{next(_counter)}", files)


def addresses(path: Path) -> list[str]:
    return [str(path), path.as_uri(), f"file://{path}/", f"FILE://{path}"]


async def test_local_repos_refused_without_the_operator_allow(
    tenant: Upstream, tmp_path: Path
) -> None:
    hub = GitSource(tmp_path / "hub", network_timeout=10)
    await hub.refresh(repo=tenant.url)  # the tenant's app fills its mirror
    mirror = hub.mirror_path(tenant.url)
    for address in [*addresses(mirror), *addresses(tenant.bare)]:
        with pytest.raises(InvalidRepository, match=r"git\.allowLocalRepos: true") as info:
            await hub.resolve(repo=address, revision="main")
        assert not info.value.temporary
        assert not hub.mirror_path(address).exists()  # refused before any git process ran


async def test_local_repos_file_transport_is_not_given_to_git_without_the_allow(
    tenant: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with the address check gone, git's own protocol allow-list still refuses file://
    monkeypatch.setattr("engine.source.git.check_transport", lambda *a, **k: None)
    hub = GitSource(tmp_path / "hub", network_timeout=10)
    with pytest.raises(SourceError, match="transport 'file' not allowed"):
        await hub.resolve(repo=tenant.file_url, revision="main")


async def test_local_repos_readable_when_the_operator_allows_them(
    tenant: Upstream, tmp_path: Path
) -> None:
    hub = GitSource(tmp_path / "hub", network_timeout=10, allow_local=True)
    sha = tenant.git("rev-parse", "HEAD")
    assert await hub.resolve(repo=str(tenant.bare), revision="main") == sha
    files = await hub.read_files(repo=tenant.file_url, sha=sha)
    assert files["secret/values.yaml"].data == b"password: hunter2\n"
