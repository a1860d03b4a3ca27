"""``GET /api/v1/events``: server-sent events telling the dashboard which apps changed.

Each event is ``event: changed`` with ``{"apps": [...]}``: the apps whose status was
written since the last event, among those the caller may read (``["*"]`` after an
overflow: reload everything). A comment line every ``PING`` seconds keeps proxies from
closing the stream; each time, and before each event, the caller's token is checked again,
so a logout or a password change ends the stream. Events come at most every
``COALESCE`` seconds (a sync writes several statuses in a row).
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web
from aiohttp_sse import sse_response

from engine.api.access import may, principal_of, still_valid
from engine.api.control import HubControl
from engine.api.feed import EVERYTHING, TooManySubscribers
from engine.api.http import error_response
from engine.api.protocol import API
from engine.auth.service import Authenticator

PING = 15.0
COALESCE = 0.25


def add_event_route(app: web.Application, control: HubControl, auth: Authenticator) -> None:
    """Register ``GET /api/v1/events`` on ``app``."""

    async def events(request: web.Request) -> web.StreamResponse:
        principal = principal_of(request)
        with contextlib.ExitStack() as stack:
            try:
                feed = stack.enter_context(control.changes.subscribe())
            except TooManySubscribers as err:
                return error_response(str(err), status=503)
            async with sse_response(request, sep="\n", ping_interval=PING) as stream:
                while stream.is_connected() and await still_valid(auth, request):
                    apps = await feed.next(within=PING)
                    if feed.closed:
                        break
                    if not apps:
                        continue
                    await asyncio.sleep(COALESCE)
                    apps |= await feed.next(within=0)
                    projects = {v.name: v.project for v in control.apps()}
                    shown = sorted(a for a in apps if a == EVERYTHING or (
                        a in projects and may(auth, principal, "applications", "get",
                                              f"{projects[a]}/{a}")))
                    if shown and await still_valid(auth, request):
                        await stream.send(orjson.dumps({"apps": shown}).decode(),
                                          event="changed")
            return stream

    async def close_streams(_app: web.Application) -> None:
        control.changes.close()  # open streams would hold the server's shutdown

    app.router.add_get(f"{API}/events", events)
    app.on_shutdown.append(close_streams)
