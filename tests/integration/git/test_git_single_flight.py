"""Work is shared: concurrent requests for one repository cause one sync."""

import anyio

from engine.source import GitSource
from tests.support.git_remotes import Upstream


async def test_concurrent_resolves_of_one_repo_cause_one_fetch(
    upstream: Upstream, source: GitSource
) -> None:
    sha = upstream.git("rev-parse", "HEAD")
    upstream.git("tag", "v1")
    upstream.push("--tags")
    results: list[str] = []

    async def resolve(revision: str) -> None:
        results.append(await source.resolve(repo=upstream.url, revision=revision))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(resolve, ("main", "v1", "HEAD", sha[:10])[i % 4])
    assert results == [sha] * 20
    stats = source.stats(upstream.url)
    assert (stats.ls_remotes, stats.fetches) == (1, 1)


async def test_one_refresh_per_poll_serves_every_app_of_the_repo(
    upstream: Upstream, source: GitSource
) -> None:
    await source.refresh(repo=upstream.url, max_age=0)  # the scheduler's poll
    for _ in range(50):  # every app of the repo, within the freshness window
        await source.resolve(repo=upstream.url, revision="main")
    assert source.stats(upstream.url).ls_remotes == 1


async def test_a_burst_of_forced_refreshes_costs_at_most_two_syncs(
    upstream: Upstream, source: GitSource
) -> None:
    await source.refresh(repo=upstream.url)
    new = upstream.commit({"base/deploy.yaml": "kind: Deployment\nv: 3\n"})
    upstream.push("main")
    heads: list[str | None] = []

    async def webhook() -> None:
        heads.append((await source.refresh(repo=upstream.url, max_age=0)).head)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(webhook)
    assert heads == [new] * 10
    assert source.stats(upstream.url).ls_remotes <= 3  # the first sync plus at most two


async def test_different_repos_sync_concurrently_and_separately(
    upstream: Upstream, local_source: GitSource
) -> None:
    source = local_source
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: source.resolve(repo=upstream.url, revision="main"))
        tg.start_soon(lambda: source.resolve(repo=upstream.file_url, revision="main"))
    assert source.stats(upstream.url).fetches == 1
    assert source.stats(upstream.file_url).fetches == 1
    assert source.mirror_path(upstream.url) != source.mirror_path(upstream.file_url)
