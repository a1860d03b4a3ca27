"""Who may call the API: no token, a bad token or a guessed password gets nothing; each
account sees and acts on what its roles allow and nothing of the rest (the accounts and
roles are ``tests.integration.api.hub.AUTH``)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine.api.server import create_app
from engine.apps import AppTarget
from engine.apps.targets import TargetOptions
from engine.auth import tokens
from engine.auth.service import KEY_FILE
from engine.hub.hub import Hub
from engine.model import TargetKey
from tests.support.auth import admin_token, bearer

Client = TestClient[web.Request, web.Application]
OPEN = {("POST", "/api/v1/session"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/"),
        ("GET", "/static/app.js"), ("GET", "/static/style.css"), ("POST", "/api/webhook")}
PASSWORD = "a long enough password"


@pytest.fixture
async def anonymous(hub: Hub) -> AsyncIterator[Client]:
    async def webhook(request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, status=202)

    app = create_app(hub.control, auth=hub.auth, webhook_handler=webhook)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def login(client: Client, name: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/v1/session", json={"username": name, "password": password})
    assert response.status == 200, await response.text()
    token: str = (await response.json())["token"]
    return token


async def with_users(hub: Hub, *names: str) -> None:
    for name in names:
        await hub.auth.set_password(name, PASSWORD, current=None)


async def test_every_route_needs_a_token_but_login_health_static_and_webhook(
    anonymous: Client,
) -> None:
    routes = set()
    for route in anonymous.app.router.routes():
        path = re.sub(r"\{[^}]+\}", "x", route.resource.canonical if route.resource else "")
        routes.add((route.method, path))
    assert len(routes) > len(OPEN) + 10
    for method, path in sorted(routes):
        response = await anonymous.request(method, path)
        if (method.replace("HEAD", "GET"), path) in OPEN:  # a login without a password
            # is a refused login; HEAD is open where GET is
            assert "WWW-Authenticate" not in response.headers, (method, path)
        else:
            assert response.status == 401, (method, path)
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert (await anonymous.get("/api/v1/nothing-here")).status == 401  # no route map either


async def test_expired_tampered_and_unsigned_tokens_are_refused(
    anonymous: Client, hub: Hub
) -> None:
    key = (hub.config.data_dir / KEY_FILE).read_bytes()
    good = await admin_token(hub)
    assert (await anonymous.get("/api/v1/apps", headers=bearer(good))).status == 200
    expired, _ = tokens.issue(key, account="admin", kind=tokens.SESSION, generation=0,
                              now=1_000_000_000, lifetime=60)
    head, body, signature = good.split(".")
    tampered = f"{head}.{body}x.{signature}"
    claims = jwt.decode(good, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    other_key = jwt.encode(claims, "another hub's key, 32 bytes long!", algorithm="HS256")
    for token in (expired, tampered, unsigned, other_key, "", "x" * 5000):
        response = await anonymous.get("/api/v1/apps", headers=bearer(token))
        assert response.status == 401, token[:40]
        response = await anonymous.get("/api/v1/apps",
                                       cookies={"fleetsync_session": token})
        assert response.status == 401, token[:40]


async def test_guessing_passwords_is_limited_and_unknown_accounts_look_the_same(
    anonymous: Client, hub: Hub
) -> None:
    await with_users(hub, "alice")
    answers = set()
    for name in ("alice", "nobody", "alice", "nobody", "alice"):
        response = await anonymous.post("/api/v1/session",
                                        json={"username": name, "password": "guess"})
        answers.add((response.status, (await response.json())["error"]))
    assert answers == {(401, "invalid username or password")}
    response = await anonymous.post("/api/v1/session",
                                    json={"username": "alice", "password": PASSWORD})
    assert response.status == 429 and int(response.headers["Retry-After"]) > 0


async def test_login_sets_a_strict_cookie_and_logout_ends_the_session(
    anonymous: Client, hub: Hub
) -> None:
    await with_users(hub, "alice")
    response = await anonymous.post("/api/v1/session",
                                    json={"username": "alice", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    token = (await response.json())["token"]
    whoami = await anonymous.get("/api/v1/session", headers=bearer(token))
    assert (await whoami.json())["username"] == "alice"
    assert (await anonymous.delete("/api/v1/session", headers=bearer(token))).status == 200
    assert (await anonymous.get("/api/v1/apps", headers=bearer(token))).status == 401


async def test_an_account_sees_and_acts_on_its_apps_only(anonymous: Client, hub: Hub) -> None:
    await with_users(hub, "alice", "bob")
    alice, bob = bearer(await login(anonymous, "alice")), bearer(await login(anonymous, "bob"))

    listed = await (await anonymous.get("/api/v1/apps", headers=alice)).json()
    assert [a["name"] for a in listed["apps"]] == ["demo-dev", "demo-prod"]
    assert listed["sourceErrors"] == []  # they may name other projects' files
    clusters = await (await anonymous.get("/api/v1/clusters", headers=alice)).json()
    assert [c["name"] for c in clusters["clusters"]] == ["dev"]
    for method, path in (("GET", "/api/v1/apps/fleet"), ("GET", "/api/v1/apps/fleet/history"),
                         ("POST", "/api/v1/apps/fleet/sync"),
                         ("POST", "/api/v1/apps/fleet/refresh"),
                         ("POST", "/api/v1/apps/fleet/rollback"),
                         ("GET", "/api/v1/apps/fleet/diff"), ("GET", "/api/v1/apps/fleet/tree"),
                         ("DELETE", "/api/v1/apps/fleet"),
                         ("GET", "/api/v1/plan?revision=main&app=demo-dev&app=fleet")):
        response = await anonymous.request(method, path, headers=alice)
        assert response.status == 404, (method, path)
        assert (await response.json())["error"] == "no app named fleet"
    assert (await anonymous.post("/api/v1/apps/demo-dev/sync", headers=alice)).status == 202
    projects = await (await anonymous.get("/api/v1/projects", headers=alice)).json()
    assert projects == {"projects": []}  # alice may read no project
    assert (await anonymous.get("/metrics", headers=alice)).status == 403

    assert (await anonymous.get("/api/v1/apps/fleet", headers=bob)).status == 200
    assert (await anonymous.post("/api/v1/apps/fleet/refresh", headers=bob)).status == 202
    assert (await anonymous.post("/api/v1/apps/fleet/sync", headers=bob)).status == 403
    assert (await anonymous.get("/api/v1/apps/demo-dev", headers=bob)).status == 404
    assert (await anonymous.delete("/api/v1/apps/fleet", headers=bob)).status == 403
    # A held deletion is listed, and confirmed, only by who may read and delete its app.
    gone = {TargetKey(app, "dev"): AppTarget(key=TargetKey(app, "dev"), project="default",
                                             repo_url="r", revision="main", path=app,
                                             namespace=app,
                                             options=TargetOptions(cascade="Foreground"))
            for app in ("demo-gone-1", "demo-gone-2")}  # fmt: skip
    hub.deletions.removed(gone, defined=hub.catalog.defined(), apps=4)
    for who, seen in ((alice, ["demo-gone-1", "demo-gone-2"]), (bob, [])):
        listed = await (await anonymous.get("/api/v1/deletions", headers=who)).json()
        assert [d["app"] for d in listed["deletions"]] == seen
    assert (await anonymous.delete("/api/v1/apps/demo-gone-1", headers=bob)).status == 404
    untracked = await anonymous.delete("/api/v1/apps/demo-gone-1?cascade=false", headers=alice)
    assert untracked.status == 202 and (await untracked.json())["state"] == "Untracked"
    admin = bearer(await admin_token(hub))
    assert (await anonymous.get("/metrics", headers=admin)).status == 200


async def test_passwords_and_api_tokens_of_accounts(anonymous: Client, hub: Hub) -> None:
    await with_users(hub, "alice", "bob")
    alice = bearer(await login(anonymous, "alice"))
    admin = bearer(await admin_token(hub))
    change = {"current": PASSWORD, "new": "alice's second password"}
    assert (await anonymous.put("/api/v1/accounts/alice/password", json=change,
                                headers=alice)).status == 200
    assert (await anonymous.get("/api/v1/apps", headers=alice)).status == 401  # sessions end
    alice = bearer(await login(anonymous, "alice", "alice's second password"))
    response = await anonymous.put("/api/v1/accounts/bob/password",
                                   json={"new": "taken over by alice"}, headers=alice)
    assert response.status == 404  # alice may not even see bob
    response = await anonymous.put("/api/v1/accounts/bob/password",
                                   json={"new": "reset by the admin"}, headers=admin)
    assert response.status == 200
    await login(anonymous, "bob", "reset by the admin")

    made = await anonymous.post("/api/v1/accounts/ci/tokens", json={"description": "deploys"},
                                headers=admin)
    assert made.status == 201
    created = await made.json()
    robot = bearer(created["token"])
    listed = await (await anonymous.get("/api/v1/apps", headers=robot)).json()
    assert len(listed["apps"]) == 4  # role:readonly
    assert (await anonymous.post("/api/v1/apps/fleet/sync", headers=robot)).status == 403
    assert (await anonymous.delete("/api/v1/apps/fleet", headers=robot)).status == 403
    tokens_listed = await (await anonymous.get("/api/v1/accounts/ci/tokens",
                                               headers=admin)).json()
    assert [t["id"] for t in tokens_listed["tokens"]] == [created["id"]]
    assert "token" not in tokens_listed["tokens"][0]
    assert (await anonymous.delete(f"/api/v1/accounts/ci/tokens/{created['id']}",
                                   headers=admin)).status == 200
    assert (await anonymous.get("/api/v1/apps", headers=robot)).status == 401
    response = await anonymous.post("/api/v1/accounts/ci/tokens", json={}, headers=alice)
    assert response.status == 404
    response = await anonymous.post("/api/v1/session",
                                    json={"username": "ci", "password": PASSWORD})
    assert response.status == 401  # an apiKey account cannot log in


async def read_event(response: aiohttp.ClientResponse, within: float = 5) -> dict[str, Any]:
    """The next ``changed`` event of a server-sent event stream."""
    async with asyncio.timeout(within):
        event = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event == "changed":
                found: dict[str, Any] = json.loads(line[len("data: "):])
                return found
    raise AssertionError("the stream ended")


async def test_events_name_only_the_apps_one_may_read_and_end_with_the_session(
    anonymous: Client, hub: Hub
) -> None:
    assert (await anonymous.get("/api/v1/events")).status == 401
    await with_users(hub, "alice")
    alice = bearer(await login(anonymous, "alice"))
    async with anonymous.get("/api/v1/events", headers=alice) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        await asyncio.sleep(0.2)
        hub.changes.changed("fleet")  # alice may not read it
        hub.changes.changed("demo-dev")
        assert await read_event(stream) == {"apps": ["demo-dev"]}
        await anonymous.delete("/api/v1/session", headers=alice)
        hub.changes.changed("demo-prod")
        with pytest.raises((AssertionError, TimeoutError)):
            await read_event(stream, within=2)  # the logout ended the stream


async def test_an_appproject_role_gives_its_groups_its_apps_and_nothing_else(
    anonymous: Client, hub: Hub, tmp_path: Path
) -> None:
    await with_users(hub, "bob")
    bob = bearer(await login(anonymous, "bob"))
    assert (await anonymous.post("/api/v1/apps/fleet/sync", headers=bob)).status == 403
    project = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
               "metadata": {"name": "default"},
               "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                        "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                        "roles": [{"name": "deployer", "groups": ["bob"], "policies": [
                            "p, proj:default:deployer, applications, sync, default/fleet, allow",
                        ]}]}}  # fmt: skip
    (tmp_path / "hub" / "apps" / "project.yaml").write_text(yaml.safe_dump(project))
    await hub.follower.reload(force=True)
    assert (await anonymous.post("/api/v1/apps/fleet/sync", headers=bob)).status == 202
    assert (await anonymous.post("/api/v1/apps/demo-dev/sync", headers=bob)).status == 404

    # A role that reaches beyond its project makes the AppProject invalid, and it grants
    # nothing: the project's apps cannot be used until it is fixed.
    project["spec"]["roles"][0]["policies"] = ["p, proj:default:deployer, clusters, get, *, allow"]
    (tmp_path / "hub" / "apps" / "project.yaml").write_text(yaml.safe_dump(project))
    await hub.follower.reload(force=True)
    assert (await anonymous.post("/api/v1/apps/fleet/sync", headers=bob)).status == 403
    errors = hub.control.source_errors()
    assert any("spec.roles[0].policies[0]" in e and "only speak of applications" in e
               for e in errors), errors
