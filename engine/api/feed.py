"""Which apps' statuses changed: the feed behind the dashboard's live updates.

The hub's status writer calls ``changed(app)`` after every status it writes; each open
``GET /api/v1/events`` stream holds a ``Subscription`` and sends the names it collected
(the ones its caller may read) as one server-sent event. A subscription keeps a set, not
a queue: a slow browser gets one event naming every app that changed meanwhile, and more
than ``BACKLOG`` names become "everything changed". At most ``MAX_SUBSCRIBERS`` streams
are open at once (each is a connection and a task).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

MAX_SUBSCRIBERS = 64
BACKLOG = 1024
EVERYTHING = "*"


class TooManySubscribers(Exception):
    """Every stream slot is taken."""


class Subscription:
    """The apps that changed since the last ``next``."""

    def __init__(self) -> None:
        self._apps: set[str] = set()
        self._ready = asyncio.Event()
        self.closed = False  # the server is shutting down: end the stream

    def close(self) -> None:
        """End this subscription's stream at its next ``next``."""
        self.closed = True
        self._ready.set()

    def add(self, app: str) -> None:
        """Note that ``app`` changed."""
        if EVERYTHING not in self._apps:
            self._apps.add(app if len(self._apps) < BACKLOG else EVERYTHING)
        self._ready.set()

    async def next(self, *, within: float) -> set[str]:
        """The apps that changed (``{EVERYTHING}`` after an overflow), waiting at most
        ``within`` seconds for one; an empty set when none did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), within)
        apps, self._apps = self._apps, set()
        self._ready.clear()
        return {EVERYTHING} if EVERYTHING in apps else apps


class ChangeFeed:
    """Fans each change out to every open subscription."""

    def __init__(self, *, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self._subscriptions: set[Subscription] = set()
        self._max = max_subscribers

    def changed(self, app: str) -> None:
        """The status of a target of ``app`` was written."""
        for subscription in self._subscriptions:
            subscription.add(app)

    def close(self) -> None:
        """End every open stream (the server is shutting down)."""
        for subscription in self._subscriptions:
            subscription.close()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription for as long as the block runs; ``TooManySubscribers`` when
        every slot is taken."""
        if len(self._subscriptions) >= self._max:
            raise TooManySubscribers(f"{self._max} event streams are open already")
        subscription = Subscription()
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
