"""Class 4 against a real smart HTTP server: a mirror is read only with the credential that
filled it.

App A writes its token in the repository URL; app B names the same repository without
one. B must not read A's mirror, A's commit trees or A's polls, and B's failure must not
lock A out. The token is in no directory name and no file of the cache.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import SourceError
from engine.hub.trees import TreeCache
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.source import AuthenticationFailed, GitSource
from engine.source.poller import GitPoller, Watch
from tests.support.git_remotes import (
    HTTP_TOKEN,
    HTTP_USER,
    Daemon,
    HttpGit,
    Upstream,
    new_upstream,
    serve_http,
)

_counter = itertools.count()


@pytest.fixture(scope="module")
def http(git_daemon: Daemon) -> Iterator[HttpGit]:
    with serve_http(git_daemon.base) as server:
        yield server


@pytest.fixture
def private(git_daemon: Daemon, tmp_path: Path) -> Upstream:
    files: dict[str, str | None] = {"prod/secret.yaml": "kind: Secret\n"}
    return new_upstream(git_daemon, tmp_path, f"private{next(_counter)}", files)


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache", network_timeout=10, local_timeout=10)


def urls(http: HttpGit, repo: Upstream) -> tuple[str, str]:
    """(A's URL with the token, B's URL of the same repository without credentials)."""
    plain = http.url(repo.name)
    return plain.replace("://", f"://{HTTP_USER}:{HTTP_TOKEN}@"), plain


def cache_contents(root: Path) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes() if p.is_file() else b"") for p in root.rglob("*")]


async def test_shared_mirror_credentials_anonymous_app_cannot_read_a_tokens_mirror(
    http: HttpGit, private: Upstream, source: GitSource, tmp_path: Path
) -> None:
    a_url, b_url = urls(http, private)
    trees = TreeCache(source, tmp_path / "trees")
    sha = await source.resolve(repo=a_url, revision="main")
    assert (await trees.tree(repo=a_url, sha=sha) / "prod/secret.yaml").is_file()

    with pytest.raises(AuthenticationFailed):
        await source.resolve(repo=b_url, revision="main")
    with pytest.raises(SourceError):  # A's commit is not in B's mirror, nor A's tree for B
        await trees.tree(repo=b_url, sha=sha)
    with pytest.raises(SourceError):
        await source.read_files(repo=b_url, sha=sha)
    assert source.mirror_path(a_url) != source.mirror_path(b_url)


async def test_shared_mirror_credentials_each_access_is_polled_with_its_own_credential(
    http: HttpGit, private: Upstream, source: GitSource
) -> None:
    a_url, b_url = urls(http, private)
    queued: list[TargetKey] = []

    def enqueue(key: TargetKey, trigger: Trigger) -> bool:
        queued.append(key)
        return True

    poller = GitPoller(source, enqueue, interval=3600)
    a, b = TargetKey("a", "c1"), TargetKey("b", "c1")
    poller.set_watches({a_url: [Watch(a, "main")], b_url: [Watch(b, "main")]})
    assert await poller.on_push(repo_urls=[b_url], ref="refs/heads/main") == 1
    assert queued == [a]  # B learnt nothing through A's token
    status = poller.status(b_url)
    assert status is not None and "failed" in (status.last_error or "")
    assert HTTP_TOKEN not in repr(poller.status(a_url))


async def test_shared_mirror_credentials_anonymous_failure_does_not_lock_the_owner_out(
    http: HttpGit, private: Upstream, source: GitSource
) -> None:
    a_url, b_url = urls(http, private)
    with pytest.raises(AuthenticationFailed):
        await source.resolve(repo=b_url, revision="main")
    sha = private.git("rev-parse", "HEAD")
    results = await asyncio.gather(source.resolve(repo=a_url, revision="main"),
                                   source.resolve(repo=b_url, revision="main", max_age=0),
                                   return_exceptions=True)  # fmt: skip
    assert results[0] == sha
    assert isinstance(results[1], AuthenticationFailed)


async def test_shared_mirror_credentials_token_is_in_no_name_or_file_of_the_cache(
    http: HttpGit, private: Upstream, source: GitSource, tmp_path: Path
) -> None:
    a_url, _ = urls(http, private)
    sha = await source.resolve(repo=a_url, revision="main")
    await source.materialise(repo=a_url, sha=sha, dest=tmp_path / "cache" / "tree")
    found = cache_contents(tmp_path / "cache")
    assert any(name.endswith("/config") for name, _ in found)
    assert [name for name, data in found
            if HTTP_TOKEN in name or HTTP_TOKEN.encode() in data] == []  # fmt: skip
    assert HTTP_TOKEN not in source.access_key(a_url)
