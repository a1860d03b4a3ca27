"""GitPoller against a scripted source: one refresh per repo, path filtering, isolation."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

from engine.clock import FakeClock
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.repourls import normalise_url
from engine.source import GitSource, RemoteUnreachable
from engine.source.errors import RevisionNotFound
from engine.source.poller import GitPoller, Watch, ref_may_move

REPO, OTHER = "https://git.example.com/acme/deploy.git", "https://git.example.com/acme/other"
DEV, PROD = TargetKey("dev", "c1"), TargetKey("prod", "c2")


class ScriptedSource:
    """Answers like GitSource from dictionaries the test changes."""

    def __init__(self) -> None:
        self.refs: dict[str, dict[str, str]] = {}
        self.diffs: dict[tuple[str, str], frozenset[str]] = {}
        self.refreshes: dict[str, int] = {}
        self.broken: set[str] = set()
        self.gate: asyncio.Event | None = None

    def access_key(self, repo: str) -> str:
        """Like GitSource: one access per URL and credential (here the URL's password)."""
        return f"{normalise_url(repo)}#{urlsplit(repo).password or ''}"

    async def refresh(self, *, repo: str, max_age: float | None = None) -> Any:
        self.refreshes[repo] = self.refreshes.get(repo, 0) + 1
        if self.gate is not None:
            await self.gate.wait()
        if repo in self.broken:
            raise RemoteUnreachable("connection refused", repo=repo)

    async def resolve(self, *, repo: str, revision: str, max_age: float | None = None) -> str:
        try:
            return self.refs[repo][revision]
        except KeyError:
            raise RevisionNotFound(f"no {revision}", repo=repo) from None

    async def changed_paths(self, *, repo: str, old_sha: str, new_sha: str) -> frozenset[str]:
        return self.diffs[old_sha, new_sha]


def make(source: ScriptedSource, queued: list[tuple[TargetKey, Trigger]]) -> GitPoller:
    def enqueue(key: TargetKey, trigger: Trigger) -> bool:
        queued.append((key, trigger))
        return True

    return GitPoller(cast(GitSource, source), enqueue, interval=60, clock=FakeClock(),
                     rng=random.Random(1))  # fmt: skip


@pytest.fixture
def source() -> ScriptedSource:
    s = ScriptedSource()
    s.refs[REPO] = {"main": "a" * 40}
    return s


def watches() -> dict[str, list[Watch]]:
    return {REPO: [Watch(DEV, "main", frozenset({"overlays/dev", "base"})),
                   Watch(PROD, "main", frozenset({"overlays/prod", "base"}))]}  # fmt: skip


async def test_first_sight_queues_every_key_then_nothing_until_a_move(
    source: ScriptedSource,
) -> None:
    queued: list[tuple[TargetKey, Trigger]] = []
    poller = make(source, queued)
    poller.set_watches(watches())
    assert await poller.poll(repo=REPO) == 2
    assert await poller.poll(repo=REPO) == 0
    assert source.refreshes == {REPO: 2}


async def test_only_keys_whose_paths_changed_are_queued(source: ScriptedSource) -> None:
    queued: list[tuple[TargetKey, Trigger]] = []
    poller = make(source, queued)
    poller.set_watches(watches())
    await poller.poll(repo=REPO)
    queued.clear()
    source.refs[REPO]["main"] = "b" * 40
    source.diffs["a" * 40, "b" * 40] = frozenset({"overlays/prod/patch.yaml"})
    assert await poller.poll(repo=REPO) == 1
    assert queued == [(PROD, Trigger.PERIODIC)]
    source.refs[REPO]["main"] = "c" * 40
    source.diffs["b" * 40, "c" * 40] = frozenset({"base/service.yaml"})
    assert await poller.trigger(repo=REPO) == 2
    assert {t for _, t in queued[1:]} == {Trigger.WEBHOOK}


async def test_a_diff_that_cannot_be_computed_queues_the_key(source: ScriptedSource) -> None:
    queued: list[tuple[TargetKey, Trigger]] = []
    poller = make(source, queued)
    poller.set_watches(watches())
    await poller.poll(repo=REPO)
    source.refs[REPO]["main"] = "f" * 40  # no diff scripted: changed_paths raises KeyError

    async def unknown(**_: Any) -> frozenset[str]:
        raise RevisionNotFound("commit gone after a force push", repo=REPO)

    source.changed_paths = unknown  # type: ignore[method-assign]
    assert await poller.poll(repo=REPO) == 2


def broken_beside_healthy(source: ScriptedSource) -> GitPoller:
    """A poller watching REPO, which fails, and OTHER, which answers."""
    poller = make(source, [])
    source.refs[OTHER] = {"main": "1" * 40}
    poller.set_watches({**watches(), OTHER: [Watch(TargetKey("o", "c3"), "main")]})
    source.broken.add(REPO)
    return poller


async def test_a_broken_repo_records_its_error_and_backs_off(source: ScriptedSource) -> None:
    poller = broken_beside_healthy(source)
    assert await poller.poll(repo=REPO) == 0
    assert await poller.poll(repo=OTHER) == 1
    status = poller.status(REPO)
    assert status is not None and status.failures == 1 and "refused" in (status.last_error or "")
    assert status.next_poll == poller.clock.now() + 5
    await poller.poll(repo=REPO)
    assert status.next_poll == poller.clock.now() + 10
    source.broken.clear()
    assert await poller.poll(repo=REPO) == 2
    assert status.failures == 0 and status.last_error is None


async def test_concurrent_triggers_coalesce(source: ScriptedSource) -> None:
    queued: list[tuple[TargetKey, Trigger]] = []
    poller = make(source, queued)
    poller.set_watches(watches())
    source.gate = asyncio.Event()
    first = asyncio.create_task(poller.trigger(repo=REPO))  # starts polling, then blocks
    await asyncio.sleep(0)
    later = [asyncio.create_task(poller.trigger(repo=REPO)) for _ in range(5)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.wait_for(asyncio.gather(first, *later), 5)
    assert source.refreshes[REPO] == 2  # the running poll, plus one shared by all later ones
    assert results[0] == 2 and results[1:] == [0] * 5


async def test_on_push_polls_only_watched_repos_whose_ref_matters(source: ScriptedSource) -> None:
    queued: list[tuple[TargetKey, Trigger]] = []
    poller = make(source, queued)
    poller.set_watches(watches())
    ssh = "git@git.example.com:acme/deploy.git"  # apps use the https spelling
    https = "HTTPS://git.example.com/acme/deploy/"
    assert await poller.on_push(repo_urls=[ssh, https, "https://x/y"], ref="refs/heads/dev") == 0
    assert REPO not in source.refreshes
    assert await poller.on_push(repo_urls=[ssh, https], ref="refs/heads/main") == 2


async def test_each_access_of_a_url_is_polled_apart_and_a_push_polls_all(
    source: ScriptedSource,
) -> None:
    queued: list[tuple[TargetKey, Trigger]] = []
    poller = make(source, queued)
    token = REPO.replace("https://", "https://bot:s3cret@")
    other = TargetKey("private", "c3")
    source.refs[token] = {"main": "b" * 40}
    poller.set_watches({**watches(), token: [Watch(other, "main")]})
    assert await poller.poll(repo=token) == 1  # only the key of that access
    assert queued == [(other, Trigger.PERIODIC)]
    assert source.refreshes == {token: 1}
    assert poller.repos == {normalise_url(REPO)}
    source.refs[token]["main"] = "c" * 40
    source.diffs["b" * 40, "c" * 40] = frozenset({"app.yaml"})
    assert await poller.on_push(repo_urls=[REPO], ref="refs/heads/main") == 3
    assert source.refreshes == {token: 2, REPO: 1}


@pytest.mark.parametrize(
    ("revision", "ref", "moves"),
    [("main", "refs/heads/main", True), ("main", "refs/heads/dev", False),
     ("v1", "refs/tags/v1", True), ("refs/heads/main", "refs/heads/main", True),
     ("refs/heads/main", "refs/tags/main", False), ("HEAD", "refs/heads/x", True),
     ("a" * 40, "refs/heads/x", True)],
)  # fmt: skip
def test_ref_may_move(revision: str, ref: str, moves: bool) -> None:
    assert ref_may_move(revision, ref) is moves


async def test_run_polls_each_repo_on_its_own_schedule(source: ScriptedSource) -> None:
    poller = broken_beside_healthy(source)
    clock = cast(FakeClock, poller.clock)
    task = asyncio.create_task(poller.run())
    for _ in range(30):
        await asyncio.sleep(0)
    assert source.refreshes == {REPO: 1, OTHER: 1}
    for _ in range(14):  # 70 s: OTHER polls at ~60 s, REPO retries at 5, 15, 35 and 75 s
        clock.advance(5)
        for _ in range(30):
            await asyncio.sleep(0)
    assert source.refreshes == {REPO: 4, OTHER: 2}
    poller.stop()
    await asyncio.wait_for(task, 5)


async def test_a_bug_in_one_repos_poll_never_stops_the_others(source: ScriptedSource) -> None:
    class Buggy(ScriptedSource):
        async def refresh(self, *, repo: str, max_age: float | None = None) -> Any:
            await super().refresh(repo=repo, max_age=max_age)
            if repo == REPO:
                raise RuntimeError("a bug, not a FleetsyncError")

    buggy = Buggy()
    buggy.refs = {REPO: {"main": "a" * 40}, OTHER: {"main": "1" * 40}}
    poller = make(buggy, [])
    poller.set_watches({**watches(), OTHER: [Watch(TargetKey("o", "c3"), "main")]})
    clock = cast(FakeClock, poller.clock)
    task = asyncio.create_task(poller.run())
    for _ in range(13):  # 60 s: both repositories poll again after their interval
        for _ in range(30):
            await asyncio.sleep(0)
        clock.advance(5)
    assert not task.done(), "the poller stopped"
    assert buggy.refreshes[OTHER] == 2 and buggy.refreshes[REPO] >= 2  # backs off, goes on
    poller.stop()
    await asyncio.wait_for(task, 5)


async def test_a_restarted_poller_polls_repos_whose_poll_was_cancelled(
    source: ScriptedSource,
) -> None:
    poller = make(source, [])
    poller.set_watches(watches())
    for state in poller._repos.values():
        state.scheduled = True  # as a poll cancelled before it began leaves it
    task = asyncio.create_task(poller.run())
    for _ in range(30):
        await asyncio.sleep(0)
    assert source.refreshes == {REPO: 1}
    poller.stop()
    await asyncio.wait_for(task, 5)
