"""The API's login, logout and account routes (``engine.api.server`` lists them).

A login answers the token in the body (for the CLI) and sets it as the
``fleetsync_session`` cookie (for the dashboard: HTTP-only, ``SameSite=Strict``, ``Secure``
when the request came over TLS). A refused login is 401 with one message whether the
account exists or not, or 429 with ``Retry-After`` once too many failed. An account's
password is changed by itself (with its current password) or by a principal allowed
``accounts, update, <name>`` (without); API tokens likewise.
"""

from __future__ import annotations

from aiohttp import web

from engine.api.access import may, principal_of
from engine.api.http import body_field, json_response, read_body
from engine.api.protocol import API, SESSION_COOKIE
from engine.auth.passwords import MAX_PASSWORD
from engine.auth.service import AccountError, Authenticator, LoginRefused, Principal
from engine.config.auth import API_KEY
from engine.errors import AppNotFound, InvalidRequest
from engine.model.accounts import ApiToken

DEFAULT_TOKEN_SECONDS = 90 * 24 * 3600
MAX_NAME = 128


def add_account_routes(app: web.Application, auth: Authenticator) -> None:
    """Register the session and account routes on ``app``."""
    routes = _Accounts(auth)
    app.router.add_post(f"{API}/session", routes.login)
    app.router.add_get(f"{API}/session", routes.whoami)
    app.router.add_delete(f"{API}/session", routes.logout)
    app.router.add_get(f"{API}/accounts", routes.list_accounts)
    app.router.add_put(f"{API}/accounts/{{name}}/password", routes.set_password)
    app.router.add_get(f"{API}/accounts/{{name}}/tokens", routes.tokens)
    app.router.add_post(f"{API}/accounts/{{name}}/tokens", routes.create_token)
    app.router.add_delete(f"{API}/accounts/{{name}}/tokens/{{id}}", routes.delete_token)


class _Accounts:
    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def login(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        name = body_field(body, "username", str) or ""
        password = body_field(body, "password", str) or ""
        if len(name) > MAX_NAME or len(password) > 4 * MAX_PASSWORD:
            raise InvalidRequest("username or password too long")
        address = request.remote or "unknown"
        try:
            token, expires = await self.auth.login(name, password, address=address)
        except LoginRefused as refused:
            if refused.retry_after is not None:
                return json_response({"error": str(refused)}, status=429,
                                     headers={"Retry-After": str(refused.retry_after)})
            return json_response({"error": str(refused)}, status=401)
        response = json_response({"token": token, "expiresAt": expires, "username": name})
        response.set_cookie(SESSION_COOKIE, token, max_age=self.auth.config.session_seconds,
                            path="/", httponly=True, samesite="Strict", secure=request.secure)
        return response

    async def whoami(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        return json_response({"username": principal.name, "kind": principal.token.kind,
                              "expiresAt": principal.token.expires_at})

    async def logout(self, request: web.Request) -> web.Response:
        await self.auth.logout(principal_of(request))
        response = json_response({"loggedOut": True})
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def list_accounts(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        accounts = [{"name": name, "capabilities": sorted(caps)}
                    for name, caps in sorted(self.auth.config.accounts.items())
                    if name == principal.name
                    or may(self.auth, principal, "accounts", "get", name)]
        return json_response({"accounts": accounts})

    async def set_password(self, request: web.Request) -> web.Response:
        principal, name = principal_of(request), request.match_info["name"]
        body = await read_body(request)
        new = body_field(body, "new", str)
        current = body_field(body, "current", str)
        if new is None:
            raise InvalidRequest("new is required")
        if name == principal.name and current is None:
            raise InvalidRequest("changing one's own password needs the current one")
        if name != principal.name:
            self._allowed(principal, "update", name)
            current = None
        try:
            await self.auth.set_password(name, new, current=current)
        except AccountError as err:
            raise InvalidRequest(str(err)) from None
        return json_response({"updated": name})

    async def tokens(self, request: web.Request) -> web.Response:
        name = self._own_or(request, "get")
        found = await self.auth.store.api_tokens(name)
        return json_response({"tokens": [_token(t) for t in found]})

    async def create_token(self, request: web.Request) -> web.Response:
        name = self._own_or(request, "update")
        body = await read_body(request)
        lifetime = body_field(body, "expiresIn", int) or DEFAULT_TOKEN_SECONDS
        try:
            token, record = await self.auth.create_api_token(
                name, description=body_field(body, "description", str) or "",
                lifetime=lifetime)
        except AccountError as err:
            raise InvalidRequest(str(err)) from None
        return json_response({"token": token, **_token(record)}, status=201)

    async def delete_token(self, request: web.Request) -> web.Response:
        name = self._own_or(request, "update")
        if not await self.auth.store.delete_api_token(request.match_info["id"], name):
            raise AppNotFound(f"account {name} has no token {request.match_info['id']}")
        return json_response({"deleted": request.match_info["id"]})

    def _own_or(self, request: web.Request, action: str) -> str:
        """The account the path names, if it is the caller's own or ``action`` on it is
        allowed; it must have the apiKey capability."""
        principal, name = principal_of(request), request.match_info["name"]
        if name != principal.name:
            self._allowed(principal, action, name)
        if not self.auth.config.can(name, API_KEY):
            raise InvalidRequest(f"account {name} has no apiKey capability")
        return name

    def _allowed(self, principal: Principal, action: str, name: str) -> None:
        if not may(self.auth, principal, "accounts", action, name):
            if not may(self.auth, principal, "accounts", "get", name):
                raise AppNotFound(f"no account named {name}")
            raise web.HTTPForbidden(text=f"{action} of account {name} is not allowed")
        if name not in self.auth.config.accounts:
            raise AppNotFound(f"no account named {name}")


def _token(token: ApiToken) -> dict[str, object]:
    return {"id": token.id, "account": token.account, "description": token.description,
            "issuedAt": token.issued_at, "expiresAt": token.expires_at}

