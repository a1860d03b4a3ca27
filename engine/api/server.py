"""The hub's HTTP server: REST API under ``/api/v1``, dashboard, ``/metrics``, webhook.

    POST   /api/v1/session                  {"username", "password"} → {"token",
                                            "expiresAt"} and the session cookie (open)
    GET    /api/v1/session                  who the token belongs to
    DELETE /api/v1/session                  log out (an API token: revoke it)
    GET    /api/v1/apps                     the apps the caller may read, one status line
                                            per cluster, and the app sources' errors
    GET    /api/v1/apps/{app}               one app with each cluster's full status
    GET    /api/v1/apps/{app}/history       sync history, newest first (?cluster=, ?limit=)
    GET    /api/v1/apps/{app}/diff          compare with Git now, per cluster (?cluster=)
    GET    /api/v1/plan                     ?revision=R [&base=B] [&app=A ...]: what a sync
                                            of each target at R would do (dry runs only)
    GET    /api/v1/apps/{app}/tree          managed objects and what they own (?cluster=)
    POST   /api/v1/apps/{app}/sync          {"cluster"?, "revision"?, "prune"?,
                                            "resources"?: [{group, kind, namespace, name}]}
                                            → 202; with "dryRun": true → 200, what the
                                            sync would do to each object, nothing written
    POST   /api/v1/apps/{app}/rollout/approve  let its rollout go on past an approval pause
    POST   /api/v1/apps/{app}/refresh       ?hard=true                          → 202
    POST   /api/v1/apps/{app}/rollback      {"cluster"?, "id"?}                 → 202
    DELETE /api/v1/apps/{app}               confirm a held deletion (?cascade=false leaves
                                            the objects; ?propagation=background) → 202
    GET    /api/v1/deletions                app deletions held or running
    GET    /api/v1/clusters                 the clusters the caller may read, and reach
    GET    /api/v1/projects                 the AppProjects the caller may read
    GET    /api/v1/events                   server-sent events: which apps changed
    GET    /api/v1/accounts                 accounts (``accounts, get``)
    PUT    /api/v1/accounts/{name}/password {"current"?, "new"}: one's own with the
                                            current one; another's with ``accounts, update``
    GET    /api/v1/accounts/{name}/tokens   API tokens (ids and dates, never the token)
    POST   /api/v1/accounts/{name}/tokens   {"description"?, "expiresIn"?} → {"token", ...}
    DELETE /api/v1/accounts/{name}/tokens/{id}
    GET /healthz  GET /readyz  GET /metrics  GET / (dashboard)  POST /api/webhook (if given)

Who may call what is ``engine.api.access`` (tokens, RBAC, routes open without one).
Errors are ``{"error": "..."}`` with the status ``engine.api.control`` names; other
failures answer a fixed message (no traceback, no file of the hub) and go to the log.
Actions record who asked as ``manual:<account>``, the account of the token.

Browsers: every request whose ``Host`` is not an IP literal, ``localhost`` or an allowed
name gets 421 before any handler runs (DNS rebinding, ``engine.api.hosts``); an unsafe
request whose ``Origin`` is not this server, or that a browser marks cross-site, gets 403;
request bodies must be JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from importlib import resources
from typing import Any, TypeVar

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from engine.api import metrics, serialize
from engine.api.access import (
    OPEN_ROUTES,
    app_object,
    authenticate,
    may,
    principal_of,
    visible_apps,
    visible_clusters,
)
from engine.api.accounts import add_account_routes
from engine.api.control import HubControl
from engine.api.hosts import AllowedHosts
from engine.api.http import body_field, error_response, int_query, json_response, read_body
from engine.api.live import add_event_route
from engine.api.protocol import API
from engine.api.views import AppView
from engine.api.webhook import WEBHOOK_PATH
from engine.auth.service import Authenticator
from engine.errors import AppConflict, AppNotFound, ControlError, FleetsyncError, InvalidRequest
from engine.model import ResourceKey, TargetKey
from engine.model.status import HistoryEntry, manual_trigger

log = logging.getLogger(__name__)

CONTROL_TIMEOUT = 30.0
MAX_BODY = 64 * 1024
MAX_SELECTED = 500  # objects one selective sync may name
PLAN_TIMEOUT = 600.0  # a plan of the whole fleet dry-runs every changed object
STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
_STATUS: dict[type[ControlError], int] = {AppNotFound: 404, InvalidRequest: 400,
                                          AppConflict: 409}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


def create_app(
    control: HubControl,
    *,
    auth: Authenticator,
    webhook_handler: Handler | None = None,
    timeout: float = CONTROL_TIMEOUT,
    allowed_hosts: Iterable[str] = (),
) -> web.Application:
    """The aiohttp application serving ``control`` to the principals ``auth`` accepts;
    ``timeout`` bounds each hub call.

    ``allowed_hosts``: the host names requests may name in ``Host`` besides IP literals and
    ``localhost`` (the listen host and ``server.allowedHosts``); any other gets a 421.
    """
    hosts = AllowedHosts.of(allowed_hosts)
    open_routes = set(OPEN_ROUTES)
    if webhook_handler is not None:
        open_routes.add(("POST", WEBHOOK_PATH))
    if auth.config.anonymous_metrics:
        open_routes.add(("GET", "/metrics"))
    app = web.Application(
        middlewares=[_host_check(hosts), _errors, _same_origin(hosts),
                     authenticate(auth, open_routes=frozenset(open_routes))],
        client_max_size=MAX_BODY,
    )
    api = _Api(control, auth, timeout=timeout)
    app.router.add_get(f"{API}/apps", api.list_apps)
    app.router.add_get(f"{API}/apps/{{app}}", api.get_app)
    app.router.add_get(f"{API}/apps/{{app}}/history", api.history)
    app.router.add_get(f"{API}/apps/{{app}}/diff", api.diff)
    app.router.add_get(f"{API}/plan", api.plan)
    app.router.add_get(f"{API}/apps/{{app}}/tree", api.tree)
    app.router.add_post(f"{API}/apps/{{app}}/sync", api.sync)
    app.router.add_post(f"{API}/apps/{{app}}/rollout/approve", api.approve)
    app.router.add_post(f"{API}/apps/{{app}}/refresh", api.refresh)
    app.router.add_post(f"{API}/apps/{{app}}/rollback", api.rollback)
    app.router.add_delete(f"{API}/apps/{{app}}", api.delete_app)
    app.router.add_get(f"{API}/deletions", api.deletions)
    app.router.add_get(f"{API}/clusters", api.clusters)
    app.router.add_get(f"{API}/projects", api.projects)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _healthz)
    app.router.add_get("/metrics", api.metrics)
    add_account_routes(app, auth)
    add_event_route(app, control, auth)
    _add_static(app)
    if webhook_handler is not None:
        app.router.add_post(WEBHOOK_PATH, webhook_handler)
    app.on_response_prepare.append(_security_headers)
    return app


class _Api:
    """The REST handlers over one ``HubControl``."""

    def __init__(self, control: HubControl, auth: Authenticator, *, timeout: float) -> None:
        self.control = control
        self.auth = auth
        self.timeout = timeout

    async def list_apps(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        views = visible_apps(self.auth, principal, self.control.apps())
        statuses = await self._call(self.control.store.list_statuses())
        by_key = {s.key: s for s in statuses}
        apps = [serialize.app_summary(v, by_key) for v in views]
        # Errors of the app sources may name any project's files: only for who sees all.
        everything = may(self.auth, principal, "applications", "get", "*")
        errors = self.control.source_errors() if everything else []
        return json_response({"apps": apps, "sourceErrors": errors})

    async def get_app(self, request: web.Request) -> web.Response:
        view = self._app(request)
        statuses = await self._call(self.control.store.list_statuses(view.name))
        return json_response(serialize.app_detail(view, {s.key: s for s in statuses}))

    async def history(self, request: web.Request) -> web.Response:
        view = self._app(request)
        limit = int_query(request, "limit")
        cluster = request.query.get("cluster")
        keys = view.keys if cluster is None else (TargetKey(view.name, cluster),)
        entries: list[HistoryEntry] = []
        for key in keys:
            entries += await self._call(self.control.store.history(key, limit=limit))
        if cluster is not None and not entries and keys[0] not in view.keys:
            raise AppNotFound(f"app {view.name} does not deploy to cluster {cluster}")
        entries.sort(key=lambda e: (e.finished_at, e.id), reverse=True)
        entries = entries[:limit] if limit is not None else entries
        return json_response({"history": [serialize.history_entry(e) for e in entries]})

    async def diff(self, request: web.Request) -> web.Response:
        view = self._app(request)
        found = await self._call(self.control.diff(app=view.name,
                                                   cluster=request.query.get("cluster")))
        return json_response({"targets": [serialize.target_diff(t) for t in found]})

    async def plan(self, request: web.Request) -> web.Response:
        """What syncing the caller's apps (or those named by ``app``) at ``revision`` would
        do; read-only, so ``applications, get`` is enough, as for a diff."""
        revision = request.query.get("revision", "")
        if not revision:
            raise InvalidRequest("revision is required")
        visible = [v.name for v in visible_apps(self.auth, principal_of(request),
                                                self.control.apps())]  # fmt: skip
        asked = request.query.getall("app", [])
        unknown = sorted(set(asked) - set(visible))
        if unknown:
            raise AppNotFound(f"no app named {unknown[0]}")
        found = await self._call(self.control.plan(apps=asked or visible, revision=revision,
                                                   base=request.query.get("base")),
                                 within=PLAN_TIMEOUT)  # fmt: skip
        return json_response(serialize.fleet_plan(found))

    async def tree(self, request: web.Request) -> web.Response:
        view = self._app(request)
        found = await self._call(self.control.tree(app=view.name,
                                                   cluster=request.query.get("cluster")))
        return json_response({"targets": [serialize.target_tree(t) for t in found]})

    async def sync(self, request: web.Request) -> web.Response:
        view = self._app(request, "sync")
        body = await read_body(request)
        if body_field(body, "dryRun", bool):
            return await self._dry_run(view, body)
        queued = await self._call(
            self.control.request_sync(
                app=view.name,
                cluster=body_field(body, "cluster", str),
                revision=body_field(body, "revision", str),
                prune=body_field(body, "prune", bool),
                trigger=manual_trigger(principal_of(request).name),
                resources=_resources(body),
            )
        )
        return json_response(serialize.keys(queued), status=202)

    async def _dry_run(self, view: AppView, body: dict[str, Any]) -> web.Response:
        """What ``POST .../sync`` would do now, from a comparison made by dry runs: each
        object with its action; nothing is written, nothing queued. It compares the
        app's own revision (``revision`` is refused, as a plan of another one is not this)."""
        if body_field(body, "revision", str) is not None:
            raise InvalidRequest("a dry run compares the app's own revision: leave out revision")
        prune = body_field(body, "prune", bool)
        only = _resources(body)
        found = await self._call(self.control.diff(app=view.name,
                                                   cluster=body_field(body, "cluster", str)))
        prune = view.prune if prune is None else prune
        return json_response({"dryRun": True, "prune": prune, "targets": [
            serialize.dry_run_target(t, prune=prune, only=only) for t in found]})

    async def approve(self, request: web.Request) -> web.Response:
        """Let the app's rollout go on past a pause that waits for approval (``sync``)."""
        view = self._app(request, "sync")
        log.info("rollout of %s approved by %s", view.name, principal_of(request).name)
        return json_response(serialize.rollout(self.control.approve_rollout(app=view.name)))

    async def refresh(self, request: web.Request) -> web.Response:
        view = self._app(request)
        hard = _flag(request, "hard", default=False)
        queued = await self._call(self.control.request_refresh(app=view.name, hard=hard))
        return json_response(serialize.keys(queued), status=202)

    async def rollback(self, request: web.Request) -> web.Response:
        view = self._app(request, "sync")
        body = await read_body(request)
        queued = await self._call(
            self.control.rollback(
                app=view.name,
                cluster=body_field(body, "cluster", str),
                entry_id=body_field(body, "id", int),
                trigger=manual_trigger(principal_of(request).name),
            )
        )
        return json_response(serialize.keys(queued), status=202)

    async def delete_app(self, request: web.Request) -> web.Response:
        name = request.match_info["app"]
        held = next((d for d in self.control.deletions_pending() if d.app == name), None)
        if held is None:
            self._app(request, "delete")  # 404 or 403 as for any action; else still defined
        else:
            self._may_act(request, f"{held.project}/{held.app}", "delete")
        cascade = _flag(request, "cascade", default=True)
        propagation = request.query.get("propagation")
        if propagation is not None and propagation.lower() not in ("foreground", "background"):
            raise InvalidRequest("propagation must be foreground or background")
        view = await self.control.delete_app(
            app=name, cascade=cascade, who=principal_of(request).name,
            propagation=propagation.capitalize() if propagation else None)
        body = serialize.deletion(view) if view is not None else {"app": name,
                                                                  "state": "Untracked"}
        return json_response(body, status=202)

    async def deletions(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        views = [d for d in self.control.deletions_pending()
                 if may(self.auth, principal, "applications", "get", f"{d.project}/{d.app}")]
        return json_response({"deletions": [serialize.deletion(d) for d in views]})

    async def clusters(self, request: web.Request) -> web.Response:
        views = visible_clusters(self.auth, principal_of(request), self.control.clusters())
        return json_response({"clusters": [serialize.cluster(c) for c in views]})

    async def projects(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        views = [p for p in self.control.projects()
                 if may(self.auth, principal, "projects", "get", p.name)]
        return json_response({"projects": [serialize.project(p) for p in views]})

    async def metrics(self, request: web.Request) -> web.Response:
        # The series name every app and cluster: only for who may read them all.
        if not self.auth.config.anonymous_metrics and not may(
                self.auth, principal_of(request), "metrics", "get", "*"):
            raise web.HTTPForbidden(text="reading metrics needs: metrics, get")
        statuses = await self._call(self.control.store.list_statuses())
        apps = self.control.apps()
        families = metrics.hub_families(self.control.metrics()) + metrics.state_families(
            apps=len(apps), statuses=statuses, clusters=self.control.clusters()
        ) + [metrics.rollout_family(apps)]
        return web.Response(
            body=metrics.render(families).encode(), headers={"Content-Type": metrics.CONTENT_TYPE}
        )

    def _may_act(self, request: web.Request, obj: str, action: str) -> None:
        """404 unless the caller may read ``obj`` (project/app), 403 unless ``action``."""
        principal, name = principal_of(request), request.match_info["app"]
        if not may(self.auth, principal, "applications", "get", obj):
            raise AppNotFound(f"no app named {name}")
        if not may(self.auth, principal, "applications", action, obj):
            raise web.HTTPForbidden(text=f"{action} of app {name} is not allowed "
                                         f"for {principal.name}")

    def _app(self, request: web.Request, action: str = "get") -> AppView:
        """The app the path names if the caller may read it (else it does not exist for
        them: 404) and do ``action`` on it (else 403)."""
        name = request.match_info["app"]
        for view in self.control.apps():
            if view.name == name:
                self._may_act(request, app_object(view), action)
                return view
        raise AppNotFound(f"no app named {name}")

    async def _call(self, call: Awaitable[T], *, within: float | None = None) -> T:
        async with asyncio.timeout(within or self.timeout):
            return await call


def _resources(body: dict[str, Any]) -> frozenset[ResourceKey] | None:
    """The objects a selective sync names (``resources``: ``[{group?, kind, namespace?,
    name}]``, Argo CD's shape), or None; InvalidRequest names the bad entry."""
    raw = body.get("resources")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_SELECTED:
        raise InvalidRequest(f"resources must be a list of 1 to {MAX_SELECTED} objects")
    keys = set()
    for index, entry in enumerate(raw):
        fields = ("group", "kind", "namespace", "name")
        if not isinstance(entry, dict) or set(entry) - set(fields) or not all(
                isinstance(entry.get(f, ""), str) for f in fields):
            raise InvalidRequest(f"resources[{index}] must be {{group, kind, namespace, name}}")
        if not entry.get("kind") or not entry.get("name"):
            raise InvalidRequest(f"resources[{index}] needs a kind and a name")
        keys.add(ResourceKey(entry.get("group", ""), entry["kind"], entry.get("namespace", ""),
                             entry["name"]))
    return frozenset(keys)


def _flag(request: web.Request, name: str, *, default: bool) -> bool:
    """A true/false query parameter (InvalidRequest if it is neither)."""
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false", "1", "0"):
        raise InvalidRequest(f"{name} must be true or false")
    return value.lower() in ("true", "1")


async def _healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as ``{"error": ...}`` with its status; internals are only logged."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        text = exc.text or ""
        message = exc.reason if not text or text.startswith(f"{exc.status}:") else text
        return error_response(message, status=exc.status)
    except (AppNotFound, InvalidRequest, AppConflict) as exc:
        return error_response(str(exc), status=_STATUS[type(exc)])
    except FleetsyncError as exc:
        # Its message may name the hub's own files (the store's path): logged, not answered.
        log.warning("%s %s failed: %s", request.method, request.raw_path, exc)
        if exc.temporary:
            return error_response("the hub is busy or unavailable (see its log)", status=503)
        return error_response("the hub could not do this (see its log)", status=500)
    except TimeoutError:
        return error_response("the hub did not answer in time", status=504)
    except Exception:
        log.exception("%s %s failed", request.method, request.raw_path)
        return error_response("internal error (see the hub's log)", status=500)


def _host_check(hosts: AllowedHosts) -> Middleware:
    """Refuse, before any handler, a request whose Host is not this hub (DNS rebinding)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        named = request.headers.getall(hdrs.HOST, [])
        if len(named) != 1 or not hosts.allows_host(named[0]):
            return error_response(
                "this hub does not answer to the host named in the Host header "
                "(add it to server.allowedHosts in fleetsync.yaml)",
                status=421,
            )
        return await handler(request)

    return check


def _same_origin(hosts: AllowedHosts) -> Middleware:
    """Refuse unsafe requests (any path) a browser sends on behalf of another site."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin, host = request.headers.get(hdrs.ORIGIN), request.headers.get(hdrs.HOST)
            if origin is not None and not hosts.allows_origin(origin, host):
                return error_response("cross-origin requests are not allowed", status=403)
            if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                return error_response("cross-site requests are not allowed", status=403)
        return await handler(request)

    return check


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_SECURITY_HEADERS)
    if request.path.startswith("/api/") or request.path == "/metrics":
        response.headers.setdefault("Cache-Control", "no-store")


def _add_static(app: web.Application) -> None:
    """Serve the dashboard's files from the package (read once, at start)."""
    folder = resources.files("engine.api") / "static"
    for name, kind in STATIC_FILES.items():
        body = (folder / name).read_bytes()
        path = "/" if name == "index.html" else f"/static/{name}"
        app.router.add_get(path, _static_handler(body, f"{kind}; charset=utf-8"))


def _static_handler(body: bytes, content_type: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Cache-Control": "no-cache"}
        )

    return handler
