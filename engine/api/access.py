"""Who is asking, and what they may see and do: the API's authentication and RBAC.

Every route needs a valid token but these: ``POST /api/v1/session`` (login), ``/healthz``
and ``/readyz``, the webhook (it has its own HMAC secret), the dashboard's static files
(the page logs in first; its data all comes from the API) and, when
``auth.anonymousMetrics`` is on, ``/metrics``. A token comes as ``Authorization: Bearer
<token>`` (the CLI, automation) or in the ``fleetsync_session`` cookie (the dashboard:
HTTP-only, ``SameSite=Strict``). Without a valid one the answer is 401.

What a principal may do is ``engine.rbac`` over ``(resource, action, object)``:
reading an app, its history or refreshing it needs ``applications, get, <project>/<app>``
(refresh is a read in Argo CD too); sync and rollback need ``applications, sync``. An app
the principal may not ``get`` does not exist for it (404, never 403), and lists leave it
out, so names never leak across projects; 403 is for an app it may read but not act on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from engine.api.protocol import API, SESSION_COOKIE
from engine.api.views import AppView, ClusterView
from engine.auth.service import Authenticator, Principal

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_ROUTES = frozenset({("POST", f"{API}/session"), ("GET", "/healthz"), ("GET", "/readyz"),
                         ("GET", "/"), ("GET", "/static/app.js"),
                         ("GET", "/static/style.css")})  # fmt: skip
_BEARER = "bearer "
_KEY = web.RequestKey("fleetsync.principal", Principal)


def authenticate(auth: Authenticator, *, open_routes: frozenset[tuple[str, str]]) -> Middleware:
    """Refuse (401) a request to any route but ``open_routes`` without a valid token;
    put the principal of a valid one on the request."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        token = _token(request)
        principal = await auth.authenticate(token) if token else None
        if principal is not None:
            request[_KEY] = principal
        elif (_as_get(request.method), request.path) not in open_routes:
            return web.json_response({"error": "authentication required"}, status=401,
                                     headers={hdrs.WWW_AUTHENTICATE: "Bearer"})
        return await handler(request)

    return check


def _as_get(method: str) -> str:
    """HEAD asks what GET would answer, so it is open where GET is."""
    return "GET" if method == "HEAD" else method


def principal_of(request: web.Request) -> Principal:
    """The principal of an authenticated request (the middleware put it there)."""
    found: Principal | None = request.get(_KEY)
    if found is None:
        raise web.HTTPUnauthorized(text="authentication required")
    return found


async def still_valid(auth: Authenticator, request: web.Request) -> bool:
    """Whether the token of ``request`` is still accepted (a long stream checks again)."""
    token = _token(request)
    return token is not None and await auth.authenticate(token) is not None


def may(auth: Authenticator, principal: Principal, resource: str, action: str,
        obj: str) -> bool:  # fmt: skip
    """Whether ``principal`` may do ``action`` on ``resource`` ``obj``."""
    return auth.policy.allows(principal.subjects, resource, action, obj)


def app_object(view: AppView) -> str:
    """An app as RBAC names it: ``<project>/<app>``."""
    return f"{view.project}/{view.name}"


def visible_apps(auth: Authenticator, principal: Principal,
                 views: list[AppView]) -> list[AppView]:  # fmt: skip
    """The apps ``principal`` may read."""
    return [v for v in views if may(auth, principal, "applications", "get", app_object(v))]


def visible_clusters(auth: Authenticator, principal: Principal,
                     views: list[ClusterView]) -> list[ClusterView]:  # fmt: skip
    """The clusters ``principal`` may read."""
    return [c for c in views if may(auth, principal, "clusters", "get", c.name)]


def _token(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    if header[: len(_BEARER)].lower() == _BEARER:
        return header[len(_BEARER):].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None
