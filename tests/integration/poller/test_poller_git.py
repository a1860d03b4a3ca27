"""GitPoller against real repositories served by git daemon."""

from __future__ import annotations

import asyncio

from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.source import GitSource
from engine.source.poller import GitPoller, Watch
from tests.support.git_remotes import Upstream, free_port

Queued = list[tuple[TargetKey, Trigger]]


def recording(queued: Queued):  # type: ignore[no-untyped-def]
    def enqueue(key: TargetKey, trigger: Trigger) -> bool:
        queued.append((key, trigger))
        return True

    return enqueue


def demo_watches(n: int) -> list[Watch]:
    """n apps per overlay; each reads its overlay and the base it references."""
    return [
        Watch(TargetKey(f"{env}-{i}", f"c{i}"), "main", frozenset({f"overlays/{env}", "base"}))
        for env in ("dev", "prod")
        for i in range(n)
    ]


async def test_many_apps_on_one_repo_cost_one_ls_remote_per_poll(
    demo_repo: Upstream, git_source: GitSource
) -> None:
    queued: Queued = []
    poller = GitPoller(git_source, recording(queued), interval=60)
    poller.set_watches({demo_repo.url: demo_watches(25)})
    assert await poller.poll(repo=demo_repo.url) == 50  # first sight: every app
    assert await poller.poll(repo=demo_repo.url) == 0
    stats = git_source.stats(demo_repo.url)
    assert (stats.ls_remotes, stats.fetches) == (2, 1)


async def test_a_push_to_one_overlay_queues_only_its_apps(
    demo_repo: Upstream, git_source: GitSource
) -> None:
    queued: Queued = []
    poller = GitPoller(git_source, recording(queued), interval=60)
    poller.set_watches({demo_repo.url: demo_watches(3)})
    await poller.poll(repo=demo_repo.url)
    queued.clear()
    demo_repo.commit({"overlays/prod/patch.yaml": "replicas: 3\n"})
    demo_repo.push("main")
    assert await poller.poll(repo=demo_repo.url) == 3
    assert {k.app for k, _ in queued} == {"prod-0", "prod-1", "prod-2"}
    queued.clear()
    demo_repo.commit({"README.md": "docs only\n"})
    demo_repo.push("main")
    assert await poller.poll(repo=demo_repo.url) == 0  # moved, but no app reads README.md
    demo_repo.commit({"base/deploy.yaml": "kind: Deployment\nspec: {}\n"})
    demo_repo.push("main")
    assert await poller.poll(repo=demo_repo.url) == 6  # the shared base moves every app
    stats = git_source.stats(demo_repo.url)
    assert stats.ls_remotes == 4 and stats.fetches == 4


async def test_an_unreachable_repo_does_not_stop_polling_of_another(
    demo_repo: Upstream, git_source: GitSource
) -> None:
    queued: Queued = []
    grown = asyncio.Event()

    def enqueue(key: TargetKey, trigger: Trigger) -> bool:
        queued.append((key, trigger))
        grown.set()
        return True

    async def until(count: int) -> None:
        while len(queued) < count:
            grown.clear()
            await grown.wait()

    dead = f"git://127.0.0.1:{free_port()}/nowhere.git"
    poller = GitPoller(git_source, enqueue, interval=0.3, poll_timeout=5)
    poller.set_watches({dead: [Watch(TargetKey("lost", "c1"), "main")],
                        demo_repo.url: demo_watches(1)})  # fmt: skip
    runner = asyncio.create_task(poller.run())
    try:
        async with asyncio.timeout(10):
            await until(2)
            demo_repo.commit({"overlays/dev/patch.yaml": "x: 1\n"})
            demo_repo.push("main")
            await until(3)  # the next scheduled poll of the live repo sees it
    finally:
        poller.stop()
        await asyncio.wait_for(runner, 10)
    assert [k.app for k, _ in queued[2:]] == ["dev-0"]
    status = poller.status(dead)
    assert status is not None and status.failures >= 1 and status.last_error
    assert poller.status(demo_repo.url).failures == 0  # type: ignore[union-attr]
