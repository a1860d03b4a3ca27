"""Failures: unreachable and silent remotes, refused credentials; secrets never leak."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from engine.errors import SourceError
from engine.source import (
    AuthenticationFailed,
    Credentials,
    CredentialStore,
    GitSource,
    GitTimeout,
    RemoteUnreachable,
)
from tests.support.git_remotes import HTTP_TOKEN, HTTP_USER, HttpGit, Upstream, free_port


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP server on loopback that accepts connections and never answers."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # until the client goes away

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(proc.name))
    return found


async def test_closed_port_fails_fast_as_remote_unreachable(source: GitSource) -> None:
    url = f"git://127.0.0.1:{free_port()}/nothing.git"
    started = time.monotonic()
    with pytest.raises(RemoteUnreachable) as info:
        await source.resolve(repo=url, revision="main")
    assert time.monotonic() - started < 5  # far below the 10 s network timeout
    assert info.value.temporary
    assert url in str(info.value)
    assert "connection refused" in str(info.value).lower()


async def test_silent_remote_times_out_and_leaves_no_process(
    silent_port: int, tmp_path: Path
) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=1.0)
    url = f"http://127.0.0.1:{silent_port}/slow.git"
    started = time.monotonic()
    with pytest.raises(GitTimeout, match=r"timed out after 1s") as info:
        await source.refresh(repo=url)
    assert time.monotonic() - started < 4
    assert info.value.temporary
    assert processes_mentioning(f"127.0.0.1:{silent_port}") == []


async def test_silent_git_protocol_remote_times_out(silent_port: int, tmp_path: Path) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=0.5)
    with pytest.raises(GitTimeout):
        await source.resolve(repo=f"git://127.0.0.1:{silent_port}/slow.git", revision="main")


async def test_cancelled_sync_stops_git_and_a_later_sync_works(
    silent_port: int, upstream: Upstream, tmp_path: Path
) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=30)
    with anyio.move_on_after(0.5) as scope:
        await source.refresh(repo=f"http://127.0.0.1:{silent_port}/slow.git")
    assert scope.cancelled_caught
    assert processes_mentioning(f"127.0.0.1:{silent_port}") == []
    # a sync cancelled halfway through does not poison the mirror of a working remote
    with anyio.move_on_after(0.01):
        await source.refresh(repo=upstream.url)
    sha = upstream.git("rev-parse", "HEAD")
    assert await source.resolve(repo=upstream.url, revision="main", max_age=0) == sha


async def test_token_never_in_argv_errors_or_logs_while_git_runs(
    silent_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engine.source")
    store = CredentialStore({f"http://127.0.0.1:{silent_port}": Credentials.token(HTTP_TOKEN)})
    source = GitSource(tmp_path / "cache", credentials=store, network_timeout=3.0)
    url = f"http://{HTTP_USER}:{HTTP_TOKEN}@127.0.0.1:{silent_port}/slow.git"
    error: list[SourceError] = []

    async def fetch() -> None:
        try:
            await source.refresh(repo=url)
        except SourceError as exc:
            error.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(fetch)
        for _ in range(150):  # poll /proc until git is connected (at most 3 s)
            if seen_git := processes_mentioning(f"127.0.0.1:{silent_port}"):
                break
            await anyio.sleep(0.02)
        assert processes_mentioning(HTTP_TOKEN) == []  # git and git-remote-http are running
    assert seen_git
    assert isinstance(error[0], GitTimeout)
    assert HTTP_TOKEN not in str(error[0])
    assert HTTP_TOKEN not in caplog.text
    assert f"http://***@127.0.0.1:{silent_port}/slow.git" in str(error[0])
    assert HTTP_TOKEN not in (source.mirror_path(url) / "config").read_text()


async def test_https_token_from_credential_store_is_accepted(
    upstream: Upstream, http_git: HttpGit, tmp_path: Path
) -> None:
    creds = Credentials(username=HTTP_USER, password=HTTP_TOKEN)
    store = CredentialStore({f"http://127.0.0.1:{http_git.port}/": creds})
    source = GitSource(tmp_path / "cache", credentials=store)
    sha = upstream.git("rev-parse", "HEAD")
    assert await source.resolve(repo=http_git.url(upstream.name), revision="main") == sha


async def test_credentials_written_in_the_url_are_accepted_and_kept_out_of_argv(
    upstream: Upstream, http_git: HttpGit, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engine.source")
    source = GitSource(tmp_path / "cache")
    url = http_git.url(upstream.name).replace("://", f"://{HTTP_USER}:{HTTP_TOKEN}@")
    sha = await source.resolve(repo=url, revision="main")
    files = await source.read_files(repo=url, sha=sha, path="base")
    assert set(files) == {"base/deploy.yaml"}
    assert "running git ls-remote" in caplog.text
    assert HTTP_TOKEN not in caplog.text


async def test_wrong_token_is_a_permanent_authentication_error_without_the_token(
    upstream: Upstream, http_git: HttpGit, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engine.source")
    wrong = "wrong-" + HTTP_TOKEN
    store = CredentialStore({http_git.url(upstream.name): Credentials(HTTP_USER, wrong)})
    source = GitSource(tmp_path / "cache", credentials=store)
    with pytest.raises(AuthenticationFailed) as info:
        await source.resolve(repo=http_git.url(upstream.name), revision="main")
    assert not info.value.temporary
    assert wrong not in str(info.value)
    assert wrong not in caplog.text


async def test_missing_credentials_fail_without_prompting(
    upstream: Upstream, http_git: HttpGit, tmp_path: Path
) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=10)
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed):
        await source.resolve(repo=http_git.url(upstream.name), revision="main")
    assert time.monotonic() - started < 5
