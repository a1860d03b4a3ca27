"""POST /api/webhook over real HTTP on loopback: providers, secrets, limits, end to end."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.webhook import WEBHOOK_PATH, add_webhook_route
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.scheduler.queue import WorkQueue
from engine.source import GitSource
from engine.source.poller import GitPoller, Watch
from engine.webhooks import hmac_sha256
from tests.support.git_remotes import Upstream

SECRET = "hook-secret-5"
Pushes = list[tuple[frozenset[str], str]]


def github(url: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return {"ref": ref, "repository": {"clone_url": url, "html_url": url}}


def signed(provider: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    if provider == "github":
        return {
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": "sha256=" + hmac_sha256(secret, body),
        }
    if provider == "gitlab":
        return {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret}
    return {"X-Gitea-Event": "push", "X-GitHub-Event": "push",
            "X-Gitea-Signature": hmac_sha256(secret, body)}  # fmt: skip


PAYLOADS = {
    "github": github("https://github.com/acme/deploy.git"),
    "gitlab": {"ref": "refs/heads/main",
               "project": {"git_http_url": "https://github.com/acme/deploy.git"}},
    "gitea": {"ref": "refs/heads/main",
              "repository": {"clone_url": "https://github.com/acme/deploy.git"}},
}  # fmt: skip

ClientFactory = Callable[..., Any]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def make(on_push: Any, secret: str | None = SECRET) -> TestClient[Any, Any]:
        app = web.Application()
        add_webhook_route(app, on_push=on_push, secret=secret)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def recorder(pushes: Pushes, answer: int = 2) -> Any:
    async def on_push(*, repo_urls: Iterable[str], ref: str) -> int:
        pushes.append((frozenset(repo_urls), ref))
        return answer

    return on_push


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_each_provider_signed_push_is_accepted(
    provider: str, make_client: ClientFactory
) -> None:
    pushes: Pushes = []
    client = await make_client(recorder(pushes))
    body = json.dumps(PAYLOADS[provider]).encode()
    response = await client.post(WEBHOOK_PATH, data=body, headers=signed(provider, body))
    assert response.status == 202
    answer = await response.json()
    assert answer["refreshed"] == 2 and answer["provider"] == provider
    assert pushes == [(frozenset({"https://github.com/acme/deploy"}), "refs/heads/main")]


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_a_wrong_secret_is_refused_and_nothing_is_polled(
    provider: str, make_client: ClientFactory
) -> None:
    pushes: Pushes = []
    client = await make_client(recorder(pushes))
    body = json.dumps(PAYLOADS[provider]).encode()
    response = await client.post(WEBHOOK_PATH, data=body, headers=signed(provider, body, "wrong"))
    assert response.status == 401 and pushes == []
    unsigned = {k: v for k, v in signed(provider, body).items() if "Event" in k}
    assert (await client.post(WEBHOOK_PATH, data=body, headers=unsigned)).status == 401


async def test_without_a_secret_pushes_are_accepted_with_one_warning(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    pushes: Pushes = []
    client = await make_client(recorder(pushes), secret=None)
    body = json.dumps(PAYLOADS["github"]).encode()
    with caplog.at_level(logging.WARNING, logger="engine.api.webhook"):
        for _ in range(3):
            response = await client.post(
                WEBHOOK_PATH, data=body, headers={"X-GitHub-Event": "push"}
            )
            assert response.status == 202
    assert len(pushes) == 3
    assert sum("no webhook secret" in r.message for r in caplog.records) == 1


async def test_oversized_unknown_and_non_push_requests(make_client: ClientFactory) -> None:
    pushes: Pushes = []
    client = await make_client(recorder(pushes))
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = await client.post(WEBHOOK_PATH, data=huge, headers=signed("github", huge))
    assert response.status == 413
    assert (await client.post(WEBHOOK_PATH, data=b"{}")).status == 400
    ping = b'{"zen": "hi"}'
    headers = {**signed("github", ping), "X-GitHub-Event": "ping"}
    response = await client.post(WEBHOOK_PATH, data=ping, headers=headers)
    assert response.status == 202 and (await response.json())["ignored"] is True
    bad = b"not json"
    assert (await client.post(WEBHOOK_PATH, data=bad, headers=signed("github", bad))).status == 400
    assert pushes == []


async def test_a_signed_push_polls_the_real_repo_and_queues_only_moved_apps(
    demo_repo: Upstream, git_source: GitSource, make_client: ClientFactory
) -> None:
    queue = WorkQueue(cluster_limit=10)
    poller = GitPoller(git_source, queue.add, interval=3600)
    dev, prod = TargetKey("demo-dev", "c1"), TargetKey("demo-prod", "c1")
    poller.set_watches({demo_repo.url: [
        Watch(dev, "main", frozenset({"overlays/dev", "base"})),
        Watch(prod, "main", frozenset({"overlays/prod", "base"}))]})  # fmt: skip
    await poller.poll(repo=demo_repo.url)  # the hub has seen the current commit
    for key in (dev, prod):
        queue.discard(key)
    client = await make_client(poller.on_push)
    demo_repo.commit({"overlays/dev/kustomization.yaml": "resources: [../../base]\n# v2\n"})
    demo_repo.push("main")
    body = json.dumps(github(f"git://127.0.0.1:{demo_repo.port}/{demo_repo.name}")).encode()
    response = await client.post(WEBHOOK_PATH, data=body, headers=signed("github", body))
    assert response.status == 202
    assert (await response.json())["refreshed"] == 1
    assert queue.trigger_of(dev) is Trigger.WEBHOOK and prod not in queue
    assert git_source.stats(demo_repo.url).ls_remotes == 2
